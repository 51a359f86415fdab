"""Model registry intake: a model package's approval starts its promotion.

``Approved`` starts the promotion workflow of that package version, at most once: the version's
record is a conditional write, the execution name is derived from the package, and one
promotion runs per model at a time. ``Rejected`` is recorded; ``PendingManualApproval``
notifies when the model asks for it. An approval of a version that is not newer than the one
in production is refused, with the reason, in the ledger and a notification
(mlops_runtime.promotion_start applies what mlops_core.promotion decides).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from mlops_core.errors import EventRejectedError
from mlops_core.trust import account_refusal, resource_refusal
from mlops_runtime import settings
from mlops_runtime.dead_letters import reject
from mlops_runtime.events.envelope import parse_event
from mlops_runtime.events.package import ModelPackageStateChange
from mlops_runtime.idempotency import Idempotency
from mlops_runtime.model_config import ModelConfigStore
from mlops_runtime.observe import Observer
from mlops_runtime.promotion_start import PromotionStarter
from mlops_runtime.promotions import PromotionStore
from mlops_runtime.store import Ledger, StateStore
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
starter = PromotionStarter(
    ledger,
    PromotionStore(SETTINGS.state_table),
    SETTINGS.promotion_state_machine_arn,
    SETTINGS.notification_topic_arn,
    SETTINGS.slack_webhook_secret_arn or None,
    Observer(SETTINGS.observe_only, ledger, StateStore(SETTINGS.state_table)),
)
idempotency = Idempotency(SETTINGS.idempotency_table, "event_id", expires_after_seconds=7 * 86400)


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
            "observe_only": starter.observer.by(model) if starter.observer else None,
            "pipeline_execution_arn": detail.pipeline_execution_arn,
        }
    )


@idempotency.function
def intake(request: dict[str, Any]) -> dict[str, Any]:
    return starter.handle(request)
