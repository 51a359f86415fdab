"""Untrusted text (feature names, descriptions, reasons, names) reaches Slack and email inert.

Slack: checked with the stand-in's model of Slack's rendering (mlopscp.slack_standin): nothing
hostile may become a link, a mention, a broadcast or formatting, and the text must still be
shown as written. Email: hostile text stays on one quoted line; it cannot start a line of its
own that reads like an instruction or a link.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from mlops_core import messages
from mlops_core.approvals import ApprovalRequest, Approvers, MetricChange
from mlops_core.incidents import IncidentKind, IncidentState, Severity, Status, Transition
from mlops_core.messages import Notification
from mlops_runtime.approval_channels import request_blocks, request_text
from mlops_runtime.approvals import Approval
from mlops_runtime.notify import webhook_message

from tests.untrusted_text import (
    HOSTILE,
    INJECTED_LINE,
    assert_email_inert,
    assert_slack_inert,
)

NOW = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)


def hostile_approval(**extra: object) -> Approval:
    request = ApprovalRequest(
        kind="promotion",
        model_id="churn",
        subject=HOSTILE,
        title=HOSTILE[:150],
        versions={"candidate": HOSTILE},
        verdict=HOSTILE,
        reasons=[HOSTILE, f"gradual drift on '{HOSTILE}'"],
        metrics=[MetricChange(name=HOSTILE[:80], before=0.9, after=0.8)],
        trend=HOSTILE,
    )
    fields: dict[str, object] = {
        "approval_id": "apv_" + "h" * 22,
        "status": "pending",
        "model_id": "churn",
        "request": request,
        "approvers": Approvers(slack_channel="C1", slack_users=["U0ADA"], emails=["a@example.com"]),
        "deadline": NOW + timedelta(hours=24),
        "created_at": NOW,
    } | extra
    return Approval(**fields)  # type: ignore[arg-type]


INCIDENT_MESSAGES = [
    Transition.OPENED,
    Transition.ESCALATED,
    Transition.REOPENED,
    Transition.UPDATED,
    Transition.RESOLVED,
]


def hostile_incident() -> IncidentState:
    """An incident whose every free-text field came from monitoring files or a Slack user."""
    return IncidentState(
        incident_id="inc-churn-0123456789ab",
        model_id="churn",
        kind=IncidentKind.INVESTIGATE,
        status=Status.ACKNOWLEDGED,
        fingerprint=(f"integrity_violation:{HOSTILE}",),
        severity=Severity.CRITICAL,
        opened_at=NOW,
        last_seen_at=NOW,
        last_run="k1",
        acknowledged_by=HOSTILE,
        resolved_by=HOSTILE,
        summary=HOSTILE,
        version=3,
    )


def hostile_notification() -> Notification:
    return Notification(
        kind="investigate",
        model_id="churn",
        subject_id="inc-1",
        title=f"[investigate] churn: {HOSTILE}",
        lines=[HOSTILE, f"integrity_check on '{HOSTILE}'"],
        facts={"incident": "inc-1", "package": HOSTILE},
        trend=HOSTILE,
    )


# ---------------------------------------------------------------- Slack


def test_a_hostile_approval_request_is_inert_in_slack() -> None:
    blocks = [b.to_dict() for b in request_blocks(hostile_approval(), decided=False)]
    assert_slack_inert({"blocks": blocks}, allowed_mentions={"<@U0ADA>"})


def test_a_hostile_reason_is_inert_in_the_decided_slack_message() -> None:
    decided = hostile_approval(
        status="approved",
        decided_by="a@example.com",
        decided_channel="email",
        decided_at="2026-07-01T13:00:00Z",
        reason=HOSTILE,
    )
    blocks = [b.to_dict() for b in request_blocks(decided, decided=True)]
    assert_slack_inert({"blocks": blocks}, allowed_mentions={"<@U0ADA>"})


@pytest.mark.parametrize(
    "notification",
    [
        hostile_notification(),
        *(
            messages.incident(
                transition,
                hostile_incident(),
                HOSTILE,
                details=[HOSTILE],
                new_items=[f"integrity_violation:{HOSTILE}"],
                summary={"latest": {HOSTILE: "x"}, "sparkline": HOSTILE},
            )
            for transition in INCIDENT_MESSAGES
        ),
        messages.retrain_failed("churn", "inc-1", "arn:x", "Failed", HOSTILE),
        messages.response_failed("churn", "inc-1", {"Error": HOSTILE, "Cause": HOSTILE}),
    ],
)
def test_hostile_notifications_are_inert_in_slack(notification: Notification) -> None:
    assert_slack_inert(webhook_message(notification), allowed_mentions=set())


# ---------------------------------------------------------------- email


def test_a_hostile_approval_request_stays_in_quoted_fields_in_email() -> None:
    assert_email_inert(request_text(hostile_approval()))


def test_hostile_notifications_stay_in_quoted_fields_in_email() -> None:
    """The title stays one line (its first); every other value is a quoted field."""
    title, blank, *rest = hostile_notification().as_text().splitlines()
    assert title.startswith("[investigate] churn: <!channel>")
    assert INJECTED_LINE in title, "shown as written, on the title's own line"
    assert blank == ""
    assert_email_inert("\n".join(rest))
    for transition in INCIDENT_MESSAGES:
        message = messages.incident(
            transition, hostile_incident(), HOSTILE, [HOSTILE], [HOSTILE], {"sparkline": HOSTILE}
        )
        title, blank, *rest = message.as_text().splitlines()
        assert HOSTILE.splitlines()[0] not in title, (
            "the title holds only the control plane's words"
        )
        assert_email_inert("\n".join(rest))
