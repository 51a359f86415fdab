"""Where the production variant's autoscaling target comes from (right-sizing).

The target-tracking value of SageMakerVariantInvocationsPerInstance (invocations per minute per
instance) is ``target_utilization`` (0.7) of what one instance of the production type sustains:

1. ``benchmarked_max_rps`` set (an override from the team's own load test): that, x 60; no
   Inference Recommender job runs.
2. Otherwise the candidate's Inference Recommender result: the staging account runs a Default
   job for the candidate's package (or reuses a finished one for the same package) and its
   ``MaxInvocations`` (measured requests per minute at the latency limit) for the production
   instance type is the number.
3. No result (job failed, stopped, timed out, or no recommendation for the production type):
   ``default_max_rps`` x 60, and the record says why.

Plain data in, a :class:`ScalingTarget` out; the steps in mlops_runtime.promotion_rightsizing
run the job and record the target with its source.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from mlops_core.promotion.scaling import AutoscalingPolicy

Source = Literal["benchmarked_max_rps", "inference_recommender", "default_max_rps"]
# Terminal statuses of a recommendation job (DescribeInferenceRecommendationsJob).
FINISHED = frozenset({"COMPLETED", "FAILED", "STOPPED"})


@dataclass(frozen=True, slots=True)
class ScalingTarget:
    value: float  # TargetValue: invocations per minute per instance
    source: Source
    reason: str
    job: str | None = None
    instance_type: str | None = None
    max_invocations_per_minute: int | None = None
    alternatives: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v not in (None, [])}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> ScalingTarget | None:
        if not data or "value" not in data:
            return None
        return cls(
            value=float(data["value"]),
            source=data["source"],
            reason=str(data.get("reason", "")),
            job=data.get("job"),
            instance_type=data.get("instance_type"),
            max_invocations_per_minute=data.get("max_invocations_per_minute"),
            alternatives=list(data.get("alternatives") or []),
        )


def job_name(promotion_id: str) -> str:
    """The recommendation job a promotion starts. It begins with the promotion id (the model
    id first), so the job and the resources it creates, which it names after itself, match
    the target account's ``ResourceNamePattern``."""
    name = f"{promotion_id}-rightsizing".lower().replace(".", "-").replace("_", "-")
    return name[:64].rstrip("-")


def job_request(
    name: str, package_arn: str, role_arn: str, instance_type: str, policy: AutoscalingPolicy
) -> dict[str, Any]:
    """CreateInferenceRecommendationsJob for the candidate's package (without Tags)."""
    types = [instance_type, *(t for t in policy.compare_instance_types if t != instance_type)]
    return {
        "JobName": name,
        "JobType": "Default",
        "RoleArn": role_arn,
        "JobDescription": f"mlops-control-plane right-sizing of {package_arn}",
        "InputConfig": {
            "ModelPackageVersionArn": package_arn,
            "EndpointConfigurations": [{"InstanceType": t} for t in types],
        },
    }


def override(policy: AutoscalingPolicy) -> ScalingTarget | None:
    """The team's benchmarked number, when set: it wins and no job runs."""
    if policy.benchmarked_max_rps is None:
        return None
    rps = policy.benchmarked_max_rps
    return ScalingTarget(
        _value(rps * 60, policy),
        "benchmarked_max_rps",
        f"autoscaling.benchmarked_max_rps {rps:g}/s x 60 x {policy.target_utilization:g} "
        "(the configured override; no Inference Recommender job run)",
    )


def recommended(
    policy: AutoscalingPolicy,
    job: str,
    recommendations: Iterable[Mapping[str, Any]],
    instance_type: str,
) -> ScalingTarget:
    """The target from a finished job's ``InferenceRecommendations``; the default (stated)
    when none is for the production instance type."""
    rows = list(recommendations)
    mine = [r for r in rows if _type_of(r) == instance_type and _max_invocations(r)]
    if not mine:
        return fallback(
            policy, f"recommendation job {job} measured no result for {instance_type}", job
        )
    best = max(_max_invocations(r) for r in mine)
    return ScalingTarget(
        _value(best, policy),
        "inference_recommender",
        f"{policy.target_utilization:g} x {best} invocations/minute, the maximum one "
        f"{instance_type} sustained in recommendation job {job}",
        job=job,
        instance_type=instance_type,
        max_invocations_per_minute=best,
        alternatives=cheaper_alternatives(rows, instance_type),
    )


def fallback(policy: AutoscalingPolicy, why: str, job: str | None = None) -> ScalingTarget:
    """No recommendation: the override if any, else ``default_max_rps``; says why."""
    name: Source = "benchmarked_max_rps" if policy.benchmarked_max_rps else "default_max_rps"
    rps = policy.benchmarked_max_rps or policy.default_max_rps
    if rps is None:  # AutoscalingPolicy refuses this
        raise ValueError("the autoscaling policy has neither benchmarked_max_rps nor default")
    return ScalingTarget(
        _value(rps * 60, policy),
        name,
        f"{why}: autoscaling.{name} {rps:g}/s x 60 x {policy.target_utilization:g} instead",
        job=job,
    )


def cheaper_alternatives(
    recommendations: Iterable[Mapping[str, Any]], instance_type: str
) -> list[dict[str, Any]]:
    """Other tested types whose cost per inference is lower than the production type's."""
    rows = list(recommendations)
    per_inference = {
        _type_of(r): float((r.get("Metrics") or {}).get("CostPerInference") or 0) for r in rows
    }
    mine = per_inference.get(instance_type)
    if not mine:
        return []
    return [
        {
            "instance_type": kind,
            "max_invocations_per_minute": _max_invocations(r),
            "cost_per_inference_vs_current": round(cost / mine, 3),
        }
        for r in rows
        if (kind := _type_of(r)) != instance_type and 0 < (cost := per_inference[kind]) < mine
    ]


def _value(per_minute: float, policy: AutoscalingPolicy) -> float:
    return round(per_minute * policy.target_utilization, 2)


def _type_of(recommendation: Mapping[str, Any]) -> str:
    return str((recommendation.get("EndpointConfiguration") or {}).get("InstanceType", ""))


def _max_invocations(recommendation: Mapping[str, Any]) -> int:
    return int((recommendation.get("Metrics") or {}).get("MaxInvocations") or 0)
