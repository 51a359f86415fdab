"""Model quality over time, from either source: a headline metric's decline against its early
history, and a cliff (one step far out of line with the history's own movement).

Model Monitor's model-quality statistics and Evidently's Regression/ClassificationPreset
metrics land in the same ``Execution.metrics``; the rules do not care which wrote them.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from itertools import pairwise
from typing import Any

from mlops_core.evidently import SOURCE as EVIDENTLY
from mlops_core.monitoring import Execution, Schedule
from mlops_core.policy import TriagePolicy
from mlops_core.sparkline import sparkline
from mlops_core.triage_findings import Finding, FindingKind

# Headline metrics per problem type; Model Monitor writes many more (curves, best-constant
# baselines) that are too noisy or not comparable over time.
HEADLINE_METRICS = {
    "binary_classification": ("auc", "accuracy", "f1", "precision", "recall"),
    "multiclass_classification": (
        "accuracy",
        "weighted_f1",
        "weighted_precision",
        "weighted_recall",
    ),
    "regression": ("mae", "mse", "rmse", "r2"),
    # Evidently's ClassificationPreset, binary or multiclass (its own averaging)
    "classification": ("auc", "accuracy", "f1", "precision", "recall"),
}
# Evidently's MAPE and max error are read but never headline metrics: MAPE explodes near zero
# targets, the max error follows one row.
LOWER_IS_BETTER = frozenset(
    {
        "mae",
        "mse",
        "rmse",
        "mape",
        "max_error",
        "logloss",
        "false_positive_rate",
        "false_negative_rate",
    }
)
ABSOLUTE_SCALE = frozenset({"r2"})  # already normalised and crosses zero: compare absolutely


@dataclass(frozen=True, slots=True)
class QualityTrend:
    schedule: str
    metric: str
    direction: str
    series: list[dict[str, Any]]
    baseline: float
    latest: float
    degradation: float
    declining: bool
    cliff_at: str | None
    violated: bool
    cliff_from: float | None = None  # the values at the cliff's step
    cliff_to: float | None = None
    source: str = "model_monitor"


def quality_trends(schedule: Schedule, policy: TriagePolicy) -> list[QualityTrend]:
    executions = schedule.complete_executions
    if len(executions) < 2:
        return []
    problem_type = executions[-1].problem_type or ""
    names = HEADLINE_METRICS.get(problem_type) or tuple(
        m for m in executions[-1].metrics if m in LOWER_IS_BETTER or m in _HIGHER_IS_BETTER
    )
    latest_violations = {v.subject for v in schedule.latest.violations or ()}
    trends = []
    for name in names:
        points = [(e, e.metrics[name]) for e in executions if name in e.metrics]
        if len(points) < 2:
            continue
        values = [v for _, v in points]
        degrade = _degradation(name)
        baseline = statistics.median(values[: max(2, len(values) // 3)])
        latest_deg = degrade(baseline, values[-1])
        recent_deg = degrade(baseline, statistics.fmean(values[-3:]))
        violated = name in latest_violations
        cliff = _cliff(points, degrade, baseline, policy)
        declining = len(values) >= 4 and (
            (latest_deg >= policy.quality_decline and recent_deg >= policy.quality_decline / 2)
            or (violated and latest_deg > 0)
        )
        trends.append(
            QualityTrend(
                schedule=schedule.name,
                metric=name,
                direction="lower_is_better" if name in LOWER_IS_BETTER else "higher_is_better",
                series=[{"at": e.stamp, "value": _round(v)} for e, v in points],
                baseline=_round(baseline) or 0.0,
                latest=_round(values[-1]) or 0.0,
                degradation=_round(latest_deg) or 0.0,
                declining=declining,
                cliff_at=cliff[0] if cliff else None,
                violated=violated,
                cliff_from=_round(cliff[1]) if cliff else None,
                cliff_to=_round(cliff[2]) if cliff else None,
                source=schedule.source,
            )
        )
    return trends


_HIGHER_IS_BETTER = frozenset(
    {m for metrics in HEADLINE_METRICS.values() for m in metrics} - LOWER_IS_BETTER
)


def _degradation(metric: str) -> Callable[[float, float], float]:
    """How much worse ``value`` is than ``base``: a fraction of base, or absolute for r2."""
    sign = 1.0 if metric in LOWER_IS_BETTER else -1.0

    def degrade(base: float, value: float) -> float:
        if metric in ABSOLUTE_SCALE:
            return sign * (value - base)
        return sign * (value - base) / abs(base) if abs(base) > 1e-12 else 0.0

    return degrade


def _cliff(
    points: Sequence[tuple[Execution, float]],
    degrade: Callable[[float, float], float],
    baseline: float,
    policy: TriagePolicy,
) -> tuple[str, float, float] | None:
    """(when, value before, value after) of a step off a cliff in the last ``cliff_lookback``
    executions, not recovered since.

    A cliff is one step far out of line with the history's own movement: it worsens the metric
    by ``quality_cliff`` or more at once, is at least 3x the median size of the other steps, and
    carries at least half of the whole decline from the baseline. A steady decline of a few
    percent per execution has no such step, however far it has gone in total.
    """
    values = [v for _, v in points]
    sign = 1.0 if degrade(1.0, 2.0) > 0 else -1.0  # which way is worse, in the metric's units
    steps = [sign * (after - before) for before, after in pairwise(values)]
    total = sign * (values[-1] - baseline)
    for i in range(max(1, len(values) - policy.cliff_lookback), len(values)):
        step = steps[i - 1]
        others = [abs(s) for j, s in enumerate(steps) if j != i - 1]
        pace = statistics.median(others) if others else 0.0
        if (
            degrade(values[i - 1], values[i]) >= policy.quality_cliff
            and degrade(values[i - 1], values[-1]) >= policy.quality_cliff / 2
            and step >= 3 * pace
            and step >= total / 2
        ):
            return points[i][0].stamp, values[i - 1], values[i]
    return None


def quality_findings(schedule: Schedule, trends: list[QualityTrend]) -> list[Finding]:
    findings = []
    for trend in trends:
        spark = sparkline([p["value"] for p in trend.series])
        evidence = asdict(trend)
        change = _pct(trend.degradation, trend.metric)
        if trend.cliff_at:
            findings.append(
                Finding(
                    FindingKind.QUALITY_CLIFF,
                    schedule.name,
                    str(schedule.monitor_type),
                    trend.metric,
                    f"{_where(schedule)}model quality cliff: {trend.metric} went from "
                    f"{_fmt(trend.cliff_from)} to {_fmt(trend.cliff_to)} in one execution "
                    f"({trend.cliff_at}), {_step_change(trend)} worse at once; "
                    f"now {_fmt(trend.latest)} {spark}",
                    evidence,
                )
            )
        elif trend.declining:
            findings.append(
                Finding(
                    FindingKind.QUALITY_DECLINE,
                    schedule.name,
                    str(schedule.monitor_type),
                    trend.metric,
                    f"{_where(schedule)}model quality declining: {trend.metric} "
                    f"{_fmt(trend.baseline)} -> "
                    f"{_fmt(trend.latest)} ({change} worse"
                    f"{', violating its constraint' if trend.violated else ''}) {spark}",
                    evidence,
                )
            )
    return findings


def _where(schedule: Schedule) -> str:
    """Evidently findings name their stream; Model Monitor's read as they always have."""
    return f"evidently {schedule.name}: " if schedule.source == EVIDENTLY else ""


def _step_change(trend: QualityTrend) -> str:
    before, after = trend.cliff_from or 0.0, trend.cliff_to or 0.0
    return _pct(_degradation(trend.metric)(before, after), trend.metric)


def _round(value: float | None, digits: int = 6) -> float | None:
    return None if value is None else round(value, digits)


def _fmt(value: float | None, suffix: str = "") -> str:
    return "n/a" if value is None else f"{value:.4g}{suffix}"


def _pct(degradation: float, metric: str) -> str:
    return f"{degradation:.3f}" if metric in ABSOLUTE_SCALE else f"{degradation:.1%}"
