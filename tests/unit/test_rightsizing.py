"""Where the autoscaling target comes from: override, Inference Recommender, default."""

from __future__ import annotations

from typing import Any

import pytest
from mlops_core.promotion import fleet, rightsizing
from mlops_core.promotion.scaling import AutoscalingPolicy
from pydantic import ValidationError

RECOMMENDER = AutoscalingPolicy(default_max_rps=10, compare_instance_types=("ml.c6g.large",))


def recommendation(kind: str, per_minute: int, cost_per_inference: float) -> dict[str, Any]:
    return {
        "EndpointConfiguration": {"InstanceType": kind, "InitialInstanceCount": 1},
        "Metrics": {"MaxInvocations": per_minute, "CostPerInference": cost_per_inference},
    }


FOUND = [
    recommendation("ml.m5.large", 1500, 1.3e-6),
    recommendation("ml.c6g.large", 1800, 0.8e-6),
    recommendation("ml.m5.xlarge", 2600, 1.5e-6),
]


def test_the_override_wins_and_says_so() -> None:
    target = rightsizing.override(AutoscalingPolicy(benchmarked_max_rps=25))
    assert target is not None
    assert (target.value, target.source) == (1050.0, "benchmarked_max_rps")  # 25 x 60 x 0.7
    assert "no Inference Recommender job run" in target.reason
    assert rightsizing.override(RECOMMENDER) is None


def test_the_target_is_70_percent_of_the_measured_max_invocations_of_the_production_type() -> None:
    target = rightsizing.recommended(RECOMMENDER, "demand-v2-rightsizing", FOUND, "ml.m5.large")
    assert target.source == "inference_recommender"
    assert target.value == 1050.0  # 0.7 x 1500 per minute
    assert target.max_invocations_per_minute == 1500
    assert (target.job, target.instance_type) == ("demand-v2-rightsizing", "ml.m5.large")
    assert "1500 invocations/minute" in target.reason
    # cheaper per inference than ml.m5.large: only ml.c6g.large (ml.m5.xlarge costs more)
    assert target.alternatives == [
        {
            "instance_type": "ml.c6g.large",
            "max_invocations_per_minute": 1800,
            "cost_per_inference_vs_current": 0.615,
        }
    ]


def test_no_result_for_the_production_type_falls_back_to_the_default_and_says_why() -> None:
    target = rightsizing.recommended(RECOMMENDER, "j", FOUND[1:], "ml.m5.large")
    assert (target.value, target.source) == (420.0, "default_max_rps")  # 10 x 60 x 0.7
    assert target.reason.startswith("recommendation job j measured no result for ml.m5.large")
    assert target.job == "j"


def test_a_fallback_prefers_the_override_when_one_is_set() -> None:
    policy = AutoscalingPolicy(benchmarked_max_rps=5, default_max_rps=50)
    assert rightsizing.fallback(policy, "timed out").source == "benchmarked_max_rps"
    assert rightsizing.fallback(RECOMMENDER, "timed out").reason.startswith("timed out: ")


def test_a_policy_must_say_what_to_use_without_a_recommendation() -> None:
    with pytest.raises(ValidationError, match=r"benchmarked_max_rps .* or default_max_rps"):
        AutoscalingPolicy()


def test_the_job_request_tests_the_production_type_first_and_is_named_after_the_promotion() -> None:
    name = rightsizing.job_name("demand-v2")
    assert name == "demand-v2-rightsizing"
    request = rightsizing.job_request(
        name,
        "arn:aws:sagemaker:us-east-1:123456789012:model-package/demand/2",
        "arn:aws:iam::222222222222:role/exec",
        "ml.m5.large",
        RECOMMENDER,
    )
    assert request["JobType"] == "Default"
    assert request["InputConfig"]["EndpointConfigurations"] == [
        {"InstanceType": "ml.m5.large"},
        {"InstanceType": "ml.c6g.large"},
    ]
    assert len(rightsizing.job_name("x" * 80)) == 64


def test_a_target_round_trips_through_the_record() -> None:
    target = rightsizing.recommended(RECOMMENDER, "j", FOUND, "ml.m5.large")
    assert rightsizing.ScalingTarget.from_dict(target.to_dict()) == target
    assert rightsizing.ScalingTarget.from_dict(None) is None


def test_the_chosen_target_is_the_policy_put_on_the_variant() -> None:
    after = fleet.scaling_after(None, RECOMMENDER, 1050.0)
    assert after is not None
    (policy,) = after.policies
    assert policy["TargetTrackingScalingPolicyConfiguration"]["TargetValue"] == 1050.0
    # before a target is chosen (planning the fleet): the configured number
    planned = fleet.scaling_after(None, RECOMMENDER)
    assert planned is not None
    assert planned.policies[0]["TargetTrackingScalingPolicyConfiguration"]["TargetValue"] == 420.0
