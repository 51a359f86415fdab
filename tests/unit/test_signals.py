"""Normalising monitoring signals: output prefixes, CloudWatch namespaces, incident ids."""

from __future__ import annotations

import pytest
from mlops_core.monitoring import MonitorType
from mlops_core.signals import endpoint_root, monitor_type_of_namespace, run_id
from mlops_core.sparkline import sparkline


def test_endpoint_root_strips_schedule_and_execution_hour() -> None:
    uri = "s3://bucket/monitoring/churn-endpoint/ms-dq/2026/07/27/00"
    assert endpoint_root(uri) == "s3://bucket/monitoring/churn-endpoint"
    assert endpoint_root(uri + "/") == "s3://bucket/monitoring/churn-endpoint"


def test_endpoint_root_leaves_other_prefixes_alone() -> None:
    assert endpoint_root("s3://bucket/monitoring/churn") == "s3://bucket/monitoring/churn"


@pytest.mark.parametrize(
    ("namespace", "expected"),
    [
        ("aws/sagemaker/Endpoints/data-metrics", MonitorType.DATA_QUALITY),
        ("/aws/sagemaker/Endpoints/data-metric", MonitorType.DATA_QUALITY),
        ("/aws/sagemaker/Endpoint/data-metrics", MonitorType.DATA_QUALITY),
        ("aws/sagemaker/Endpoints/model-metrics", MonitorType.MODEL_QUALITY),
        ("aws/sagemaker/Endpoints/bias-metrics", MonitorType.BIAS_DRIFT),
        ("aws/sagemaker/Endpoints/explainability-metrics", MonitorType.FEATURE_ATTRIBUTION_DRIFT),
        ("aws/sagemaker/ModelMonitoring/data-metrics", MonitorType.DATA_QUALITY),
        ("AWS/EC2", None),
        ("AWS/SageMaker", None),
    ],
)
def test_model_monitor_namespaces_in_every_documented_spelling(namespace, expected) -> None:
    assert monitor_type_of_namespace(namespace) == expected


def test_run_id_is_stable_and_model_scoped() -> None:
    assert run_id("churn", "abc") == run_id("churn", "abc")
    assert run_id("churn", "abc") != run_id("fraud", "abc")
    assert run_id("churn", "abc").startswith("run-churn-")


def test_sparkline_scales_between_min_and_max_and_shows_gaps() -> None:
    assert sparkline([1, 2, 3, 4, 5, 6, 7, 8]) == "▁▂▃▄▅▆▇█"
    assert sparkline([1.0, None, 1.0]) == "▅ ▅"
    assert sparkline([]) == ""
