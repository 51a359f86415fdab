"""The shadow test: the candidate as a shadow variant of production (a SageMaker inference
experiment), waited for, measured (CloudWatch numbers and the data capture's agreement), judged by
mlops_core.promotion's verdict, and stopped with the shadow removed.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from mlops_core import promotion as rules
from mlops_core.errors import ShadowTestError
from mlops_core.ledger import Action

from mlops_runtime.aws import translated_errors
from mlops_runtime.promotion_workflow import (
    Promotion,
    call_aws,
    deadline,
    ensure_model,
    from_iso,
    passed,
)
from mlops_runtime.promotions import now_iso
from mlops_runtime.target_accounts import captured_predictions, describe_or_none, variant_stats

ACTIVE_EXPERIMENT = ("Creating", "Created", "Updating", "Starting", "Running")


def start_shadow(p: Promotion) -> dict[str, Any]:
    """The candidate as a shadow of the production variant (an inference experiment)."""
    target, shadow = p.config.production, p.config.shadow
    sagemaker = p.account("production").client("sagemaker")
    ensure_model(p, sagemaker, p.names["prod_model"], target.execution_role_arn)
    name = p.names["experiment"]
    if describe_or_none(sagemaker.describe_inference_experiment, Name=name) is None:
        start = datetime.now(UTC)
        # The schedule outlives the verdict: if this workflow died, SageMaker would still end
        # the test (and put the endpoint back) at EndTime.
        margin = timedelta(minutes=max(30, 10 * p.config.poll_interval_seconds / 60))
        call_aws(
            f"CreateInferenceExperiment {name}",
            sagemaker.create_inference_experiment,
            Name=name,
            Type="ShadowMode",
            Schedule={
                "StartTime": start,
                "EndTime": start + timedelta(minutes=shadow.duration_minutes) + margin,
            },
            Description=f"mlops-control-plane: shadow test of {p.id}",
            RoleArn=target.execution_role_arn,
            EndpointName=target.endpoint_name,
            ModelVariants=[
                _experiment_variant(
                    p.production["model"],
                    p.production["variant"],
                    p.production["instance_type"],
                    p.production["instance_count"],
                ),
                _experiment_variant(
                    p.names["prod_model"],
                    p.names["shadow_variant"],
                    target.instance_type,
                    target.instance_count,
                ),
            ],
            ShadowModeConfig={
                "SourceModelVariantName": p.production["variant"],
                "ShadowModelVariants": [
                    {
                        "ShadowModelVariantName": p.names["shadow_variant"],
                        "SamplingPercentage": shadow.sampling_percentage,
                    }
                ],
            },
            DataStorageConfig={"Destination": target.data_capture_uri},
            Tags=p.tags,
        )
    p.record(
        Action.SHADOW_TEST_STARTED,
        f"shadow test {name}: v{p.version} gets {shadow.sampling_percentage}% of "
        f"{target.endpoint_name}'s requests for {shadow.duration_minutes:g} min",
        {
            "experiment": name,
            "endpoint": target.endpoint_name,
            "sampling_percentage": shadow.sampling_percentage,
            "duration_minutes": shadow.duration_minutes,
        },
    )
    p.step("shadow_test")
    return {
        "experiment": name,
        "deadline": deadline(p.config.staging_timeout_minutes),
        "running": False,
        "ended": False,
        "running_since": None,
        "status": "Creating",
    }


def check_shadow(p: Promotion) -> dict[str, Any]:
    """Before the verdict: wait for Running. After it (``verdict`` set): wait for the end."""
    shadow = p.part("shadow")
    ending = bool(p.state.get("verdict"))
    sagemaker = p.account("production").client("sagemaker")
    with translated_errors():
        status = sagemaker.describe_inference_experiment(Name=shadow["experiment"])
    current = status["Status"]
    if ending:
        with translated_errors():
            endpoint = sagemaker.describe_endpoint(EndpointName=p.config.production.endpoint_name)
        ended = current in ("Completed", "Cancelled") and endpoint["EndpointStatus"] == "InService"
        if not ended and passed(shadow["deadline"]):
            raise ShadowTestError(
                f"shadow test {shadow['experiment']} is still {current} after it was stopped"
            )
        return shadow | {"ended": ended, "status": current}
    if current == "Running":
        return shadow | {"running": True, "running_since": now_iso(), "status": current}
    if current in ("Failed", "Cancelled", "Completed", "Stopping"):
        raise ShadowTestError(
            f"shadow test {shadow['experiment']} is {current} before its "
            f"verdict: {status.get('StatusReason', 'no reason given')}"
        )
    if passed(shadow["deadline"]):
        raise ShadowTestError(f"shadow test {shadow['experiment']} did not start: still {current}")
    return shadow | {"status": current}


def verdict(p: Promotion) -> dict[str, Any]:
    """Measure both variants, decide, record; then stop the shadow (Remove): production's
    blue/green update cannot run under a shadow test, and nobody pays for the shadow's
    instances while the approvers decide."""
    shadow_part, policy, target = p.part("shadow"), p.config.shadow, p.config.production
    account = p.account("production")
    since = from_iso(shadow_part["running_since"])
    variants = [p.production["variant"], p.names["shadow_variant"]]
    stats = variant_stats(
        account.client("cloudwatch"), target.endpoint_name, variants, since, datetime.now(UTC)
    )
    s3 = account.client("s3")
    paired = rules.agreement(
        captured_predictions(
            s3, target.data_capture_uri, variants[0], since, policy.max_capture_records
        ),
        captured_predictions(
            s3, target.data_capture_uri, variants[1], since, policy.max_capture_records
        ),
        policy,
    )
    result = rules.shadow_verdict(stats[variants[0]], stats[variants[1]], paired, policy)
    summary = result.to_dict()
    p.record(Action.SHADOW_VERDICT, result.headline, summary)
    p.step(
        "shadow_verdict",
        verdict={k: summary[k] for k in ("outcome", "headline", "proceed")}
        | {"evidence": summary["evidence"]},
    )
    stop_experiment(
        account.client("sagemaker"),
        shadow_part["experiment"],
        p.production["variant"],
        p.names["shadow_variant"],
        f"verdict: {result.outcome}",
    )
    gate = (p.part("gate").get("summary") or {}).get("metrics", [])
    # Only the quality gate's rows are a before/after (production's model, then the candidate's);
    # the shadow's numbers are a side-by-side over one window (ApprovalRequest.comparison).
    metrics = [{k: row[k] for k in ("name", "before", "after", "higher_is_better")} for row in gate]
    return summary | {
        "end_deadline": deadline(p.config.staging_timeout_minutes),
        "approval_request": {
            "title": f"Promote {p.model_id} v{p.version} to production?"[:150],
            "versions": {
                "production": f"v{p.production.get('version') or '?'}",
                "candidate": f"v{p.version}",
            },
            "verdict": result.headline[:500],
            "reasons": (result.reasons + (p.part("gate").get("summary") or {}).get("reasons", []))[
                :20
            ],
            "metrics": metrics[:20],
            "evidence": {
                "verdict": summary["evidence"],
                "package_arn": p.package_arn,
                "endpoint": target.endpoint_name,
                "account": target.account_id,
            },
        },
    }


def stop_experiment(sagemaker: Any, name: str, production: str, shadow: str, reason: str) -> bool:
    described = describe_or_none(sagemaker.describe_inference_experiment, Name=name)
    if described is None or described["Status"] not in ACTIVE_EXPERIMENT[1:]:
        return False
    call_aws(
        f"StopInferenceExperiment {name}",
        sagemaker.stop_inference_experiment,
        Name=name,
        ModelVariantActions={production: "Retain", shadow: "Remove"},
        DesiredState="Completed",
        Reason=reason[:1024],
    )
    return True


def _experiment_variant(model: str, variant: str, instance_type: str, count: int) -> dict[str, Any]:
    return {
        "ModelName": model,
        "VariantName": variant,
        "InfrastructureConfig": {
            "InfrastructureType": "RealTimeInference",
            "RealTimeInferenceConfig": {"InstanceType": instance_type, "InstanceCount": count},
        },
    }
