"""Fleet sizing of a production deployment: how many instances the new fleet starts with, and
what the variant's autoscaling is once it serves.

Plain data in, decisions out (the promotion's production steps read and apply them):

- **Autoscaling after the deployment** (:func:`scaling_after`): what the variant had before
  (its scalable target's MinCapacity/MaxCapacity and its scaling policies), except where the
  model's configuration has an ``autoscaling`` section: then that section's bounds and its
  target-tracking policy replace the variant's; the team's other policies are kept.
- **The new fleet's size** (:func:`fleet_size`): the live variant's current instance count, so a
  variant autoscaled to 4 instances is replaced by 4, not by the configured default; never below
  the configured ``instance_count`` or the autoscaling minimum, never above the autoscaling
  maximum that applies right after the deployment (Application Auto Scaling would scale a larger
  fleet in at once). A first deployment has no live variant: the configured count, in bounds.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from mlops_core.promotion.scaling import AutoscalingPolicy, scaling_policy

# The name of the control plane's target-tracking policy on a variant (the team's keep theirs).
TARGET_TRACKING_POLICY = "mlopscp-target-tracking"
INSTANCE_COUNT = "sagemaker:variant:DesiredInstanceCount"
# A serverless variant scales its provisioned concurrency, not instances.
PROVISIONED_CONCURRENCY = "sagemaker:variant:DesiredProvisionedConcurrency"


@dataclass(frozen=True, slots=True)
class Scaling:
    """A variant's autoscaling: its scalable target's bounds and its policies (each the policy
    part of a PutScalingPolicy request: PolicyName, PolicyType, its configuration)."""

    min: int
    max: int
    policies: tuple[dict[str, Any], ...] = ()
    dimension: str = INSTANCE_COUNT

    def to_dict(self) -> dict[str, Any]:
        data = {"min": self.min, "max": self.max, "policies": [dict(p) for p in self.policies]}
        return data | ({"dimension": self.dimension} if self.dimension != INSTANCE_COUNT else {})

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> Scaling | None:
        if not data:
            return None
        return cls(
            int(data["min"]),
            int(data["max"]),
            tuple(dict(p) for p in data.get("policies") or []),
            data.get("dimension") or INSTANCE_COUNT,
        )


def scaling_after(
    before: Scaling | None,
    configured: AutoscalingPolicy | None,
    target_value: float | None = None,
) -> Scaling | None:
    """The variant's autoscaling once the new fleet serves (None: none); ``target_value``: the
    target-tracking value the promotion chose (mlops_core.promotion.rightsizing), else the
    configured override's."""
    if configured is None:
        return before
    ours = scaling_policy(configured, TARGET_TRACKING_POLICY, target_value)
    theirs = tuple(
        p for p in (before.policies if before else ()) if p["PolicyName"] != TARGET_TRACKING_POLICY
    )
    return Scaling(configured.min_instances, configured.max_instances, (ours, *theirs))


@dataclass(frozen=True, slots=True)
class FleetSize:
    count: int
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"count": self.count, "reason": self.reason}


def live_instance_count(variants: Iterable[Mapping[str, Any]], variant: str) -> int | None:
    """A variant's instance count from DescribeEndpoint's ``ProductionVariants``:
    ``CurrentInstanceCount`` (what serves now), else ``DesiredInstanceCount``; None if neither."""
    for summary in variants:
        if summary.get("VariantName") != variant:
            continue
        for key in ("CurrentInstanceCount", "DesiredInstanceCount"):
            value = summary.get(key)
            if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
                return value
    return None


def fleet_size(live: int | None, configured: int, scaling: Scaling | None) -> FleetSize:
    """The new fleet's InitialInstanceCount (see the module's rules)."""
    if live is None:
        count, reason = configured, f"the configured instance_count ({configured})"
    else:
        count, reason = live, f"the live variant's current count ({live})"
        if configured > live:
            count, reason = (
                configured,
                (f"the configured instance_count ({configured}); the live variant runs {live}"),
            )
    if scaling is not None and count < scaling.min:
        count, reason = scaling.min, f"the autoscaling minimum ({scaling.min}); {reason} is below"
    if scaling is not None and count > scaling.max:
        count, reason = scaling.max, f"the autoscaling maximum ({scaling.max}); {reason} is above"
    return FleetSize(count, f"{count} instance{'s' * (count != 1)}: {reason}")
