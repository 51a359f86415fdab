"""The pattern matcher against EventBridge's documented semantics, without a server."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from mlopscp_emulator import matches
from mlopscp_emulator.deploy import load_template

from .conftest import FIXTURE_APP

ALARM_EVENT: dict[str, Any] = {
    "version": "0",
    "id": "c4c1c1c9-6542-e61b-6ef0-8c4d36933a92",
    "detail-type": "CloudWatch Alarm State Change",
    "source": "aws.cloudwatch",
    "account": "123456789012",
    "time": "2024-05-01T12:00:00Z",
    "region": "us-east-1",
    "resources": ["arn:aws:cloudwatch:us-east-1:123456789012:alarm:model-latency"],
    "detail": {
        "alarmName": "model-latency",
        "state": {"value": "ALARM", "reason": "Threshold Crossed"},
        "configuration": {
            "metrics": [
                {
                    "id": "m1",
                    "metricStat": {
                        "metric": {
                            "namespace": "AWS/Lambda",
                            "name": "Errors",
                            "dimensions": {"FunctionName": "f"},
                        },
                        "period": 60,
                        "stat": "Sum",
                    },
                    "returnData": True,
                },
                {
                    "id": "m2",
                    "metricStat": {
                        "metric": {
                            "namespace": "aws/sagemaker/Endpoints/data-metrics",
                            "name": "feature_baseline_drift_total_amount",
                            "dimensions": {"Endpoint": "churn"},
                        },
                        "period": 3600,
                        "stat": "Maximum",
                    },
                    "returnData": False,
                },
            ]
        },
    },
}
SAGEMAKER_NAMESPACE = {
    "source": ["aws.cloudwatch"],
    "detail": {
        "configuration": {
            "metrics": {"metricStat": {"metric": {"namespace": [{"prefix": "aws/sagemaker/"}]}}}
        }
    },
}


def template_pattern(logical_id: str, event_name: str) -> dict[str, Any]:
    template = load_template(FIXTURE_APP)
    function = template["Resources"][logical_id]["Properties"]
    return function["Events"][event_name]["Properties"]["Pattern"]


def test_a_path_through_an_array_of_objects_matches_when_one_element_matches() -> None:
    assert matches(SAGEMAKER_NAMESPACE, ALARM_EVENT)


def test_no_element_matching_means_no_match() -> None:
    event = copy.deepcopy(ALARM_EVENT)
    event["detail"]["configuration"]["metrics"].pop()  # only the AWS/Lambda metric is left
    assert not matches(SAGEMAKER_NAMESPACE, event)


def test_fields_must_match_within_the_same_array_element() -> None:
    # m1 has period 60, m2 has the SageMaker namespace: no single element has both.
    pattern = {
        "detail": {
            "configuration": {
                "metrics": {
                    "metricStat": {
                        "period": [60],
                        "metric": {"namespace": [{"prefix": "aws/sagemaker/"}]},
                    }
                }
            }
        }
    }
    assert not matches(pattern, ALARM_EVENT)
    pattern["detail"]["configuration"]["metrics"]["metricStat"]["period"] = [3600]
    assert matches(pattern, ALARM_EVENT)


def test_the_fixture_templates_real_pattern_matches_a_sagemaker_alarm() -> None:
    pattern = template_pattern("RecorderFunction", "SageMakerAlarm")
    assert matches(pattern, ALARM_EVENT)
    ok = copy.deepcopy(ALARM_EVENT)
    ok["detail"]["state"]["value"] = "OK"
    assert not matches(pattern, ok)


def test_a_scalar_array_in_the_event_matches_if_any_value_matches() -> None:
    pattern = {"resources": [{"suffix": ":alarm:model-latency"}]}
    assert matches(pattern, ALARM_EVENT)
    assert not matches({"resources": ["arn:other"]}, ALARM_EVENT)


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ({"detail": {"state": {"value": ["ALARM", "INSUFFICIENT_DATA"]}}}, True),
        ({"detail": {"state": {"value": [{"anything-but": ["ALARM"]}]}}}, False),
        ({"detail": {"missing": {"deeper": [{"exists": False}]}}}, True),
        ({"detail": {"alarmName": [{"exists": True}]}}, True),
        (
            {
                "detail": {
                    "configuration": {
                        "metrics": {"metricStat": {"period": [{"numeric": [">", 1000]}]}}
                    }
                }
            },
            True,
        ),
        (
            {"$or": [{"source": ["aws.sagemaker"]}, {"detail-type": [{"wildcard": "*Alarm*"}]}]},
            True,
        ),
        ({"detail": {"alarmName": [{"equals-ignore-case": "MODEL-LATENCY"}]}}, True),
        ({"detail": {"configuration": {"metrics": {"id": ["m3"]}}}}, False),
        # A leaf value cannot match an array of objects.
        ({"detail": {"configuration": {"metrics": ["m1"]}}}, False),
    ],
)
def test_leaf_filters_keep_eventbridge_semantics(pattern: dict[str, Any], expected: bool) -> None:
    assert matches(pattern, ALARM_EVENT) is expected
