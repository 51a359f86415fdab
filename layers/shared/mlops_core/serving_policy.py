"""Thresholds of the serving guardrails (mlops_core.serving): a model's ``guardrails.serving``
section, part of its :class:`~mlops_core.guardrails.GuardrailPolicy`."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

# What a model may let the control plane do about a serving finding, after an approval
# (mlops_core.serving_actions): the finding, and the action it allows.
ACTIONS = {"endpoint.idle": "delete_endpoint", "endpoint.underused": "scale_in"}
Environment = Literal["staging", "production"]


class ServingActOptIn(BaseModel):
    """One finding the control plane may act on for this model, after an approval."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    finding: Literal["endpoint.idle", "endpoint.underused"] = Field(
        description="endpoint.idle: delete the endpoint (its config and models are kept); "
        "endpoint.underused: scale the variant in to the count its peak needs"
    )
    environments: frozenset[Environment] = Field(
        frozenset({"staging"}),
        min_length=1,
        description="where it may act: staging by default; production only when named",
    )


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
    act: tuple[ServingActOptIn, ...] = Field(
        (),
        description="findings acted on after an approval (docs/serving.md#acting-on-findings); "
        "none: advisory only",
    )

    @model_validator(mode="after")
    def _one_opt_in_per_finding(self) -> ServingPolicy:
        findings = [a.finding for a in self.act]
        if len(findings) != len(set(findings)):
            raise ValueError("act: name each finding once")
        return self

    def opt_in(self, rule: str) -> ServingActOptIn | None:
        return next((a for a in self.act if a.finding == rule), None)
