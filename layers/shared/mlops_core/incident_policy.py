"""A model's incident settings: the ``incidents`` section of its configuration.

Apart from the incident lifecycle (:mod:`mlops_core.incidents`), whose state, triage findings
and monitoring models a configuration does not need: every handler that reads a model's
configuration imports this, and a cold start should not pay for the rest (docs/cold-start.md).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class IncidentPolicy(BaseModel):
    """Per-model incident settings (the model configuration's ``incidents`` section)."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    resolve_after: int = Field(
        3, ge=1, description="consecutive clean runs that resolve an investigate incident"
    )
    reopen_within_hours: float = Field(
        24.0,
        ge=0.0,
        description="a problem overlapping a resolved incident within this many hours of its "
        "resolution reopens it instead of opening a new one",
    )
    max_snooze_hours: float = Field(
        168.0, gt=0.0, description="the longest snooze a person may set"
    )
    slack_channel: str | None = Field(
        None,
        min_length=1,
        max_length=80,
        description="Slack channel id the bot posts incident messages to (default: the "
        "approvals channel); without a bot token or channel the webhook is used",
    )
