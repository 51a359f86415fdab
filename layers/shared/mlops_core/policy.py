"""Per-model policy settings with defaults a team can start from.

Each model's configuration may override any field; values are validated when the configuration is
written and again when a function loads it, so a typo fails loudly instead of silently.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class TriagePolicy(BaseModel):
    """Thresholds of the triage decision. Ratios are in units of the check's own threshold."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    drift_run_length: int = Field(
        3,
        ge=1,
        description="consecutive executions, ending with the latest, with the same drift "
        "violation before drift counts as sustained",
    )
    jump_min_ratio: float = Field(
        2.0,
        gt=1.0,
        description="a drift violation this many times its threshold, reached in one "
        "execution, is a sudden jump",
    )
    jump_min_step: float = Field(
        1.0,
        gt=0.0,
        description="minimum rise, in threshold units, from one execution to the next "
        "for a sudden jump",
    )
    jump_min_shift: float = Field(
        1.0,
        gt=0.0,
        description="a column of an Evidently report moving at least this many baseline "
        "standard deviations in one run (DataSummaryPreset's mean and quartiles), and 3x faster "
        "than the history's own run-to-run movement, is a sudden jump",
    )
    missing_share_increase: float = Field(
        0.1,
        gt=0.0,
        le=1.0,
        description="rise of a column's share of missing values in the latest Evidently report "
        "over its baseline share that counts as an integrity break",
    )
    quality_cliff: float = Field(
        0.15,
        gt=0.0,
        description="relative one-execution degradation of a model-quality metric "
        "that counts as falling off a cliff",
    )
    cliff_lookback: int = Field(
        3, ge=1, description="a cliff this many executions back, not recovered since, still counts"
    )
    quality_decline: float = Field(
        0.03,
        gt=0.0,
        description="relative degradation of a model-quality metric against its "
        "early-history baseline that counts as declining",
    )
    history_window: int = Field(
        48,
        ge=3,
        description="newest executions per schedule that triage reads: two days of hourly "
        "runs, seven weeks of daily ones, enough early history for a quality baseline",
    )
