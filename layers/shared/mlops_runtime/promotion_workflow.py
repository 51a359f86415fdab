"""What every step of the promotion state machine (statemachines/promotion.asl.json) shares: its
view of the promotion (:class:`Promotion`), timing, and the create-if-missing calls in the target
accounts.

The steps: mlops_runtime.promotion_candidate (prepare, quality gate, staging),
mlops_runtime.promotion_shadow (shadow test and verdict), mlops_runtime.promotion_first (a first
deployment) and mlops_runtime.promotion_release (production deploy, verify, restore, finish,
abort). Each step gets the workflow's whole state (JSONPath ``$``) and returns the part it
owns, which the state machine puts at its ``ResultPath``. Steps are idempotent: a retried step
finds what it created (by name, tagged with the promotion) and goes on; ledger entries are
written once per action and promotion. The decisions are mlops_core.promotion's; the steps fetch
and apply.

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
from mlops_core.errors import DeploymentError, PromotionNotConfiguredError
from mlops_core.ledger import Action, LedgerEntry
from mlops_core.messages import Context
from mlops_core.notification import Notification
from mlops_core.promotion.fleet import FleetSize, Scaling

from mlops_runtime import notify
from mlops_runtime.aws import translated_errors
from mlops_runtime.model_config import ModelConfig, ModelConfigStore, PromotionConfig
from mlops_runtime.promotions import PromotionStore
from mlops_runtime.store import Ledger
from mlops_runtime.target_accounts import (
    TargetAccount,
    describe_or_none,
    describe_package,
    tags,
)

logger = Logger(child=True)


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
    return datetime.now(UTC) >= from_iso(moment)


def from_iso(text: str) -> datetime:
    """A recorded ISO 8601 moment (``Z`` or an offset)."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def call_aws(what: str, call: Callable[..., Any], **kwargs: Any) -> Any:
    """A create/update call whose refusal is a DeploymentError saying what was refused."""
    try:
        with translated_errors():
            return call(**kwargs)
    except ClientError as error:
        details = error.response.get("Error", {})
        raise DeploymentError(f"{what}: {details.get('Code')}: {details.get('Message')}") from error


# ---------------------------------------------------------------- shared by the steps


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
    async_inference: Any = None,
) -> None:
    """An endpoint config of one variant, tagged with the promotion (kept if it exists);
    ``async_inference``: an ``AsyncVariant`` to serve asynchronously."""
    if describe_or_none(sagemaker.describe_endpoint_config, EndpointConfigName=name) is not None:
        return
    call_aws(
        f"CreateEndpointConfig {name}",
        sagemaker.create_endpoint_config,
        EndpointConfigName=name,
        ProductionVariants=[variant],
        Tags=p.tags,
        **({"DataCaptureConfig": capture} if capture else {}),
        **(
            {"AsyncInferenceConfig": rules.async_inference_config(async_inference)}
            if async_inference is not None
            else {}
        ),
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
    rollback: str | None = None,
) -> dict[str, Any]:
    """What DeployProduction and CreateProduction put at ``$.deploy`` (CheckDeployment keeps
    it, adding the status). ``rollback``: who rolls an update back on the alarms, SageMaker's
    blue/green or ours after the update (mlops_core.promotion.endpoint_kinds; None: a first
    deployment); ``bake_until`` is set when our bake begins."""
    return {
        "rollback": rollback,
        "bake_until": None,
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


def variant_spec(
    name: str, model: str, instance_type: str, count: int, serverless: Any = None
) -> dict[str, Any]:
    """One production variant: on instances, or serverless (a ``ServerlessVariant``)."""
    spec: dict[str, Any] = {"VariantName": name, "ModelName": model, "InitialVariantWeight": 1.0}
    if serverless is not None:
        return spec | {"ServerlessConfig": rules.serverless_config(serverless)}
    return spec | {"InstanceType": instance_type, "InitialInstanceCount": count}


def capture_config(uri: str, serverless: Any = None) -> dict[str, Any] | None:
    """Data capture of a new endpoint config (None: a serverless variant, which has none)."""
    if serverless is not None:
        return None
    return {
        "EnableCapture": True,
        "InitialSamplingPercentage": 100,
        "DestinationS3Uri": uri,
        "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
    }


def notify_about(
    p: Promotion, kind: str, title: str, lines: list[str], severity: str, facts: dict[str, str]
) -> None:
    record = p.deps.store.record(p.model_id, p.version) or {}
    context = Context(  # View details: the promotion's execution; the owners; the runbook
        owners=list(p.model.owners),
        runbook_url=p.model.runbook_url or "",
        execution_arn=str(record.get("execution_arn") or ""),
    )
    message = Notification(
        kind=kind,
        model_id=p.model_id,
        subject_id=p.id,
        title=title,
        lines=lines,
        severity=severity,
        facts=facts,
        links=context.links(),
        owners=context.owners,
    )
    try:
        notify.send_and_record(message, p.deps.ledger, p.deps.topic_arn, p.deps.slack_secret_arn)
    except Exception as error:  # the outcome is recorded already; a page that fails is logged
        logger.error("promotion notification failed", extra={"error": repr(error)[:300]})
