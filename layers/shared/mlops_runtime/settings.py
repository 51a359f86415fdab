"""Function configuration, validated at cold start.

Each function declares the variables it needs as a subclass; a missing or malformed variable
fails the init phase with a message naming it, instead of failing mid-incident. samplefile.env
lists every variable (a contract test keeps it complete).
"""

from __future__ import annotations

from functools import cache
from typing import TypeVar

from mlops_core.guardrails import GuardrailPolicy
from mlops_core.spot import SpotPolicy
from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class FunctionSettings(BaseSettings):
    model_config = SettingsConfigDict(case_sensitive=False, extra="ignore", frozen=True)

    ledger_table: str = Field(min_length=3, description="DynamoDB table of ledger entries")
    state_table: str = Field(min_length=3, description="DynamoDB table of incidents and locks")
    model_config_table: str = Field(
        min_length=3, description="DynamoDB table of per-model configuration"
    )


class NotifySettings(FunctionSettings):
    notification_topic_arn: str = Field(pattern=r"^arn:aws[\w-]*:sns:", description="SNS topic")
    slack_webhook_secret_arn: str = Field(
        "", description="Secrets Manager secret holding a Slack incoming-webhook URL (optional)"
    )


class IdempotentSettings(FunctionSettings):
    idempotency_table: str = Field(min_length=3, description="Powertools idempotency table")


class TrainingPolicySettings(FunctionSettings):
    """Stack-wide defaults of Spot recovery and guardrails; a model's configuration overrides
    them (its ``spot`` / ``guardrails`` sections)."""

    spot_max_attempts: int = Field(3, ge=1, le=10, description="Spot attempts per lineage")
    spot_fallback: str = Field("on_demand", description="on_demand | next_instance_type | give_up")
    spot_fallback_instance_types: str = Field("", description="comma-separated ml.* types")
    spot_without_checkpoint: str = Field("restart", description="restart | notify")
    spot_wait_time_ratio: float = Field(2.0, description="MaxWaitTime per MaxRuntime")
    guardrails_enforce: str = Field("", description="comma-separated training rules to enforce")

    @model_validator(mode="after")
    def _valid_policies(self) -> TrainingPolicySettings:
        self.spot_policy()  # a bad default fails the cold start, naming the field
        self.guardrail_policy()
        return self

    def spot_policy(self) -> SpotPolicy:
        return SpotPolicy(
            max_spot_attempts=self.spot_max_attempts,
            fallback=self.spot_fallback,
            fallback_instance_types=tuple(_items(self.spot_fallback_instance_types)),
            without_checkpoint=self.spot_without_checkpoint,
            wait_time_ratio=self.spot_wait_time_ratio,
        )

    def guardrail_policy(self) -> GuardrailPolicy:
        return GuardrailPolicy(enforce=frozenset(_items(self.guardrails_enforce)))


def _items(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


S = TypeVar("S", bound=BaseSettings)


@cache
def load[S: BaseSettings](settings_class: type[S]) -> S:
    return settings_class()
