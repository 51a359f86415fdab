"""The serving sweep of the guardrail digest on moto: idle, underused and batch-traffic
endpoints read from CloudWatch, recorded once a week, listed with their cost in the digest."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from mlops_runtime import serving_usage
from mlops_runtime.store import Ledger

from tests.aws_fixtures import LambdaContext, load_handler
from tests.integration.handlers.conftest import drain, put_model
from tests.integration.handlers.promotion_world import account_client

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)


def endpoint(
    name: str, *, instances: int = 1, age_days: int = 30, account: str = "123456789012"
) -> None:
    """An InService endpoint of ``account`` (1 variant of ml.m5.large), ``age_days`` old."""
    from mlopscp_emulator.sagemaker_ext.state import backend_for, put

    sagemaker = account_client("sagemaker", account)
    sagemaker.create_model(
        ModelName=f"{name}-m",
        ExecutionRoleArn=f"arn:aws:iam::{account}:role/mlopscp-sagemaker-execution",
        PrimaryContainer={"Image": "img:1", "ModelDataUrl": "s3://models/m.tar.gz"},
    )
    sagemaker.create_endpoint_config(
        EndpointConfigName=f"{name}-v1",
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": f"{name}-m",
                "InitialInstanceCount": instances,
                "InstanceType": "ml.m5.large",
            }
        ],
    )
    sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=f"{name}-v1")
    sagemaker.describe_endpoint(EndpointName=name)  # Creating -> InService
    sagemaker.describe_endpoint(EndpointName=name)
    created = NOW - timedelta(days=age_days)
    put(backend_for(account, "us-east-1").endpoints[name], creation_time=created)


def traffic(name: str, hours: list[int], per_hour: float, days: int = 7, cpu: float = 0) -> None:
    """Invocations (and CPU) at these hours of day on each of the last ``days`` days."""
    dims = [{"Name": "EndpointName", "Value": name}, {"Name": "VariantName", "Value": "AllTraffic"}]
    cloudwatch = boto3.client("cloudwatch")
    start = (NOW - timedelta(days=days)).replace(hour=0)
    for day in range(days):
        points = [start + timedelta(days=day, hours=h) for h in hours]
        points = [at for at in points if at < NOW]
        cloudwatch.put_metric_data(
            Namespace="AWS/SageMaker",
            MetricData=[
                {
                    "MetricName": "Invocations",
                    "Dimensions": dims,
                    "Timestamp": at,
                    "Value": per_hour,
                }
                for at in points
            ],
        )
        if cpu:
            cloudwatch.put_metric_data(
                Namespace="/aws/sagemaker/Endpoints",
                MetricData=[
                    {
                        "MetricName": "CPUUtilization",
                        "Dimensions": dims,
                        "Timestamp": at,
                        "Value": cpu,
                    }
                    for at in points
                ],
            )


def digest() -> dict[str, Any]:
    result: dict[str, Any] = load_handler("guardrail_digest").handler({}, LambdaContext())
    return result


def test_idle_underused_and_batch_endpoints_reach_the_ledger_and_the_digest_with_their_cost(
    training_cloud,
) -> None:
    put_model()  # churn-prod belongs to churn
    endpoint("churn-prod")  # no traffic for 30 days
    endpoint("demand-prod", instances=4)
    traffic("demand-prod", list(range(24)), 500, cpu=12.0)  # 6% of each instance's 2 vCPUs
    endpoint("nightly-scores")
    traffic("nightly-scores", [1, 2], 20000)
    endpoint("busy-prod")
    traffic("busy-prod", list(range(24)), 3000, cpu=150.0)
    endpoint("new-prod", age_days=2)  # no traffic yet, but only two days old

    sent = digest()

    swept = {"status": "swept", "accounts": {"123456789012": 5}, "endpoints": 5}
    assert sent["serving"] == swept | {"new": 3}
    assert sent["findings"] == 3
    ledger = Ledger("ledger")
    (idle,) = ledger.entries("churn")
    week = "{}-W{:02d}".format(*NOW.isocalendar()[:2])
    assert idle["action"] == "guardrail_flagged"
    assert idle["subject"] == (
        f"endpoint/churn-prod@123456789012:churn-prod-v1@{week}#endpoint.idle"
    )
    assert idle["evidence"]["account_id"] == "123456789012"
    assert idle["evidence"]["monthly_usd"] == pytest.approx(83.95)
    assert idle["evidence"]["fix"].startswith("delete it")
    others = {e["evidence"]["rule"]: e for e in ledger.entries("_unknown")}
    assert set(others) == {"endpoint.underused", "endpoint.batch_traffic"}
    assert others["endpoint.underused"]["evidence"]["resource"] == (
        "endpoint/demand-prod/variant/AllTraffic"
    )
    (page,) = drain(training_cloud["inbox"])
    assert page["attributes"]["kind"] == "guardrail_digest"
    assert "$503.70/month at list price in flagged endpoints" in page["body"]  # 84 + 336 + 84
    assert (
        "endpoint/churn-prod in account 123456789012 (churn) endpoint.idle: no invocations "
        "for 7 days"
    ) in page["body"]
    assert "Batch Transform" in page["body"]

    again = digest()  # the same week: nothing is recorded or listed twice
    assert again == {
        "status": "empty",
        "findings": 0,
        "serving": swept | {"new": 0},
    }


def test_a_model_tunes_or_ignores_the_serving_rules(training_cloud) -> None:
    put_model(guardrails={"serving": {"idle_days": 60}})
    endpoint("churn-prod")  # idle 30 days: under the model's 60
    assert digest()["serving"]["new"] == 0
    put_model(guardrails={"ignore": ["endpoint.idle"]})
    assert digest()["serving"]["new"] == 0


def test_an_account_whose_metrics_cannot_be_read_is_named_in_the_digest(
    training_cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlops_core.errors import TransientAwsError

    def unreachable(*args: Any) -> Any:
        raise TransientAwsError("AWS unreachable: cloudwatch")

    monkeypatch.setattr(serving_usage, "usage", unreachable)
    endpoint("churn-prod")
    result = digest()
    reason = "account 123456789012 (the tooling account): AWS unreachable: cloudwatch"
    assert result["serving"] == {
        "status": "swept",
        "accounts": {},
        "endpoints": 0,
        "new": 0,
        "not_swept": [reason],
    }
    assert result["status"] == "sent"
    (page,) = drain(training_cloud["inbox"])
    assert "1 account(s) not swept" in page["body"]
    assert f"not swept: {reason}" in page["body"]


def test_a_sweep_that_cannot_list_the_models_still_sends_the_digest(
    training_cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlops_core.errors import TransientAwsError

    app = load_handler("guardrail_digest")

    def unreachable() -> Any:
        raise TransientAwsError("AWS unreachable: dynamodb")

    monkeypatch.setattr(app.reader, "models", unreachable)
    result = app.handler({}, LambdaContext())
    assert result["serving"] == {"status": "failed", "error": "AWS unreachable: dynamodb"}
    assert result["status"] == "empty"


def test_metric_queries_are_batched_500_to_a_call(training_cloud) -> None:
    class Recorder:
        def __init__(self) -> None:
            self.calls: list[int] = []
            self.meta = boto3.client("cloudwatch").meta

        def get_paginator(self, name: str) -> Any:
            recorder = self

            class Pages:
                def paginate(self, MetricDataQueries: list[Any], **kwargs: Any) -> Any:  # noqa: N803
                    recorder.calls.append(len(MetricDataQueries))
                    return [{"MetricDataResults": []}]

            return Pages()

    found = [
        serving_usage.ServingEndpoint(f"e{n}", f"e{n}-v1", NOW, (("AllTraffic", "ml.m5.large", 1),))
        for n in range(300)
    ]
    recorder = Recorder()
    usages = serving_usage.usage(recorder, found, "us-east-1", 7, NOW)
    assert recorder.calls == [500, 100]  # 2 queries per variant
    assert len(usages) == 300
    assert usages[0].variants[0].invocations == ()


def test_an_endpoint_that_cannot_be_described_is_skipped_not_the_sweep(training_cloud) -> None:
    endpoint("churn-prod")
    endpoint("gone-prod")
    boto3.client("sagemaker").delete_endpoint_config(EndpointConfigName="gone-prod-v1")
    swept = digest()["serving"]
    assert (swept["status"], swept["endpoints"], swept["new"]) == ("swept", 1, 1)
    (skipped,) = swept["skipped"]
    assert skipped.startswith("123456789012/gone-prod: ")
