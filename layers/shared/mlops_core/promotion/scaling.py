"""Autoscaling of the production variant: the model's target-tracking policy on
SageMakerVariantInvocationsPerInstance and the PutScalingPolicy request made of it. Where the
target's number comes from (a load test's override, Inference Recommender, a default) is
:mod:`.rightsizing`'s."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator


class AutoscalingPolicy(BaseModel):
    """Target tracking on SageMakerVariantInvocationsPerInstance after the deployment."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    benchmarked_max_rps: float | None = Field(
        None,
        gt=0,
        description="override: requests per second one instance sustains (your own load test); "
        "set, no Inference Recommender job runs",
    )
    default_max_rps: float | None = Field(
        None,
        gt=0,
        description="without an override: used when Inference Recommender gives no number "
        "(job failed, timed out, or measured no result for the instance type)",
    )
    recommendation_timeout_minutes: float = Field(
        90, gt=0, le=600, description="how long the promotion waits for the recommendation job"
    )
    compare_instance_types: tuple[str, ...] = Field(
        (),
        max_length=9,
        description="more instance types the recommendation job load-tests, reported as "
        "cheaper alternatives (the production instance type is always tested)",
    )
    target_utilization: float = Field(0.7, gt=0, le=1, description="share of that to target")
    min_instances: int = Field(1, ge=1)
    max_instances: int = Field(4, ge=1)
    scale_in_cooldown_seconds: int = Field(300, ge=0)
    scale_out_cooldown_seconds: int = Field(60, ge=0)

    @model_validator(mode="after")
    def _bounds(self) -> AutoscalingPolicy:
        if self.min_instances > self.max_instances:
            raise ValueError("min_instances must not exceed max_instances")
        if self.benchmarked_max_rps is None and self.default_max_rps is None:
            raise ValueError(
                "set benchmarked_max_rps (an override from your own load test) or "
                "default_max_rps (used when Inference Recommender gives no number)"
            )
        return self


def invocations_per_instance_target(
    policy: AutoscalingPolicy, max_rps: float | None = None
) -> float:
    """TargetValue of SageMakerVariantInvocationsPerInstance, which counts invocations per
    MINUTE per instance: max RPS x utilization x 60. The max RPS: ``max_rps``, else the
    configured override (``benchmarked_max_rps``), else ``default_max_rps``."""
    rps = max_rps or policy.benchmarked_max_rps or policy.default_max_rps
    if rps is None:  # AutoscalingPolicy refuses a policy without either
        raise ValueError("no max RPS: neither benchmarked_max_rps nor default_max_rps is set")
    return round(rps * policy.target_utilization * 60, 2)


def scalable_resource_id(endpoint: str, variant: str) -> str:
    return f"endpoint/{endpoint}/variant/{variant}"


def scaling_policy(
    policy: AutoscalingPolicy, name: str, target_value: float | None = None
) -> dict[str, Any]:
    """PutScalingPolicy's policy part (without the resource id); ``target_value`` in invocations
    per minute per instance (default: from the configured max RPS)."""
    value = target_value if target_value is not None else invocations_per_instance_target(policy)
    return {
        "PolicyName": name,
        "PolicyType": "TargetTrackingScaling",
        "TargetTrackingScalingPolicyConfiguration": {
            "TargetValue": value,
            "PredefinedMetricSpecification": {
                "PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"
            },
            "ScaleInCooldown": policy.scale_in_cooldown_seconds,
            "ScaleOutCooldown": policy.scale_out_cooldown_seconds,
        },
    }
