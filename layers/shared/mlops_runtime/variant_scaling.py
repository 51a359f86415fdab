"""A production variant's Application Auto Scaling, in the production account: read it as a
:class:`~mlops_core.promotion.fleet.Scaling`, register one, remove one.

AWS refuses an UpdateEndpoint that changes an autoscaled variant's instance type, and deleting an
endpoint deregisters its variants only when the caller may: the promotion reads the variant's
scaling before it touches the endpoint and puts it (or the model's configured one) back after.
"""

from __future__ import annotations

from typing import Any

from mlops_core.promotion import scalable_resource_id
from mlops_core.promotion.fleet import INSTANCE_COUNT, Scaling

from mlops_runtime.aws import translated_errors

DIMENSION = INSTANCE_COUNT
_POLICY_KEYS = (
    "PolicyName",
    "PolicyType",
    "TargetTrackingScalingPolicyConfiguration",
    "StepScalingPolicyConfiguration",
)


def read(
    autoscaling: Any, endpoint: str, variant: str, dimension: str = DIMENSION
) -> Scaling | None:
    """The variant's scalable target and policies on ``dimension`` (None: not registered)."""
    resource = scalable_resource_id(endpoint, variant)
    with translated_errors():
        targets = autoscaling.describe_scalable_targets(
            ServiceNamespace="sagemaker", ResourceIds=[resource], ScalableDimension=dimension
        )["ScalableTargets"]
        if not targets:
            return None
        policies = autoscaling.describe_scaling_policies(
            ServiceNamespace="sagemaker", ResourceId=resource, ScalableDimension=dimension
        )["ScalingPolicies"]
    return Scaling(
        int(targets[0]["MinCapacity"]),
        int(targets[0]["MaxCapacity"]),
        tuple({k: policy[k] for k in _POLICY_KEYS if k in policy} for policy in policies),
        dimension,
    )


def register(autoscaling: Any, endpoint: str, variant: str, scaling: Scaling) -> None:
    """RegisterScalableTarget and PutScalingPolicy (both update what exists)."""
    resource = scalable_resource_id(endpoint, variant)
    with translated_errors():
        autoscaling.register_scalable_target(
            ServiceNamespace="sagemaker",
            ResourceId=resource,
            ScalableDimension=scaling.dimension,
            MinCapacity=scaling.min,
            MaxCapacity=scaling.max,
        )
        for policy in scaling.policies:
            autoscaling.put_scaling_policy(
                ServiceNamespace="sagemaker",
                ResourceId=resource,
                ScalableDimension=scaling.dimension,
                **policy,
            )


def deregister(autoscaling: Any, endpoint: str, variant: str, scaling: Scaling) -> None:
    """Delete the policies, then the scalable target."""
    resource = scalable_resource_id(endpoint, variant)
    with translated_errors():
        for policy in scaling.policies:
            autoscaling.delete_scaling_policy(
                PolicyName=policy["PolicyName"],
                ServiceNamespace="sagemaker",
                ResourceId=resource,
                ScalableDimension=scaling.dimension,
            )
        autoscaling.deregister_scalable_target(
            ServiceNamespace="sagemaker", ResourceId=resource, ScalableDimension=scaling.dimension
        )
