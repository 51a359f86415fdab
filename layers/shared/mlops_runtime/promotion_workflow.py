"""The steps of the promotion state machine (statemachines/promotion.asl.json).

Each step gets the workflow's whole state (JSONPath ``$``) and returns the part it owns, which
the state machine puts at its ``ResultPath``. Steps are idempotent: a retried step finds what it
created (by name, tagged with the promotion) and goes on; ledger entries are written once per
action and promotion. The decisions are mlops_core.promotion's; this module fetches and applies.

Accounts: the registry and the records are in this (tooling) account; everything else happens
in the staging and production accounts through their deployer roles (:class:`TargetAccount`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError
from mlops_core import promotion as rules
from mlops_core.approvals import backstop_seconds
from mlops_core.errors import (
    DeploymentError,
    PromotionNotConfiguredError,
    ShadowTestError,
)
from mlops_core.ledger import Action, LedgerEntry
from mlops_core.messages import Notification
from mlops_core.promotion.fleet import FleetSize, Scaling

from mlops_runtime import notify
from mlops_runtime.aws import translated_errors
from mlops_runtime.model_config import ModelConfig, ModelConfigStore, PromotionConfig
from mlops_runtime.promotions import PromotionStore, now_iso
from mlops_runtime.store import Ledger
from mlops_runtime.target_accounts import (
    TargetAccount,
    captured_predictions,
    created_by,
    describe_or_none,
    describe_package,
    ensure_group_policy,
    quality_statistics,
    serving,
    tags,
    variant_stats,
)

logger = Logger(child=True)
ACTIVE_EXPERIMENT = ("Creating", "Created", "Updating", "Starting", "Running")


@dataclass
class Deps:
    """What the handler wires in (tests wire the same, against moto)."""

    ledger: Ledger
    store: PromotionStore
    models: ModelConfigStore
    approvals: Any  # mlops_runtime.approvals.ApprovalStore
    topic_arn: str
    slack_secret_arn: str | None


class Promotion:
    """One step's view of a promotion: its state, configuration and accounts."""

    def __init__(self, state: dict[str, Any], deps: Deps) -> None:
        self.state, self.deps = state, deps
        self.info: dict[str, Any] = state.get("promotion") or {}
        self.id: str = self.info.get("id") or state["promotion_id"]
        self.model_id: str = self.info.get("model_id") or state["model_id"]
        self.version: int = int(self.info.get("version") or state["version"])
        self.package_arn: str = self.info.get("package_arn") or state["package_arn"]
        model = deps.models.get(self.model_id)
        if model is None or model.promotion is None:
            raise PromotionNotConfiguredError(f"model {self.model_id} has no promotion section")
        self.model: ModelConfig = model
        self.config: PromotionConfig = model.promotion
        self.names: dict[str, str] = self.info.get("names") or {}
        self.production: dict[str, Any] = self.info.get("production") or {}

    @property
    def first(self) -> bool:
        """A first deployment: production had no endpoint when the promotion began."""
        return bool(self.info.get("first_deployment"))

    @property
    def variant(self) -> str:
        """The production variant the promotion replaces (or creates)."""
        return str(self.production.get("variant") or self.config.production.variant_name)

    def account(self, which: str) -> TargetAccount:
        target = self.config.staging if which == "staging" else self.config.production
        return TargetAccount(target, self.config.external_id_secret_arn, f"mlopscp-{self.id}")

    def part(self, key: str) -> dict[str, Any]:
        return dict(self.state.get(key) or {})

    def step(self, name: str, **changes: Any) -> None:
        self.deps.store.set_step(self.model_id, self.version, name, **changes)

    def record(self, action: Action, summary: str, evidence: dict[str, Any]) -> bool:
        return self.deps.ledger.record(
            LedgerEntry(action, self.model_id, self.id, summary, evidence)
        )

    @property
    def tags(self) -> list[dict[str, str]]:
        return tags(self.id, self.model_id)


def deadline(minutes: float) -> str:
    return (datetime.now(UTC) + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")


def passed(moment: str) -> bool:
    return datetime.now(UTC) >= _moment(moment)


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def call_aws(what: str, call: Callable[..., Any], **kwargs: Any) -> Any:
    """A create/update call whose refusal is a DeploymentError saying what was refused."""
    try:
        with translated_errors():
            return call(**kwargs)
    except ClientError as error:
        details = error.response.get("Error", {})
        raise DeploymentError(f"{what}: {details.get('Code')}: {details.get('Message')}") from error


# ---------------------------------------------------------------- prepare and quality gate


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
        ),
        capture_config(target.data_capture_uri),
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


# ---------------------------------------------------------------- shadow test


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
    since = _moment(shadow_part["running_since"])
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
    metrics = [row.to_change() for row in result.rows] + [
        {k: row[k] for k in ("name", "before", "after", "higher_is_better")} for row in gate
    ]
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


# ---------------------------------------------------------------- helpers


def confirm_deployable(p: Promotion) -> None:
    """Before production changes: the state's answer must say approved AND the approval record
    agree (a forged or replayed state machine input deploys nothing), and the package must still
    be Approved in the registry."""
    answer = p.part("approval")
    record = p.deps.approvals.get(str(answer.get("approval_id", "")))
    if (
        answer.get("outcome") != "approved"
        or record is None
        or record.status != "approved"
        or record.model_id != p.model_id
        or record.request.kind != "promotion"
        or record.request.subject != p.id
    ):
        raise DeploymentError(f"no approval record confirms the promotion {p.id}: not deployed")
    package = describe_package(p.package_arn)
    if package.get("ModelApprovalStatus") != "Approved":
        raise DeploymentError(
            f"v{p.version} is {package.get('ModelApprovalStatus')} in the "
            "registry now: not deployed"
        )


def ensure_model(p: Promotion, sagemaker: Any, name: str, role_arn: str) -> None:
    """A model of the candidate package (from the registry in this account)."""
    if describe_or_none(sagemaker.describe_model, ModelName=name) is not None:
        return
    call_aws(
        f"CreateModel {name} from {p.package_arn}",
        sagemaker.create_model,
        ModelName=name,
        ExecutionRoleArn=role_arn,
        Containers=[{"ModelPackageName": p.package_arn}],
        Tags=p.tags,
    )


def ensure_endpoint_config(
    p: Promotion,
    sagemaker: Any,
    name: str,
    variant: dict[str, Any],
    capture: dict[str, Any] | None,
) -> None:
    """An endpoint config of one variant, tagged with the promotion (kept if it exists)."""
    if describe_or_none(sagemaker.describe_endpoint_config, EndpointConfigName=name) is not None:
        return
    call_aws(
        f"CreateEndpointConfig {name}",
        sagemaker.create_endpoint_config,
        EndpointConfigName=name,
        ProductionVariants=[variant],
        Tags=p.tags,
        **({"DataCaptureConfig": capture} if capture else {}),
    )


def put_rollback_alarms(p: Promotion, account: TargetAccount, variant: str) -> list[str]:
    """The production endpoint's two auto-rollback alarms (PutMetricAlarm updates them)."""
    alarms = rules.rollback_alarms(p.config.production.endpoint_name, variant, p.config.deployment)
    cloudwatch = account.client("cloudwatch")
    for alarm in alarms:
        call_aws(f"PutMetricAlarm {alarm['AlarmName']}", cloudwatch.put_metric_alarm, **alarm)
    return [alarm["AlarmName"] for alarm in alarms]


def deploy_part(
    p: Promotion,
    old_config: str | None,
    alarms: list[str],
    size: FleetSize,
    scaling: Scaling | None,
    saved: Scaling | None = None,
    deregistered: bool = False,
) -> dict[str, Any]:
    """What DeployProduction and CreateProduction put at ``$.deploy`` (CheckDeployment keeps
    it, adding the status)."""
    return {
        "config": p.names["prod_config"],
        "old_config": old_config,
        "alarms": alarms,
        "deadline": deadline(p.config.deployment_timeout_minutes),
        "saved_autoscaling": saved.to_dict() if saved else None,
        "deregistered": deregistered,
        "fleet": size.to_dict(),
        "scaling": scaling.to_dict() if scaling else None,
        "deployed": False,
        "rolled_back": False,
        "status": "Creating" if old_config is None else "Updating",
        "failure_reason": None,
    }


def variant_spec(name: str, model: str, instance_type: str, count: int) -> dict[str, Any]:
    return {
        "VariantName": name,
        "ModelName": model,
        "InstanceType": instance_type,
        "InitialInstanceCount": count,
        "InitialVariantWeight": 1.0,
    }


def _experiment_variant(model: str, variant: str, instance_type: str, count: int) -> dict[str, Any]:
    return {
        "ModelName": model,
        "VariantName": variant,
        "InfrastructureConfig": {
            "InfrastructureType": "RealTimeInference",
            "RealTimeInferenceConfig": {"InstanceType": instance_type, "InstanceCount": count},
        },
    }


def capture_config(uri: str) -> dict[str, Any]:
    return {
        "EnableCapture": True,
        "InitialSamplingPercentage": 100,
        "DestinationS3Uri": uri,
        "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
    }


def notify_about(
    p: Promotion, kind: str, title: str, lines: list[str], severity: str, facts: dict[str, str]
) -> None:
    message = Notification(
        kind=kind,
        model_id=p.model_id,
        subject_id=p.id,
        title=title,
        lines=lines,
        severity=severity,
        facts=facts,
    )
    try:
        notify.send_and_record(message, p.deps.ledger, p.deps.topic_arn, p.deps.slack_secret_arn)
    except Exception as error:  # the outcome is recorded already; a page that fails is logged
        logger.error("promotion notification failed", extra={"error": repr(error)[:300]})
