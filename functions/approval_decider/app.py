"""ApprovalDecider: the only function that resolves an approval's task.

Invoked by the callback function (Slack, asynchronously; emailed links, synchronously), by the
sweeper (expiry) and by operators through ``mlopscp approvals`` (IAM is their allow-list). It
checks the approval is pending and in time and that the person may answer, records the decision
(``approval_recorded`` / ``approval_expired``) atomically with the approval's new status,
decrypts the task token and calls SendTaskSuccess; then shows the decision in Slack. A refused
answer is recorded as ``approval_rejected_request`` and changes nothing.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from mlops_core.approvals import Channel, Outcome
from mlops_runtime import settings
from mlops_runtime.approval_channels import Email, Slack, decision_line, request_text
from mlops_runtime.approvals import (
    Approval,
    ApprovalService,
    ApprovalStore,
    Attempt,
    silence_sdk_debug_logs,
)
from mlops_runtime.store import Ledger
from pydantic import BaseModel, ConfigDict, Field


class Settings(settings.FunctionSettings):
    approval_table: str = Field(min_length=3)
    approval_key_id: str = Field(pattern=r"^arn:aws[\w-]*:kms:")
    approval_topic_arn: str = Field(pattern=r"^arn:aws[\w-]*:sns:")
    slack_bot_token_secret_arn: str = Field("", description="empty: no Slack")
    slack_api_url: str = Field("https://slack.com/api/", pattern=r"^https?://")


class DecisionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    approval_id: str = Field(max_length=64)
    outcome: Outcome
    channel: Channel
    actor: str = Field(min_length=1, max_length=2048)
    actor_name: str = Field("", max_length=200)
    reason: str = Field("", max_length=500)
    attempt_id: str = Field("", max_length=200)
    reply_to: dict[str, str] | None = None  # Slack channel and user to tell about a refusal


SETTINGS = settings.load(Settings)
silence_sdk_debug_logs()
logger = Logger()
metrics = Metrics()
slack = Slack(SETTINGS.slack_bot_token_secret_arn, SETTINGS.slack_api_url)
email = Email(SETTINGS.approval_topic_arn)
service = ApprovalService(
    ApprovalStore(SETTINGS.approval_table, SETTINGS.approval_key_id),
    Ledger(SETTINGS.ledger_table),
    group_members=slack.group_members,
)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = DecisionRequest.model_validate(event)
    resolution = service.resolve(Attempt(**request.model_dump(exclude={"reply_to"})))
    logger.info(
        "approval answer",
        extra={
            "approval_id": request.approval_id,
            "channel": request.channel,
            **resolution.to_dict(),
        },
    )
    if resolution.recorded and resolution.approval:
        metrics.add_metric(name="ApprovalsDecided", unit=MetricUnit.Count, value=1)
        _show(resolution.approval)
        return resolution.to_dict()
    metrics.add_metric(name="ApprovalRequestsRefused", unit=MetricUnit.Count, value=1)
    if request.reply_to and slack.enabled:
        _quietly(
            slack.tell,
            request.reply_to.get("channel", ""),
            request.reply_to.get("user", ""),
            f"Your answer was not recorded: {resolution.why}.",
        )
    return resolution.to_dict()


def _show(approval: Approval) -> None:
    """Replace the buttons with the decision; tell email approvers when it expired."""
    if slack.enabled:
        _quietly(slack.show_decision, approval)
    if approval.status == Outcome.EXPIRED:
        text = f"{decision_line(approval)}\nNothing was done.\n\n{request_text(approval)}"
        _quietly(
            email.send_notice,
            approval,
            f"[approval expired] {approval.request.headline}",
            text,
            "approval_expired",
        )


def _quietly(call: Any, *args: Any) -> None:
    """Showing the decision is best effort: the decision itself is already recorded."""
    try:
        call(*args)
    except Exception as error:
        logger.warning(
            "could not show the decision",
            extra={"error": type(error).__name__, "step": call.__name__},
        )
