"""Asynchronous inference variants (``AsyncInferenceConfig``) in a promotion, scaling to zero.

An async variant runs on instances and queues requests: SageMaker writes each result to
``output_path`` (or its error to ``failure_path``). Its autoscaling is not on invocations but
on the queue, as AWS recommends for async endpoints: target tracking on
``ApproximateBacklogSizePerInstance`` (``AWS/SageMaker``, EndpointName, Average) with a
MinCapacity of 0, and, because target tracking cannot scale out from zero instances, a step
scaling policy that adds one instance when the alarm on ``HasBacklogWithoutCapacity`` fires.

Inference experiments (shadow tests) take real-time variants only, so an async promotion's
verdict comes from the staging test (mlops_core.promotion.endpoint_kinds). Data capture works
on async endpoints and is kept.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from mlops_core.promotion.fleet import TARGET_TRACKING_POLICY, Scaling
from mlops_core.promotion.names import ALARM_PREFIX

SCALE_OUT_FROM_ZERO_POLICY = "mlopscp-scale-out-from-zero"
S3_URI = r"^s3://[^/]+(/.*)?$"


class AsyncVariant(BaseModel):
    """A target's ``async_inference`` section."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    output_path: str = Field(pattern=S3_URI, description="where results are written")
    failure_path: str | None = Field(None, pattern=S3_URI, description="where errors are")
    max_concurrent_invocations_per_instance: int | None = Field(None, ge=1, le=1000)
    scale_to_zero: bool = Field(True, description="MinCapacity 0 when the queue is empty")
    max_instances: int = Field(2, ge=1, le=100)
    target_backlog_per_instance: float = Field(
        5.0, gt=0, description="ApproximateBacklogSizePerInstance target tracking aims at"
    )
    scale_in_cooldown_seconds: int = Field(600, ge=0)
    scale_out_cooldown_seconds: int = Field(300, ge=0)

    @model_validator(mode="after")
    def _paths_differ(self) -> AsyncVariant:
        if self.failure_path and self.failure_path.rstrip("/") == self.output_path.rstrip("/"):
            raise ValueError("failure_path must differ from output_path")
        return self

    def describe(self) -> str:
        low = 0 if self.scale_to_zero else 1
        return f"async, {low}-{self.max_instances} instances on the queue, to {self.output_path}"


def async_inference_config(variant: AsyncVariant) -> dict[str, Any]:
    """CreateEndpointConfig's ``AsyncInferenceConfig``."""
    output: dict[str, Any] = {"S3OutputPath": variant.output_path}
    if variant.failure_path:
        output["S3FailurePath"] = variant.failure_path
    config: dict[str, Any] = {"OutputConfig": output}
    if variant.max_concurrent_invocations_per_instance:
        config["ClientConfig"] = {
            "MaxConcurrentInvocationsPerInstance": variant.max_concurrent_invocations_per_instance
        }
    return config


def backlog_scaling(variant: AsyncVariant, endpoint: str) -> Scaling:
    """The variant's Application Auto Scaling: bounds and the two policies."""
    target_tracking = {
        "PolicyName": TARGET_TRACKING_POLICY,
        "PolicyType": "TargetTrackingScaling",
        "TargetTrackingScalingPolicyConfiguration": {
            "TargetValue": variant.target_backlog_per_instance,
            "CustomizedMetricSpecification": {
                "MetricName": "ApproximateBacklogSizePerInstance",
                "Namespace": "AWS/SageMaker",
                "Dimensions": [{"Name": "EndpointName", "Value": endpoint}],
                "Statistic": "Average",
            },
            "ScaleInCooldown": variant.scale_in_cooldown_seconds,
            "ScaleOutCooldown": variant.scale_out_cooldown_seconds,
        },
    }
    policies: list[dict[str, Any]] = [target_tracking]
    if variant.scale_to_zero:
        policies.append(
            {
                "PolicyName": SCALE_OUT_FROM_ZERO_POLICY,
                "PolicyType": "StepScaling",
                "StepScalingPolicyConfiguration": {
                    "AdjustmentType": "ChangeInCapacity",
                    "MetricAggregationType": "Average",
                    "Cooldown": variant.scale_out_cooldown_seconds,
                    "StepAdjustments": [{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 1}],
                },
            }
        )
    return Scaling(0 if variant.scale_to_zero else 1, variant.max_instances, tuple(policies))


def backlog_alarm_name(endpoint: str) -> str:
    return f"{ALARM_PREFIX}-{endpoint}-backlog-without-capacity"


def backlog_alarm(endpoint: str, policy_arn: str) -> dict[str, Any]:
    """PutMetricAlarm: requests wait and no instance runs -> the scale-out-from-zero policy."""
    return {
        "AlarmName": backlog_alarm_name(endpoint),
        "AlarmDescription": f"mlops-control-plane: {endpoint} has queued requests and no "
        "instance; scales it out from zero",
        "Namespace": "AWS/SageMaker",
        "MetricName": "HasBacklogWithoutCapacity",
        "Dimensions": [{"Name": "EndpointName", "Value": endpoint}],
        "Statistic": "Average",
        "Period": 60,
        "EvaluationPeriods": 2,
        "DatapointsToAlarm": 2,
        "Threshold": 1,
        "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        "TreatMissingData": "missing",
        "AlarmActions": [policy_arn],
    }
