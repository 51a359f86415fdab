"""Models served in a workload account, on moto: their events are looked up and their monitoring
output read through the account's reader role, and no other account may act on them
(issue 10 items 2 and 3)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from mlops_core.errors import ReaderRoleAccessError
from mlops_runtime.store import Ledger

from tests.aws_fixtures import LambdaContext, load_handler
from tests.integration.handlers.conftest import create_pipeline, drain, put_model
from tests.integration.handlers.promotion_world import account_client
from tests.integration.handlers.test_trust_boundary import executions, intake  # noqa: F401

pytestmark = pytest.mark.integration
EVENTS = Path(__file__).resolve().parents[3] / "events"
TOOLING, PRODUCTION, STAGING = "123456789012", "333333333333", "222222222222"
BUCKET = f"mlopscp-monitoring-{PRODUCTION}"
ROOT = f"s3://{BUCKET}/monitoring/churn-prod"
READER = f"arn:aws:iam::{PRODUCTION}:role/mlopscp-reader"
EXTERNAL_ID = "reader-external-id-of-this-test"


@pytest.fixture
def production(intake: dict[str, str]) -> Iterator[dict[str, Any]]:  # noqa: F811
    """The production account: its reader role (trusting the tooling account with the
    ExternalId), its monitoring bucket with churn-prod's history, its monitoring schedules
    and one execution; the ExternalId in the tooling account's Secrets Manager."""
    from mlopscp.worlds.drift import MODELS
    from mlopscp_emulator import s3_ext, sagemaker_ext, sts_ext

    for extension in (sts_ext, s3_ext, sagemaker_ext):
        extension.install()
    try:
        secret = boto3.client("secretsmanager").create_secret(
            Name="mlopscp/promotion/external-id", SecretString=EXTERNAL_ID
        )["ARN"]
        account_client("iam", PRODUCTION).create_role(
            RoleName="mlopscp-reader",
            AssumeRolePolicyDocument=json.dumps(
                {
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"AWS": f"arn:aws:iam::{TOOLING}:root"},
                            "Action": "sts:AssumeRole",
                            "Condition": {"StringEquals": {"sts:ExternalId": EXTERNAL_ID}},
                        }
                    ]
                }
            ),
        )
        s3 = account_client("s3", PRODUCTION)
        s3.create_bucket(Bucket=BUCKET)
        files = MODELS["churn"].files()
        for relative, body in files.items():
            s3.put_object(Bucket=BUCKET, Key=f"monitoring/churn-prod/{relative}", Body=body)
        sagemaker = account_client("sagemaker", PRODUCTION)
        schedule = "churn-data-quality"
        sagemaker.create_monitoring_schedule(
            MonitoringScheduleName=schedule,
            MonitoringScheduleConfig={
                "ScheduleConfig": {"ScheduleExpression": "cron(0 * ? * * *)"},
                "MonitoringType": "DataQuality",
                "MonitoringJobDefinition": {
                    "MonitoringInputs": [
                        {"EndpointInput": {"EndpointName": "churn-prod", "LocalPath": "/in"}}
                    ],
                    "MonitoringOutputConfig": {
                        "MonitoringOutputs": [{"S3Output": {"S3Uri": ROOT, "LocalPath": "/out"}}]
                    },
                    "MonitoringResources": {
                        "ClusterConfig": {
                            "InstanceCount": 1,
                            "InstanceType": "ml.m5.xlarge",
                            "VolumeSizeInGB": 20,
                        }
                    },
                    "MonitoringAppSpecification": {"ImageUri": "model-monitor-analyzer"},
                    "RoleArn": f"arn:aws:iam::{PRODUCTION}:role/monitoring",
                },
            },
        )
        latest = max(k.split("/", 1)[1].rsplit("/", 1)[0] for k in files if k.startswith(schedule))
        from datetime import UTC, datetime

        at = datetime.strptime(latest, "%Y/%m/%d/%H").replace(tzinfo=UTC)
        job = sagemaker_ext.record_monitoring_execution(
            schedule, at, output_uri=f"{ROOT}/{schedule}/{latest}", account_id=PRODUCTION
        )
        yield {"secret": secret, "job": job, "at": at, **intake}
    finally:
        for extension in (sagemaker_ext, s3_ext, sts_ext):
            extension.uninstall()


def put_workload_model(secret: str, **changes: Any) -> None:
    account = {
        "account_id": PRODUCTION,
        "reader_role_arn": READER,
        "external_id_secret_arn": secret,
    }
    put_model(**({"monitoring_output_uri": ROOT, "account": account} | changes))


def monitoring_execution(job: dict[str, str], account: str = PRODUCTION) -> dict[str, Any]:
    """The Processing Job State Change SageMaker emits in `account`; only the job is named."""
    event = json.loads((EVENTS / "monitoring-execution-completed.json").read_text())
    event["id"], event["account"] = str(uuid.uuid4()), account
    event["detail"] = {
        "ProcessingJobName": job["ProcessingJobName"],
        "ProcessingJobArn": job["ProcessingJobArn"],
        "ProcessingJobStatus": "Completed",
    }
    return event


def drift_signal(account: str, **detail: Any) -> dict[str, Any]:
    event = json.loads((EVENTS / "drift-signal.json").read_text())
    event["id"], event["account"] = str(uuid.uuid4()), account
    event["detail"] = {"model_id": "churn", **detail}
    return event


def started_input(machine: str) -> dict[str, Any]:
    (execution,) = executions(machine)
    described = boto3.client("stepfunctions").describe_execution(
        executionArn=execution["executionArn"]
    )
    return dict(json.loads(described["input"]))


def rejection(result: dict[str, Any], dlq: str) -> str:
    assert result["status"] == "rejected", result
    (dead,) = drain(dlq)
    assert json.loads(dead["body"])["reason"] == result["reason"]
    (entry,) = [e for e in Ledger("ledger").entries("churn") if e["action"] == "event_rejected"]
    assert entry["summary"] == result["reason"]
    return str(result["reason"])


# ---------------------------------------------------------------- drift intake


def test_a_monitoring_execution_in_the_workload_account_is_described_there(production) -> None:
    put_workload_model(production["secret"])
    result = load_handler("drift_intake").handler(
        monitoring_execution(production["job"]), LambdaContext()
    )
    assert result["status"] == "started"
    request = started_input(production["machine"])
    assert request["output_uri"] == ROOT
    assert request["signal"]["schedule_name"] == "churn-data-quality"
    assert request["signal"]["endpoint_name"] == "churn-prod"


def test_without_a_configured_location_it_comes_from_the_accounts_own_api(production) -> None:
    put_workload_model(production["secret"], monitoring_output_uri=None)
    alarm = json.loads((EVENTS / "model-monitor-alarm.json").read_text())
    alarm["account"] = PRODUCTION
    result = load_handler("drift_intake").handler(alarm, LambdaContext())
    assert result["status"] == "started"
    assert started_input(production["machine"])["output_uri"] == ROOT


@pytest.mark.parametrize("account", [STAGING, TOOLING])
def test_another_account_may_not_act_on_the_model(production, account: str) -> None:
    put_workload_model(production["secret"])
    result = load_handler("drift_intake").handler(drift_signal(account), LambdaContext())
    reason = rejection(result, production["dlq"])
    assert f"an event from account {account}" in reason
    assert PRODUCTION in reason
    assert executions(production["machine"]) == []


def test_a_tooling_account_model_is_not_acted_on_from_a_workload_account(production) -> None:
    put_model()  # churn in the tooling account
    result = load_handler("drift_intake").handler(drift_signal(PRODUCTION), LambdaContext())
    assert TOOLING in rejection(result, production["dlq"])
    assert executions(production["machine"]) == []


def test_a_monitoring_execution_that_does_not_exist_there_is_rejected(production) -> None:
    put_workload_model(production["secret"])
    forged = monitoring_execution(
        {
            "ProcessingJobName": "model-monitoring-forged",
            "ProcessingJobArn": f"arn:aws:sagemaker:us-east-1:{PRODUCTION}:processing-job/x",
        }
    )
    result = load_handler("drift_intake").handler(forged, LambdaContext())
    assert result["status"] == "rejected"
    assert "does not exist in account 333333333333" in result["reason"]
    assert executions(production["machine"]) == []


def test_a_monitoring_execution_of_an_account_without_models_is_ignored(production) -> None:
    put_workload_model(production["secret"])
    event = monitoring_execution(production["job"], account="444444444444")
    result = load_handler("drift_intake").handler(event, LambdaContext())
    assert result == {
        "status": "ignored",
        "reason": "no model is configured in account 444444444444",
    }
    assert drain(production["dlq"]) == []


# ---------------------------------------------------------------- triage reads there


def triage(output_uri: str | None = ROOT) -> dict[str, Any]:
    boto3.client("s3").create_bucket(Bucket="artifacts")
    app = load_handler("drift_triage")
    request = {"event_id": "e-1", "model_id": "churn", "output_uri": output_uri}
    return dict(app.handler(request, LambdaContext()))


def test_triage_reads_the_workload_accounts_bucket_through_its_reader_role(
    production, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARTIFACTS_BUCKET", "artifacts")
    put_workload_model(production["secret"])
    with pytest.raises(Exception, match="AccessDenied"):
        boto3.client("s3").list_objects_v2(Bucket=BUCKET)  # not with the tooling account's own
    result = triage()
    assert result["decision"] == "retrain"
    report = boto3.client("s3").get_object(
        Bucket="artifacts", Key=result["report_uri"].removeprefix("s3://artifacts/")
    )
    assert json.loads(report["Body"].read())["read"] == {"account_id": PRODUCTION, "uri": ROOT}


def test_triage_without_the_right_external_id_is_refused(
    production, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARTIFACTS_BUCKET", "artifacts")
    wrong = boto3.client("secretsmanager").create_secret(
        Name="mlopscp/promotion/a-guess", SecretString="not-the-external-id"
    )["ARN"]
    put_workload_model(wrong)
    with pytest.raises(ReaderRoleAccessError, match="cannot assume the reader role of account"):
        triage()


def test_triage_never_reads_outside_the_configured_location(
    production, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlops_core.errors import MonitoringLocationError

    monkeypatch.setenv("ARTIFACTS_BUCKET", "artifacts")
    put_workload_model(production["secret"])
    with pytest.raises(MonitoringLocationError, match="is outside"):
        triage(f"s3://{BUCKET}/monitoring/fraud-prod")


# ---------------------------------------------------------------- the other intakes


def test_a_pipeline_status_event_from_another_account_changes_nothing(
    production, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.integration.handlers.test_loop_and_intake import status_event

    topic = boto3.client("sns").create_topic(Name="notifications")["TopicArn"]
    monkeypatch.setenv("NOTIFICATION_TOPIC_ARN", topic)
    monkeypatch.setenv("SLACK_WEBHOOK_SECRET_ARN", "")
    put_model()
    create_pipeline()
    started = load_handler("start_retrain").handler(
        {"model_id": "churn", "incident_id": "inc-churn-aaa", "summary": {"reasons": ["x"]}},
        LambdaContext(),
    )
    for account, arn in (
        (PRODUCTION, started["pipeline_execution_arn"]),  # names the real execution
        (PRODUCTION, started["pipeline_execution_arn"].replace(TOOLING, PRODUCTION)),
    ):
        forged = status_event(arn, "Failed", "boom")
        forged["account"] = account
        result = load_handler("pipeline_status").handler(forged, LambdaContext())
        assert result["status"] == "rejected"
    assert len(drain(production["dlq"])) == 2
    actions = [e["action"] for e in Ledger("ledger").about("inc-churn-aaa")]
    assert "retrain_failed" not in actions


@pytest.mark.parametrize(
    ("handler", "event_file"),
    [
        ("spot_recovery", "training-job-interrupted.json"),
        ("guardrails", "training-job-started-on-demand.json"),
    ],
)
def test_training_events_from_a_workload_account_are_rejected(
    training_cloud, handler: str, event_file: str
) -> None:
    """Training runs, and is recovered or stopped, in the tooling account only."""
    event = json.loads((EVENTS / event_file).read_text())
    event["account"] = PRODUCTION
    result = load_handler(handler).handler(event, LambdaContext())
    assert result["status"] == "rejected"
    assert "an event from account 333333333333" in result["reason"]
    (dead,) = drain(training_cloud["DEAD_LETTER_QUEUE_URL"])
    assert json.loads(dead["body"])["event"]["account"] == PRODUCTION


def endpoint_in_service(account: str, endpoint: str = "churn-prod") -> dict[str, Any]:
    event = json.loads((EVENTS / "endpoint-in-service.json").read_text())
    event["id"], event["account"] = str(uuid.uuid4()), account
    event["detail"] |= {"EndpointName": endpoint, "EndpointConfigName": f"{endpoint}-v1"}
    return event


def test_a_workload_endpoint_is_checked_in_its_account_and_only_from_there(
    production, training_cloud
) -> None:
    from mlopscp.worlds.common import serve

    sagemaker = account_client("sagemaker", PRODUCTION)
    sagemaker.create_model(
        ModelName="churn-v1",
        ExecutionRoleArn=f"arn:aws:iam::{PRODUCTION}:role/mlopscp-sagemaker-execution",
        PrimaryContainer={"Image": "img:1", "ModelDataUrl": "s3://models/churn.tar.gz"},
    )
    serve(sagemaker, "churn-prod", "churn-v1", 1, f"s3://{BUCKET}/capture")
    put_workload_model(production["secret"])
    guardrails = load_handler("guardrails")
    checked = guardrails.handler(endpoint_in_service(PRODUCTION), LambdaContext())
    assert checked["status"] == "checked"  # read through the reader role: it exists only there
    # Its capture and its schedule are found there; its model is not from the registry.
    assert {f["rule"] for f in checked["findings"]} == {"endpoint.model_not_registered"}
    refused = guardrails.handler(endpoint_in_service(STAGING), LambdaContext())
    assert refused["status"] == "rejected"
    assert "belongs to account 333333333333" in refused["reason"]
    unknown = guardrails.handler(endpoint_in_service(STAGING, "other-prod"), LambdaContext())
    assert unknown == {"status": "ignored", "reason": "no model is configured in 222222222222"}
