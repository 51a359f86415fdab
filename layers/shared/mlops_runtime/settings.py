"""Function configuration, validated at cold start.

Each function declares the variables it needs as a subclass; a missing or malformed variable
fails the init phase with a message naming it, instead of failing mid-incident. samplefile.env
lists every variable (a contract test keeps it complete).

The environment is validated with plain pydantic, not pydantic-settings: that package's import
(its sources, dotenv, a CLI parser) cost about a third of a handler's cold start over
``import boto3`` for what these settings use of it, which is one lookup of each field's
variable (docs/cold-start.md has the numbers). What it did here, this does the same way: every
field read from the variable of its name in upper case (case-insensitively), values coerced
and checked by the field's type and constraints, other variables ignored, the result frozen,
and a missing or malformed variable raising pydantic's ValidationError naming the field.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import cache
from typing import Self

from pydantic import BaseModel, ConfigDict, Field


class EnvSettings(BaseModel):
    """Settings read from environment variables: field ``ledger_table`` from ``LEDGER_TABLE``."""

    # Built when a handler's own settings class is first validated, not once per mixin above it.
    model_config = ConfigDict(extra="ignore", frozen=True, defer_build=True)

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> Self:
        source = os.environ if environ is None else environ
        # Names match case-insensitively, as in pydantic-settings with case_sensitive=False.
        values = {name.lower(): value for name, value in source.items()}
        return cls.model_validate({f: values[f] for f in cls.model_fields if f in values})


class FunctionSettings(EnvSettings):
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


@cache
def load[S: EnvSettings](settings_class: type[S]) -> S:
    return settings_class.from_environ()
