"""Pipeline status closes the loop; intake rejects malformed events into the DLQ with a reason."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from mlops_core.incidents import IncidentState, Status
from mlops_runtime.incidents import IncidentStore
from mlops_runtime.store import Ledger, StateStore

from tests.aws_fixtures import LambdaContext, load_handler
from tests.integration.handlers.conftest import create_pipeline, put_model

pytestmark = pytest.mark.integration
EVENTS = Path(__file__).resolve().parents[3] / "events"


@pytest.fixture
def inbox(cloud, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """An SNS topic whose messages land in an SQS queue we can read, plus a DLQ."""
    sqs, sns = boto3.client("sqs"), boto3.client("sns")
    topic = sns.create_topic(Name="notifications")["TopicArn"]
    inbox_url = sqs.create_queue(QueueName="inbox")["QueueUrl"]
    inbox_arn = sqs.get_queue_attributes(QueueUrl=inbox_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    sns.subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=inbox_arn,
        Attributes={"RawMessageDelivery": "true"},
    )
    dlq_url = sqs.create_queue(QueueName="dlq")["QueueUrl"]
    monkeypatch.setenv("NOTIFICATION_TOPIC_ARN", topic)
    monkeypatch.setenv("SLACK_WEBHOOK_SECRET_ARN", "")
    monkeypatch.setenv("DEAD_LETTER_QUEUE_URL", dlq_url)
    monkeypatch.setenv(
        "DRIFT_STATE_MACHINE_ARN", "arn:aws:states:us-east-1:123456789012:stateMachine:drift"
    )
    from mlopscp_emulator import sagemaker_ext  # ListPipelineExecutionSteps, which moto lacks

    sagemaker_ext.install()
    yield {"inbox": inbox_url, "dlq": dlq_url}
    sagemaker_ext.uninstall()


def messages(url: str) -> list[str]:
    response = boto3.client("sqs").receive_message(QueueUrl=url, MaxNumberOfMessages=10)
    return [m["Body"] for m in response.get("Messages", [])]


def started_retrain() -> tuple[str, str]:
    """A retrain decision tracked (it opens the model's retrain incident), then started:
    the pipeline execution and the incident."""
    put_model()
    create_pipeline()
    triage = {
        "model_id": "churn",
        "incident_id": "run-1",
        "decision": "retrain",
        "summary": {"signal_key": "k1", "reasons": ["drift"], "findings": []},
    }
    tracked = load_handler("track_incident").handler(triage, LambdaContext())
    assert (tracked["transition"], tracked["route"]) == ("opened", "retrain")
    incident = str(tracked["incident_id"])
    result = load_handler("start_retrain").handler(
        {"model_id": "churn", "incident_id": incident, "summary": {"reasons": ["drift"]}},
        LambdaContext(),
    )
    return str(result["pipeline_execution_arn"]), incident


def retrain_incident(incident_id: str) -> IncidentState:
    state = IncidentStore("state", Ledger("ledger")).get(incident_id)
    assert state is not None
    return state


def status_event(arn: str, status: str, reason: str | None = None) -> dict[str, Any]:
    event = json.loads((EVENTS / "pipeline-execution-failed.json").read_text())
    event["detail"] |= {
        "pipelineExecutionArn": arn,
        "currentPipelineExecutionStatus": status,
        "failureReason": reason,
    }
    return event


def test_a_failed_retrain_is_recorded_on_its_incident_and_pages(inbox) -> None:
    arn, incident_id = started_retrain()
    app = load_handler("pipeline_status")
    result = app.handler(status_event(arn, "Failed", "InsufficientCapacityError"), LambdaContext())
    assert result == {
        "status": "recorded",
        "incident_id": incident_id,
        "outcome": "retrain_failed",
    }
    state = StateStore("state")
    incident = retrain_incident(incident_id)
    assert incident.status == Status.RESOLVED
    assert incident.resolved_reason == "retraining pipeline failed: InsufficientCapacityError"
    assert state.get("MODEL#churn", "RETRAIN")["status"] == "FAILED"
    actions = [e["action"] for e in Ledger("ledger").about(incident_id)]
    assert {"incident_opened", "retrain_started", "retrain_failed", "incident_resolved"} <= set(
        actions
    )
    pages = messages(inbox["inbox"])
    assert len(pages) == 1
    assert "InsufficientCapacityError" in pages[0]


def test_a_succeeded_retrain_closes_the_incident_without_paging(inbox) -> None:
    arn, incident_id = started_retrain()
    load_handler("pipeline_status").handler(status_event(arn, "Succeeded"), LambdaContext())
    incident = retrain_incident(incident_id)
    assert (incident.status, incident.resolved_reason) == (
        Status.RESOLVED,
        "retraining pipeline succeeded",
    )
    assert messages(inbox["inbox"]) == []


def test_a_drift_that_keeps_going_after_the_retrain_ended_joins_it_during_the_cooldown(
    inbox,
) -> None:
    arn, incident_id = started_retrain()
    first = incident_id
    track = load_handler("track_incident").handler
    run = {"model_id": "churn", "decision": "retrain", "summary": {"findings": []}}
    during = track(run | {"summary": {"signal_key": "k2"}}, LambdaContext())
    assert (during["incident_id"], during["transition"], during["route"]) == (
        first,
        "attached",
        "done",
    )
    load_handler("pipeline_status").handler(status_event(arn, "Succeeded"), LambdaContext())
    after = track(run | {"summary": {"signal_key": "k3"}}, LambdaContext())
    # The retrain started moments ago: the gate's cooldown refuses another, so no new incident
    # opens (it would end at once) and no new retrain decision is taken.
    assert (after["incident_id"], after["transition"], after["route"]) == (
        first,
        "attached",
        "done",
    )
    (joined,) = [
        e
        for e in Ledger("ledger").about(first)
        if e["action"] == "incident_updated" and "cooldown" in e["summary"]
    ]
    assert joined["evidence"]["status"] == "RESOLVED"


def test_a_redelivered_status_event_changes_nothing_more(inbox) -> None:
    arn, incident_id = started_retrain()
    app = load_handler("pipeline_status")
    app.handler(status_event(arn, "Failed", "boom"), LambdaContext())
    again = app.handler(status_event(arn, "Failed", "boom"), LambdaContext())
    assert again["status"] == "duplicate"
    assert len(messages(inbox["inbox"])) == 1
    resolved = [
        e for e in Ledger("ledger").about(incident_id) if e["action"] == "incident_resolved"
    ]
    assert len(resolved) == 1


def test_pipelines_the_control_plane_did_not_start_are_ignored(inbox) -> None:
    put_model()
    event = status_event(
        "arn:aws:sagemaker:us-east-1:123456789012:pipeline/x/execution/y", "Failed"
    )
    assert load_handler("pipeline_status").handler(event, LambdaContext()) == {
        "status": "ignored",
        "reason": "arn:aws:sagemaker:us-east-1:123456789012:pipeline/x/execution/y is not a "
        "retrain this control plane started",
    }


def test_a_malformed_event_goes_to_the_dlq_with_its_reason(inbox) -> None:
    event = json.loads((EVENTS / "drift-signal-malformed.json").read_text())
    result = load_handler("drift_intake").handler(event, LambdaContext())
    assert result["status"] == "rejected"
    (body,) = messages(inbox["dlq"])
    dead = json.loads(body)
    assert dead["event"] == event, "the event is kept whole"
    assert "monitoring_output_uri" in dead["reason"]
    (entry,) = Ledger("ledger").entries("_unknown")
    assert entry["action"] == "event_rejected"
    assert entry["subject"] == f"event:{event['id']}"


def test_an_event_for_an_unmanaged_endpoint_is_ignored_not_rejected(inbox) -> None:
    event = json.loads((EVENTS / "model-monitor-alarm.json").read_text())
    result = load_handler("drift_intake").handler(event, LambdaContext())
    assert result["status"] == "ignored"
    assert "churn-prod" in result["reason"]
    assert messages(inbox["dlq"]) == []


def test_a_spot_capacity_failure_is_recorded_but_left_to_spot_recovery(training_cloud) -> None:
    from mlopscp_emulator import sagemaker_ext

    from tests.integration.handlers.test_spot_recovery import training_job

    arn, incident_id = started_retrain()
    job = training_job("churn-train-1")
    sagemaker_ext.set_training_job_status(job, "Stopped", "MaxWaitTimeExceeded")
    job_arn = boto3.client("sagemaker").describe_training_job(TrainingJobName=job)["TrainingJobArn"]
    sagemaker_ext.set_pipeline_execution_steps(
        arn,
        [
            {
                "StepName": "Train",
                "StepType": "Training",
                "StepStatus": "Failed",
                "Metadata": {"TrainingJob": {"Arn": job_arn}},
            }
        ],
    )
    result = load_handler("pipeline_status").handler(
        status_event(arn, "Failed", "Step Train failed"), LambdaContext()
    )
    assert result["outcome"] == "retrain_failed"
    assert messages(training_cloud["inbox"]) == [], "spot recovery pages if it gives up"
    assert retrain_incident(incident_id).is_open, "spot recovery may still retry the pipeline"


@pytest.mark.parametrize(
    "event",
    [
        ["not", "an", "object"],
        "a string",
        None,
        {"id": "e-9", "detail-type": "SageMaker Model Building Pipeline Execution Status Change"},
    ],
    ids=["list", "string", "null", "no-detail"],
)
def test_pipeline_status_rejects_a_malformed_event_into_the_dlq(inbox, event: Any) -> None:
    result = load_handler("pipeline_status").handler(event, LambdaContext())
    assert result["status"] == "rejected"
    (body,) = messages(inbox["dlq"])
    dead = json.loads(body)
    assert dead["event"] == event, "the event is kept whole"
    assert dead["reason"].startswith("malformed event")
    (entry,) = Ledger("ledger").entries("_unknown")
    assert entry["action"] == "event_rejected"
    assert entry["evidence"]["source"] == "pipeline-status"
