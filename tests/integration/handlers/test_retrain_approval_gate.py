"""The retrain gate: a model with retrain.require_approval starts a pipeline only when the flow
carries an approved answer AND the approval table confirms it for this model and incident."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from mlops_runtime.store import Ledger, to_attributes

from tests.aws_fixtures import LambdaContext, create_template_tables, load_handler
from tests.integration.handlers.conftest import create_pipeline, put_model

pytestmark = pytest.mark.integration
APPROVAL_ID = "apv_" + "g" * 22
INCIDENT = "inc-churn-aaa"


@pytest.fixture
def gated(cloud: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APPROVAL_TABLE", "approvals")
    create_template_tables(boto3.client("dynamodb"), {"ApprovalTable": "approvals"})
    put_model(
        pipeline=None,
        retrain={"pipeline_name": "churn-retrain", "require_approval": True},
        approvals={"slack_channel": "C0APPROVALS", "slack_approvers": ["U0ADA"]},
    )
    create_pipeline()


def store_approval(status: str, model_id: str = "churn", subject: str = INCIDENT) -> None:
    request = {"kind": "retrain", "model_id": model_id, "subject": subject}
    item = {
        "pk": f"APPROVAL#{APPROVAL_ID}",
        "approval_id": APPROVAL_ID,
        "status": status,
        "model_id": model_id,
        "kind": "retrain",
        "subject": subject,
        "request": json.dumps(request),
        "approvers": '{"slack_users": ["U1"]}',
        "deadline": "2030-01-01T00:00:00Z",
        "created_at": "2029-12-31T00:00:00Z",
    }
    boto3.client("dynamodb").put_item(TableName="approvals", Item=to_attributes(item))


def retrain(answer: dict[str, Any] | None) -> dict[str, Any]:
    request = {"model_id": "churn", "incident_id": INCIDENT, "summary": {"reasons": ["drift"]}}
    if answer is not None:
        request["approval"] = answer
    return load_handler("start_retrain").handler(request, LambdaContext())  # type: ignore[no-any-return]


def executions() -> list[dict[str, Any]]:
    sagemaker = boto3.client("sagemaker")
    return sagemaker.list_pipeline_executions(PipelineName="churn-retrain")[
        "PipelineExecutionSummaries"
    ]


APPROVED = {
    "approval_id": APPROVAL_ID,
    "outcome": "approved",
    "decided_by": "U1",
    "channel": "slack",
    "reason": "",
    "decided_at": "2029-12-31T01:00:00Z",
}


def test_retrain_gate_records_why_a_rejected_retrain_did_not_start(gated: None) -> None:
    answer = APPROVED | {"outcome": "rejected", "reason": "not before the release"}
    result = retrain(answer)
    assert result == {
        "status": "skipped",
        "reason": "retrain not approved: rejected by U1 via slack: not before the release",
    }
    assert executions() == []
    assert [e["action"] for e in Ledger("ledger").entries("churn")] == ["retrain_skipped"]


def test_retrain_gate_refuses_a_flow_without_an_answer(gated: None) -> None:
    assert "no answer by nobody" in retrain(None)["reason"]
    assert executions() == []


@pytest.mark.parametrize(
    ("stored", "why"),
    [
        (None, "no approval item at all"),
        ({"status": "rejected"}, "the record says rejected"),
        ({"status": "approved", "model_id": "fraud"}, "approved, for another model"),
        ({"status": "approved", "subject": "inc-churn-zzz"}, "approved, for another incident"),
    ],
)
def test_retrain_gate_refuses_an_approved_answer_the_record_does_not_confirm(
    gated: None, stored: dict[str, str] | None, why: str
) -> None:
    if stored is not None:
        store_approval(**stored)
    result = retrain(APPROVED)
    assert result["status"] == "skipped", why
    assert "does not confirm" in result["reason"]
    assert executions() == []


def test_retrain_gate_starts_a_confirmed_approval(gated: None) -> None:
    store_approval("approved")
    assert retrain(APPROVED)["status"] == "started"
    assert len(executions()) == 1
