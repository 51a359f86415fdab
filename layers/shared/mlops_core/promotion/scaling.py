"""Autoscaling of the production variant: the model's target-tracking policy on
SageMakerVariantInvocationsPerInstance and the PutScalingPolicy request made of it."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator


class AutoscalingPolicy(BaseModel):
    """Target tracking on SageMakerVariantInvocationsPerInstance after the deployment."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    benchmarked_max_rps: float = Field(
        gt=0, description="requests per second one instance sustains (from a load test)"
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
        return self


def invocations_per_instance_target(policy: AutoscalingPolicy) -> float:
    """TargetValue of SageMakerVariantInvocationsPerInstance, which counts invocations per
    MINUTE per instance: benchmarked max RPS x utilization x 60."""
    return round(policy.benchmarked_max_rps * policy.target_utilization * 60, 2)


def scalable_resource_id(endpoint: str, variant: str) -> str:
    return f"endpoint/{endpoint}/variant/{variant}"


def scaling_policy(policy: AutoscalingPolicy, name: str) -> dict[str, Any]:
    """PutScalingPolicy's policy part (without the resource id)."""
    return {
        "PolicyName": name,
        "PolicyType": "TargetTrackingScaling",
        "TargetTrackingScalingPolicyConfiguration": {
            "TargetValue": invocations_per_instance_target(policy),
            "PredefinedMetricSpecification": {
                "PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"
            },
            "ScaleInCooldown": policy.scale_in_cooldown_seconds,
            "ScaleOutCooldown": policy.scale_out_cooldown_seconds,
        },
    }
