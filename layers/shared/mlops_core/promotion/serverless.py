"""Serverless production and staging variants (``ServerlessConfig``) in a promotion.

What SageMaker allows shapes what a serverless promotion does:

- no shadow test: inference experiments take real-time instance variants only;
- no data capture (so no Model Monitor, no capture-based verdict): the endpoint config carries
  none, and the verdict comes from the staging test, the path a first deployment takes;
- no instance autoscaling: SageMaker scales a serverless variant up to ``max_concurrency`` and
  down to zero; ``provisioned_concurrency`` keeps that many warm, and Application Auto Scaling
  tracks its utilization (:func:`provisioned_scaling`);
- an instance-based endpoint cannot be updated to serverless (SageMaker refuses the update).

A serverless endpoint that exists is updated to the new serverless version with our own
rollback (mlops_core.promotion.endpoint_kinds); one that does not is a first deployment.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from mlops_core.promotion.fleet import PROVISIONED_CONCURRENCY, TARGET_TRACKING_POLICY, Scaling

MemorySize = Literal[1024, 2048, 3072, 4096, 5120, 6144]


class ServerlessVariant(BaseModel):
    """A target's ``serverless`` section: the variant's ``ServerlessConfig``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    memory_size_mb: MemorySize = Field(2048, description="1024-6144, in 1 GB steps")
    max_concurrency: int = Field(20, ge=1, le=200, description="concurrent invocations at most")
    provisioned_concurrency: int | None = Field(
        None, ge=1, le=200, description="kept warm (billed while idle); none: scales to zero"
    )

    @model_validator(mode="after")
    def _provisioned_within_max(self) -> ServerlessVariant:
        if (self.provisioned_concurrency or 0) > self.max_concurrency:
            raise ValueError("provisioned_concurrency must not exceed max_concurrency")
        return self

    def describe(self) -> str:
        warm = (
            f", {self.provisioned_concurrency} provisioned"
            if self.provisioned_concurrency
            else ", scales to zero"
        )
        return (
            f"serverless, {self.memory_size_mb} MB, up to {self.max_concurrency} concurrent{warm}"
        )


def serverless_config(variant: ServerlessVariant) -> dict[str, Any]:
    """The production variant's ``ServerlessConfig`` (CreateEndpointConfig)."""
    config: dict[str, Any] = {
        "MemorySizeInMB": variant.memory_size_mb,
        "MaxConcurrency": variant.max_concurrency,
    }
    if variant.provisioned_concurrency:
        config["ProvisionedConcurrency"] = variant.provisioned_concurrency
    return config


def provisioned_scaling(
    variant: ServerlessVariant, target_utilization: float = 0.7
) -> Scaling | None:
    """Provisioned concurrency between ``provisioned_concurrency`` and ``max_concurrency``,
    tracking ``SageMakerVariantProvisionedConcurrencyUtilization`` (None: nothing provisioned,
    SageMaker scales the variant itself)."""
    if not variant.provisioned_concurrency:
        return None
    policy = {
        "PolicyName": TARGET_TRACKING_POLICY,
        "PolicyType": "TargetTrackingScaling",
        "TargetTrackingScalingPolicyConfiguration": {
            "TargetValue": target_utilization,
            "PredefinedMetricSpecification": {
                "PredefinedMetricType": "SageMakerVariantProvisionedConcurrencyUtilization"
            },
            "ScaleInCooldown": 300,
            "ScaleOutCooldown": 60,
        },
    }
    return Scaling(
        variant.provisioned_concurrency,
        variant.max_concurrency,
        (policy,),
        PROVISIONED_CONCURRENCY,
    )
