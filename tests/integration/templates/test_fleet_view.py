"""The fleet view on the emulator: the template's dashboard and event archives deploy, and
`mlopscp status` / `mlopscp explain` read a ledger seeded through the control plane's own stores.

Deployed as a stack of its own in the session's emulator.
"""

from __future__ import annotations

import contextlib
import io
import json
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from mlopscp import cli
from mlopscp_emulator import Emulator, Stack

from tests import fleet_world

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]
STACK = "fleet-view"


@pytest.fixture(scope="module")
def stack(emulator: Emulator) -> Iterator[Stack]:
    from mlops_runtime import aws

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # resources the emulator cannot honour, listed once
        deployed = emulator.deploy(
            ROOT / "template.yaml", stack_name=STACK, parameters={"Stage": "local"}
        )
    with pytest.MonkeyPatch.context() as env:
        for key, value in (
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
            ("AWS_DEFAULT_REGION", "us-east-1"),
            ("AWS_ENDPOINT_URL", emulator.endpoint_url),
        ):
            env.setenv(key, value)  # restored after the module, also what the CLI sets
        aws.client.cache_clear()
        seed(emulator, deployed)
        yield deployed
    aws.client.cache_clear()


def seed(emulator: Emulator, deployed: Stack) -> None:
    from mlops_core.approvals import ApprovalRequest, Approvers
    from mlops_core.incidents import IncidentKind, IncidentState, Severity, Status, Step, Transition
    from mlops_runtime.approvals import Approval, ApprovalStore
    from mlops_runtime.incidents import IncidentStore
    from mlops_runtime.model_config import ModelConfig, ModelConfigStore
    from mlops_runtime.store import Ledger

    o = deployed.outputs
    tables = {
        "ledger": o["LedgerTableName"],
        "state": o["StateTableName"],
        "config": o["ModelConfigTableName"],
    }
    configs = ModelConfigStore(tables["config"], max_age=0)
    for model_id, endpoint in (("churn", "churn-prod"), ("quiet", "quiet-prod")):
        configs.put(ModelConfig.model_validate(fleet_world.config(model_id, endpoint)))
    now = datetime.now(UTC)
    fleet_world.seed_chain(tables, "churn", now)
    fleet_world.seed_noise(tables, "churn", 300, before=now - timedelta(hours=31))
    # What waits for a human: a promotion approval of v3 and an investigate incident.
    key = emulator.client("kms").create_key()["KeyMetadata"]["KeyId"]
    approval = Approval(
        approval_id="ap-fleet-2",
        status="pending",
        model_id="churn",
        request=ApprovalRequest(kind="promotion", model_id="churn", subject="churn-v3"),
        approvers=Approvers(emails=["ana@example.com"]),
        deadline=now + timedelta(hours=20),
        created_at=now - timedelta(hours=4),
    )
    ApprovalStore(o["ApprovalTableName"], key).create(approval, "task-token", None)
    opened = now - timedelta(hours=2)
    problem = IncidentState(
        incident_id="inc-churn-schema",
        model_id="churn",
        kind=IncidentKind.INVESTIGATE,
        status=Status.OPEN,
        fingerprint=("schema_break:plan",),
        severity=Severity.CRITICAL,
        opened_at=opened,
        last_seen_at=opened,
        last_run="churn-run-9",
        version=1,
    )
    step = Step(Transition.OPENED, problem.incident_id, True, problem, "schema break", at=opened)
    IncidentStore(tables["state"], Ledger(tables["ledger"])).apply(step)


def mlopscp(emulator: Emulator, *args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main([*args, "--stack", STACK, "--endpoint-url", emulator.endpoint_url])
    return code, out.getvalue(), err.getvalue()


def test_the_dashboard_deploys_with_every_placeholder_resolved(
    emulator: Emulator, stack: Stack
) -> None:
    name = stack.outputs["FleetDashboardName"]
    assert name == f"{STACK}-fleet"
    body = emulator.client("cloudwatch").get_dashboard(DashboardName=name)["DashboardBody"]
    assert "${" not in body
    widgets = json.loads(body)["widgets"]
    rules = [
        row[3] for w in widgets if w["type"] == "metric" for row in w["properties"]["metrics"]
        if row[:2] == ["AWS/Events", "MatchedEvents"] and row[2] == "RuleName"
    ]  # fmt: skip
    assert f"{STACK}-drift-signal" in rules
    functions = {
        row[3] for w in widgets if w["type"] == "metric" for row in w["properties"]["metrics"]
        if row[:2] == ["AWS/Lambda", "Errors"]
    }  # fmt: skip
    assert functions == {f.name for f in stack.functions.values()}


def test_the_event_archives_deploy_on_both_buses(emulator: Emulator, stack: Stack) -> None:
    events = emulator.client("events")
    default = events.describe_archive(ArchiveName=stack.outputs["DefaultBusArchiveName"])
    workload = events.describe_archive(ArchiveName=stack.outputs["WorkloadBusArchiveName"])
    assert default["EventSourceArn"].endswith(":event-bus/default")
    assert workload["EventSourceArn"] == stack.outputs["WorkloadEventBusArn"]
    assert default["RetentionDays"] == workload["RetentionDays"] == 90
    pattern = json.loads(default["EventPattern"])
    assert "Model Drift Signal" in pattern["detail-type"]


def test_status_shows_every_model_and_exits_1_when_something_waits(
    emulator: Emulator, stack: Stack
) -> None:
    code, out, err = mlopscp(emulator, "status", "--json")
    assert code == 1, err
    document = json.loads(out)
    models = {m["model_id"]: m for m in document["models"]}
    assert set(models) == {"churn", "quiet"}
    churn, quiet = models["churn"], models["quiet"]
    assert churn["last_decision"]["action"] == "incident_opened"  # the schema break, 2 h ago
    assert [a["approval_id"] for a in churn["approvals"]] == ["ap-fleet-2"]
    assert 3.9 < churn["approvals"][0]["waiting_hours"] < 4.5
    assert {i["incident_id"]: i["status"] for i in churn["incidents"]} == {
        "inc-churn-schema": "OPEN",
        "inc-churn-1": "OPEN",
    }
    assert churn["retrain"] is None  # it succeeded; its package was promoted
    assert churn["needs_a_human"]
    assert len(churn["waiting"]) == 2
    assert quiet["last_decision"] is None
    assert not quiet["needs_a_human"]
    assert document["waiting_for_a_human"] == 2

    code, out, _ = mlopscp(emulator, "status")
    assert code == 1
    assert "churn" in out
    assert "quiet" in out
    assert "1 waiting (4.0 h)" in out
    assert "waits for a human:" in out
    assert "ap-fleet-2" in out


def test_explain_follows_the_chain_from_the_endpoint_back_to_the_evidence(
    emulator: Emulator, stack: Stack
) -> None:
    from mlops_runtime.store import Ledger

    code, out, err = mlopscp(emulator, "explain", "churn-prod", "--json")
    assert code == 0, err
    chain = json.loads(out)
    assert chain["model_id"] == "churn"
    assert chain["endpoint"] == "churn-prod"
    assert [h["step"] for h in chain["hops"]] == [
        "evidence",
        "incident",
        "retrain",
        "pipeline_execution",
        "package_version",
        "promotion",
        "verdict",
        "approval",
        "deployment",
    ]
    assert chain["gaps"] == []
    ledger = Ledger(stack.outputs["LedgerTableName"])
    by_id = {e["entry_id"]: e for e in ledger.about("churn-v2") + ledger.about("inc-churn-1")}
    hops = {h["step"]: h for h in chain["hops"]}
    assert by_id[hops["deployment"]["entry_id"]]["action"] == "model_promoted"
    assert by_id[hops["retrain"]["entry_id"]]["action"] == "retrain_started"
    arn = by_id[hops["retrain"]["entry_id"]]["evidence"]["pipeline_execution_arn"]
    assert hops["package_version"]["detail"]["pipeline_execution_arn"] == arn
    assert hops["approval"]["detail"]["decided_by"].endswith("user/ana")

    code, text, _ = mlopscp(emulator, "explain", "churn")
    assert code == 0
    assert text.index("evidence") < text.index("retrain_started") < text.index("model_promoted")


def test_explain_of_an_unknown_model_is_one_line_and_exit_2(
    emulator: Emulator, stack: Stack
) -> None:
    code, out, err = mlopscp(emulator, "explain", "nobody")
    assert code == 2
    assert out == ""
    assert err.strip().count("\n") == 0
    assert "no model or endpoint named 'nobody'" in err


def test_a_missing_stack_is_exit_3_not_a_traceback(emulator: Emulator, stack: Stack) -> None:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(["status", "--stack", "nope", "--endpoint-url", emulator.endpoint_url])
    assert code == 3
    assert "Traceback" not in err.getvalue()
    assert err.getvalue().count("\n") == 1
