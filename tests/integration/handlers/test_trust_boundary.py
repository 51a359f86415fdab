"""The trust boundary of the intakes: an event decides neither what triage reads nor which
account's model it acts on (issue 10 item 3, issue 11 item 2)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from mlops_runtime.store import Ledger

from tests.aws_fixtures import LambdaContext, load_handler
from tests.integration.handlers.conftest import drain, put_model

pytestmark = pytest.mark.integration
EVENTS = Path(__file__).resolve().parents[3] / "events"
PASS_MACHINE = {"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}}


@pytest.fixture
def intake(cloud: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """A drift state machine that really starts, and the dead-letter queue."""
    sqs, sfn = boto3.client("sqs"), boto3.client("stepfunctions")
    dlq = sqs.create_queue(QueueName="dead-letters")["QueueUrl"]
    machine = sfn.create_state_machine(
        name="drift",
        definition=json.dumps(PASS_MACHINE),
        roleArn="arn:aws:iam::123456789012:role/drift",
    )["stateMachineArn"]
    monkeypatch.setenv("DEAD_LETTER_QUEUE_URL", dlq)
    monkeypatch.setenv("DRIFT_STATE_MACHINE_ARN", machine)
    return {"dlq": dlq, "machine": machine}


def executions(machine: str) -> list[dict[str, Any]]:
    listed = boto3.client("stepfunctions").list_executions(stateMachineArn=machine)
    return list(listed["executions"])


def drift_signal(**detail: Any) -> dict[str, Any]:
    event = json.loads((EVENTS / "drift-signal.json").read_text())
    event["detail"] = {"model_id": "churn", **detail}
    return event


def assert_rejected(result: dict[str, Any], dlq: str, machine: str, *words: str) -> str:
    assert result["status"] == "rejected", result
    (dead,) = drain(dlq)
    reason = str(json.loads(dead["body"])["reason"])
    for word in words:
        assert word in reason, reason
    rejected = [e for e in Ledger("ledger").entries("churn") if e["action"] == "event_rejected"]
    assert rejected
    assert rejected[0]["summary"] == reason
    assert executions(machine) == [], "nothing may run for a rejected event"
    return reason


# ---------------------------------------------------------------- issue 11 item 2


def test_a_drift_signal_pointing_outside_the_configured_location_is_rejected(intake) -> None:
    put_model()  # monitoring_output_uri: s3://monitoring/churn-prod
    event = drift_signal(monitoring_output_uri="s3://attacker-bucket/monitoring/churn-prod")
    result = load_handler("drift_intake").handler(event, LambdaContext())
    assert_rejected(
        result,
        intake["dlq"],
        intake["machine"],
        "s3://attacker-bucket/monitoring/churn-prod",
        "s3://monitoring/churn-prod",
    )


def test_a_sibling_prefix_is_not_under_the_configured_location(intake) -> None:
    put_model()
    event = drift_signal(monitoring_output_uri="s3://monitoring/churn-prod-copy")
    result = load_handler("drift_intake").handler(event, LambdaContext())
    assert_rejected(result, intake["dlq"], intake["machine"], "s3://monitoring/churn-prod-copy")


def test_a_drift_signal_cannot_name_a_location_when_the_model_configures_none(intake) -> None:
    put_model(monitoring_output_uri=None)
    event = drift_signal(monitoring_output_uri="s3://attacker-bucket/monitoring/churn-prod")
    result = load_handler("drift_intake").handler(event, LambdaContext())
    assert_rejected(result, intake["dlq"], intake["machine"], "configures no")


@pytest.mark.parametrize(
    "uri",
    [
        "s3://monitoring/churn-prod",
        "s3://monitoring/churn-prod/churn-data-quality",
        "s3://monitoring/churn-prod/evidently/2026/07/27/02/report.json",
    ],
)
def test_a_drift_signal_naming_the_location_or_below_starts_the_response(intake, uri) -> None:
    """Triage then reads the configured root: every stream of the model, nothing else."""
    put_model()
    result = load_handler("drift_intake").handler(
        drift_signal(monitoring_output_uri=uri), LambdaContext()
    )
    assert result["status"] == "started"
    (execution,) = executions(intake["machine"])
    described = boto3.client("stepfunctions").describe_execution(
        executionArn=execution["executionArn"]
    )
    assert json.loads(described["input"])["output_uri"] == "s3://monitoring/churn-prod"
    assert drain(intake["dlq"]) == []
