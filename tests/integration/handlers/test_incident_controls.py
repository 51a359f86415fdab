"""Incident controls on moto with the template's tables: the decider's side
(mlops_runtime.incident_controls: verify, check, apply through the IncidentStore) and the public
door's (hand-over and refusals of incident clicks), without Lambda or Slack."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import boto3
import pytest
from mlops_core.incidents import (
    IncidentKind,
    IncidentPolicy,
    IncidentState,
    Observation,
    Status,
    Transition,
    observe,
)
from mlops_runtime.approval_door import ApprovalDoor, Receipt
from mlops_runtime.approval_proofs import Verifier
from mlops_runtime.approvals import ApprovalStore
from mlops_runtime.incident_controls import IncidentControls, model_responders
from mlops_runtime.incidents import IncidentStore
from mlops_runtime.link_keys import LinkKeys
from mlops_runtime.model_config import ModelConfigStore
from mlops_runtime.store import Ledger

from tests.aws_fixtures import create_template_tables
from tests.integration.handlers.approval_callback_world import SIGNING_SECRET
from tests.integration.handlers.conftest import put_model
from tests.integration.handlers.test_approval_adapters import FakeLambda, use_decider

pytestmark = pytest.mark.integration

TEAM, CHANNEL, TS = "T0MLOPSCP", "C0INCIDENTS", "1795917600.000100"
GROUPS = {"S0MLONCALL": ["U0GRACE"]}
T0 = datetime(2026, 11, 29, 2, tzinfo=UTC)


def click_body(
    incident_id: str,
    action_id: str = "incident.acknowledge",
    user: str = "U0ADA",
    channel: str = CHANNEL,
    ts: str = TS,
) -> str:
    payload = {
        "type": "block_actions",
        "user": {"id": user, "username": user.lower(), "team_id": TEAM},
        "team": {"id": TEAM},
        "actions": [
            {"action_id": action_id, "value": incident_id, "action_ts": f"{time.time():.6f}"}
        ],
        "container": {"type": "message", "channel_id": channel, "message_ts": ts},
    }
    return urlencode({"payload": json.dumps(payload)})


def signed(body: str, secret: str = SIGNING_SECRET, stamp: int | None = None) -> dict[str, str]:
    """What the door hands the decider: the body and headers as Slack signed them."""
    timestamp = str(int(time.time()) if stamp is None else stamp)
    digest = hmac.new(secret.encode(), f"v0:{timestamp}:{body}".encode(), hashlib.sha256)
    return {
        "channel": "slack",
        "body": body,
        "timestamp": timestamp,
        "signature": f"v0={digest.hexdigest()}",
    }


def incident_entries(action: str | None = None) -> list[dict[str, Any]]:
    items = boto3.client("dynamodb").scan(TableName="ledger")["Items"]
    entries = [{k: next(iter(v.values())) for k, v in item.items()} for item in items]
    found = [e | {"evidence": json.loads(e["evidence"])} for e in entries]
    return [e for e in found if action in (None, e["action"])]


@pytest.fixture
def world(cloud: dict[str, Any]) -> dict[str, Any]:
    """The fraud model (Slack approver U0ADA, owner group S0MLONCALL) with an open incident
    its bot message was posted for."""
    put_model(
        None,
        approvals={"slack_channel": CHANNEL, "slack_approvers": ["U0ADA"]},
        owners=["@fraud-ml", "S0MLONCALL"],
    )
    store = IncidentStore("state", Ledger("ledger"))
    triage = {
        "model_id": "churn",
        "decision": "investigate",
        "summary": {
            "signal_key": "run-0",
            "reasons": ["zip_code: wrong type"],
            "findings": [{"kind": "integrity_violation", "subject": "zip_code"}],
        },
    }
    step = observe(None, Observation.of_run(triage, IncidentKind.INVESTIGATE), IncidentPolicy(), T0)
    store.apply(step)
    assert step.state is not None
    posted = store.set_slack(step.state, CHANNEL, TS)
    return {"store": store, "incident": posted}


def controls(
    store: IncidentStore, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
) -> IncidentControls:
    return IncidentControls(
        store,
        Ledger("ledger"),
        model_responders(ModelConfigStore("model-config", max_age=0)),
        Verifier(lambda: SIGNING_SECRET, LinkKeys("")),
        lambda: TEAM,
        lambda group: GROUPS.get(group, []),
        clock,
    )


def test_an_allowed_users_ack_is_recorded_with_their_id_and_stops_re_pages(world) -> None:
    store, incident = world["store"], world["incident"]
    attempt, result = controls(store).answer(signed(click_body(incident.incident_id)))
    assert attempt is not None
    assert (attempt.actor, attempt.channel) == ("U0ADA", "slack")
    assert result.status == "recorded", result.why
    stored = store.get(incident.incident_id)
    assert stored is not None
    assert (stored.status, stored.acknowledged_by) == (Status.ACKNOWLEDGED, "U0ADA")
    (entry,) = incident_entries("incident_acknowledged")
    assert (entry["actor"], entry["subject"]) == ("U0ADA", incident.incident_id)
    assert entry["evidence"]["channel"] == "slack"
    # the next monitoring run showing the same problem is an update, not a page
    again = {
        "model_id": "churn",
        "decision": "investigate",
        "summary": {
            "signal_key": "run-1",
            "findings": [{"kind": "integrity_violation", "subject": "zip_code"}],
        },
    }
    step = observe(
        stored,
        Observation.of_run(again, IncidentKind.INVESTIGATE),
        IncidentPolicy(),
        datetime.now(UTC),
    )
    assert (step.transition, step.page) == (Transition.UPDATED, False)


def test_a_group_member_may_snooze_and_a_retried_click_snoozes_until_the_same_moment(
    world,
) -> None:
    store, incident = world["store"], world["incident"]
    request = signed(click_body(incident.incident_id, "incident.snooze_4h", user="U0GRACE"))
    _, first = controls(store).answer(request)
    assert first.status == "recorded", first.why
    stored = store.get(incident.incident_id)
    assert stored is not None
    expected = datetime.fromtimestamp(int(request["timestamp"]), UTC) + timedelta(hours=4)
    assert (stored.status, stored.snoozed_by, stored.snoozed_until) == (
        Status.SNOOZED,
        "U0GRACE",
        expected,
    )
    _, retried = controls(store).answer(request)  # Lambda retrying the asynchronous hand-off
    assert retried.status == "unchanged"
    assert len(incident_entries("incident_snoozed")) == 1


@pytest.mark.parametrize(
    ("changes", "why"),
    [
        ({"user": "U0MALLORY"}, "Slack user U0MALLORY may not acknowledge churn's incidents"),
        ({"channel": "C0ELSEWHERE"}, "the click did not come from the incident's message"),
        ({"ts": "1795917600.000999"}, "the click did not come from the incident's message"),
    ],
    ids=["not-a-responder", "other-channel", "other-message"],
)
def test_a_refused_click_changes_nothing_and_is_recorded_once_under_the_model(
    world, changes: dict[str, str], why: str
) -> None:
    store, incident = world["store"], world["incident"]
    for _ in range(3):
        body = click_body(incident.incident_id, **changes)
        _, result = controls(store).answer(signed(body))
        assert (result.status, result.why) == ("refused", why)
    assert store.get(incident.incident_id) == incident
    (refused,) = incident_entries("incident_rejected_request")
    assert refused["model_id"] == "churn"
    assert refused["evidence"]["identity"] == "verified"
    assert refused["evidence"]["incident_id"] == incident.incident_id
    assert refused["evidence"]["why"] == why


def test_a_forged_or_stale_signature_is_refused_as_unverified(world) -> None:
    store, incident = world["store"], world["incident"]
    body = click_body(incident.incident_id)
    forged = signed(body, secret="0123456789abcdef0123456789abcdef")
    for _ in range(3):
        attempt, result = controls(store).answer(forged)
        assert attempt is None
        assert result.why == "signature does not match (forged or altered request)"
    stale = signed(body, stamp=int(time.time()) - 2 * 3600)
    assert controls(store).answer(stale)[1].why == "the Slack request is too old to act on"
    assert store.get(incident.incident_id) == incident
    refused = incident_entries("incident_rejected_request")
    assert sorted(r["evidence"]["why"] for r in refused) == [
        "signature does not match (forged or altered request)",
        "the Slack request is too old to act on",
    ]
    assert {(r["model_id"], r["actor"], r["evidence"]["claimed_by"]) for r in refused} == {
        ("churn", "unverified", "U0ADA")
    }


def test_unknown_and_resolved_incidents_get_a_clear_answer_and_nothing_changes(world) -> None:
    store, incident = world["store"], world["incident"]
    unknown = "inc-churn-ffffffffffff"
    _, result = controls(store).answer(signed(click_body(unknown)))
    assert (result.status, result.why) == ("refused", "no such incident")
    from mlops_core.incidents import resolve

    closed = resolve(incident, "arn:aws:iam::123456789012:user/ops", "fixed", T0)
    store.apply(closed)
    _, result = controls(store).answer(signed(click_body(incident.incident_id)))
    assert result.status == "refused"
    assert result.why == f"cannot acknowledge {incident.incident_id}: it is resolved"
    assert store.get(incident.incident_id) == closed.state
    assert {
        r["evidence"]["incident_id"] for r in incident_entries("incident_rejected_request")
    } == {
        "unknown",
        incident.incident_id,
    }


def test_a_model_naming_nobody_in_slack_refuses_clicks(world, cloud) -> None:
    put_model(None, owners=["@fraud-ml"])
    store, incident = world["store"], world["incident"]
    _, result = controls(store).answer(signed(click_body(incident.incident_id)))
    assert result.status == "refused"
    assert "names no Slack approvers or Slack-id owners" in result.why


def test_a_control_racing_a_monitoring_run_is_redone_on_the_new_version(world) -> None:
    """The run writes between the decider's read and its write: the ack is applied on top."""
    store, incident = world["store"], world["incident"]

    class RacingStore(IncidentStore):
        raced = False

        def apply(self, step: Any, ledger_entry: Any = None) -> bool:
            if not self.raced:
                self.raced = True
                current = store.get(incident.incident_id)
                assert current is not None
                run = {
                    "model_id": "churn",
                    "decision": "investigate",
                    "summary": {
                        "signal_key": "run-1",
                        "findings": [{"kind": "integrity_violation", "subject": "zip_code"}],
                    },
                }
                obs = Observation.of_run(run, IncidentKind.INVESTIGATE)
                store.apply(observe(current, obs, IncidentPolicy(), datetime.now(UTC)))
            return super().apply(step, ledger_entry)

    racing = RacingStore("state", Ledger("ledger"))
    _, result = controls(racing).answer(signed(click_body(incident.incident_id)))
    assert result.status == "recorded", result.why
    stored: IncidentState | None = store.get(incident.incident_id)
    assert stored is not None
    assert (stored.status, stored.runs, stored.acknowledged_by) == (
        Status.ACKNOWLEDGED,
        2,
        "U0ADA",
    )


def test_a_direct_invoke_cannot_choose_who_acknowledged(world) -> None:
    store, incident = world["store"], world["incident"]
    claims = {"channel": "cli", "incident_id": incident.incident_id, "control": "acknowledge"}
    attempt, result = controls(store).answer(claims | {"actor": "U0ADA", "attempt_id": "x" * 8})
    assert attempt is None
    assert result.status == "refused"
    assert store.get(incident.incident_id) == incident


# ---------------------------------------------------------------- the public door


@pytest.fixture
def door(world, monkeypatch: pytest.MonkeyPatch) -> tuple[ApprovalDoor, FakeLambda]:
    create_template_tables(boto3.client("dynamodb"), {"ApprovalTable": "approvals"})
    secret = boto3.client("secretsmanager").create_secret(
        Name="slack-signing", SecretString=SIGNING_SECRET
    )["ARN"]
    decider = FakeLambda({"status": "recorded"})
    use_decider(monkeypatch, decider)
    door = ApprovalDoor(
        ApprovalStore("approvals"), Ledger("ledger"), LinkKeys(""), "decider", secret, "state"
    )
    return door, decider


def test_the_door_hands_an_incident_click_over_once_and_refuses_its_replay(world, door) -> None:
    the_door, decider = door
    body = click_body(world["incident"].incident_id)
    request = signed(body)
    headers = {
        "x-slack-request-timestamp": request["timestamp"],
        "x-slack-signature": request["signature"],
    }
    assert the_door.slack_refusal(body, headers, time.time()) is None
    assert the_door.hand_over(body, headers) is Receipt.HANDED_OVER
    assert [(d["type"], d["body"]) for d in decider.invoked] == [("Event", body)]
    assert the_door.hand_over(body, headers) is Receipt.REPLAYED
    assert len(decider.invoked) == 1
    (replayed,) = incident_entries("incident_rejected_request")
    assert replayed["model_id"] == "churn"
    assert replayed["evidence"]["why"] == "replayed: this interaction was already received"


def test_the_door_files_a_forged_incident_click_under_its_model_once(world, door) -> None:
    the_door, decider = door
    body = click_body(world["incident"].incident_id)
    forged = signed(body, secret="f" * 32)
    headers = {
        "x-slack-request-timestamp": forged["timestamp"],
        "x-slack-signature": forged["signature"],
    }
    for _ in range(3):
        why = the_door.slack_refusal(body, headers, time.time())
        assert why == "signature does not match (forged or altered request)"
        the_door.refuse_slack(body, why)
    assert decider.invoked == []
    (refused,) = incident_entries("incident_rejected_request")
    assert (refused["model_id"], refused["evidence"]["identity"]) == ("churn", "unverified")
    assert refused["evidence"]["claimed_by"] == "U0ADA"
