"""Notification step: page humans over SNS (and Slack when configured), then record it.

Incident messages (kind ``incident``: pages, resolutions, edits of the bot's message) go through
mlops_runtime.incident_channels: with the Slack bot token they post, thread and edit; without
it, the incoming webhook takes pages and resolutions.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from mlops_core import messages
from mlops_core.ledger import Action, LedgerEntry
from mlops_core.notification import Notification
from mlops_runtime import notify, settings
from mlops_runtime.incident_channels import IncidentChannels
from mlops_runtime.incidents import IncidentStore
from mlops_runtime.store import Ledger
from pydantic import BaseModel


class Settings(settings.NotifySettings, settings.SlackApiSettings):
    pass


class NotifyRequest(BaseModel):
    kind: str
    model_id: str = ""
    incident_id: str = ""
    summary: dict[str, Any] = {}
    error: dict[str, Any] = {}
    notices: list[dict[str, Any]] = []
    execution: str = ""  # $$.Execution.Id: the messages' "View details" link


SETTINGS = settings.load(Settings)
logger = Logger()
metrics = Metrics()
ledger = Ledger(SETTINGS.ledger_table)
incidents = IncidentChannels(
    ledger,
    IncidentStore(SETTINGS.state_table, ledger),
    SETTINGS.notification_topic_arn,
    SETTINGS.slack_webhook_secret_arn or None,
    SETTINGS.slack_bot_token_secret_arn or None,
    SETTINGS.slack_api_url,
)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = NotifyRequest.model_validate(event)
    if request.kind == "incident":
        delivered = [incidents.deliver(notice, request.execution) for notice in request.notices]
        pages = sum(1 for notice in request.notices if notice.get("notify"))
        if pages:
            metrics.add_metric(name="NotificationsSent", unit=MetricUnit.Count, value=pages)
        return {"delivered": sorted({c for channels in delivered for c in channels}), "failed": []}
    context = messages.Context(execution_arn=request.execution)
    message = messages.response_failed(
        request.model_id, request.incident_id, request.error, context
    )
    # Recorded before the page goes out: a failed run is in the ledger even when no channel
    # takes the page (the failed execution then alarms).
    ledger.record(
        LedgerEntry(
            action=Action.RESPONSE_FAILED,
            model_id=request.model_id,
            subject=request.incident_id,
            summary=message.title,
            evidence={
                "error": str(request.error.get("Error", ""))[:200],
                "cause": str(request.error.get("Cause", ""))[:500],
            },
        )
    )
    return deliver(message)


def deliver(message: Notification) -> dict[str, Any]:
    delivery = notify.send_and_record(
        message, ledger, SETTINGS.notification_topic_arn, SETTINGS.slack_webhook_secret_arn or None
    )
    metrics.add_metric(name="NotificationsSent", unit=MetricUnit.Count, value=1)
    return {"delivered": delivery.delivered, "failed": delivery.failed}
