"""The daily digest on moto: the guardrail digest function, invoked as its daily schedule does,
reads every model's last 24 hours and the pending approvals and sends one notification."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from mlops_core.approvals import ApprovalRequest, Approvers, new_approval_id
from mlops_core.ledger import Action, LedgerEntry
from mlops_runtime.approvals import Approval, ApprovalStore
from mlops_runtime.store import Ledger

from tests.aws_fixtures import LambdaContext, create_template_tables, load_handler
from tests.integration.handlers.conftest import drain, put_model
from tests.integration.handlers.test_guardrails import check, on_demand_job

pytestmark = pytest.mark.integration


def pending_approval(hours_ago: float) -> str:
    now = datetime.now(UTC)
    key = boto3.client("kms").create_key()["KeyMetadata"]["KeyId"]
    approval = Approval(
        approval_id=new_approval_id(),
        status="pending",
        model_id="churn",
        request=ApprovalRequest(kind="promotion", model_id="churn", subject="churn-v2"),
        approvers=Approvers(emails=["ana@example.com"]),
        deadline=now + timedelta(hours=24),
        created_at=now - timedelta(hours=hours_ago),
    )
    ApprovalStore("approvals", key).create(approval, "task-token", None)
    return approval.approval_id


def record(action: Action, hours_ago: float, subject: str) -> None:
    at = datetime.now(UTC) - timedelta(hours=hours_ago)
    Ledger("ledger").record(LedgerEntry(action, "churn", subject, f"{action}", {}, at=at))


def test_the_daily_digest_reports_the_last_day_and_what_waits(
    training_cloud: dict[str, Any],
) -> None:
    create_template_tables(boto3.client("dynamodb"), {"ApprovalTable": "approvals"})
    put_model()
    check(on_demand_job())  # two guardrail flags, through the guardrails function
    drain(training_cloud["inbox"])
    record(Action.RETRAIN_STARTED, 2, "inc-today")
    record(Action.RETRAIN_FAILED, 30, "inc-yesterday")  # outside the 24 hours
    approval = pending_approval(hours_ago=3)

    handler = load_handler("guardrail_digest").handler
    result: dict[str, Any] = handler({"digest": "daily"}, LambdaContext())

    assert result["status"] == "sent"
    assert result["models"] == 1
    assert result["waiting"] == 1
    (page,) = drain(training_cloud["inbox"])
    assert page["attributes"]["kind"] == "daily_digest"
    assert page["attributes"]["severity"] == "warning"
    body = page["body"]
    assert "retrains started: 1" in body
    assert "retrains failed: 0" in body
    assert "guardrail_flagged 2" in body
    assert f"waits for a human: churn: approval {approval}" in body
    sent = [e for e in Ledger("ledger").entries("_all") if e["action"] == "notification_sent"]
    assert [e["subject"] for e in sent] == [f"{result['digest_id']}#daily_digest"]


def test_the_guardrail_digest_still_answers_its_own_schedule(
    training_cloud: dict[str, Any],
) -> None:
    put_model()
    result = load_handler("guardrail_digest").handler({}, LambdaContext())
    # The serving sweep runs first (issue 14): this account has no endpoint, so nothing new.
    assert result == {
        "status": "empty",
        "findings": 0,
        "serving": {
            "status": "swept",
            "accounts": {"123456789012": 0},
            "endpoints": 0,
            "new": 0,
        },
    }
    assert drain(training_cloud["inbox"]) == []
