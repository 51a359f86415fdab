"""Thresholds of the serving guardrails (mlops_core.serving): a model's ``guardrails.serving``
section, part of its :class:`~mlops_core.guardrails.GuardrailPolicy`."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ServingPolicy(BaseModel):
    """Thresholds of the serving guardrails (a model's ``guardrails.serving`` section)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    idle_days: int = Field(7, ge=1, le=60, description="no invocations this long: idle")
    underused_cpu_percent: float = Field(
        10.0,
        gt=0,
        lt=100,
        description="busiest hour under this share of all cores: underused",
    )
    batch_window_hours: int = Field(3, ge=1, le=12, description="a daily window this short...")
    batch_window_share: float = Field(
        0.9, gt=0.5, le=1, description="...holding this share of the invocations: batch traffic"
    )
    batch_min_days: int = Field(3, ge=2, description="days with traffic before a pattern counts")
