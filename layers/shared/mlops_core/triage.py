"""Triage of one endpoint's monitoring history: retrain, investigate or watch.

The rules, in order of precedence (the README's decision policy table mirrors this):

investigate
    - schema or integrity violations in the latest execution (data type, missing or extra column,
      completeness, unseen categories): the inputs broke, retraining would learn the breakage;
    - bias drift in the latest execution: fairness needs a human;
    - a sudden drift jump: a distance going from under its threshold to far over it in one
      execution (or leaping within a run), which is what an upstream bug looks like;
    - a model-quality cliff: a metric falling by a large fraction in one execution, not recovered;
    - a would-be retrain whose latest monitoring output is incomplete.
retrain
    - gradual drift (data or feature attribution) sustained over several executions, ending with
      the latest, AND model quality declining (a falling trend or a quality violation).
watch
    - drift with stable quality, drift not yet sustained, a blip that recovered, or nothing.
"""

from __future__ import annotations

import hashlib
import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from mlops_core.monitoring import (
    ATTRIBUTION_CHECK,
    BIAS_CHECK,
    DRIFT_CHECK,
    INTEGRITY_CHECKS,
    Execution,
    MonitoringHistory,
    MonitorType,
    Schedule,
)
from mlops_core.policy import TriagePolicy
from mlops_core.sparkline import sparkline


class Decision(StrEnum):
    RETRAIN = "retrain"
    INVESTIGATE = "investigate"
    WATCH = "watch"


class FindingKind(StrEnum):
    INTEGRITY_VIOLATION = "integrity_violation"
    BIAS_DRIFT = "bias_drift"
    SUDDEN_DRIFT = "sudden_drift"
    QUALITY_CLIFF = "quality_cliff"
    INCOMPLETE_OUTPUT = "incomplete_output"
    SUSTAINED_DRIFT = "sustained_drift"
    QUALITY_DECLINE = "quality_decline"
    EMERGING_DRIFT = "emerging_drift"
    RECOVERED_DRIFT = "recovered_drift"


INVESTIGATE_KINDS = frozenset(
    {
        FindingKind.INTEGRITY_VIOLATION,
        FindingKind.BIAS_DRIFT,
        FindingKind.SUDDEN_DRIFT,
        FindingKind.QUALITY_CLIFF,
    }
)

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
}
LOWER_IS_BETTER = frozenset({"mae", "mse", "rmse", "false_positive_rate", "false_negative_rate"})
ABSOLUTE_SCALE = frozenset({"r2"})  # already normalised and crosses zero: compare absolutely


@dataclass(frozen=True, slots=True)
class Finding:
    kind: FindingKind
    schedule: str
    monitor_type: str
    subject: str
    summary: str
    evidence: dict[str, Any] = field(default_factory=dict)


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


@dataclass(frozen=True, slots=True)
class TriageResult:
    decision: Decision
    reasons: list[str]
    findings: list[Finding]
    quality: list[QualityTrend]
    complete: bool
    incomplete: list[str]
    latest: dict[str, str]
    data_window: dict[str, str] | None
    signal_key: str
    sparkline: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> dict[str, Any]:
        """A compact view that fits a Step Functions payload and a ledger item."""
        return {
            "decision": str(self.decision),
            "reasons": self.reasons,
            "complete": self.complete,
            "incomplete": self.incomplete[:10],
            "latest": self.latest,
            "data_window": self.data_window,
            "signal_key": self.signal_key,
            "sparkline": self.sparkline,
            # Headline quality metrics, baseline -> latest: the metric diff approvers see.
            "quality": [
                {
                    "metric": q.metric,
                    "direction": q.direction,
                    "baseline": q.baseline,
                    "latest": q.latest,
                }
                for q in self.quality[:5]
            ],
            "findings": [
                {
                    "kind": str(f.kind),
                    "schedule": f.schedule,
                    "subject": f.subject,
                    "summary": f.summary,
                }
                for f in self.findings[:20]
            ],
        }


def triage(
    history: MonitoringHistory,
    policy: TriagePolicy | None = None,
    failed_executions: Mapping[str, str] | None = None,
) -> TriageResult:
    """Decide for one endpoint. ``failed_executions`` maps a schedule to why its newest
    monitoring execution failed: that schedule's current state is unknown, so no retrain."""
    policy = policy or TriagePolicy()
    failed = dict(failed_executions or {})
    findings: list[Finding] = []
    quality: list[QualityTrend] = []
    for schedule in history.schedules:
        findings += _latest_violation_findings(schedule)
        if schedule.monitor_type == MonitorType.DATA_QUALITY:
            findings += _drift_findings(schedule, DRIFT_CHECK, policy)
        elif schedule.monitor_type == MonitorType.FEATURE_ATTRIBUTION_DRIFT:
            findings += _drift_findings(schedule, ATTRIBUTION_CHECK, policy)
        elif schedule.monitor_type == MonitorType.MODEL_QUALITY:
            trends = _quality_trends(schedule, policy)
            quality += trends
            findings += _quality_findings(schedule, trends)

    stale = [s for s in history.schedules if not s.latest.complete or s.name in failed]
    failures = [f"monitoring execution of {name} failed: {why}" for name, why in failed.items()]
    decision, reasons = _decide(findings, quality, stale, failures)
    if decision == Decision.INVESTIGATE and stale and not _of(findings, INVESTIGATE_KINDS):
        findings.append(_incomplete_finding(stale, failures))
    return TriageResult(
        decision=decision,
        reasons=reasons,
        findings=_ordered(findings),
        quality=quality,
        complete=not history.incomplete and not failed,
        incomplete=failures
        + [f"{e.schedule}@{e.stamp}: {'; '.join(e.problems)}" for e in history.incomplete],
        latest={s.name: s.latest.stamp for s in history.schedules},
        data_window=_data_window(findings, history),
        signal_key=_signal_key(history),
        sparkline=_headline_sparkline(findings, quality),
    )


def _decide(
    findings: list[Finding],
    quality: list[QualityTrend],
    stale: list[Schedule],
    failures: list[str],
) -> tuple[Decision, list[str]]:
    urgent = _of(findings, INVESTIGATE_KINDS)
    sustained = _of(findings, {FindingKind.SUSTAINED_DRIFT})
    declining = _of(findings, {FindingKind.QUALITY_DECLINE})
    context = [f.summary for f in findings if f not in urgent]
    incomplete = failures + [
        f"latest output of schedule {s.name} is incomplete" for s in stale if s.latest.problems
    ]

    if urgent:
        return Decision.INVESTIGATE, [f.summary for f in _ordered(urgent)] + context + incomplete
    if sustained and declining:
        if stale:
            return Decision.INVESTIGATE, [
                "retrain withheld: never retrain on incomplete monitoring output",
                *incomplete,
                *context,
            ]
        return Decision.RETRAIN, [f.summary for f in sustained + declining] + [
            c for c in context if c not in {f.summary for f in sustained + declining}
        ]
    reasons = context + incomplete
    if sustained and not quality:
        reasons.insert(0, "drift is sustained but no model-quality monitor shows the impact")
    elif sustained:
        reasons.insert(0, "drift is sustained but model quality is stable")
    if not reasons:
        reasons = ["no violations in the latest executions and no drift trend"]
    return Decision.WATCH, reasons


def _of(findings: list[Finding], kinds: set[FindingKind] | frozenset[FindingKind]) -> list[Finding]:
    return [f for f in findings if f.kind in kinds]


def _latest_violation_findings(schedule: Schedule) -> list[Finding]:
    latest = schedule.latest
    findings = []
    for violation in latest.violations_of(INTEGRITY_CHECKS):
        detail = f" ({violation.description.strip()})" if violation.description.strip() else ""
        findings.append(
            Finding(
                FindingKind.INTEGRITY_VIOLATION,
                schedule.name,
                str(schedule.monitor_type),
                violation.subject,
                f"{violation.check} on '{violation.subject}' in the latest execution "
                f"{latest.stamp}{detail}",
                {"check": violation.check, "at": latest.stamp, "value": violation.value},
            )
        )
    for violation in latest.violations_of([BIAS_CHECK]):
        findings.append(
            Finding(
                FindingKind.BIAS_DRIFT,
                schedule.name,
                str(schedule.monitor_type),
                violation.subject,
                f"bias drift: {violation.subject} = {_fmt(violation.value)} breaks its constraint "
                f"in the latest execution {latest.stamp}",
                {
                    "check": violation.check,
                    "at": latest.stamp,
                    "value": violation.value,
                    "threshold": violation.threshold,
                    "series": _bias_series(schedule, violation.subject),
                },
            )
        )
    return findings


def _bias_series(schedule: Schedule, subject: str) -> list[dict[str, Any]]:
    return [
        {"at": e.stamp, "value": e.bias_metrics.get(subject)}
        for e in schedule.executions
        if subject in e.bias_metrics
    ]


def _drift_findings(schedule: Schedule, check: str, policy: TriagePolicy) -> list[Finding]:
    executions = [e for e in schedule.executions if e.violations is not None]
    if not executions:
        return []
    # severity per subject per execution; None means the subject did not violate there
    subjects = sorted({v.subject for e in executions for v in e.violations_of([check])})
    findings = []
    for subject in subjects:
        series = [_severity(e, check, subject) for e in executions]
        finding = _classify_drift(schedule, executions, subject, series, policy)
        if finding:
            findings.append(finding)
    return findings


def _severity(execution: Execution, check: str, subject: str) -> tuple[bool, float | None]:
    for violation in execution.violations_of([check]):
        if violation.subject == subject:
            return True, violation.severity
    return False, None


def _classify_drift(
    schedule: Schedule,
    executions: list[Execution],
    subject: str,
    series: list[tuple[bool, float | None]],
    policy: TriagePolicy,
) -> Finding | None:
    points = [
        {"at": e.stamp, "violated": hit, "ratio": _round(sev)}
        | ({"mean": _round(stats.mean)} if (stats := e.feature(subject)) else {})
        for e, (hit, sev) in zip(executions, series, strict=True)
    ]
    evidence: dict[str, Any] = {"series": points[-policy.history_window :]}
    attribution = schedule.monitor_type == MonitorType.FEATURE_ATTRIBUTION_DRIFT
    kind_name = "attribution drift" if attribution else "drift"
    if not series[-1][0]:
        last_hit = max(i for i, (hit, _) in enumerate(series) if hit)
        clean_for = len(series) - 1 - last_hit
        return Finding(
            FindingKind.RECOVERED_DRIFT,
            schedule.name,
            str(schedule.monitor_type),
            subject,
            f"{kind_name} on '{subject}' at {executions[last_hit].stamp} recovered: clean for "
            f"the {clean_for} execution(s) since",
            evidence,
        )

    onset = len(series) - 1
    while onset > 0 and series[onset - 1][0]:
        onset -= 1
    run = len(series) - onset
    ratios = [sev for _, sev in series[onset:]]
    evidence.update(run_length=run, onset=executions[onset].stamp, latest_ratio=_round(ratios[-1]))
    jump = _jump(ratios, policy)
    if jump is not None:
        at, before, after = jump
        return Finding(
            FindingKind.SUDDEN_DRIFT,
            schedule.name,
            str(schedule.monitor_type),
            subject,
            f"sudden {kind_name} jump on '{subject}': from {before} to {after:.1f}x its threshold "
            f"in one execution ({executions[onset + at].stamp})",
            evidence | {"jump_at": executions[onset + at].stamp},
        )
    trend = sparkline(ratios)
    if run >= policy.drift_run_length:
        return Finding(
            FindingKind.SUSTAINED_DRIFT,
            schedule.name,
            str(schedule.monitor_type),
            subject,
            f"gradual {kind_name} on '{subject}' sustained for {run} executions since "
            f"{executions[onset].stamp}, now {_fmt(ratios[-1], 'x')} its threshold {trend}",
            evidence,
        )
    return Finding(
        FindingKind.EMERGING_DRIFT,
        schedule.name,
        str(schedule.monitor_type),
        subject,
        f"{kind_name} on '{subject}' for {run} execution(s), fewer than the "
        f"{policy.drift_run_length} that make it sustained",
        evidence,
    )


def _jump(ratios: list[float | None], policy: TriagePolicy) -> tuple[int, str, float] | None:
    """Where a run of violations leapt: its onset from under the threshold, or a step within it.

    A step inside a run is a leap only if it is also far larger than the run's own pace, so a
    steep but steady drift is not mistaken for a sudden one.
    """
    first = ratios[0]
    if first is not None and first >= policy.jump_min_ratio and first - 1.0 >= policy.jump_min_step:
        return 0, "under", first
    steps: list[float] = []
    for i in range(1, len(ratios)):
        before, after = ratios[i - 1], ratios[i]
        if before is None or after is None:
            continue
        step = after - before
        pace = statistics.median(steps) if steps else 0.0
        if after >= policy.jump_min_ratio and step >= max(policy.jump_min_step, 3 * pace):
            return i, f"{before:.1f}x", after
        steps.append(abs(step))
    return None


def _quality_trends(schedule: Schedule, policy: TriagePolicy) -> list[QualityTrend]:
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
                cliff_at=_cliff(points, degrade, policy),
                violated=violated,
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
    policy: TriagePolicy,
) -> str | None:
    values = [v for _, v in points]
    for i in range(max(1, len(values) - policy.cliff_lookback), len(values)):
        before = statistics.median(values[max(0, i - 5) : i])
        if (
            degrade(before, values[i]) >= policy.quality_cliff
            and degrade(before, values[-1]) >= policy.quality_cliff / 2
        ):
            return points[i][0].stamp
    return None


def _quality_findings(schedule: Schedule, trends: list[QualityTrend]) -> list[Finding]:
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
                    f"model quality cliff: {trend.metric} fell off at {trend.cliff_at} "
                    f"({_fmt(trend.baseline)} -> {_fmt(trend.latest)}, {change} worse) {spark}",
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
                    f"model quality declining: {trend.metric} {_fmt(trend.baseline)} -> "
                    f"{_fmt(trend.latest)} ({change} worse"
                    f"{', violating its constraint' if trend.violated else ''}) {spark}",
                    evidence,
                )
            )
    return findings


def _incomplete_finding(stale: list[Schedule], failures: list[str]) -> Finding:
    problems = failures + stale[0].latest.problems
    return Finding(
        FindingKind.INCOMPLETE_OUTPUT,
        stale[0].name,
        str(stale[0].monitor_type),
        "output",
        f"latest monitoring output incomplete: {'; '.join(problems)}",
        {"schedules": [s.name for s in stale]},
    )


_ORDER = {kind: i for i, kind in enumerate(FindingKind)}


def _ordered(findings: list[Finding]) -> list[Finding]:
    """By precedence of kind, then the most severe first."""
    return sorted(
        findings, key=lambda f: (_ORDER[f.kind], -(f.evidence.get("latest_ratio") or 0.0))
    )


def _data_window(findings: list[Finding], history: MonitoringHistory) -> dict[str, str] | None:
    if not history.schedules:
        return None
    onsets = [f.evidence["onset"] for f in findings if f.kind == FindingKind.SUSTAINED_DRIFT]
    end = max(s.latest.stamp for s in history.schedules)
    start = min(onsets) if onsets else min(s.executions[0].stamp for s in history.schedules)
    return {"start": start, "end": end}


def _signal_key(history: MonitoringHistory) -> str:
    """Identifies the monitoring state triaged: the same executions give the same key."""
    latest = sorted(f"{s.name}@{s.latest.stamp}" for s in history.schedules)
    return hashlib.sha256("|".join(latest).encode()).hexdigest()[:16]


def _headline_sparkline(findings: list[Finding], quality: list[QualityTrend]) -> str:
    for finding in _ordered(findings):
        series = finding.evidence.get("series")
        if finding.kind in INVESTIGATE_KINDS | {FindingKind.SUSTAINED_DRIFT} and series:
            values = [p.get("ratio", p.get("value")) for p in series]
            return sparkline([v if v is not None else 0.0 for v in values])
    return sparkline([p["value"] for p in quality[0].series]) if quality else ""


def _round(value: float | None, digits: int = 6) -> float | None:
    return None if value is None else round(value, digits)


def _fmt(value: float | None, suffix: str = "") -> str:
    return "n/a" if value is None else f"{value:.4g}{suffix}"


def _pct(degradation: float, metric: str) -> str:
    return f"{degradation:.3f}" if metric in ABSOLUTE_SCALE else f"{degradation:.1%}"
