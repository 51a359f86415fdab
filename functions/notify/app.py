"""Notification step: page humans over SNS (and Slack when configured), then record it."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from mlops_core import messages
from mlops_runtime import notify, settings
from mlops_runtime.store import Ledger
from pydantic import BaseModel


class NotifyRequest(BaseModel):
    kind: str
    model_id: str = ""
    incident_id: str = ""
    summary: dict[str, Any] = {}
    error: dict[str, Any] = {}


SETTINGS = settings.load(settings.NotifySettings)
logger = Logger()
metrics = Metrics()
ledger = Ledger(SETTINGS.ledger_table)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = NotifyRequest.model_validate(event)
    if request.kind == "investigate":
        message = messages.investigation(request.model_id, request.incident_id, request.summary)
    else:
        message = messages.response_failed(request.model_id, request.incident_id, request.error)
    return deliver(message)


def deliver(message: messages.Notification) -> dict[str, Any]:
    delivery = notify.send_and_record(
        message, ledger, SETTINGS.notification_topic_arn, SETTINGS.slack_webhook_secret_arn or None
    )
    metrics.add_metric(name="NotificationsSent", unit=MetricUnit.Count, value=1)
    return {"delivered": delivery.delivered, "failed": delivery.failed}
