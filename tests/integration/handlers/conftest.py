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
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    aws.client.cache_clear()
    with mock_aws():
        create_template_tables(boto3.client("dynamodb"), TABLES)
        yield env
    aws.client.cache_clear()


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
