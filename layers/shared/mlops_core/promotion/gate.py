"""The quality gate: the candidate's ModelQuality statistics (the JSON its registry entry points
to) against the production package's, metric by metric, with a per-model relative tolerance, and
against the model's absolute thresholds, which are all a first deployment is checked against
(:func:`quality_gate`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from mlops_core.promotion.metrics import MetricRow, finite_number

Direction = Literal["higher_is_better", "lower_is_better"]
# Model-quality metrics SageMaker's evaluation reports use, with the direction that is better.
KNOWN_DIRECTIONS: dict[str, Direction] = {
    **dict.fromkeys(
        (
            "auc",
            "pr_auc",
            "accuracy",
            "balanced_accuracy",
            "precision",
            "recall",
            "f0_5",
            "f1",
            "f1_binary",
            "f1_micro",
            "f1_macro",
            "f2",
            "r2",
            "true_positive_rate",
            "true_negative_rate",
            "weighted_precision",
            "weighted_recall",
            "weighted_f1",
        ),
        "higher_is_better",
    ),
    **dict.fromkeys(
        (
            "mse",
            "rmse",
            "mae",
            "mape",
            "log_loss",
            "false_positive_rate",
            "false_negative_rate",
        ),
        "lower_is_better",
    ),
}


class QualityPolicy(BaseModel):
    """The quality gate: how far the candidate's offline metrics may fall behind production's."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    tolerance: float = Field(
        0.01,
        ge=0,
        le=1,
        description="relative regression allowed per metric (0.01: 1% of production's value)",
    )
    metrics: dict[str, Direction] = Field(
        default_factory=dict,
        description="metrics to compare and which way is better; empty: every metric of "
        "KNOWN_DIRECTIONS both packages report",
    )
    require_metrics: bool = Field(
        True, description="refuse a candidate whose package points to no ModelQuality statistics"
    )
    thresholds: dict[str, float] = Field(
        default_factory=dict,
        description="absolute bars the candidate must meet (a floor for higher_is_better "
        "metrics, a ceiling for lower_is_better ones), with or without a production version: "
        "on a first deployment they are the whole gate",
    )

    @model_validator(mode="after")
    def _thresholds_have_a_direction(self) -> QualityPolicy:
        unknown = sorted(set(self.thresholds) - set(self.metrics) - set(KNOWN_DIRECTIONS))
        if unknown:
            raise ValueError(f"thresholds {', '.join(unknown)}: name their direction under metrics")
        return self

    def direction(self, name: str) -> Direction:
        return self.metrics.get(name) or KNOWN_DIRECTIONS[name]


def flatten_quality(report: Any) -> dict[str, float]:
    """Metric name -> value from a model-quality report.

    Accepts SageMaker's evaluation format (``{"regression_metrics": {"mse": {"value": 4.2,
    "standard_deviation": 0.1}}}``, also binary/multiclass) and flat ``{"auc": 0.91}`` maps.
    The first occurrence of a name wins.
    """
    found: dict[str, float] = {}

    def walk(node: Any, name: str | None) -> None:
        if isinstance(node, Mapping):
            value = finite_number(node.get("value"))
            if name and value is not None:
                found.setdefault(name, value)
                return
            for key, child in node.items():
                walk(child, str(key))
        elif name and (value := finite_number(node)) is not None:
            found.setdefault(name, value)

    walk(report, None)
    return found


@dataclass(frozen=True, slots=True)
class GateResult:
    passed: bool
    reasons: list[str]
    rows: list[MetricRow] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "reasons": self.reasons,
            "metrics": [asdict(row) for row in self.rows],
        }


def quality_gate(
    candidate: Mapping[str, float] | None,
    production: Mapping[str, float] | None,
    policy: QualityPolicy,
    first_deployment: bool = False,
) -> GateResult:
    """Refuse a candidate that regresses beyond the tolerance on any compared metric, or misses
    one of the absolute thresholds. Without production statistics (a first deployment, or a
    production package that points to none) only the thresholds apply."""
    if candidate is None:
        if policy.require_metrics:
            return GateResult(False, ["the candidate package has no ModelQuality statistics"])
        return GateResult(True, ["the candidate package has no ModelQuality statistics (allowed)"])
    absolute = [
        _threshold_row(name, bound, candidate, policy)
        for name, bound in sorted(policy.thresholds.items())
    ]
    if production is None:
        why = (
            "first deployment: no production version to compare with"
            if first_deployment
            else "production has no ModelQuality statistics to compare against"
        )
        if not absolute:
            return GateResult(True, [f"{why}, and no absolute thresholds (quality.thresholds)"])
        return _gate(absolute, policy, f"{why}; ")
    wanted = policy.metrics or {
        name: direction
        for name, direction in KNOWN_DIRECTIONS.items()
        if name in candidate and name in production
    }
    rows = []
    for name, direction in sorted(wanted.items()):
        before, after = production.get(name), candidate.get(name)
        higher = direction == "higher_is_better"
        if after is None or before is None:
            rows.append(MetricRow(name, before, after, higher, ok=False))
            continue
        regression = (before - after) if higher else (after - before)
        ok = regression <= policy.tolerance * abs(before) + 1e-12
        rows.append(MetricRow(name, before, after, higher, ok))
    if not rows and not absolute:
        return GateResult(True, ["no metric both packages report to compare"])
    return _gate(rows + absolute, policy, "")


THRESHOLD_SUFFIX = " (threshold)"


def _threshold_row(
    name: str, bound: float, candidate: Mapping[str, float], policy: QualityPolicy
) -> MetricRow:
    higher = policy.direction(name) == "higher_is_better"
    value = candidate.get(name)
    ok = value is not None and (value >= bound - 1e-12 if higher else value <= bound + 1e-12)
    return MetricRow(name + THRESHOLD_SUFFIX, bound, value, higher, ok)


def _gate(rows: list[MetricRow], policy: QualityPolicy, prefix: str) -> GateResult:
    reasons = [_failure(row, policy) for row in rows if not row.ok]
    if reasons:
        return GateResult(False, reasons, rows)
    compared = [r.name for r in rows if not r.name.endswith(THRESHOLD_SUFFIX)]
    met = [r.name.removesuffix(THRESHOLD_SUFFIX) for r in rows if r.name.endswith(THRESHOLD_SUFFIX)]
    parts = []
    if compared:
        parts.append(f"no regression beyond {policy.tolerance:.1%} on {', '.join(compared)}")
    if met:
        parts.append(f"meets the absolute thresholds on {', '.join(met)}")
    return GateResult(True, [prefix + "; ".join(parts)], rows)


def _failure(row: MetricRow, policy: QualityPolicy) -> str:
    if row.name.endswith(THRESHOLD_SUFFIX):
        name = row.name.removesuffix(THRESHOLD_SUFFIX)
        if row.after is None:
            return f"{name}: the candidate package does not report it (it has a threshold)"
        side = "below the floor" if row.higher_is_better else "above the ceiling"
        return f"{name} {row.after:.4g} is {side} of {row.before:.4g} (quality.thresholds)"
    if row.after is None or row.before is None:
        missing = "candidate" if row.after is None else "production"
        return f"{row.name}: the {missing} package does not report it"
    return (
        f"{row.name} regresses from {row.before:.4g} to {row.after:.4g} "
        f"(more than the {policy.tolerance:.1%} tolerance)"
    )
