"""Model registry intake: a model package's approval starts its promotion.

``Approved`` starts the promotion workflow of that package version, at most once: the version's
record is a conditional write, the execution name is derived from the package, and one
promotion runs per model at a time. ``Rejected`` is recorded; ``PendingManualApproval``
notifies when the model asks for it. An approval of a version that is not newer than the one
in production is refused, with the reason, in the ledger and a notification.
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import ClientError
from mlops_core import promotion
from mlops_core.errors import EventRejectedError
from mlops_core.ledger import Action, LedgerEntry
from mlops_core.messages import Notification
from mlops_core.trust import account_refusal, resource_refusal
from mlops_runtime import notify, settings
from mlops_runtime.aws import client, error_code, idempotency_store, translated_errors
from mlops_runtime.dead_letters import reject
from mlops_runtime.events import ModelPackageStateChange, parse_event
from mlops_runtime.model_config import ModelConfigStore
from mlops_runtime.promotions import PromotionStore, now_iso
from mlops_runtime.store import Ledger
from pydantic import Field


class Settings(
    settings.IdempotentSettings,
    settings.NotifySettings,
    settings.DeadLetterSettings,
    settings.AccountSettings,
):
    promotion_state_machine_arn: str = Field(pattern=r"^arn:aws[\w-]*:states:")


SETTINGS = settings.load(Settings)
logger = Logger()
metrics = Metrics()
ledger = Ledger(SETTINGS.ledger_table)
models = ModelConfigStore(SETTINGS.model_config_table)
promotions = PromotionStore(SETTINGS.state_table)
idempotency = IdempotencyConfig(event_key_jmespath="event_id", expires_after_seconds=7 * 86400)
persistence = idempotency_store(SETTINGS.idempotency_table)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    idempotency.register_lambda_context(context)
    try:
        change = parse_event(event, ModelPackageStateChange)
    except EventRejectedError as error:
        metrics.add_metric(name="EventsRejected", unit=MetricUnit.Count, value=1)
        logger.warning("event rejected", extra={"reason": error.reason})
        return reject(event, error, SETTINGS.dead_letter_queue_url, ledger, "promotion-intake")
    detail = change.detail
    model = models.by_package_group(detail.ModelPackageGroupName)
    if model is None or model.promotion is None:
        logger.info("no model promotes this group", extra={"group": detail.ModelPackageGroupName})
        return {"status": "ignored", "reason": f"no model promotes {detail.ModelPackageGroupName}"}
    # The registry is in this account: nobody else's event starts, records or refuses anything.
    refusal = account_refusal(
        change.account, model.model_id, SETTINGS.tooling_account_id, "the registry of model"
    ) or resource_refusal(change.account, detail.ModelPackageArn, "model package")
    if refusal:
        rejected = EventRejectedError(refusal)
        dead_letters = SETTINGS.dead_letter_queue_url
        return reject(event, rejected, dead_letters, ledger, "promotion-intake", model.model_id)
    return intake(
        request={
            "event_id": change.id,
            "model_id": model.model_id,
            "status": detail.ModelApprovalStatus,
            "package_arn": detail.ModelPackageArn,
            "version": detail.ModelPackageVersion,
            "notify_pending": model.promotion.notify_pending_approval,
            "description": detail.ApprovalDescription or "",
        }
    )


@idempotent_function(
    data_keyword_argument="request", config=idempotency, persistence_store=persistence
)
def intake(request: dict[str, Any]) -> dict[str, Any]:
    action = promotion.intake_action(request["status"], request["notify_pending"])
    pid = promotion.promotion_id(request["model_id"], request["version"])
    if action is promotion.IntakeAction.START:
        return start(request, pid)
    if action is promotion.IntakeAction.RECORD_REJECTED:
        ledger.record(
            LedgerEntry(
                Action.MODEL_PACKAGE_REJECTED,
                request["model_id"],
                pid,
                f"version {request['version']} was rejected in the model registry",
                {"package_arn": request["package_arn"], "description": request["description"]},
            )
        )
        return {"status": "recorded_rejection", "promotion_id": pid}
    if action is promotion.IntakeAction.NOTIFY_PENDING:
        _notify(
            request,
            pid,
            "promotion_pending",
            "info",
            f"[awaiting approval] {request['model_id']} v{request['version']} is registered",
            ["approve it in the model registry to start its promotion"],
        )
        return {"status": "notified", "promotion_id": pid}
    return {"status": "ignored", "reason": f"status {request['status']}"}


def start(request: dict[str, Any], pid: str) -> dict[str, Any]:
    model_id, version, arn = request["model_id"], request["version"], request["package_arn"]
    production = promotions.production(model_id)
    refusal = promotion.order_refusal(version, production["version"] if production else None)
    existing = promotions.record(model_id, version)
    if existing and existing.get("execution_arn"):
        logger.info("promotion already started", extra={"promotion_id": pid})
        return {
            "status": "duplicate",
            "promotion_id": pid,
            "execution_arn": existing["execution_arn"],
        }
    stale_owner = None
    if refusal is None:
        refusal, stale_owner = _busy(model_id, pid)
    if refusal:
        return _refuse(request, pid, refusal)

    name = promotion.execution_name(model_id, version, arn)
    record = {
        "promotion_id": pid,
        "model_id": model_id,
        "version": version,
        "package_arn": arn,
        "status": "starting",
        "step": "start",
        "execution_name": name,
        "event_id": request["event_id"],
        "started_at": now_iso(),
    }
    if not promotions.claim(record, stale_owner):
        if promotions.record(model_id, version):  # a concurrent delivery claimed it first
            return {"status": "duplicate", "promotion_id": pid}
        refusal, _ = _busy(model_id, pid)
        return _refuse(request, pid, refusal or "another promotion of this model took the lock")
    execution_arn = _start_execution(request, pid, name)
    ledger.record(
        LedgerEntry(
            Action.PROMOTION_STARTED,
            model_id,
            pid,
            f"version {version} approved in the registry: promotion started",
            {
                "package_arn": arn,
                "execution_arn": execution_arn,
                "production": production,
                "event_id": request["event_id"],
            },
        ),
        promotions.update_operation(
            model_id, version, status="running", execution_arn=execution_arn
        ),
    )
    metrics.add_metric(name="PromotionsStarted", unit=MetricUnit.Count, value=1)
    return {"status": "started", "promotion_id": pid, "execution_arn": execution_arn}


def _busy(model_id: str, pid: str) -> tuple[str | None, str | None]:
    """(why another promotion blocks this one, or None; a stale lock holder to replace)."""
    lock = promotions.lock(model_id)
    if not lock or not lock.get("promotion_id") or lock["promotion_id"] == pid:
        return None, None
    arn = SETTINGS.promotion_state_machine_arn.replace(":stateMachine:", ":execution:")
    try:
        with translated_errors():
            status = client("stepfunctions").describe_execution(
                executionArn=f"{arn}:{lock['execution_name']}"
            )["status"]
    except ClientError as error:
        if error_code(error) != "ExecutionDoesNotExist":
            raise
        status = None
    if promotion.lock_is_stale(status):
        return None, str(lock["promotion_id"])
    return f"the promotion {lock['promotion_id']} of this model is still running", None


def _start_execution(request: dict[str, Any], pid: str, name: str) -> str:
    execution_input = {key: request[key] for key in ("model_id", "package_arn", "version")}
    try:
        with translated_errors():
            return str(
                client("stepfunctions").start_execution(
                    stateMachineArn=SETTINGS.promotion_state_machine_arn,
                    name=name,
                    input=json.dumps({"promotion_id": pid, **execution_input}),
                )["executionArn"]
            )
    except ClientError as error:
        if error_code(error) == "ExecutionAlreadyExists":  # started by an earlier attempt
            arn = SETTINGS.promotion_state_machine_arn.replace(":stateMachine:", ":execution:")
            return f"{arn}:{name}"
        promotions.unclaim(request["model_id"], request["version"], pid)
        raise


def _refuse(request: dict[str, Any], pid: str, reason: str) -> dict[str, Any]:
    ledger.record(
        LedgerEntry(
            Action.PROMOTION_REFUSED,
            request["model_id"],
            f"{pid}#{request['event_id']}",
            f"approval of version {request['version']} refused: {reason}",
            {"package_arn": request["package_arn"], "reason": reason},
        )
    )
    _notify(
        request,
        pid,
        "promotion_refused",
        "warning",
        f"[promotion refused] {request['model_id']} v{request['version']}",
        [reason],
    )
    metrics.add_metric(name="PromotionsRefused", unit=MetricUnit.Count, value=1)
    logger.info("promotion refused", extra={"promotion_id": pid, "reason": reason})
    return {"status": "refused", "promotion_id": pid, "reason": reason}


def _notify(
    request: dict[str, Any], pid: str, kind: str, severity: str, title: str, lines: list[str]
) -> None:
    message = Notification(
        kind=kind,
        model_id=request["model_id"],
        subject_id=f"{pid}#{request['event_id']}",
        title=title,
        lines=lines,
        severity=severity,
        facts={"package": request["package_arn"], "promotion": pid},
    )
    notify.send_and_record(
        message, ledger, SETTINGS.notification_topic_arn, SETTINGS.slack_webhook_secret_arn or None
    )
