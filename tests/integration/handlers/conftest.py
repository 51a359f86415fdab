"""Handlers against moto in-process: their AWS effects, without the full emulator."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from mlops_core import retrain
from mlops_runtime import aws
from moto import mock_aws

from tests.aws_fixtures import create_template_tables

TABLES = {
    "LedgerTable": "ledger",
    "StateTable": "state",
    "ModelConfigTable": "model-config",
    "IdempotencyTable": "idempotency",
}


@pytest.fixture
def cloud(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    for var in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
        monkeypatch.delenv(var, raising=False)
    env = {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "POWERTOOLS_METRICS_NAMESPACE": "Test",
        "POWERTOOLS_SERVICE_NAME": "test",
        "LEDGER_TABLE": "ledger",
        "STATE_TABLE": "state",
        "MODEL_CONFIG_TABLE": "model-config",
        "IDEMPOTENCY_TABLE": "idempotency",
        "DEFAULT_RETRAIN_COOLDOWN_HOURS": "24",
        "TOOLING_ACCOUNT_ID": "123456789012",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    aws.clear_cached_clients()
    with mock_aws():
        create_template_tables(boto3.client("dynamodb"), TABLES)
        yield env
    aws.clear_cached_clients()


def put_model(pipeline: str | None = "churn-retrain", **extra: Any) -> None:
    from mlops_runtime.model_config import ModelConfig, ModelConfigStore

    config: dict[str, Any] = {
        "model_id": "churn",
        "endpoint_name": "churn-prod",
        "monitoring_output_uri": "s3://monitoring/churn-prod",
    }
    if pipeline:
        config["retrain"] = {"pipeline_name": pipeline}
    ModelConfigStore("model-config", max_age=0).put(ModelConfig.model_validate(config | extra))


def create_pipeline(name: str = "churn-retrain") -> None:
    definition = {
        "Version": "2020-12-01",
        "Parameters": [
            {"Name": p, "Type": "String", "DefaultValue": ""} for p in retrain.PIPELINE_PARAMETERS
        ],
        "Steps": [],
    }
    import json

    boto3.client("sagemaker").create_pipeline(
        PipelineName=name,
        PipelineDefinition=json.dumps(definition),
        RoleArn="arn:aws:iam::123456789012:role/sagemaker",
    )


# ---------------------------------------------------------------- Spot recovery and guardrails


@pytest.fixture
def training_cloud(
    cloud: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, Any]]:
    """`cloud` plus what Spot recovery and guardrails need: the emulator's SageMaker extension
    (statuses, StopTrainingJob, RetryPipelineExecution), the notification topic with an SQS
    inbox subscribed to it, and the dead-letter queue."""
    from mlopscp_emulator import sagemaker_ext

    sqs, sns = boto3.client("sqs"), boto3.client("sns")
    topic = sns.create_topic(Name="notifications")["TopicArn"]
    inbox = sqs.create_queue(QueueName="inbox")["QueueUrl"]
    inbox_arn = sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=inbox_arn,
        Attributes={"RawMessageDelivery": "true"},
    )
    dead_letters = sqs.create_queue(QueueName="dead-letters")["QueueUrl"]
    extra = {
        "NOTIFICATION_TOPIC_ARN": topic,
        "DEAD_LETTER_QUEUE_URL": dead_letters,
        "SLACK_WEBHOOK_SECRET_ARN": "",
        "APPROVAL_TABLE": "approvals",  # the digest function's settings name it
    }
    for key, value in extra.items():
        monkeypatch.setenv(key, value)
    sagemaker_ext.install()
    try:
        yield cloud | extra | {"inbox": inbox}
    finally:
        sagemaker_ext.uninstall()


def drain(queue_url: str) -> list[dict[str, Any]]:
    """Every message in the queue (body and string attributes), removed as read."""
    sqs, found = boto3.client("sqs"), []
    while batch := sqs.receive_message(
        QueueUrl=queue_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
    ).get("Messages", []):
        for message in batch:
            attributes = message.get("MessageAttributes", {})
            found.append(
                {
                    "body": message["Body"],
                    "attributes": {k: v.get("StringValue") for k, v in attributes.items()},
                }
            )
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return found
