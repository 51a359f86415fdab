"""Function configuration, validated at cold start.

Each function declares the variables it needs as a subclass; a missing or malformed variable
fails the init phase with a message naming it, instead of failing mid-incident. samplefile.env
lists every variable (a contract test keeps it complete).
"""

from __future__ import annotations

from functools import cache
from typing import TypeVar

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class FunctionSettings(BaseSettings):
    model_config = SettingsConfigDict(case_sensitive=False, extra="ignore", frozen=True)

    ledger_table: str = Field(min_length=3, description="DynamoDB table of ledger entries")
    state_table: str = Field(min_length=3, description="DynamoDB table of incidents and locks")
    model_config_table: str = Field(
        min_length=3, description="DynamoDB table of per-model configuration"
    )
    observe_only: bool = Field(
        False, description="the stack's ObserveOnly switch: decide and record, never act"
    )


class AccountSettings(FunctionSettings):
    """For the functions that hold events to the trust boundary (mlops_core.trust)."""

    tooling_account_id: str = Field(
        pattern=r"^\d{12}$", description="the account this stack runs in (AWS::AccountId)"
    )


class NotifySettings(FunctionSettings):
    notification_topic_arn: str = Field(pattern=r"^arn:aws[\w-]*:sns:", description="SNS topic")
    slack_webhook_secret_arn: str = Field(
        "", description="Secrets Manager secret holding a Slack incoming-webhook URL (optional)"
    )


class DeadLetterSettings(FunctionSettings):
    dead_letter_queue_url: str = Field(
        pattern=r"^https?://", description="SQS queue of refused events, with the reason"
    )


class ServingSweepSettings(AccountSettings):
    serving_action_machine: str = Field(
        "", description="ARN of the workflow acting on opted-in serving findings (none: advise)"
    )


class ApprovalSettings(FunctionSettings):
    """For the approval functions (request, callback, decider, sweeper)."""

    approval_table: str = Field(min_length=3, description="DynamoDB table of approvals")


class SlackApiSettings(FunctionSettings):
    """For the functions that post to Slack with the app's bot token."""

    slack_bot_token_secret_arn: str = Field("", description="empty: no Slack")
    slack_api_url: str = Field("https://slack.com/api/", pattern=r"^https?://")


class IdempotentSettings(FunctionSettings):
    idempotency_table: str = Field(min_length=3, description="Powertools idempotency table")


S = TypeVar("S", bound=BaseSettings)


@cache
def load[S: BaseSettings](settings_class: type[S]) -> S:
    return settings_class()
