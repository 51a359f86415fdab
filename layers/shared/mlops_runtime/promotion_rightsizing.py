"""Right-sizing steps of the promotion: the autoscaling target from Inference Recommender.

``start_rightsizing`` (after the quality gate, so the job runs while staging and the shadow test
do): nothing to do without an ``autoscaling`` section; the override when ``benchmarked_max_rps``
is set; else a finished job for the same package in the staging account is reused, or a Default
job started there. ``check_rightsizing`` (before the approval request) waits for it, bounded by
``recommendation_timeout_minutes``; a failed, stopped or timed-out job (stopped by the step, so
nobody pays for it) falls back to ``default_max_rps``, and the ledger says so. The decisions are
mlops_core.promotion.rightsizing's.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError
from mlops_core.errors import ControlPlaneError
from mlops_core.ledger import Action
from mlops_core.promotion import rightsizing
from mlops_core.promotion.rightsizing import ScalingTarget
from mlops_core.promotion.scaling import AutoscalingPolicy

from mlops_runtime.aws import error_code, translated_errors
from mlops_runtime.promotion_workflow import Promotion, deadline, passed

logger = Logger(child=True)


def start_rightsizing(p: Promotion) -> dict[str, Any]:
    policy = p.config.autoscaling
    if policy is None:  # the variant keeps its own scaling
        return _part(done=True)
    if (chosen := rightsizing.override(policy)) is not None:
        return _chosen(p, chosen)
    sagemaker = p.account("staging").client("sagemaker")
    instance_type = p.config.production.instance_type
    if (reused := _finished_job(p, policy, sagemaker, instance_type)) is not None:
        return _chosen(p, reused)
    name = rightsizing.job_name(p.id)
    request = rightsizing.job_request(
        name, p.package_arn, p.config.staging.execution_role_arn, instance_type, policy
    )
    try:
        with translated_errors():
            sagemaker.create_inference_recommendations_job(**request, Tags=p.tags)
    except ClientError as error:
        if error_code(error) != "ResourceInUse":  # in use: a retried step, the job runs already
            details = error.response.get("Error", {})
            why = f"CreateInferenceRecommendationsJob was refused ({details.get('Code')}: "
            why += f"{details.get('Message')})"
            return _chosen(p, rightsizing.fallback(policy, why))
    p.step("rightsizing", recommendation_job=name)
    return _part(done=False, job=name, deadline=deadline(policy.recommendation_timeout_minutes))


def check_rightsizing(p: Promotion) -> dict[str, Any]:
    part, policy = p.part("rightsizing"), p.config.autoscaling
    if part.get("done") or policy is None:
        return _part(True, part.get("job"), part.get("deadline"), part.get("target"))
    name = str(part["job"])
    sagemaker = p.account("staging").client("sagemaker")
    with translated_errors():
        job = sagemaker.describe_inference_recommendations_job(JobName=name)
    status = job["Status"]
    instance_type = p.config.production.instance_type
    if status == "COMPLETED":
        found = job.get("InferenceRecommendations", [])
        return _chosen(p, rightsizing.recommended(policy, name, found, instance_type))
    if status in rightsizing.FINISHED:
        why = f"recommendation job {name} ended {status}: {job.get('FailureReason', 'no reason')}"
        return _chosen(p, rightsizing.fallback(policy, why, name))
    if passed(part["deadline"]):
        _stop(sagemaker, name)
        minutes = f"{policy.recommendation_timeout_minutes:g}"
        why = f"recommendation job {name} was still {status} after {minutes} minutes (stopped)"
        return _chosen(p, rightsizing.fallback(policy, why, name))
    return _part(False, name, part["deadline"])


def stop_unfinished(p: Promotion) -> None:
    """The promotion ended before the job did: stop it (the abort calls this; a job that
    cannot be stopped is logged, and stops itself within its own time limit)."""
    part = p.part("rightsizing")
    if not part.get("job") or part.get("done"):
        return
    try:
        _stop(p.account("staging").client("sagemaker"), str(part["job"]))
    except (ClientError, ControlPlaneError):
        logger.exception("could not stop recommendation job", extra={"job": part["job"]})


def _finished_job(
    p: Promotion, policy: AutoscalingPolicy, sagemaker: Any, instance_type: str
) -> ScalingTarget | None:
    """The newest COMPLETED job for this package that measured the production type."""
    with translated_errors():
        pages = sagemaker.get_paginator("list_inference_recommendations_jobs").paginate(
            ModelPackageVersionArnEquals=p.package_arn,
            StatusEquals="COMPLETED",
            SortBy="CreationTime",
            SortOrder="Descending",
        )
        for page in pages:
            for summary in page.get("InferenceRecommendationsJobs", []):
                job = sagemaker.describe_inference_recommendations_job(JobName=summary["JobName"])
                target = rightsizing.recommended(
                    policy,
                    job["JobName"],
                    job.get("InferenceRecommendations", []),
                    instance_type,
                )
                if target.source == "inference_recommender":
                    return ScalingTarget(
                        target.value,
                        target.source,
                        f"{target.reason} (reused: it measured this package already)",
                        target.job,
                        target.instance_type,
                        target.max_invocations_per_minute,
                        target.alternatives,
                    )
    return None


def _chosen(p: Promotion, target: ScalingTarget) -> dict[str, Any]:
    p.record(
        Action.AUTOSCALING_TARGET_CHOSEN,
        f"autoscaling target {target.value:g} invocations/minute/instance from "
        f"{target.source}: {target.reason}",
        target.to_dict(),
    )
    p.step("rightsizing", scaling_target=target.to_dict())
    return _part(done=True, job=target.job, target=target.to_dict())


def _part(
    done: bool,
    job: str | None = None,
    deadline: str | None = None,
    target: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The state's ``rightsizing`` part: every key present (the ASL selects each)."""
    return {"done": done, "job": job, "deadline": deadline, "target": target}


def _stop(sagemaker: Any, name: str) -> None:
    try:
        with translated_errors():
            sagemaker.stop_inference_recommendations_job(JobName=name)
    except ClientError as error:  # ended meanwhile, or gone: nothing left to pay for
        if error_code(error) not in (
            "ConflictException",
            "ValidationException",
            "ResourceNotFound",
        ):
            raise


def target_value(p: Promotion) -> float | None:
    """The chosen target (None: the configured override's, computed by the caller)."""
    target = ScalingTarget.from_dict(p.part("rightsizing").get("target"))
    if target is None:
        recorded = (p.deps.store.record(p.model_id, p.version) or {}).get("scaling_target")
        target = ScalingTarget.from_dict(recorded)
    return target.value if target else None
