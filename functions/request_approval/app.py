"""RequestApproval: the task a state machine waits on (``lambda:invoke.waitForTaskToken``).

Stores the approval with its task token encrypted, asks the model's approvers over Slack and
email (messages name the approval id only), records ``approval_requested`` and returns
(mlops_runtime.approval_requests). The
state machine then waits until the decider calls SendTaskSuccess with the outcome, or until
its TimeoutSeconds backstop.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from mlops_core.approvals import ApprovalRequest
from mlops_runtime import settings
from mlops_runtime.approval_channels import Email, Slack
from mlops_runtime.approval_requests import ApprovalRequests
from mlops_runtime.approvals import ApprovalStore, silence_sdk_debug_logs
from mlops_runtime.link_keys import LinkKeys
from mlops_runtime.model_config import ModelConfigStore
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
models = ModelConfigStore(SETTINGS.model_config_table)
requests = ApprovalRequests(
    ApprovalStore(SETTINGS.approval_table, SETTINGS.approval_key_id),
    Ledger(SETTINGS.ledger_table),
    Slack(SETTINGS.slack_bot_token_secret_arn, SETTINGS.slack_api_url),
    Email(
        SETTINGS.approval_topic_arn,
        LinkKeys(SETTINGS.approval_link_key_secret_arn),
        SETTINGS.approval_callback_url,
    ),
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
    approval = requests.open(request, models, task.task_token.get_secret_value())
    delivered = requests.announce(approval)
    metrics.add_metric(name="ApprovalsRequested", unit=MetricUnit.Count, value=1)
    logger.info(
        "approval requested", extra={"approval_id": approval.approval_id, "delivered": delivered}
    )
    return {"approval_id": approval.approval_id, "delivered": delivered}
