"""The promotion's steps before the shadow test: who serves production and whether this version
may replace it (``prepare``), the quality gate, and the staging endpoint (deploy, then wait for
InService). The decisions are mlops_core.promotion's; this module fetches and applies.
"""

from __future__ import annotations

from typing import Any

from mlops_core import promotion as rules
from mlops_core.approvals import backstop_seconds
from mlops_core.errors import DeploymentError, PromotionNotConfiguredError
from mlops_core.ledger import Action
from mlops_core.promotion.endpoint_kinds import Kind, update_plan

from mlops_runtime.aws import translated_errors
from mlops_runtime.promotion_workflow import (
    Promotion,
    call_aws,
    capture_config,
    deadline,
    ensure_endpoint_config,
    ensure_model,
    passed,
    variant_spec,
)
from mlops_runtime.target_accounts import (
    created_by,
    describe_or_none,
    describe_package,
    ensure_group_policy,
    quality_statistics,
    serving,
)


def prepare(p: Promotion) -> dict[str, Any]:
    """Who serves production now, whether this version may replace it, the names and timing."""
    staging, production = p.config.staging, p.config.production
    names = rules.resource_names(
        p.model_id, p.version, staging.endpoint_name, production.endpoint_name
    )
    if p.model.approvals is None:  # ModelConfig refuses a promotion section without it
        raise PromotionNotConfiguredError(f"{p.model_id}: a promotion needs an approvals section")
    info: dict[str, Any] = {
        "id": p.id,
        "model_id": p.model_id,
        "version": p.version,
        "package_arn": p.package_arn,
        "group": p.config.model_package_group,
        "names": names.to_dict(),
        "timing": {
            "poll_seconds": p.config.poll_interval_seconds,
            "shadow_seconds": max(1, round(p.config.shadow.duration_minutes * 60)),
            "approval_timeout_seconds": backstop_seconds(p.model.approvals.deadline_hours),
        },
        "production": None,
        "first_deployment": False,
        "refusal": None,
        "shadow_skipped": None,  # why the shadow test does not run on an existing endpoint
        "plan": None,
    }
    package = describe_package(p.package_arn)
    if package.get("ModelApprovalStatus") != "Approved":
        info["refusal"] = f"the package is {package.get('ModelApprovalStatus')} in the registry"
        return info
    sagemaker = p.account("production").client("sagemaker")
    try:
        now = serving(
            sagemaker,
            production.endpoint_name,
            production.variant_name,
            p.config.model_package_group,
        )
    except LookupError as error:
        info["refusal"] = str(error)
        return info
    # No endpoint yet: a first deployment (staging test, approval, then CreateEndpoint).
    info["first_deployment"] = now is None
    info["production"] = now.to_dict() if now else None
    info["refusal"] = rules.order_refusal(p.version, now.version if now else None)
    if now is not None:
        plan = update_plan(
            Kind(now.kind), target_kind(production), production.endpoint_name, production.account_id
        )
        info["plan"] = plan.to_dict()
        info["refusal"] = info["refusal"] or plan.refusal
        info["shadow_skipped"] = plan.shadow_skipped
    if info["refusal"] is None:
        ensure_group_policy(
            p.config.model_package_group, [staging.account_id, production.account_id]
        )
    known = {
        "production_version": now.version if now else None,
        "production_config": now.config if now else None,
    }  # a None would be an empty attribute: left out
    p.step("prepare", first_deployment=now is None, **{k: v for k, v in known.items() if v})
    return info


def target_kind(target: Any) -> Kind:
    """The kind of endpoint a promotion target configures."""
    if target.serverless is not None:
        return Kind.SERVERLESS
    return Kind.ASYNC if target.async_inference is not None else Kind.REAL_TIME


def quality_gate(p: Promotion) -> dict[str, Any]:
    candidate = quality_statistics(describe_package(p.package_arn))
    baseline = None
    if p.production.get("package_arn"):
        baseline = quality_statistics(describe_package(p.production["package_arn"]))
    result = rules.quality_gate(
        rules.flatten_quality(candidate) if candidate is not None else None,
        rules.flatten_quality(baseline) if baseline is not None else None,
        p.config.quality,
        first_deployment=p.first,
    )
    verb = "passed" if result.passed else "refused"
    p.record(
        Action.QUALITY_GATE_CHECKED,
        f"quality gate {verb}: {'; '.join(result.reasons)}",
        result.to_dict(),
    )
    p.step("quality_gate", gate=result.to_dict())
    return {"passed": result.passed, "summary": result.to_dict()}


# ---------------------------------------------------------------- staging


def deploy_staging(p: Promotion) -> dict[str, Any]:
    target = p.config.staging
    sagemaker = p.account("staging").client("sagemaker")
    ensure_model(p, sagemaker, p.names["staging_model"], target.execution_role_arn)
    ensure_endpoint_config(
        p,
        sagemaker,
        p.names["staging_config"],
        variant_spec(
            target.variant_name,
            p.names["staging_model"],
            target.instance_type,
            target.instance_count,
            target.serverless,
        ),
        capture_config(target.data_capture_uri, target.serverless),
        target.async_inference,
    )
    existing = describe_or_none(sagemaker.describe_endpoint, EndpointName=target.endpoint_name)
    if existing is None:
        call_aws(
            f"CreateEndpoint {target.endpoint_name} in staging",
            sagemaker.create_endpoint,
            EndpointName=target.endpoint_name,
            EndpointConfigName=p.names["staging_config"],
            Tags=p.tags,
        )
    elif not created_by(sagemaker, existing["EndpointArn"], p.id):
        raise DeploymentError(
            f"staging endpoint {target.endpoint_name} already exists in account "
            f"{target.account_id} and was not created by {p.id}: delete it or name another"
        )
    p.step("staging")
    return {
        "endpoint": target.endpoint_name,
        "deadline": deadline(p.config.staging_timeout_minutes),
        "ready": False,
        "status": "Creating",
    }


def check_staging(p: Promotion) -> dict[str, Any]:
    staging = p.part("staging")
    sagemaker = p.account("staging").client("sagemaker")
    with translated_errors():
        described = sagemaker.describe_endpoint(EndpointName=staging["endpoint"])
    status = described["EndpointStatus"]
    if status == "InService":
        p.record(
            Action.STAGING_DEPLOYED,
            f"v{p.version} is InService on {staging['endpoint']} in staging "
            f"({p.config.staging.account_id})",
            {"endpoint": staging["endpoint"], "config": described["EndpointConfigName"]},
        )
        return staging | {"ready": True, "status": status}
    if status == "Failed":
        raise DeploymentError(
            f"staging endpoint {staging['endpoint']} failed: {described.get('FailureReason')}"
        )
    if passed(staging["deadline"]):
        raise DeploymentError(
            f"staging endpoint {staging['endpoint']} is still {status} after "
            f"{p.config.staging_timeout_minutes:g} minutes"
        )
    return staging | {"status": status}
