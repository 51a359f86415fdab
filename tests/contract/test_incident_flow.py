"""The drift response's incident routing, as the ASL declares it: every run goes through
TrackIncident; only its route reaches the retrain gate; every way out of the retrain path ends
the retrain incident; lost races are retried."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.aws_fixtures import template

ROOT = Path(__file__).resolve().parents[2]
ASL = json.loads((ROOT / "statemachines" / "drift_response.asl.json").read_text())
STATES: dict[str, Any] = ASL["States"]
RETRAIN_PATH = ("RequestRetrainApproval", "StartRetraining", "RetrainNotApproved")


def successors(name: str) -> set[str]:
    state = STATES[name]
    found = {state.get("Next"), state.get("Default")}
    found |= {c["Next"] for c in state.get("Choices", [])}
    found |= {c["Next"] for c in state.get("Catch", [])}
    return {n for n in found if n}


def test_triage_hands_every_run_to_incident_tracking() -> None:
    assert STATES["Triage"]["Next"] == "TrackIncident"
    assert successors("TrackIncident") == {"HasNotices", "NotifyFailure"}
    assert successors("HasNotices") == {"NotifyIncident", "Route"}
    assert successors("NotifyIncident") == {"Route", "NotifyFailure"}
    routes = {c["StringEquals"]: c["Next"] for c in STATES["Route"]["Choices"]}
    assert routes == {"retrain": "RetrainGate", "watch": "RecordWatch"}
    assert STATES["Route"]["Default"] == "Done"
    assert not {"OpenIncident", "IsNewIncident", "NotifyInvestigation", "Decide"} & set(STATES)


def test_the_retrain_path_uses_the_tracked_incident_and_always_ends_it() -> None:
    request = STATES["RequestRetrainApproval"]["Parameters"]["Payload"]["request"]
    assert request["subject.$"] == "$.incident.incident_id"
    for name in ("StartRetraining", "RetrainNotApproved"):
        assert STATES[name]["Parameters"]["Payload"]["incident_id.$"] == "$.incident.incident_id"
    for name in RETRAIN_PATH:
        catches = [c for c in STATES[name]["Catch"] if "States.ALL" in c["ErrorEquals"]]
        assert [c["Next"] for c in catches] == ["AbandonRetrain"], name
    assert STATES["RetrainNotApproved"]["Next"] == "EndRetrainIncident"
    started = STATES["IsRetrainStarted"]
    assert started["Choices"] == [
        {"Variable": "$.retrain.status", "StringEquals": "started", "Next": "Done"}
    ]
    assert started["Default"] == "EndRetrainIncident"
    assert "end_retrain" in STATES["EndRetrainIncident"]["Parameters"]["Payload"]
    assert STATES["AbandonRetrain"]["Next"] == "NotifyFailure"


def test_lost_races_on_an_incident_are_retried() -> None:
    for name in ("TrackIncident", "EndRetrainIncident", "AbandonRetrain"):
        retried = {e for r in STATES[name]["Retry"] for e in r["ErrorEquals"]}
        assert "IncidentChangedError" in retried, name
        function = STATES[name]["Parameters"]["FunctionName"]
        assert function == "${TrackIncidentFunctionArn}"


def test_track_incident_may_touch_only_the_state_and_ledger_tables() -> None:
    resources = template()["Resources"]
    function = resources["TrackIncidentFunction"]["Properties"]
    statements = [s for p in function["Policies"] if "Statement" in p for s in p["Statement"]]
    actions = {
        a
        for s in statements
        for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    }
    assert actions == {"dynamodb:GetItem", "dynamodb:PutItem"}
    assert "OpenIncidentFunction" not in resources
