"""RequestApproval: the task a state machine waits on (``lambda:invoke.waitForTaskToken``).

Stores the approval with its task token encrypted, asks the model's approvers over Slack and
email (messages name the approval id only), records ``approval_requested`` and returns. The
state machine then waits until the decider calls SendTaskSuccess with the outcome, or until
its TimeoutSeconds backstop.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from mlops_core.approvals import ApprovalRequest, Approvers, Status, new_approval_id, timing
from mlops_core.errors import ApprovalDeliveryError, ApprovalNotConfiguredError
from mlops_core.ledger import Action, LedgerEntry
from mlops_runtime import settings
from mlops_runtime.approval_channels import Email, Slack
from mlops_runtime.approvals import Approval, ApprovalStore, silence_sdk_debug_logs
from mlops_runtime.link_keys import LinkKeys
from mlops_runtime.model_config import ApprovalsConfig, ModelConfigStore
from mlops_runtime.store import Ledger
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError


class Settings(settings.ApprovalSettings, settings.SlackApiSettings):
    approval_key_id: str = Field(pattern=r"^arn:aws[\w-]*:kms:")
    approval_topic_arn: str = Field(pattern=r"^arn:aws[\w-]*:sns:")
    approval_callback_url: str = Field(pattern=r"^https?://")
    approval_link_key_secret_arn: str = Field("", description="HMAC key of emailed links")


class TaskRequest(BaseModel):
    """The task's payload. The token is a SecretStr: never shown in a repr or an error."""

    model_config = ConfigDict(extra="forbid")

    task_token: SecretStr = Field(min_length=1)
    request: ApprovalRequest


SETTINGS = settings.load(Settings)
silence_sdk_debug_logs()
logger = Logger()
metrics = Metrics()
ledger = Ledger(SETTINGS.ledger_table)
store = ApprovalStore(SETTINGS.approval_table, SETTINGS.approval_key_id)
models = ModelConfigStore(SETTINGS.model_config_table)
slack = Slack(SETTINGS.slack_bot_token_secret_arn, SETTINGS.slack_api_url)
email = Email(
    SETTINGS.approval_topic_arn,
    LinkKeys(SETTINGS.approval_link_key_secret_arn),
    SETTINGS.approval_callback_url,
)


# log_event=False explicitly: it wins over POWERTOOLS_LOGGER_LOG_EVENT, and the event holds
# the task token.
@logger.inject_lambda_context(clear_state=True, log_event=False)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        task = TaskRequest.model_validate(event)
    except ValidationError as error:  # without input values: the event holds the token
        raise ValueError(f"invalid approval task: {error.errors(include_input=False)}") from None
    request = task.request.described()
    config = _approvals_of(request.model_id)
    approval = _open(request, config, task.task_token.get_secret_value())
    delivered, slack_ref = _announce(approval)
    ledger.record(
        LedgerEntry(
            action=Action.APPROVAL_REQUESTED,
            model_id=approval.model_id,
            subject=f"approval:{approval.approval_id}",
            summary=f"{request.headline} (deadline {approval.deadline:%Y-%m-%d %H:%M}Z)",
            evidence={**approval.summary(), "delivered": delivered, "reasons": request.reasons},
        ),
        store.announced_operation(approval.approval_id, delivered, slack_ref),
    )
    metrics.add_metric(name="ApprovalsRequested", unit=MetricUnit.Count, value=1)
    logger.info(
        "approval requested", extra={"approval_id": approval.approval_id, "delivered": delivered}
    )
    return {"approval_id": approval.approval_id, "delivered": delivered}


def _approvals_of(model_id: str) -> ApprovalsConfig:
    model = models.get(model_id)
    if model is None or model.approvals is None:
        raise ApprovalNotConfiguredError(f"model {model_id} names no approvers")
    return model.approvals


def _open(request: ApprovalRequest, config: ApprovalsConfig, token: str) -> Approval:
    now = datetime.now(UTC).replace(microsecond=0)
    when = timing(now, config.deadline_hours, config.reminder_before_hours)
    approval = Approval(
        approval_id=new_approval_id(),
        status=Status.PENDING,
        model_id=request.model_id,
        request=request,
        approvers=Approvers(
            slack_channel=config.slack_channel,
            slack_users=config.slack_approvers,
            slack_groups=config.slack_approver_groups,
            emails=config.email_approvers if email.can_link else [],
        ),
        deadline=when.deadline,
        reminder_at=when.reminder_at,
        created_at=now,
    )
    store.create(approval, token, request.execution)
    return approval


def _announce(approval: Approval) -> tuple[list[str], tuple[str, str, str] | None]:
    """Ask over every configured channel; one that fails does not stop the others."""
    delivered: list[str] = []
    slack_ref = None
    if slack.enabled and approval.approvers.slack_channel:
        try:
            slack_ref = slack.post_request(approval)
            delivered.append("slack")
        except Exception as error:
            logger.warning("Slack request failed", extra={"error": type(error).__name__})
    if approval.approvers.emails:
        try:
            delivered += [f"email:{to}" for to in email.send_requests(approval)]
        except Exception as error:
            logger.warning("email request failed", extra={"error": type(error).__name__})
    if not delivered:
        store.withdraw(approval.approval_id, "no channel took the request")
        raise ApprovalDeliveryError(f"no channel took approval {approval.approval_id}")
    return delivered, slack_ref
