"""The production half of a promotion: blue/green deployment, verification, restore, and the
two ways a promotion ends (``finish``: promoted; ``abort``: anything else, cleaned up).

Never half-promoted: SageMaker rolls a blue/green update back itself when a rollback alarm
fires; after it succeeds, the endpoint must serve the candidate's package and autoscaling must
be in place, or production is put back on the old endpoint config (``restore``). The new fleet
starts at the live variant's instance count and the variant's autoscaling is put back as it was
(or as configured: mlops_core.promotion.fleet). A first deployment creates the endpoint instead
(promotion_first) and, if it fails, removes it. Every ending cleans what the promotion created
(only resources tagged with its id), writes one terminal ledger entry and notifies.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError
from mlops_core import promotion as rules
from mlops_core.errors import DeploymentError, PromotionVerificationError
from mlops_core.ledger import Action, LedgerEntry
from mlops_core.promotion import fleet
from mlops_core.promotion.async_inference import backlog_scaling
from mlops_core.promotion.endpoint_kinds import ROLLBACK_OURS, ROLLBACK_SAGEMAKER, Kind
from mlops_core.promotion.fleet import PROVISIONED_CONCURRENCY
from mlops_core.promotion.serverless import provisioned_scaling
from mlops_core.promotion.shadow_table import message_lines

from mlops_runtime import variant_scaling
from mlops_runtime.aws import translated_errors
from mlops_runtime.promotion_bake import bake
from mlops_runtime.promotion_first import (
    clean_first_deployment,
    drop_backlog_alarm,
    put_backlog_alarm,
)
from mlops_runtime.promotion_rightsizing import stop_unfinished, target_value
from mlops_runtime.promotion_shadow import stop_experiment
from mlops_runtime.promotion_workflow import (
    Promotion,
    call_aws,
    confirm_deployable,
    deadline,
    deploy_part,
    ensure_endpoint_config,
    ensure_model,
    notify_about,
    passed,
    put_rollback_alarms,
    variant_spec,
)
from mlops_runtime.promotions import now_iso
from mlops_runtime.target_accounts import delete_if_created_by, describe_or_none
from mlops_runtime.variant_scaling import DIMENSION

# ---------------------------------------------------------------- deploy and watch


def deploy_production(p: Promotion) -> dict[str, Any]:
    """UpdateEndpoint with a blue/green DeploymentConfig that rolls back on our alarms; the new
    fleet starts at the live variant's instance count (mlops_core.promotion.fleet)."""
    if p.first:
        raise DeploymentError(f"{p.id} is a first deployment: it creates the endpoint instead")
    confirm_deployable(p)
    target, account = p.config.production, p.account("production")
    sagemaker, variant = account.client("sagemaker"), p.variant
    with translated_errors():
        now = sagemaker.describe_endpoint(EndpointName=target.endpoint_name)
    old = p.production["config"]
    if now["EndpointConfigName"] != old or now["EndpointStatus"] != "InService":
        raise DeploymentError(
            f"production changed since the promotion began: {target.endpoint_name} is "
            f"{now['EndpointStatus']} on {now['EndpointConfigName']}, expected InService on {old}"
        )
    plan = p.info.get("plan") or {}
    ours = plan.get("rollback") == ROLLBACK_OURS
    kind_changes = plan.get("current", Kind.REAL_TIME) != plan.get("candidate", Kind.REAL_TIME)
    autoscaling = account.client("application-autoscaling")
    saved = _scaling_before(p, autoscaling)
    scaling = _scaling_for(p, None if kind_changes else saved)
    live = fleet.live_instance_count(now.get("ProductionVariants", []), variant)
    size = fleet.fleet_size(live, target.instance_count, scaling)
    if target.serverless is not None:
        size = fleet.FleetSize(0, "serverless: no instances")
    with translated_errors():
        source = sagemaker.describe_endpoint_config(EndpointConfigName=old)
    if p.info.get("shadow_skipped"):  # else the shadow test created the model
        ensure_model(p, sagemaker, p.names["prod_model"], target.execution_role_arn)
    ensure_endpoint_config(
        p,
        sagemaker,
        p.names["prod_config"],
        variant_spec(
            variant, p.names["prod_model"], target.instance_type, size.count, target.serverless
        ),
        # keeps Model Monitor's capture as it was (a serverless variant has none)
        None if target.serverless else source.get("DataCaptureConfig"),
        target.async_inference,
    )
    names = put_rollback_alarms(p, account, variant)
    # AWS refuses an update that changes the instance type of an autoscaled variant; a variant
    # changing kind changes what it scales on.
    deregistered = saved is not None and (
        kind_changes or target.instance_type != p.production["instance_type"]
    )
    current = variant_scaling.read(
        autoscaling, target.endpoint_name, variant, saved.dimension if saved else DIMENSION
    )
    if deregistered and current is not None:
        # Kept first in the promotion's record: a retried step must not lose it.
        p.step("production_deploy", saved_autoscaling=saved.to_dict() if saved else None)
        variant_scaling.deregister(autoscaling, target.endpoint_name, variant, current)
    config = None if ours else rules.deployment_config(p.config.deployment, names)
    call_aws(
        f"UpdateEndpoint {target.endpoint_name}",
        sagemaker.update_endpoint,
        EndpointName=target.endpoint_name,
        EndpointConfigName=p.names["prod_config"],
        **({"DeploymentConfig": config} if config else {}),
    )
    how = (
        f"update of {target.endpoint_name} ({plan.get('current')} -> {plan.get('candidate')}) "
        f"to v{p.version}, without SageMaker's deployment guardrails: the control plane watches "
        f"{', '.join(names)} for {p.config.deployment.bake_seconds} s and rolls back"
        if ours
        else f"blue/green update of {target.endpoint_name} to v{p.version} "
        f"({p.config.deployment.strategy}) on {size.reason}; rolls back on {', '.join(names)}"
    )
    p.record(
        Action.PRODUCTION_DEPLOY_STARTED,
        how,
        {
            "endpoint": target.endpoint_name,
            "from": old,
            "to": p.names["prod_config"],
            "deployment_config": config,
            "rollback": plan.get("rollback", ROLLBACK_SAGEMAKER),
            "fleet": size.to_dict(),
            "autoscaling_before": saved.to_dict() if saved else None,
            "autoscaling_after": scaling.to_dict() if scaling else None,
            "approval": p.part("approval"),
        },
    )
    p.step("production_deploy")
    rollback = plan.get("rollback", ROLLBACK_SAGEMAKER)
    return deploy_part(p, old, names, size, scaling, saved, deregistered, rollback)


def _scaling_for(p: Promotion, saved: fleet.Scaling | None) -> fleet.Scaling | None:
    """The variant's autoscaling once the candidate serves: on its queue (async), on its
    provisioned concurrency (serverless), or a real-time variant's (mlops_core.promotion.fleet;
    ``saved``: the variant's before, None when its kind changes: a queue's scaling is not
    carried over to a real-time variant)."""
    target = p.config.production
    if target.async_inference is not None:
        return backlog_scaling(target.async_inference, target.endpoint_name)
    if target.serverless is not None:
        return provisioned_scaling(target.serverless)
    before = saved if saved is None or saved.dimension == DIMENSION else None
    return fleet.scaling_after(before, p.config.autoscaling, target_value(p))


def _scaling_before(p: Promotion, autoscaling: Any) -> fleet.Scaling | None:
    """The variant's autoscaling before this promotion: the promotion's record keeps it once
    the step deregistered it (a retried step then finds none on the variant)."""
    recorded = (p.deps.store.record(p.model_id, p.version) or {}).get("saved_autoscaling")
    if recorded:
        return fleet.Scaling.from_dict(recorded)
    serverless = p.production.get("kind") == Kind.SERVERLESS
    return variant_scaling.read(
        autoscaling,
        p.config.production.endpoint_name,
        p.variant,
        PROVISIONED_CONCURRENCY if serverless else DIMENSION,
    )


def check_deployment(p: Promotion) -> dict[str, Any]:
    deploy = p.part("deploy")
    sagemaker = p.account("production").client("sagemaker")
    with translated_errors():
        described = sagemaker.describe_endpoint(EndpointName=p.config.production.endpoint_name)
    state = rules.deployment_state(
        described["EndpointStatus"],
        described["EndpointConfigName"],
        deploy["config"],
        deploy["old_config"],
    )
    deploy |= {
        "status": described["EndpointStatus"],
        # ours: why we rolled back (SageMaker's FailureReason says nothing of our alarms)
        "failure_reason": described.get("FailureReason") or deploy.get("failure_reason"),
    }
    ours = deploy.get("rollback") == ROLLBACK_OURS
    if state is rules.DeploymentState.DEPLOYED and ours and not deploy.get("failure_reason"):
        return bake(p, deploy, described["EndpointStatus"])
    if state is rules.DeploymentState.DEPLOYED and not (ours and deploy.get("failure_reason")):
        return deploy | {"deployed": True}
    if state is rules.DeploymentState.ROLLED_BACK:
        return deploy | {"rolled_back": True}
    what = "creation of the production endpoint" if p.first else "production update"
    if state is rules.DeploymentState.FAILED:
        raise DeploymentError(
            f"the {what} ended {described['EndpointStatus']} on "
            f"{described['EndpointConfigName']}: {described.get('FailureReason')}"
        )
    if passed(deploy["deadline"]):
        raise DeploymentError(
            f"the {what} is still {described['EndpointStatus']} "
            f"after {p.config.deployment_timeout_minutes:g} minutes"
        )
    return deploy


def verify_production(p: Promotion) -> dict[str, Any]:
    """The endpoint serves the candidate's package on the production variant (a new endpoint:
    and captures to the configured data_capture_uri); then its autoscaling is applied."""
    target, account = p.config.production, p.account("production")
    sagemaker, variant = account.client("sagemaker"), p.variant
    with translated_errors():
        described = sagemaker.describe_endpoint(EndpointName=target.endpoint_name)
        config = sagemaker.describe_endpoint_config(
            EndpointConfigName=described["EndpointConfigName"]
        )
    served = {v["VariantName"]: v["ModelName"] for v in config["ProductionVariants"]}
    live = {v["VariantName"] for v in described.get("ProductionVariants", [])}
    if described["EndpointStatus"] != "InService" or served.get(variant) != p.names["prod_model"]:
        raise PromotionVerificationError(
            f"{target.endpoint_name} is {described['EndpointStatus']} with variant {variant} "
            f"serving {served.get(variant)}, not {p.names['prod_model']}"
        )
    if variant not in live:
        raise PromotionVerificationError(f"{target.endpoint_name} has no live variant {variant}")
    with translated_errors():
        model = sagemaker.describe_model(ModelName=p.names["prod_model"])
    containers = model.get("Containers") or [model.get("PrimaryContainer") or {}]
    if p.package_arn not in {c.get("ModelPackageName") for c in containers}:
        raise PromotionVerificationError(
            f"{p.names['prod_model']} is not built from {p.package_arn}"
        )
    if p.first and target.serverless is None:  # a serverless endpoint captures nothing
        _verify_capture(described.get("DataCaptureConfig") or {}, target)
    scaling = _apply_autoscaling(p, account.client("application-autoscaling"))
    backlog = put_backlog_alarm(p, account)
    if _kind_left(p, Kind.ASYNC):  # its scale-out-from-zero policy went with the old scaling
        drop_backlog_alarm(p, account)
    return {
        "verified": True,
        "autoscaling": scaling,
        **({"backlog_alarm": backlog} if backlog else {}),
        "endpoint_config": config["EndpointConfigName"],
    }


def _verify_capture(capture: dict[str, Any], target: Any) -> None:
    """DescribeEndpoint's DataCaptureConfig summary of a new endpoint: capturing where the
    production target says (Model Monitor reads it there)."""
    wanted = target.data_capture_uri.rstrip("/")
    if (
        not capture.get("EnableCapture")
        or str(capture.get("DestinationS3Uri", "")).rstrip("/") != wanted
    ):
        raise PromotionVerificationError(
            f"{target.endpoint_name} does not capture to {wanted}: {capture or 'no data capture'}"
        )


def _apply_autoscaling(p: Promotion, autoscaling: Any) -> dict[str, Any] | None:
    """The variant's autoscaling as planned at the deployment
    (mlops_core.promotion.fleet.scaling_after), registered again on the new variant: the team's
    own, or the configured one."""
    endpoint, variant = p.config.production.endpoint_name, p.variant
    scaling = fleet.Scaling.from_dict(p.part("deploy").get("scaling"))
    if scaling is None:
        return None
    try:
        variant_scaling.register(autoscaling, endpoint, variant, scaling)
    except ClientError as error:
        raise PromotionVerificationError(
            f"autoscaling could not be applied to {endpoint}/{variant}: {error}"
        ) from error
    return scaling.to_dict()


# ---------------------------------------------------------------- restore


def restore_production(p: Promotion) -> dict[str, Any]:
    """Verification failed after a successful update: back to the old endpoint config."""
    deploy, target, account = p.part("deploy"), p.config.production, p.account("production")
    sagemaker = account.client("sagemaker")
    autoscaling = account.client("application-autoscaling")
    with translated_errors():
        described = sagemaker.describe_endpoint(EndpointName=target.endpoint_name)
    ours = variant_scaling.read(autoscaling, target.endpoint_name, p.variant, _new_dimension(p))
    changed = target.instance_type != p.production["instance_type"]
    if ours and (deploy.get("deregistered") or changed):
        variant_scaling.deregister(autoscaling, target.endpoint_name, p.variant, ours)
    if described["EndpointConfigName"] != deploy["old_config"]:
        call_aws(
            f"UpdateEndpoint {target.endpoint_name} back to {deploy['old_config']}",
            sagemaker.update_endpoint,
            EndpointName=target.endpoint_name,
            EndpointConfigName=deploy["old_config"],
        )
    return {"deadline": deadline(p.config.deployment_timeout_minutes), "restored": False}


def check_restore(p: Promotion) -> dict[str, Any]:
    restore, deploy = p.part("restore"), p.part("deploy")
    target, account = p.config.production, p.account("production")
    with translated_errors():
        described = account.client("sagemaker").describe_endpoint(EndpointName=target.endpoint_name)
    if described["EndpointStatus"] == "InService" and (
        described["EndpointConfigName"] == deploy["old_config"]
    ):
        _restore_autoscaling(p, account.client("application-autoscaling"))
        return restore | {"restored": True}
    if described["EndpointStatus"] not in ("Updating", "RollingBack", "SystemUpdating") or passed(
        restore["deadline"]
    ):
        raise DeploymentError(
            f"could not restore {target.endpoint_name} to "
            f"{deploy['old_config']}: it is {described['EndpointStatus']} on "
            f"{described['EndpointConfigName']}"
        )
    return restore


def _restore_autoscaling(p: Promotion, autoscaling: Any) -> None:
    """Production is back on the old config: so is its autoscaling."""
    endpoint, variant = p.config.production.endpoint_name, p.variant
    saved = fleet.Scaling.from_dict(p.part("deploy").get("saved_autoscaling"))
    new = variant_scaling.read(autoscaling, endpoint, variant, _new_dimension(p))
    if saved and new and new.dimension != saved.dimension:  # the candidate's kind scaled apart
        variant_scaling.deregister(autoscaling, endpoint, variant, new)
    current = variant_scaling.read(
        autoscaling, endpoint, variant, saved.dimension if saved else _new_dimension(p)
    )
    if saved:
        if current != saved:
            if current:
                variant_scaling.deregister(autoscaling, endpoint, variant, current)
            variant_scaling.register(autoscaling, endpoint, variant, saved)
    elif current and (p.part("verified").get("autoscaling") is not None):
        # ours, new with the candidate
        variant_scaling.deregister(autoscaling, endpoint, variant, current)


def _new_dimension(p: Promotion) -> str:
    """What the candidate's variant scales on (instances, or provisioned concurrency)."""
    scaling = fleet.Scaling.from_dict(p.part("deploy").get("scaling"))
    return scaling.dimension if scaling else DIMENSION


# ---------------------------------------------------------------- endings


def finish(p: Promotion) -> dict[str, Any]:
    """Promoted: record it (with what production now serves), release, clean staging, notify."""
    target = p.config.production
    verdict, approval = p.part("verdict"), p.part("approval")
    evidence = {
        "package_arn": p.package_arn,
        "endpoint": target.endpoint_name,
        "account": target.account_id,
        "endpoint_config": p.names["prod_config"],
        "previous": p.production or None,
        "first_deployment": p.first,
        "fleet": p.part("deploy").get("fleet"),
        "verdict": verdict.get("headline"),
        "approval": approval,
        "autoscaling": p.part("verified").get("autoscaling"),
        "deployment": p.part("deploy").get("config"),
    }
    p.deps.ledger.record(
        LedgerEntry(
            Action.MODEL_PROMOTED,
            p.model_id,
            p.id,
            f"v{p.version} serves {target.endpoint_name} in {target.account_id} "
            + (
                "(first deployment: endpoint created)"
                if p.first
                else f"(was v{p.production.get('version') or '?'})"
            ),
            evidence,
        ),
        p.deps.store.update_operation(
            p.model_id,
            p.version,
            status="promoted",
            step="done",
            outcome="promoted",
            ended_at=now_iso(),
        ),
        p.deps.store.production_operation(p.model_id, p.package_arn, p.version, p.id),
    )
    p.deps.store.release(p.model_id, p.id)
    report = _cleanup(p, production_too=False)
    notify_about(
        p,
        "model_promoted",
        f"[promoted] {p.model_id} v{p.version} is in production",
        [
            str(verdict.get("headline", "")),
            *message_lines(verdict.get("evidence") or {}),  # production vs shadow, side by side
            f"approved by {approval.get('decided_by')} via {approval.get('channel')}",
            *(f"left behind: {item}" for item in report["left"]),
        ],
        "info",
        {"endpoint": target.endpoint_name, "account": target.account_id, "promotion": p.id},
    )
    return {"outcome": "promoted", "cleanup": report}


def abort(p: Promotion) -> dict[str, Any]:
    """Any other ending: production on the old model, what we created removed, recorded."""
    end = rules.ending(p.state)
    stop_unfinished(p)  # a recommendation job still load-testing costs money for nothing
    report = _cleanup(p, production_too=True)
    action = (
        Action.DEPLOYMENT_ROLLED_BACK
        if end.outcome is rules.Outcome.ROLLED_BACK
        else Action.PROMOTION_FAILED
    )
    p.deps.ledger.record(
        LedgerEntry(
            action,
            p.model_id,
            p.id,
            f"{end.outcome}: {end.reason}"[:1000],
            end.to_dict() | {"cleanup": report, "state": _summary(p.state)},
        ),
        p.deps.store.update_operation(
            p.model_id,
            p.version,
            status=str(end.outcome),
            step="done",
            outcome=str(end.outcome),
            stage=end.stage,
            reason=end.reason[:1000],
            ended_at=now_iso(),
        ),
    )
    p.deps.store.release(p.model_id, p.id)
    label = {"not_promoted": "not promoted", "rolled_back": "rolled back"}.get(
        str(end.outcome), "promotion failed"
    )
    notify_about(
        p,
        f"promotion_{end.outcome}",
        f"[{label}] {p.model_id} v{p.version}",
        [
            end.reason,
            f"production: {report['production']}",
            *(f"cleaned: {item}" for item in report["cleaned"]),
            *(f"LEFT: {item}" for item in report["left"]),
        ],
        end.severity,
        {"stage": end.stage, "promotion": p.id},
    )
    return end.to_dict()


def _summary(state: dict[str, Any]) -> dict[str, Any]:
    """The parts of the state worth keeping with the ending (not the whole approval request)."""
    verdict = state.get("verdict") or {}
    return {
        "gate": (state.get("gate") or {}).get("passed"),
        "verdict": {k: verdict.get(k) for k in ("outcome", "headline")} if verdict else None,
        "approval": state.get("approval"),
        "deploy": {
            k: (state.get("deploy") or {}).get(k)
            for k in ("config", "old_config", "status", "failure_reason")
        },
        "error": state.get("error"),
    }


def _cleanup(p: Promotion, production_too: bool) -> dict[str, Any]:
    """Remove what this promotion created that production does not use; say what is left."""
    report: dict[str, Any] = {"cleaned": [], "left": [], "production": "unknown"}
    if not p.names:  # ended before anything was created
        report["production"] = "untouched"
        return report
    for which, work in (("production", _clean_production), ("staging", _clean_staging)):
        if which == "production" and not production_too:
            work = _close_experiment
        try:
            work(p, report)
        except Exception as error:  # cleanup goes on; the ledger and page say what remains
            report["left"].append(f"{which}: {type(error).__name__}: {str(error)[:300]}")
    return report


def _close_experiment(p: Promotion, report: dict[str, Any]) -> None:
    sagemaker = p.account("production").client("sagemaker")
    if p.production and stop_experiment(
        sagemaker,
        p.names["experiment"],
        p.production["variant"],
        p.names["shadow_variant"],
        "promotion ended",
    ):
        report["cleaned"].append(f"stopped shadow test {p.names['experiment']} (shadow removed)")


def _clean_production(p: Promotion, report: dict[str, Any]) -> None:
    if p.first:
        clean_first_deployment(p, report)
        return
    _close_experiment(p, report)
    account = p.account("production")
    sagemaker = account.client("sagemaker")
    endpoint = p.config.production.endpoint_name
    described = describe_or_none(sagemaker.describe_endpoint, EndpointName=endpoint)
    current = described["EndpointConfigName"] if described else None
    report["production"] = (
        f"{endpoint} {described['EndpointStatus']} on {current}"
        if described
        else f"{endpoint} not found"
    )
    if current == p.names["prod_config"]:
        report["left"].append(f"production still serves {current}: restore it by hand")
        return
    deploy = p.part("deploy")
    if deploy.get("deregistered") and current == deploy.get("old_config"):
        _restore_autoscaling(p, account.client("application-autoscaling"))
        report["cleaned"].append("restored the production variant's autoscaling")
    if _kind_left(p, Kind.ASYNC, candidate=True) and drop_backlog_alarm(p, account):
        report["cleaned"].append("deleted the candidate's backlog alarm")
    delete_if_created_by(sagemaker, "endpoint-config", p.names["prod_config"], p.id, report)
    delete_if_created_by(sagemaker, "model", p.names["prod_model"], p.id, report)


def _kind_left(p: Promotion, kind: Kind, candidate: bool = False) -> bool:
    """The update changes the endpoint from ``kind`` (or, ``candidate``: to ``kind``)."""
    plan = p.info.get("plan") or {}
    ends = (
        (plan.get("candidate"), plan.get("current"))
        if candidate
        else (
            plan.get("current"),
            plan.get("candidate"),
        )
    )
    return ends[0] == kind and ends[1] != kind


def _clean_staging(p: Promotion, report: dict[str, Any]) -> None:
    sagemaker = p.account("staging").client("sagemaker")
    delete_if_created_by(sagemaker, "endpoint", p.config.staging.endpoint_name, p.id, report)
    delete_if_created_by(sagemaker, "endpoint-config", p.names["staging_config"], p.id, report)
    delete_if_created_by(sagemaker, "model", p.names["staging_model"], p.id, report)
