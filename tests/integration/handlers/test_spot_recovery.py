"""Spot recovery on moto: the copies it starts, the retries it asks for, what it records."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from mlops_runtime.store import Ledger, StateStore

from tests.aws_fixtures import LambdaContext, load_handler
from tests.integration.handlers.conftest import create_pipeline, drain, put_model

pytestmark = pytest.mark.integration

EVENTS = Path(__file__).resolve().parents[3] / "events"
ROLE = "arn:aws:iam::123456789012:role/mlopscp-sagemaker-execution"
CHECKPOINT = {"S3Uri": "s3://models/churn/checkpoints", "LocalPath": "/opt/ml/checkpoints"}
CAPACITY = (
    "CapacityError: Unable to provision requested ML compute capacity. Please retry using a "
    "different ML instance type."
)


def training_job(name: str, *, checkpoint: bool = True, tags: dict[str, str] | None = None) -> str:
    request: dict[str, Any] = {
        "TrainingJobName": name,
        "RoleArn": ROLE,
        "AlgorithmSpecification": {"TrainingImage": "img:1", "TrainingInputMode": "File"},
        "HyperParameters": {"eta": "0.2"},
        "Environment": {"MODEL": "churn"},
        "OutputDataConfig": {"S3OutputPath": "s3://models/churn/out"},
        "ResourceConfig": {
            "InstanceType": "ml.m5.xlarge",
            "InstanceCount": 1,
            "VolumeSizeInGB": 30,
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600, "MaxWaitTimeInSeconds": 7200},
        "EnableManagedSpotTraining": True,
        "Tags": [
            {"Key": k, "Value": v}
            for k, v in ({"mlopscp:model-id": "churn"} if tags is None else tags).items()
        ],
    }
    if checkpoint:
        request["CheckpointConfig"] = CHECKPOINT
    boto3.client("sagemaker").create_training_job(**request)
    return name


def ends(name: str, status: str = "Stopped", secondary: str = "MaxWaitTimeExceeded", reason=None):
    """The job ends as SageMaker would end it; returns the event SageMaker emits."""
    from mlopscp_emulator import sagemaker_ext

    sagemaker_ext.set_training_job_status(name, status, secondary, reason)
    event = json.loads((EVENTS / "training-job-max-wait-exceeded.json").read_text())
    event["id"] = str(uuid.uuid4())
    event["detail"] |= {
        "TrainingJobName": name,
        "TrainingJobStatus": status,
        "SecondaryStatus": secondary,
        "FailureReason": reason,
    }
    return event


def jobs(prefix: str = "churn-train") -> dict[str, dict[str, Any]]:
    sagemaker = boto3.client("sagemaker")
    names = [
        s["TrainingJobName"]
        for s in sagemaker.list_training_jobs(NameContains=prefix, MaxResults=100)[
            "TrainingJobSummaries"
        ]
    ]
    described = {}
    for name in names:
        job = sagemaker.describe_training_job(TrainingJobName=name)
        job["Tags"] = {
            t["Key"]: t["Value"]
            for t in sagemaker.list_tags(ResourceArn=job["TrainingJobArn"])["Tags"]
        }
        described[name] = job
    return described


def actions(model_id: str = "churn") -> list[str]:
    return sorted(e["action"] for e in Ledger("ledger").entries(model_id))


def handle(event: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = load_handler("spot_recovery").handler(event, LambdaContext())
    return result


def test_a_job_out_of_wait_time_is_resumed_from_its_checkpoint(training_cloud) -> None:
    training_job("churn-train", tags={"mlopscp:model-id": "churn", "team": "retention"})
    result = handle(ends("churn-train"))

    assert result == {
        "status": "applied",
        "step": "resume",
        "lineage": "churn-train",
        "job": "churn-train-a2",
    }
    copy = jobs()["churn-train-a2"]
    assert copy["CheckpointConfig"] == CHECKPOINT
    assert copy["EnableManagedSpotTraining"] is True
    assert copy["StoppingCondition"] == {"MaxRuntimeInSeconds": 3600, "MaxWaitTimeInSeconds": 7200}
    assert copy["HyperParameters"] == {"eta": "0.2"}
    assert copy["Environment"] == {"MODEL": "churn"}
    assert copy["Tags"] == {
        "mlopscp:model-id": "churn",
        "team": "retention",
        "mlopscp:lineage": "churn-train",
        "mlopscp:attempt": "2",
        "mlopscp:resumed-from": "churn-train",
    }
    (entry,) = Ledger("ledger").entries("churn")
    assert entry["action"] == "training_resumed"
    assert entry["evidence"]["lineage"] == "churn-train"
    assert entry["evidence"]["new_job"] == "churn-train-a2"
    assert entry["evidence"]["checkpoint"] == CHECKPOINT["S3Uri"]
    lineage = StateStore("state").get("TRAINING_LINEAGE#churn-train", "LINEAGE")
    assert (lineage["attempt"], lineage["handled"]) == (2, ["churn-train"])
    assert drain(training_cloud["inbox"]) == []  # a resume is recorded, not paged


def test_the_event_decides_and_the_copy_is_built_from_our_own_read(training_cloud) -> None:
    """SageMaker's description may lag the event (here it still says Completed): the event's
    ending decides; the copy's role, image and data still come from DescribeTrainingJob."""
    training_job("churn-train")
    event = json.loads((EVENTS / "training-job-max-wait-exceeded.json").read_text())
    event["detail"] |= {
        "TrainingJobName": "churn-train",
        "RoleArn": "arn:aws:iam::123456789012:role/attacker-chosen",
        "AlgorithmSpecification": {"TrainingImage": "evil:1", "TrainingInputMode": "File"},
    }
    assert handle(event)["job"] == "churn-train-a2"
    copy = jobs()["churn-train-a2"]
    assert copy["RoleArn"] == ROLE
    assert copy["AlgorithmSpecification"]["TrainingImage"] == "img:1"


def test_an_ending_that_is_none_of_our_business_is_ignored_without_a_read(training_cloud) -> None:
    event = json.loads((EVENTS / "training-job-max-wait-exceeded.json").read_text())
    event["detail"] |= {"TrainingJobName": "nowhere", "TrainingJobStatus": "Completed"}
    event["detail"]["SecondaryStatus"] = "Completed"
    result = handle(event)  # "nowhere" does not exist: it was never described
    assert result == {
        "status": "ignored",
        "reason": "training job nowhere is Completed/Completed: not a Spot or capacity ending",
    }


def test_an_event_about_a_job_this_account_lacks_is_rejected_once(training_cloud) -> None:
    event = json.loads((EVENTS / "training-job-max-wait-exceeded.json").read_text())
    event["detail"]["TrainingJobName"] = "not-here"
    result = handle(event)  # returns: no exception, so no Lambda retry
    assert result["status"] == "rejected"
    assert "training job not-here does not exist" in result["reason"]
    sqs = boto3.client("sqs")
    queue = sqs.get_queue_url(QueueName="dead-letters")["QueueUrl"]
    (dead,) = drain(queue)
    assert json.loads(dead["body"])["reason"] == result["reason"]
    assert jobs() == {}
    assert [e["action"] for e in Ledger("ledger").entries("_unknown")] == ["event_rejected"]


def test_the_same_event_delivered_again_starts_one_copy(training_cloud) -> None:
    training_job("churn-train")
    event = ends("churn-train")
    first = handle(event)
    second = handle(event)  # a cold start elsewhere, same event
    assert second == first
    again = handle(event | {"id": str(uuid.uuid4())})  # the same ending, reported twice
    assert again["status"] == "applied"  # Powertools answers with the first result
    assert sorted(jobs()) == ["churn-train", "churn-train-a2"]
    assert actions() == ["training_resumed"]


def test_without_the_idempotency_records_the_lineage_still_refuses_a_second_copy(
    training_cloud,
) -> None:
    training_job("churn-train")
    event = ends("churn-train")
    handle(event)
    dynamodb = boto3.client("dynamodb")
    for item in dynamodb.scan(TableName="idempotency")["Items"]:
        dynamodb.delete_item(TableName="idempotency", Key={"id": item["id"]})
    result = handle(event)
    assert result["status"] == "nothing"
    assert "already handled" in result["reason"]
    assert sorted(jobs()) == ["churn-train", "churn-train-a2"]


def test_a_copy_created_before_a_crash_is_recorded_not_created_again(training_cloud) -> None:
    from mlops_core import spot

    training_job("churn-train")
    event = ends("churn-train")
    # an earlier invocation created the copy, then died before writing the lineage
    decided = spot.decide(jobs()["churn-train"] | {"Tags": []}, None, spot.SpotPolicy())
    boto3.client("sagemaker").create_training_job(**(decided.request or {}))

    result = handle(event)
    assert result["status"] == "applied"
    assert sorted(jobs()) == ["churn-train", "churn-train-a2"]
    assert actions() == ["training_resumed"]


def test_the_third_failure_falls_back_to_on_demand_and_pages(training_cloud) -> None:
    training_job("churn-train")
    handle(ends("churn-train"))
    handle(ends("churn-train-a2", "Failed", "Failed", CAPACITY))
    handle(ends("churn-train-a3"))

    described = jobs()
    assert sorted(described) == [f"churn-train{s}" for s in ("", "-a2", "-a3", "-a4")]
    fallback = described["churn-train-a4"]
    assert fallback["EnableManagedSpotTraining"] is False
    assert "MaxWaitTimeInSeconds" not in fallback["StoppingCondition"]
    assert fallback["CheckpointConfig"] == CHECKPOINT
    assert fallback["Tags"]["mlopscp:fallback"] == "on-demand"
    assert actions() == [
        "notification_sent",
        "training_fallback",
        "training_resumed",
        "training_resumed",
    ]
    (page,) = drain(training_cloud["inbox"])
    assert page["attributes"]["kind"] == "training_fallback"
    assert "churn-train-a4" in page["body"]


def test_an_out_of_order_event_about_a_handled_job_changes_nothing(training_cloud) -> None:
    training_job("churn-train")
    handle(ends("churn-train"))
    # the job's earlier "Interrupted" change arrives after its end: the lineage record says
    # the job was already handled, so the late event records and starts nothing
    late = ends("churn-train") | {"id": str(uuid.uuid4())}
    late["detail"] |= {"TrainingJobStatus": "InProgress", "SecondaryStatus": "Interrupted"}
    handle(late)
    dynamodb = boto3.client("dynamodb")
    for item in dynamodb.scan(TableName="idempotency")["Items"]:
        dynamodb.delete_item(TableName="idempotency", Key={"id": item["id"]})
    assert handle(late | {"id": str(uuid.uuid4())})["status"] == "nothing"
    assert sorted(jobs()) == ["churn-train", "churn-train-a2"]
    assert actions() == ["training_resumed"]


def test_a_stale_failure_of_an_earlier_attempt_starts_nothing(training_cloud) -> None:
    training_job("churn-train")
    handle(ends("churn-train"))
    handle(ends("churn-train-a2", "Failed", "Failed", CAPACITY))
    # attempt 2's first report of the same end comes once more, by a different path
    dynamodb = boto3.client("dynamodb")
    for item in dynamodb.scan(TableName="idempotency")["Items"]:
        dynamodb.delete_item(TableName="idempotency", Key={"id": item["id"]})
    result = handle(ends("churn-train-a2", "Failed", "Failed", CAPACITY))
    assert result["status"] == "nothing"
    assert sorted(jobs()) == ["churn-train", "churn-train-a2", "churn-train-a3"]
    assert actions() == ["training_resumed", "training_resumed"]


def test_an_interruption_is_recorded_and_nothing_started(training_cloud) -> None:
    training_job("churn-train")
    result = handle(ends("churn-train", "InProgress", "Interrupted"))
    assert result == {"status": "recorded", "step": "record_interruption"}
    assert actions() == ["training_interrupted"]
    assert sorted(jobs()) == ["churn-train"]


def test_a_model_that_says_notify_without_checkpoint_gets_a_page_and_no_copy(
    training_cloud,
) -> None:
    put_model(spot={"without_checkpoint": "notify"})
    training_job("churn-train", checkpoint=False)
    result = handle(ends("churn-train"))
    assert result["step"] == "give_up"
    assert sorted(jobs()) == ["churn-train"]
    assert actions() == ["notification_sent", "training_given_up"]
    (page,) = drain(training_cloud["inbox"])
    assert page["attributes"]["kind"] == "training_given_up"
    assert "no CheckpointConfig" in page["body"]
    assert "restart from zero" in page["body"]


def test_a_refused_copy_ends_the_lineage_with_the_refusal_paged(
    training_cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    training_job("churn-train")
    app = load_handler("spot_recovery")

    def refuse(request: dict[str, Any]) -> bool:
        raise ClientError(
            {"Error": {"Code": "AccessDeniedException", "Message": "not allowed: iam:PassRole"}},
            "CreateTrainingJob",
        )

    monkeypatch.setattr(app.training, "create_copy", refuse)
    result = app.handler(ends("churn-train"), LambdaContext())
    assert result["step"] == "give_up"
    (page,) = drain(training_cloud["inbox"])
    assert "iam:PassRole" in page["body"]
    assert actions() == ["notification_sent", "training_given_up"]


# ---------------------------------------------------------------- pipelines


def pipeline_world() -> tuple[str, str]:
    """A retraining pipeline execution whose training step ran out of Spot capacity."""
    from mlopscp_emulator import sagemaker_ext

    put_model()
    create_pipeline()
    execution = boto3.client("sagemaker").start_pipeline_execution(
        PipelineName="churn-retrain", ClientRequestToken=uuid.uuid4().hex
    )["PipelineExecutionArn"]
    state = StateStore("state")
    state.apply(
        state.put_operation(
            {
                "pk": f"PIPELINE_EXECUTION#{execution}",
                "sk": "INCIDENT",
                "model_id": "churn",
                "incident_id": "inc-churn-1",
            }
        )
    )
    job = training_job(
        "pipelines-x1-TrainModel-a1", tags={"sagemaker:pipeline-execution-arn": execution}
    )
    sagemaker_ext.set_training_job_status(job, "Stopped", "MaxWaitTimeExceeded")
    return execution, job


def step_event(execution: str, job: str) -> dict[str, Any]:
    event = json.loads((EVENTS / "pipeline-training-step-failed.json").read_text())
    event["id"] = str(uuid.uuid4())
    event["detail"]["pipelineExecutionArn"] = execution
    event["detail"]["metadata"]["trainingJob"]["arn"] = (
        f"arn:aws:sagemaker:us-east-1:123456789012:training-job/{job}"
    )
    return event


def test_a_failed_training_step_retries_its_pipeline_execution(training_cloud) -> None:
    from mlopscp_emulator import sagemaker_ext

    execution, job = pipeline_world()
    sagemaker_ext.set_pipeline_execution_status(execution, "Failed", "Step TrainModel failed")
    event = step_event(execution, job)
    result = handle(event)
    assert result["step"] == "retry_pipeline"
    described = boto3.client("sagemaker").describe_pipeline_execution(
        PipelineExecutionArn=execution
    )
    assert described["PipelineExecutionStatus"] == "Executing"
    (entry,) = Ledger("ledger").entries("churn")  # the model, from the retrain's incident
    assert entry["action"] == "training_resumed"
    assert entry["evidence"]["pipeline_execution_arn"] == execution
    assert sorted(jobs("pipelines")) == [job]  # retried, never copied
    # the job's own state change reports the same failure: nothing more happens
    again = handle(ends(job) | {"id": str(uuid.uuid4())})
    assert again["status"] == "nothing"


def test_a_step_event_while_the_execution_still_runs_is_retried_later(training_cloud) -> None:
    execution, job = pipeline_world()
    app = load_handler("spot_recovery")
    with pytest.raises(Exception, match="still Executing") as busy:
        app.handler(step_event(execution, job), LambdaContext())
    assert type(busy.value).__name__ == "PipelineExecutionBusyError"
    assert actions() == []


def test_the_jobs_own_event_leaves_a_running_execution_to_the_step_event(training_cloud) -> None:
    _, job = pipeline_world()
    result = handle(ends(job))
    assert result["status"] == "not_retried"
    assert "step's status change event retries it" in result["reason"]
    assert actions() == []


# ---------------------------------------------------------------- refused events


def test_a_malformed_event_goes_to_the_dead_letter_queue_with_its_reason(training_cloud) -> None:
    event = json.loads((EVENTS / "training-job-max-wait-exceeded.json").read_text())
    del event["detail"]["TrainingJobName"]
    result = handle(event)
    assert result["status"] == "rejected"
    (dead,) = drain(training_cloud["DEAD_LETTER_QUEUE_URL"])
    body = json.loads(dead["body"])
    assert "detail.TrainingJobName" in body["reason"]
    assert body["event"]["id"] == event["id"]
    assert dead["attributes"]["source"] == "spot-recovery"
    assert actions("_unknown") == ["event_rejected"]


# ---------------------------------------------------------------- the adapter alone


def recovery() -> Any:
    import os

    from mlops_core.spot import SpotPolicy
    from mlops_runtime.model_config import ModelConfigStore
    from mlops_runtime.spot_recovery import SpotRecovery

    return SpotRecovery(
        Ledger("ledger"),
        StateStore("state"),
        ModelConfigStore("model-config"),
        lambda model: SpotPolicy(),
        os.environ["NOTIFICATION_TOPIC_ARN"],
        None,
    )


def business_key(event: dict[str, Any]) -> str:
    """The request's key, or why the event asks for nothing."""
    from mlops_runtime.events import TRAINING_DETAIL_TYPES, TrainingEvent, parse_one_of

    request = recovery().request_of(parse_one_of(event, TrainingEvent, TRAINING_DETAIL_TYPES))
    return request if isinstance(request, str) else str(request["key"])


def test_the_business_key_names_the_lineage_job_ending_and_trigger(training_cloud) -> None:
    """SpotRecovery.request_of without a Lambda context: the key the handler's idempotency
    uses is the same for a redelivery and differs for another ending of the same job."""
    from mlops_core import spot

    training_job("churn-train")
    interrupted = ends("churn-train", "InProgress", "Interrupted")
    key = business_key(interrupted)
    assert key == f"churn-train|churn-train|{spot.Ending.INTERRUPTED}-1|job"
    assert business_key(interrupted | {"id": str(uuid.uuid4())}) == key
    ran_out = spot.classify("Stopped", "MaxWaitTimeExceeded", None)
    assert business_key(ends("churn-train")) == f"churn-train|churn-train|{ran_out}|job"


def test_a_failed_training_step_is_keyed_by_its_execution_and_a_passing_one_is_no_request(
    training_cloud,
) -> None:
    from mlops_core import spot

    execution, job = pipeline_world()
    ran_out = spot.classify("Stopped", "MaxWaitTimeExceeded", None)
    assert business_key(step_event(execution, job)) == f"{execution}|{job}|{ran_out}|step"
    passed = step_event(execution, job)
    passed["detail"]["currentStepStatus"] = "Succeeded"
    assert business_key(passed) == "not a failed training step"


def test_giving_up_on_a_retrain_pipeline_ends_its_retrain_incident(training_cloud) -> None:
    """Nothing retries the pipeline any more, so the next retrain decision may open a new one."""
    from mlops_core.incidents import IncidentKind, IncidentPolicy, Observation, observe
    from mlops_runtime.incidents import IncidentStore
    from mlopscp_emulator import sagemaker_ext

    execution, job = pipeline_world()
    put_model(spot={"max_spot_attempts": 1, "fallback": "give_up"})
    store = IncidentStore("state", Ledger("ledger"))
    run = {"model_id": "churn", "decision": "retrain", "summary": {"signal_key": "k1"}}
    opened = observe(
        None, Observation.of_run(run, IncidentKind.RETRAIN), IncidentPolicy(), datetime.now(UTC)
    )
    store.apply(opened)
    state = StateStore("state")
    link = state.get(f"PIPELINE_EXECUTION#{execution}", "INCIDENT")
    state.apply(state.put_operation(link | {"incident_id": opened.incident_id}))
    sagemaker_ext.set_pipeline_execution_status(execution, "Failed", "Step TrainModel failed")
    result = handle(step_event(execution, job))
    assert result["step"] == "give_up"
    ended = store.get(str(opened.incident_id))
    assert ended is not None
    assert not ended.is_open
    assert (ended.resolved_reason or "").startswith("retrain given up: ")
