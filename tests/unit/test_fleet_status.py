"""Fleet status per model, what waits for a human, and the daily digest built from them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from mlops_core import fleet, retrain
from mlops_core.ledger import Action

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def at(hours_ago: float) -> str:
    return (NOW - timedelta(hours=hours_ago)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def entry(action: Action, hours_ago: float, summary: str = "") -> dict[str, Any]:
    return {
        "action": str(action),
        "at": at(hours_ago),
        "subject": "s",
        "summary": summary or str(action),
        "entry_id": f"{action}-{hours_ago}",
    }


def status(**overrides: Any) -> fleet.ModelStatus:
    given: dict[str, Any] = {
        "recent": [],
        "incidents": [],
        "approvals": [],
        "promotion": None,
        "retrain_lock": None,
        "now": NOW,
    }
    return fleet.model_status("churn", "churn-prod", **(given | overrides))


def test_a_quiet_model_waits_for_nobody() -> None:
    quiet = status(recent=[entry(Action.WATCH_RECORDED, 2)])
    assert quiet.last_decision is not None
    assert quiet.last_decision["action"] == "watch_recorded"
    assert not quiet.needs_a_human
    assert quiet.to_dict()["needs_a_human"] is False


def test_the_last_decision_skips_notifications_and_ignored_events() -> None:
    found = status(
        recent=[
            entry(Action.NOTIFICATION_SENT, 1),
            entry(Action.EVENT_IGNORED, 2),
            entry(Action.RETRAIN_STARTED, 3),
        ]
    )
    assert found.last_decision is not None
    assert found.last_decision["action"] == "retrain_started"


def test_a_pending_approval_waits_for_a_human_with_its_age() -> None:
    approval = {
        "approval_id": "ap-1",
        "kind": "promotion",
        "subject": "churn-v3",
        "created_at": at(5.5),
        "deadline": at(-18),
    }
    found = status(approvals=[approval])
    assert found.approvals[0]["waiting_hours"] == 5.5
    assert found.needs_a_human
    assert "ap-1" in found.waiting[0]
    assert "5.5 h" in found.waiting[0]


def test_only_unacknowledged_open_incidents_wait_for_a_human() -> None:
    def incident(status: str) -> dict[str, Any]:
        return {"incident_id": f"i-{status}", "kind": "investigate", "status": status,
                "severity": "warning", "opened_at": at(3), "last_seen_at": at(1)}  # fmt: skip

    found = status(incidents=[incident("OPEN"), incident("ACKNOWLEDGED"), incident("SNOOZED")])
    assert len(found.incidents) == 3
    assert len(found.waiting) == 1
    assert "i-OPEN" in found.waiting[0]
    assert not status(incidents=[incident("ACKNOWLEDGED")]).needs_a_human
    retraining = incident("OPEN") | {"kind": "retrain"}
    assert not status(incidents=[retraining]).needs_a_human  # the retrain is the answer


def test_a_promotion_in_flight_shows_its_step_and_a_finished_one_does_not() -> None:
    running = {"promotion_id": "churn-v3", "version": 3, "status": "running", "step": "shadow"}
    assert status(promotion=running).promotion == {
        "promotion_id": "churn-v3",
        "version": 3,
        "step": "shadow",
        "since": None,
        "updated_at": None,
    }
    assert status(promotion=running | {"status": "promoted"}).promotion is None


def test_a_running_retrain_shows_and_a_finished_one_does_not() -> None:
    lock = {"status": retrain.RUNNING, "incident_id": "inc-1", "started_at": at(1)}
    assert status(retrain_lock=lock).retrain == {
        "status": "RUNNING",
        "incident_id": "inc-1",
        "pipeline_execution_arn": None,
        "started_at": at(1),
    }
    assert status(retrain_lock=lock | {"status": retrain.SUCCEEDED}).retrain is None


def test_guardrail_flags_of_the_last_week_only() -> None:
    found = status(
        recent=[
            entry(Action.GUARDRAIL_FLAGGED, 10),
            entry(Action.GUARDRAIL_ENFORCED, 30),
            entry(Action.GUARDRAIL_FLAGGED, 24 * 8),
        ]
    )
    assert [f["action"] for f in found.guardrail_flags] == [
        "guardrail_flagged",
        "guardrail_enforced",
    ]


def test_the_daily_digest_counts_the_last_day_and_lists_what_waits() -> None:
    approval = {"approval_id": "ap-1", "kind": "promotion", "subject": "churn-v3",
                "created_at": at(2), "deadline": at(-20)}  # fmt: skip
    models = [status(approvals=[approval]), fleet.model_status(
        "fraud", "fraud-prod", recent=[], incidents=[], approvals=[], promotion=None,
        retrain_lock={"status": "RUNNING"}, now=NOW)]  # fmt: skip
    entries = [
        entry(Action.RETRAIN_STARTED, 3),
        entry(Action.RETRAIN_FAILED, 2),
        entry(Action.INCIDENT_OPENED, 4),
        entry(Action.INCIDENT_RESOLVED, 1),
        entry(Action.MODEL_PROMOTED, 1),
        entry(Action.NOTIFICATION_SENT, 1),
    ]
    note = fleet.daily_digest("daily-2026-11-29", entries, models, NOW)
    assert note.kind == "daily_digest"
    assert note.severity == "warning"
    assert "2 model(s): 5 decision(s) in 24 h, 1 waiting for a human" in note.title
    assert "retrains started: 1" in note.lines
    assert "retrains failed: 1" in note.lines
    assert "incidents opened: 1" in note.lines
    assert "incidents resolved: 1" in note.lines
    assert "models promoted: 1" in note.lines
    assert any(line.startswith("waits for a human: churn: approval ap-1") for line in note.lines)
    assert "in flight: fraud retrain RUNNING" in note.lines


def test_a_quiet_day_says_so() -> None:
    note = fleet.daily_digest("daily-x", [], [status()], NOW)
    assert note.severity == "info"
    assert "nothing waits for a human" in note.lines
    assert "decisions by kind: none" in note.lines


def test_untrusted_text_in_the_digest_is_escaped_per_channel() -> None:
    from mlops_runtime.notify import webhook_message

    hostile = "<!channel> *bold* `x`\n\u202eevil"
    approval = {"approval_id": "ap-1", "kind": "promotion", "subject": hostile,
                "created_at": at(2), "deadline": at(-20)}  # fmt: skip
    note = fleet.daily_digest("daily-x", [], [status(approvals=[approval])], NOW)
    email = note.as_text()
    assert "\u202e" not in email
    assert "\nevil" not in email
    slack = str(webhook_message(note))
    assert "<!channel>" not in slack.replace("&lt;!channel&gt;", "")
    assert "\u202e" not in slack
