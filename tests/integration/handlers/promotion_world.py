"""A three-account promotion world on moto in-process, for the promotion steps and intake.

tooling (moto's default account): registry, ExternalId secret, tables; staging and production:
the deployer and execution roles with accounts/target-account.yaml's trust policy (checked by
the emulator's STS extension), a capture bucket, and production's endpoint serving version 1.
Below the fixture: the steps driven as the state machine would (``run``, ``until``, ...).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from mlops_runtime import promotion_candidate as candidate
from mlops_runtime import promotion_shadow as shadow
from mlops_runtime.promotion_workflow import Promotion
from mlops_runtime.store import to_attributes

from tests.aws_fixtures import create_template_tables

TOOLING, STAGING, PRODUCTION = "123456789012", "222222222222", "333333333333"
EXTERNAL_ID = "the-right-external-id-123"
MODELS_BUCKET = "sagemaker-models-tooling"
ENDPOINT = "demand-prod"


def remove_production() -> None:
    """Production as before a model's first deployment: no endpoint, config or model."""
    sagemaker = account_client("sagemaker", PRODUCTION)
    sagemaker.delete_endpoint(EndpointName=ENDPOINT)
    sagemaker.delete_endpoint_config(EndpointConfigName=f"{ENDPOINT}-v1")
    sagemaker.delete_model(ModelName="demand-v1")


def account_client(service: str, account: str) -> Any:
    """A client in another account (moto lands what it creates there)."""
    if account == TOOLING:
        return boto3.client(service)
    credentials = boto3.client("sts").assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/test-admin", RoleSessionName="tests"
    )["Credentials"]
    return boto3.client(
        service,
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )


def package_arn(version: int) -> str:
    return f"arn:aws:sagemaker:us-east-1:{TOOLING}:model-package/demand/{version}"


@dataclass
class World:
    secret_arn: str
    topic_inbox: str
    config: dict[str, Any] = field(default_factory=dict)

    def deployer(self, account: str) -> str:
        return f"arn:aws:iam::{account}:role/mlopscp-deployer"

    def state(self, version: int = 2, **parts: Any) -> dict[str, Any]:
        return {
            "promotion_id": f"demand-v{version}",
            "model_id": "demand",
            "package_arn": package_arn(version),
            "version": version,
            **parts,
        }


def trust_policy(external_id: str = EXTERNAL_ID) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{TOOLING}:root"},
                    "Action": "sts:AssumeRole",
                    "Condition": {"StringEquals": {"sts:ExternalId": external_id}},
                }
            ],
        }
    )


def put_config(world: World, **changes: Any) -> None:
    from mlops_runtime.model_config import ModelConfig, ModelConfigStore

    def target(account: str, endpoint: str) -> dict[str, Any]:
        return {
            "account_id": account,
            "deployer_role_arn": world.deployer(account),
            "execution_role_arn": f"arn:aws:iam::{account}:role/mlopscp-sagemaker-execution",
            "endpoint_name": endpoint,
            "data_capture_uri": f"s3://capture-{account}/demand",
        }

    promotion = {
        "model_package_group": "demand",
        "external_id_secret_arn": world.secret_arn,
        "staging": target(STAGING, "demand-staging"),
        "production": target(PRODUCTION, ENDPOINT),
        "poll_interval_seconds": 1,
        "shadow": {
            "duration_minutes": 0.05,
            "min_invocations": 100,
            "min_compared_predictions": 10,
        },
    } | changes
    world.config = {
        "model_id": "demand",
        "endpoint_name": ENDPOINT,
        "approvals": {"email_approvers": ["lead@example.com"]},
        "promotion": promotion,
    }
    ModelConfigStore("model-config", max_age=0).put(ModelConfig.model_validate(world.config))


def register(version: int, metrics: dict[str, float], status: str = "Approved") -> None:
    s3 = boto3.client("s3")
    key = f"demand/v{version}/evaluation.json"
    report = {"regression_metrics": {k: {"value": v} for k, v in metrics.items()}}
    s3.put_object(Bucket=MODELS_BUCKET, Key=key, Body=json.dumps(report).encode())
    boto3.client("sagemaker").create_model_package(
        ModelPackageGroupName="demand",
        ModelApprovalStatus=status,
        InferenceSpecification={
            "Containers": [{"Image": "img:1", "ModelDataUrl": f"s3://{MODELS_BUCKET}/m.tar.gz"}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
        ModelMetrics={
            "ModelQuality": {
                "Statistics": {
                    "ContentType": "application/json",
                    "S3Uri": f"s3://{MODELS_BUCKET}/{key}",
                }
            }
        },
    )


def share_group_with(*accounts: str) -> None:
    boto3.client("sagemaker").put_model_package_group_policy(
        ModelPackageGroupName="demand",
        ResourcePolicy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "TeamReads",
                        "Effect": "Allow",
                        "Principal": {"AWS": [f"arn:aws:iam::{a}:root" for a in accounts]},
                        "Action": "sagemaker:DescribeModelPackage",
                        "Resource": f"arn:aws:sagemaker:us-east-1:{TOOLING}:model-package/demand/*",
                    }
                ],
            }
        ),
    )


def serve_version_1(
    instance_type: str = "ml.m5.large", serverless: dict[str, int] | None = None
) -> None:
    """demand-prod serves v1: on instances, or serverless (a ``ServerlessConfig``)."""
    sagemaker = account_client("sagemaker", PRODUCTION)
    fleet: dict[str, Any] = {"InitialInstanceCount": 1, "InstanceType": instance_type}
    sagemaker.create_model(
        ModelName="demand-v1",
        ExecutionRoleArn=f"arn:aws:iam::{PRODUCTION}:role/mlopscp-sagemaker-execution",
        Containers=[{"ModelPackageName": package_arn(1)}],
    )
    sagemaker.create_endpoint_config(
        EndpointConfigName=f"{ENDPOINT}-v1",
        ProductionVariants=[
            {"VariantName": "AllTraffic", "ModelName": "demand-v1"}
            | ({"ServerlessConfig": serverless} if serverless else fleet)
        ],
    )
    sagemaker.create_endpoint(EndpointName=ENDPOINT, EndpointConfigName=f"{ENDPOINT}-v1")
    sagemaker.describe_endpoint(EndpointName=ENDPOINT)  # Creating -> InService


def someone_elses_endpoint(account: str, endpoint: str) -> None:
    """An endpoint (config and model "theirs") the control plane did not create."""
    sagemaker = account_client("sagemaker", account)
    sagemaker.create_model(
        ModelName="theirs",
        ExecutionRoleArn=f"arn:aws:iam::{account}:role/x",
        PrimaryContainer={"Image": "img:1"},
    )
    sagemaker.create_endpoint_config(
        EndpointConfigName="theirs",
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": "theirs",
                "InitialInstanceCount": 1,
                "InstanceType": "ml.m5.large",
            }
        ],
    )
    sagemaker.create_endpoint(EndpointName=endpoint, EndpointConfigName="theirs")


@pytest.fixture(name="world")
def world_fixture(
    training_cloud: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> Iterator[World]:
    """`training_cloud` (moto, tables, topic + inbox, SageMaker extension) plus the accounts."""
    from aws_lambda_powertools.utilities import parameters
    from mlops_runtime import aws
    from mlopscp_emulator import autoscaling_ext, cloudwatch_ext, sts_ext

    parameters.clear_caches()  # the ExternalId secret is cached per process
    aws._ASSUMED.clear()
    create_template_tables(boto3.client("dynamodb"), {"ApprovalTable": "approvals"})
    monkeypatch.setenv("APPROVAL_TABLE", "approvals")
    sts_ext.install()
    cloudwatch_ext.install()
    autoscaling_ext.install()
    try:
        boto3.client("s3").create_bucket(Bucket=MODELS_BUCKET)
        secret = boto3.client("secretsmanager").create_secret(
            Name="mlopscp/promotion/external-id", SecretString=EXTERNAL_ID
        )["ARN"]
        for account in (STAGING, PRODUCTION):
            account_client("s3", account).create_bucket(Bucket=f"capture-{account}")
            account_client("iam", account).create_role(
                RoleName="mlopscp-deployer", AssumeRolePolicyDocument=trust_policy()
            )
        boto3.client("sagemaker").create_model_package_group(ModelPackageGroupName="demand")
        share_group_with(PRODUCTION)  # how version 1 reached production
        register(1, {"mse": 4.0, "r2": 0.80})
        register(2, {"mse": 3.8, "r2": 0.82})
        serve_version_1()
        built = World(secret, training_cloud["inbox"])
        put_config(built)
        yield built
    finally:
        sts_ext.uninstall()
        cloudwatch_ext.uninstall()
        autoscaling_ext.uninstall()


def deps() -> Any:
    from mlops_runtime.approvals import ApprovalStore
    from mlops_runtime.model_config import ModelConfigStore
    from mlops_runtime.promotion_workflow import Deps
    from mlops_runtime.promotions import PromotionStore
    from mlops_runtime.store import Ledger

    return Deps(
        ledger=Ledger("ledger"),
        store=PromotionStore("state"),
        models=ModelConfigStore("model-config", max_age=0),
        approvals=ApprovalStore("approvals"),
        topic_arn=os.environ["NOTIFICATION_TOPIC_ARN"],
        slack_secret_arn=None,
    )


def ledger_actions(model_id: str = "demand") -> list[str]:
    from mlops_runtime.store import Ledger

    return [e["action"] for e in Ledger("ledger").entries(model_id, limit=100)]


def ledger_entry(action: str, model_id: str = "demand") -> dict[str, Any]:
    from mlops_runtime.store import Ledger

    found = [e for e in Ledger("ledger").entries(model_id, limit=100) if e["action"] == action]
    assert found, f"no {action} in the ledger"
    return found[0]


def iso_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# ---------------------------------------------------------------- driving the steps


def run(step: Any, state: dict[str, Any]) -> dict[str, Any]:
    return step(Promotion(state, deps()))  # type: ignore[no-any-return]


def until(step: Any, state: dict[str, Any], key: str, part: str, tries: int = 8) -> dict[str, Any]:
    """Run a check step until it reports ``key`` (what the state machine's poll loop does)."""
    for _ in range(tries):
        state[part] = run(step, state)
        if state[part].get(key):
            return state
    raise AssertionError(f"{part}.{key} never became true: {state[part]}")


def prepared(world: World, version: int = 2) -> dict[str, Any]:
    state = world.state(version)
    state["promotion"] = run(candidate.prepare, state)
    return state


def shadow_running(world: World) -> dict[str, Any]:
    state = prepared(world)
    state["gate"] = run(candidate.quality_gate, state)
    state["staging"] = run(candidate.deploy_staging, state)
    until(candidate.check_staging, state, "ready", "staging")
    state["shadow"] = run(shadow.start_shadow, state)
    return until(shadow.check_shadow, state, "running", "shadow")


def traffic(invocations: int, shadow_5xx: int = 0, pairs: int = 40) -> None:
    cloudwatch = account_client("cloudwatch", PRODUCTION)
    for variant, count, errors in (
        ("AllTraffic", invocations * 2, 0),
        ("shadow-v2", invocations, shadow_5xx),
    ):
        dims = [
            {"Name": "EndpointName", "Value": ENDPOINT},
            {"Name": "VariantName", "Value": variant},
        ]
        cloudwatch.put_metric_data(
            Namespace="AWS/SageMaker",
            MetricData=[
                {"MetricName": "Invocations", "Dimensions": dims, "Value": count},
                {"MetricName": "Invocation4XXErrors", "Dimensions": dims, "Value": 0},
                {"MetricName": "Invocation5XXErrors", "Dimensions": dims, "Value": errors},
                {
                    "MetricName": "ModelLatency",
                    "Dimensions": dims,
                    "Values": [20000.0, 30000.0],
                    "Counts": [90.0, 10.0],
                    "Unit": "Microseconds",
                },
            ],
        )
        lines = [
            json.dumps(
                {
                    "captureData": {
                        "endpointInput": {
                            "observedContentType": "text/csv",
                            "data": f"{i},1",
                            "encoding": "CSV",
                        },
                        "endpointOutput": {
                            "observedContentType": "text/csv",
                            "data": "0.5",
                            "encoding": "CSV",
                        },
                    },
                    "eventMetadata": {"eventId": f"{variant}-{i}"},
                }
            )
            for i in range(pairs)
        ]
        account_client("s3", PRODUCTION).put_object(
            Bucket=f"capture-{PRODUCTION}",
            Key=f"demand/{ENDPOINT}/{variant}/2026/11/25/10/x.jsonl",
            Body="\n".join(lines).encode(),
        )


def approve(state: dict[str, Any], subject: str = "demand-v2", kind: str = "promotion") -> None:
    """An approval record as the decider leaves it, and the task output it sent."""
    approval_id = "apv_" + "A" * 22
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    request = {"kind": kind, "model_id": "demand", "subject": subject}
    boto3.client("dynamodb").put_item(
        TableName="approvals",
        Item=to_attributes(
            {
                "pk": f"APPROVAL#{approval_id}",
                "approval_id": approval_id,
                "status": "approved",
                "model_id": "demand",
                "request": json.dumps(request),
                "approvers": json.dumps({}),
                "deadline": now,
                "created_at": now,
            }
        ),
    )
    state["approval"] = {
        "approval_id": approval_id,
        "outcome": "approved",
        "decided_by": "ada",
        "channel": "slack",
        "reason": "",
        "decided_at": now,
    }


def verdict_passed(world: World) -> dict[str, Any]:
    state = shadow_running(world)
    traffic(200)
    state["verdict"] = run(shadow.verdict, state)
    assert state["verdict"]["outcome"] == "pass", state["verdict"]["reasons"]
    until(shadow.check_shadow, state, "ended", "shadow")
    approve(state)
    return state


def serving(endpoint: str = ENDPOINT) -> tuple[str, str]:
    described = account_client("sagemaker", PRODUCTION).describe_endpoint(EndpointName=endpoint)
    return described["EndpointStatus"], described["EndpointConfigName"]
