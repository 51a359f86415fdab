"""Guardrails and their digest on moto: findings recorded once, enforcement, one digest page."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest
from mlops_runtime.store import Ledger

from tests.aws_fixtures import LambdaContext, load_handler
from tests.integration.handlers.conftest import drain, put_model

pytestmark = pytest.mark.integration

EVENTS = Path(__file__).resolve().parents[3] / "events"
ROLE = "arn:aws:iam::123456789012:role/mlopscp-sagemaker-execution"


def on_demand_job(name: str = "churn-train-ondemand", **tags: str) -> dict[str, Any]:
    boto3.client("sagemaker").create_training_job(
        TrainingJobName=name,
        RoleArn=ROLE,
        AlgorithmSpecification={"TrainingImage": "img:1", "TrainingInputMode": "File"},
        OutputDataConfig={"S3OutputPath": "s3://models/out"},
        ResourceConfig={"InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 30},
        StoppingCondition={"MaxRuntimeInSeconds": 3600},
        Tags=[{"Key": k, "Value": v} for k, v in ({"mlopscp:model-id": "churn"} | tags).items()],
    )
    event = json.loads((EVENTS / "training-job-started-on-demand.json").read_text())
    event["id"] = str(uuid.uuid4())
    event["detail"]["TrainingJobName"] = name
    return event


def check(event: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = load_handler("guardrails").handler(event, LambdaContext())
    return result


def digest() -> dict[str, Any]:
    result: dict[str, Any] = load_handler("guardrail_digest").handler({}, LambdaContext())
    return result


def entries(model_id: str = "churn") -> list[dict[str, Any]]:
    return sorted(Ledger("ledger").entries(model_id), key=lambda e: e["subject"])


def status(name: str = "churn-train-ondemand") -> str:
    job = boto3.client("sagemaker").describe_training_job(TrainingJobName=name)
    return str(job["TrainingJobStatus"])


def test_a_job_without_spot_is_flagged_and_reported_in_one_digest(training_cloud) -> None:
    result = check(on_demand_job())
    assert {f["rule"] for f in result["findings"]} == {
        "training.no_spot",
        "training.no_checkpoint",
    }
    assert result["stopped"] is False
    assert [(e["action"], e["subject"]) for e in entries()] == [
        ("guardrail_flagged", "training-job/churn-train-ondemand#training.no_checkpoint"),
        ("guardrail_flagged", "training-job/churn-train-ondemand#training.no_spot"),
    ]
    assert status() not in {"Stopping", "Stopped"}  # warned, not enforced
    assert drain(training_cloud["inbox"]) == []  # warnings wait for the digest

    sent = digest()
    assert sent["status"] == "sent"
    assert sent["findings"] == 2
    (page,) = drain(training_cloud["inbox"])
    assert page["attributes"]["kind"] == "guardrail_digest"
    assert "training-job/churn-train-ondemand (churn) training.no_spot" in page["body"]
    assert "training.no_checkpoint" in page["body"]
    again = digest()  # nothing is reported twice
    assert (again["status"], again["findings"]) == ("empty", 0)
    assert drain(training_cloud["inbox"]) == []


def test_every_status_change_of_a_job_is_checked_once(training_cloud) -> None:
    event = on_demand_job()
    check(event)
    check(event | {"id": str(uuid.uuid4())})  # the next secondary status change
    check(event)  # a redelivery
    assert len(entries()) == 2
    assert digest()["findings"] == 2


def test_an_enforced_rule_stops_the_job_and_pages_at_once(training_cloud) -> None:
    put_model(guardrails={"enforce": ["training.no_spot"]})
    result = check(on_demand_job())
    assert result["stopped"] is True
    assert status() == "Stopping"
    actions = {e["subject"].split("#")[-1]: e["action"] for e in entries()}
    assert actions["training.no_spot"] == "guardrail_enforced"
    assert actions["training.no_checkpoint"] == "guardrail_flagged"
    (page,) = drain(training_cloud["inbox"])
    assert page["attributes"]["kind"] == "guardrail_enforced"
    assert "STOPPED training.no_spot" in page["body"]
    assert "training.no_checkpoint" in page["body"]  # every finding of the job, one page


def test_the_stack_default_enforces_for_models_without_their_own_policy(
    training_cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GUARDRAILS_ENFORCE", "training.no_checkpoint")
    result = check(on_demand_job("unowned-job", **{"mlopscp:model-id": "nobody"}))
    assert result["stopped"] is True
    assert status("unowned-job") == "Stopping"


def test_the_control_planes_own_fallback_copy_is_never_stopped(training_cloud) -> None:
    put_model(guardrails={"enforce": ["training.no_spot", "training.no_checkpoint"]})
    event = on_demand_job(
        "churn-train-a4", **{"mlopscp:lineage": "churn-train", "mlopscp:fallback": "on-demand"}
    )
    result = check(event)
    assert result["stopped"] is False
    assert status("churn-train-a4") not in {"Stopping", "Stopped"}
    assert [f["rule"] for f in result["findings"]] == ["training.no_checkpoint"]


def endpoint(name: str, *, capture: bool, registered: bool) -> dict[str, Any]:
    sagemaker = boto3.client("sagemaker")
    container: dict[str, Any] = {"Image": "img:1", "ModelDataUrl": "s3://models/m.tar.gz"}
    if registered:
        sagemaker.create_model_package_group(ModelPackageGroupName=name)
        package = sagemaker.create_model_package(
            ModelPackageGroupName=name,
            InferenceSpecification={
                "Containers": [container],
                "SupportedContentTypes": ["text/csv"],
                "SupportedResponseMIMETypes": ["text/csv"],
            },
        )["ModelPackageArn"]
        container = {"ModelPackageName": package}
    sagemaker.create_model(ModelName=f"{name}-m", ExecutionRoleArn=ROLE, PrimaryContainer=container)
    config: dict[str, Any] = {
        "EndpointConfigName": f"{name}-v1",
        "ProductionVariants": [
            {
                "VariantName": "AllTraffic",
                "ModelName": f"{name}-m",
                "InitialInstanceCount": 1,
                "InstanceType": "ml.m5.large",
            }
        ],
    }
    if capture:
        config["DataCaptureConfig"] = {
            "EnableCapture": True,
            "InitialSamplingPercentage": 100,
            "DestinationS3Uri": "s3://capture",
            "CaptureOptions": [{"CaptureMode": "Input"}],
        }
    sagemaker.create_endpoint_config(**config)
    sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=f"{name}-v1")
    event = json.loads((EVENTS / "endpoint-in-service.json").read_text())
    event["id"] = str(uuid.uuid4())
    event["detail"] |= {"EndpointName": name, "EndpointConfigName": f"{name}-v1"}
    return event


def test_an_endpoint_without_capture_monitoring_or_registry_is_flagged(training_cloud) -> None:
    put_model()  # churn-prod belongs to churn
    result = check(endpoint("churn-prod", capture=False, registered=False))
    assert {f["rule"] for f in result["findings"]} == {
        "endpoint.no_data_capture",
        "endpoint.no_monitoring",
        "endpoint.model_not_registered",
    }
    assert {e["subject"] for e in entries()} == {
        "endpoint/churn-prod@churn-prod-v1#endpoint.no_data_capture",
        "endpoint/churn-prod@churn-prod-v1#endpoint.no_monitoring",
        "endpoint/churn-prod@churn-prod-v1#endpoint.model_not_registered",
    }


def test_a_registered_model_with_capture_and_a_schedule_passes(training_cloud) -> None:
    event = endpoint("fraud-prod", capture=True, registered=True)
    boto3.client("sagemaker").create_monitoring_schedule(
        MonitoringScheduleName="fraud-data-quality",
        MonitoringScheduleConfig={
            "ScheduleConfig": {"ScheduleExpression": "cron(0 * ? * * *)"},
            "MonitoringType": "DataQuality",
            "MonitoringJobDefinition": {
                "MonitoringInputs": [
                    {"EndpointInput": {"EndpointName": "fraud-prod", "LocalPath": "/opt/in"}}
                ],
                "MonitoringOutputConfig": {
                    "MonitoringOutputs": [
                        {"S3Output": {"S3Uri": "s3://monitoring/fraud", "LocalPath": "/opt/out"}}
                    ]
                },
                "MonitoringResources": {
                    "ClusterConfig": {
                        "InstanceCount": 1,
                        "InstanceType": "ml.m5.xlarge",
                        "VolumeSizeInGB": 20,
                    }
                },
                "MonitoringAppSpecification": {"ImageUri": "analyzer:1"},
                "RoleArn": ROLE,
            },
        },
    )
    assert check(event)["findings"] == []
    sent = digest()
    assert (sent["status"], sent["findings"]) == ("empty", 0)
    assert (sent["serving"]["status"], sent["serving"]["new"]) == ("swept", 0)  # not idle yet


def test_an_endpoint_that_is_not_in_service_is_ignored(training_cloud) -> None:
    event = json.loads((EVENTS / "endpoint-in-service.json").read_text())
    event["detail"]["EndpointStatus"] = "CREATING"
    assert check(event) == {"status": "ignored", "reason": "endpoint is CREATING"}


def test_a_malformed_event_goes_to_the_dead_letter_queue(training_cloud) -> None:
    event = json.loads((EVENTS / "endpoint-in-service.json").read_text())
    del event["detail"]["EndpointName"]
    assert check(event)["status"] == "rejected"
    (dead,) = drain(training_cloud["DEAD_LETTER_QUEUE_URL"])
    assert "detail.EndpointName" in json.loads(dead["body"])["reason"]
    assert dead["attributes"]["source"] == "guardrails"


def test_a_job_is_checked_from_its_event_without_a_read(training_cloud) -> None:
    """Nothing is enforced: the findings come from the event's description alone (the job is
    not even in this account)."""
    event = json.loads((EVENTS / "training-job-started-on-demand.json").read_text())
    event["detail"]["TrainingJobName"] = "seen-only-in-its-event"
    result = check(event)
    assert result["status"] == "checked"
    assert result["stopped"] is False
    assert {f["rule"] for f in result["findings"]} >= {"training.no_spot"}


def test_enforcing_reads_the_job_and_a_missing_job_is_rejected_once(training_cloud) -> None:
    put_model(guardrails={"enforce": ["training.no_spot"]})
    event = json.loads((EVENTS / "training-job-started-on-demand.json").read_text())
    event["detail"]["TrainingJobName"] = "not-in-this-account"
    event["detail"]["Tags"] = {"mlopscp:model-id": "churn"}
    result = check(event)  # returns: no exception, so no Lambda retry
    assert result["status"] == "rejected"
    assert "training job not-in-this-account does not exist" in result["reason"]
    (dead,) = drain(training_cloud["DEAD_LETTER_QUEUE_URL"])
    assert json.loads(dead["body"])["reason"] == result["reason"]
    assert drain(training_cloud["inbox"]) == []  # nothing stopped, nobody paged


def test_an_endpoint_this_account_lacks_is_rejected_once(training_cloud) -> None:
    event = json.loads((EVENTS / "endpoint-in-service.json").read_text())
    event["detail"]["EndpointName"] = "nowhere-prod"
    result = check(event)
    assert result["status"] == "rejected"
    assert "endpoint nowhere-prod" in result["reason"]
    (dead,) = drain(training_cloud["DEAD_LETTER_QUEUE_URL"])
    assert dead["attributes"]["source"] == "guardrails"
