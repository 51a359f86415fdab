"""A model's first deployment: no production endpoint yet (mlops_core.promotion.first_deployment).

- ``skip_shadow``: after staging, instead of a shadow test: records that it was skipped and why,
  and hands the approvers a verdict from the staging test.
- ``create_production``: after the approval, instead of the blue/green update: the model, an
  endpoint config with data capture to the production target's ``data_capture_uri``, the rollback
  alarms, then CreateEndpoint; everything tagged with the promotion. ``check_deployment`` waits
  for it and ``verify_production`` checks it and applies the autoscaling (promotion_release).
- ``clean_first_deployment``: every other ending removes what the promotion created there
  (autoscaling, alarms, endpoint, config, model), so production is back to having no endpoint.

Idempotent like every step: a retried or redelivered step finds what it created and goes on.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError
from mlops_core import promotion as rules
from mlops_core.errors import DeploymentError, PromotionVerificationError
from mlops_core.ledger import Action
from mlops_core.promotion import first_deployment as first
from mlops_core.promotion import fleet, scalable_resource_id
from mlops_core.promotion.async_inference import (
    SCALE_OUT_FROM_ZERO_POLICY,
    backlog_alarm,
    backlog_alarm_name,
    backlog_scaling,
)
from mlops_core.promotion.serverless import provisioned_scaling

from mlops_runtime import variant_scaling
from mlops_runtime.aws import translated_errors
from mlops_runtime.promotion_rightsizing import target_value
from mlops_runtime.promotion_workflow import (
    Promotion,
    call_aws,
    capture_config,
    confirm_deployable,
    deploy_part,
    ensure_endpoint_config,
    ensure_model,
    put_rollback_alarms,
    variant_spec,
)
from mlops_runtime.target_accounts import (
    created_by,
    delete_if_created_by,
    describe_or_none,
    missing,
)


def planned_fleet(p: Promotion) -> tuple[fleet.FleetSize, fleet.Scaling | None]:
    """The new endpoint's instance count and autoscaling (there is no live variant to follow)."""
    target = p.config.production
    if target.async_inference is not None:  # scales on its queue, from zero
        scaling = backlog_scaling(target.async_inference, target.endpoint_name)
    elif target.serverless is not None:  # scales its provisioned concurrency, if any
        scaling = provisioned_scaling(target.serverless)
    else:
        scaling = fleet.scaling_after(None, p.config.autoscaling, target_value(p))
    return fleet.fleet_size(None, target.instance_count, scaling), scaling


def serving_description(p: Promotion) -> str:
    """What the new production variant runs on: its serverless config, or its fleet."""
    target = p.config.production
    if target.serverless is not None:
        return target.serverless.describe()
    fleet_now = f"{planned_fleet(p)[0].count} x {target.instance_type}"
    if target.async_inference is not None:
        return f"{fleet_now}, {target.async_inference.describe()}"
    return fleet_now


def skip_shadow(p: Promotion) -> dict[str, Any]:
    """No production traffic to copy, or an endpoint kind shadow tests do not take
    (``shadow_skipped`` from Prepare): the verdict comes from the staging test."""
    target = p.config.production
    plan = p.info.get("plan") or {}
    rollback = (
        "; rolled back by the control plane if a rollback alarm fires during the bake"
        if plan.get("rollback") == "ours"
        else ""
    )
    verdict = first.staging_verdict(
        p.model_id,
        p.version,
        production={
            "endpoint": target.endpoint_name,
            "account": target.account_id,
            "instances": serving_description(p),
            "with": (
                "rollback alarms (serverless: no data capture, no instance autoscaling)"
                if target.serverless
                else "data capture, rollback alarms and autoscaling"
            )
            + rollback,
        },
        staging={
            "endpoint": p.part("staging")["endpoint"],
            "account": p.config.staging.account_id,
            "config": p.names["staging_config"],
        },
        gate=p.part("gate").get("summary") or {},
        package_arn=p.package_arn,
        skipped=None if p.first else p.info.get("shadow_skipped"),
        production_version=p.production.get("version"),
    )
    p.record(
        Action.SHADOW_TEST_SKIPPED,
        f"{verdict['reasons'][0]}; the verdict comes from the staging test",
        verdict["evidence"],
    )
    p.step(
        "shadow_skipped",
        verdict={k: verdict[k] for k in ("outcome", "headline", "proceed", "evidence")},
    )
    return verdict


def create_production(p: Promotion) -> dict[str, Any]:
    """The approved first version: create the production endpoint."""
    confirm_deployable(p)
    target, account = p.config.production, p.account("production")
    sagemaker = account.client("sagemaker")
    existing = describe_or_none(sagemaker.describe_endpoint, EndpointName=target.endpoint_name)
    if existing is not None and not created_by(sagemaker, existing["EndpointArn"], p.id):
        raise DeploymentError(
            f"production endpoint {target.endpoint_name} was created in account "
            f"{target.account_id} while the promotion ran, not by {p.id}: not deployed"
        )
    ensure_model(p, sagemaker, p.names["prod_model"], target.execution_role_arn)
    size, scaling = planned_fleet(p)
    ensure_endpoint_config(
        p,
        sagemaker,
        p.names["prod_config"],
        variant_spec(
            target.variant_name,
            p.names["prod_model"],
            target.instance_type,
            size.count,
            target.serverless,
        ),
        capture_config(target.data_capture_uri, target.serverless),
        target.async_inference,
    )
    names = put_rollback_alarms(p, account, target.variant_name)
    if existing is None:
        call_aws(
            f"CreateEndpoint {target.endpoint_name} in production",
            sagemaker.create_endpoint,
            EndpointName=target.endpoint_name,
            EndpointConfigName=p.names["prod_config"],
            Tags=p.tags,
        )
    p.record(
        Action.PRODUCTION_DEPLOY_STARTED,
        f"first deployment: creating {target.endpoint_name} in {target.account_id} with "
        f"v{p.version} on {serving_description(p)}, "
        + (
            "no data capture (serverless endpoints have none)"
            if target.serverless
            else f"data capture to {target.data_capture_uri}"
        ),
        {
            "endpoint": target.endpoint_name,
            "first_deployment": True,
            "to": p.names["prod_config"],
            "fleet": size.to_dict(),
            "autoscaling": scaling.to_dict() if scaling else None,
            "alarms": names,
            "data_capture_uri": None if target.serverless else target.data_capture_uri,
            "serverless": target.serverless.model_dump() if target.serverless else None,
            "approval": p.part("approval"),
        },
    )
    p.step("production_deploy")
    return deploy_part(p, None, names, size, scaling)


def put_backlog_alarm(p: Promotion, account: Any) -> str | None:
    """An async variant scaling to zero: the alarm that scales it out from zero (its action is
    the step scaling policy :func:`_apply_autoscaling` just put). Returns its name."""
    target = p.config.production
    if target.async_inference is None or not target.async_inference.scale_to_zero:
        return None
    with translated_errors():
        policies = account.client("application-autoscaling").describe_scaling_policies(
            ServiceNamespace="sagemaker",
            ResourceId=scalable_resource_id(target.endpoint_name, p.variant),
            PolicyNames=[SCALE_OUT_FROM_ZERO_POLICY],
        )["ScalingPolicies"]
    # Filtered here too: an answer that ignores PolicyNames must not pick the wrong policy.
    policies = [x for x in policies if x["PolicyName"] == SCALE_OUT_FROM_ZERO_POLICY]
    if not policies:
        raise PromotionVerificationError(
            f"{target.endpoint_name}: no {SCALE_OUT_FROM_ZERO_POLICY} policy to scale out from zero"
        )
    alarm = backlog_alarm(target.endpoint_name, policies[0]["PolicyARN"])
    call_aws(
        f"PutMetricAlarm {alarm['AlarmName']}",
        account.client("cloudwatch").put_metric_alarm,
        **alarm,
    )
    return str(alarm["AlarmName"])


def drop_backlog_alarm(p: Promotion, account: Any) -> bool:
    """Delete the endpoint's scale-out-from-zero alarm; False if there was none."""
    try:
        with translated_errors():
            account.client("cloudwatch").delete_alarms(
                AlarmNames=[backlog_alarm_name(p.config.production.endpoint_name)]
            )
    except ClientError as error:
        if not missing(error):
            raise
        return False
    return True


def clean_first_deployment(p: Promotion, report: dict[str, Any]) -> None:
    """Production had no endpoint before this promotion; it has none after it."""
    target, account = p.config.production, p.account("production")
    sagemaker = account.client("sagemaker")
    endpoint, variant = target.endpoint_name, p.variant
    described = describe_or_none(sagemaker.describe_endpoint, EndpointName=endpoint)
    if described is not None and not created_by(sagemaker, described["EndpointArn"], p.id):
        report["production"] = f"{endpoint} was created by someone else meanwhile: kept as it is"
    else:
        # Approved: the creation may have begun (even if its step failed half-way), and the
        # alarms and autoscaling of an endpoint that is ours or absent are this promotion's.
        if p.part("approval").get("outcome") == "approved":
            autoscaling = account.client("application-autoscaling")
            dimension = (p.part("deploy").get("scaling") or {}).get("dimension")
            current = variant_scaling.read(
                autoscaling, endpoint, variant, dimension or variant_scaling.DIMENSION
            )
            if current is not None:
                variant_scaling.deregister(autoscaling, endpoint, variant, current)
                report["cleaned"].append(f"removed the autoscaling of {endpoint}/{variant}")
            cloudwatch = account.client("cloudwatch")
            # One call per group: DeleteAlarms deletes nothing if one name is missing.
            groups = [list(rules.alarm_names(endpoint).values())]
            if target.async_inference is not None:
                groups.append([backlog_alarm_name(endpoint)])
            for names in groups:
                try:
                    with translated_errors():
                        cloudwatch.delete_alarms(AlarmNames=names)
                    report["cleaned"].append(f"deleted alarms {', '.join(names)}")
                except ClientError as error:
                    if not missing(error):  # none to delete: the step failed before them
                        raise
        delete_if_created_by(sagemaker, "endpoint", endpoint, p.id, report)
        report["production"] = (
            f"no endpoint {endpoint} (first deployment: "
            f"{'removed' if described else 'never created'})"
        )
    delete_if_created_by(sagemaker, "endpoint-config", p.names["prod_config"], p.id, report)
    delete_if_created_by(sagemaker, "model", p.names["prod_model"], p.id, report)
