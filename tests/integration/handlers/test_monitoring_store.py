"""Reading a model's evidence streams from S3 (moto, in process): which folders are streams,
which executions are fetched, and which files."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from mlops_runtime.monitoring_store import read_monitoring_output

pytestmark = pytest.mark.integration

BUCKET = "sagemaker-us-east-1-123456789012"


def put(keys: list[str]) -> None:
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    for key in keys:
        s3.put_object(Bucket=BUCKET, Key=key, Body=b"{}")


def hours(prefix: str, count: int, files: tuple[str, ...] = ("report.json",)) -> list[str]:
    return [f"{prefix}/2026/07/01/{h:02d}/{name}" for h in range(count) for name in files]


def test_each_child_of_the_root_is_a_stream_whatever_wrote_it(cloud: dict[str, Any]) -> None:
    model_monitor = ("constraint_violations.json", "statistics.json")
    put(
        hours("monitoring/churn/churn-dq", 3, model_monitor)
        + hours("monitoring/churn/evidently", 3)
        + ["monitoring/churn/evidently/2026/07/01/02/report.html"]
    )
    files = read_monitoring_output(f"s3://{BUCKET}/monitoring/churn", per_schedule=2)
    assert sorted(files) == [
        "churn-dq/2026/07/01/01/constraint_violations.json",
        "churn-dq/2026/07/01/01/statistics.json",
        "churn-dq/2026/07/01/02/constraint_violations.json",
        "churn-dq/2026/07/01/02/statistics.json",
        "evidently/2026/07/01/01/report.json",
        "evidently/2026/07/01/02/report.json",
    ]


def test_a_root_holding_year_folders_is_itself_a_stream(cloud: dict[str, Any]) -> None:
    put(hours("monitoring/churn-prod", 4) + hours("monitoring/churn-prod/model-monitor-dq", 1))
    files = read_monitoring_output(f"s3://{BUCKET}/monitoring/churn-prod/", per_schedule=3)
    assert sorted(files) == [
        "churn-prod/2026/07/01/01/report.json",
        "churn-prod/2026/07/01/02/report.json",
        "churn-prod/2026/07/01/03/report.json",
        "model-monitor-dq/2026/07/01/00/report.json",
    ]


def test_configured_streams_filter_and_folders_that_are_not_hours_are_skipped(
    cloud: dict[str, Any],
) -> None:
    put(
        hours("monitoring/churn/reports", 2)
        + hours("monitoring/churn/other", 2)
        + ["monitoring/churn/reports/baseline/reference.json", "monitoring/churn/reports/2026/x"]
    )
    files = read_monitoring_output(f"s3://{BUCKET}/monitoring/churn", 10, schedules=["reports"])
    assert sorted(files) == [
        "reports/2026/07/01/00/report.json",
        "reports/2026/07/01/01/report.json",
    ]
