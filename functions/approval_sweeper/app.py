"""ApprovalSweeper: reminders before the deadline, expiry after it (every 5 minutes).

Runs on an EventBridge schedule (the emulator fires no schedules: the demo and tests invoke it).
A reminder is claimed with a conditional write before it is sent, so overlapping sweeps send it
once. Expiry goes through the decider like any other answer, so the one code path that resolves
tasks also resolves these (outcome ``expired``, channel ``deadline``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from mlops_core.approvals import Status, due
from mlops_runtime import settings
from mlops_runtime.approval_channels import Email, Slack
from mlops_runtime.approval_requests import ApprovalRequests
from mlops_runtime.approval_service import ask_decider
from mlops_runtime.approvals import ApprovalStore, silence_sdk_debug_logs
from mlops_runtime.link_keys import LinkKeys
from mlops_runtime.store import Ledger
from pydantic import Field


class Settings(settings.ApprovalSettings, settings.SlackApiSettings):
    approval_topic_arn: str = Field(pattern=r"^arn:aws[\w-]*:sns:")
    approval_decider_function: str = Field(min_length=1)
    approval_callback_url: str = Field("", description="reminder emails carry links from here")
    approval_link_key_secret_arn: str = Field("", description="HMAC key of emailed links")


SETTINGS = settings.load(Settings)
silence_sdk_debug_logs()
logger = Logger()
metrics = Metrics()
ledger = Ledger(SETTINGS.ledger_table)
store = ApprovalStore(SETTINGS.approval_table)
slack = Slack(SETTINGS.slack_bot_token_secret_arn, SETTINGS.slack_api_url)
links = LinkKeys(SETTINGS.approval_link_key_secret_arn)
email = Email(SETTINGS.approval_topic_arn, links, SETTINGS.approval_callback_url)
requests = ApprovalRequests(store, ledger, slack, email)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    now = datetime.now(UTC)
    reminded, expired = [], []
    pending = store.with_status(Status.PENDING)
    for approval in pending:
        owed = due(
            approval.status,
            approval.deadline,
            approval.reminder_at,
            approval.reminded_at is not None,
            now,
        )
        expiry = {"channel": "deadline", "approval_id": approval.approval_id}
        if owed == "expire" and _ask_decider(expiry):
            expired.append(approval.approval_id)
        elif owed == "remind" and store.claim_reminder(approval.approval_id, now):
            requests.remind(approval)
            reminded.append(approval.approval_id)
    delivered = [i for i in store.undelivered() if _ask_decider({"redeliver": i})]
    metrics.add_metric(name="ApprovalsExpired", unit=MetricUnit.Count, value=len(expired))
    # A gauge every sweep (5 minutes): the dashboard's "approvals waiting" (Maximum).
    metrics.add_metric(
        name="ApprovalsWaiting", unit=MetricUnit.Count, value=len(pending) - len(expired)
    )
    metrics.add_metric(name="ApprovalRemindersSent", unit=MetricUnit.Count, value=len(reminded))
    metrics.add_metric(
        name="ApprovalDeliveriesRetried", unit=MetricUnit.Count, value=len(delivered)
    )
    return {"reminded": reminded, "expired": expired, "delivered": delivered}


def _ask_decider(request: dict[str, Any]) -> bool:
    """Expire, or deliver a recorded decision again; True once it is recorded and delivered
    (an expiry whose delivery is pending counts as done: the delivery is retried next run)."""
    result = ask_decider(SETTINGS.approval_decider_function, request)
    if result is None:
        return False
    if "redeliver" in request:
        return bool(result.get("delivery") == "delivered")
    return result.get("status") == "recorded"
