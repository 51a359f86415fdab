"""Triage of one endpoint's monitoring history: retrain, investigate or watch.

The history holds evidence streams of two sources, read into the same executions: SageMaker
Model Monitor schedules (the Model Monitor rules below) and Evidently report streams (the same
rules on Evidently's evidence: mlops_core.evidently_triage); model quality from either is judged
by mlops_core.quality. One decision covers all streams of the endpoint.

The rules, in order of precedence (the README's decision policy table mirrors this):

investigate
    - schema or integrity violations in the latest execution (data type, missing or extra column,
      completeness, unseen categories): the inputs broke, retraining would learn the breakage;
    - bias drift in the latest execution: fairness needs a human;
    - a sudden drift jump: a distance going from under its threshold to far over it in one
      execution (or leaping within a run), which is what an upstream bug looks like;
    - a model-quality cliff: one step far larger than the metric's own step-to-step movement,
      carrying most of its decline, not recovered;
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
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from mlops_core.evidently_triage import evidently_findings
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
from mlops_core.quality import QualityTrend, quality_findings, quality_trends
from mlops_core.sparkline import sparkline
from mlops_core.triage_findings import INVESTIGATE_KINDS, Decision, Finding, FindingKind


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
    notes: list[str] = field(default_factory=list)  # how the evidence was read, for the ledger
    sources: dict[str, str] = field(default_factory=dict)  # stream -> model_monitor / evidently

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
            "sparkline_of": sparkline_subject(self.findings, self.quality),
            "sources": self.sources,
            "notes": self.notes[:5],
            # Headline quality metrics, baseline -> latest: the metric diff approvers see.
            "quality": [
                {
                    "source": q.source,
                    "schedule": q.schedule,
                    "metric": q.metric,
                    "direction": q.direction,
                    "baseline": q.baseline,
                    "latest": q.latest,
                    "values": [p["value"] for p in q.series][-DRIFT_CHART_POINTS:],
                }
                for q in self.quality[:5]
            ],
            # Each drifting feature's distance against its threshold, for the evidence charts.
            "drift": _drift_series(self.findings),
            "findings": [
                {
                    "kind": str(f.kind),
                    "source": f.source,
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
    notes: list[str] = []
    for schedule in history.schedules:
        found, trends, more = _stream_findings(schedule, policy)
        findings += found
        quality += trends
        notes += more

    stale = [s for s in history.schedules if not s.latest.complete or s.name in failed]
    failures = [f"monitoring execution of {name} failed: {why}" for name, why in failed.items()]
    decision, reasons = _decide(findings, quality, stale, failures)
    if stale:
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
        notes=notes,
        sources={s.name: s.source for s in history.schedules},
    )


def _stream_findings(
    schedule: Schedule, policy: TriagePolicy
) -> tuple[list[Finding], list[QualityTrend], list[str]]:
    """Findings, quality trends and notes of one stream, by what wrote it."""
    findings: list[Finding] = []
    notes: list[str] = []
    trends: list[QualityTrend] = []
    if schedule.monitor_type == MonitorType.EVIDENTLY_REPORT:
        findings, notes = evidently_findings(schedule, policy)
        trends = quality_trends(schedule, policy)
    else:
        findings = _latest_violation_findings(schedule)
        if schedule.monitor_type == MonitorType.DATA_QUALITY:
            findings += _drift_findings(schedule, DRIFT_CHECK, policy)
        elif schedule.monitor_type == MonitorType.FEATURE_ATTRIBUTION_DRIFT:
            findings += _drift_findings(schedule, ATTRIBUTION_CHECK, policy)
        elif schedule.monitor_type == MonitorType.MODEL_QUALITY:
            trends = quality_trends(schedule, policy)
    return findings + quality_findings(schedule, trends), trends, notes


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
        f"latest output of {s.name} ({s.latest.stamp}) is incomplete: "
        + "; ".join(s.latest.problems)
        for s in stale
        if s.latest.problems
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


def _incomplete_finding(stale: list[Schedule], failures: list[str]) -> Finding:
    """One finding for every stream whose latest output is incomplete, naming what is wrong
    (the unreadable or missing file, or why the monitoring execution failed)."""
    problems = failures + [
        f"{s.name}@{s.latest.stamp}: {'; '.join(s.latest.problems)}"
        for s in stale
        if s.latest.problems
    ]
    return Finding(
        FindingKind.INCOMPLETE_OUTPUT,
        stale[0].name,
        str(stale[0].monitor_type),
        "output",
        f"latest monitoring output incomplete: {'; '.join(problems)}",
        {"schedules": [s.name for s in stale], "sources": sorted({s.source for s in stale})},
    )


_ORDER = {kind: i for i, kind in enumerate(FindingKind)}


def _ordered(findings: list[Finding]) -> list[Finding]:
    """By precedence of kind, then the most severe first."""
    return sorted(
        findings,
        key=lambda f: (
            _ORDER[f.kind],
            -(f.evidence.get("latest_ratio") or f.evidence.get("latest_shift") or 0.0),
        ),
    )


def _data_window(findings: list[Finding], history: MonitoringHistory) -> dict[str, str] | None:
    if not history.schedules:
        return None
    onsets = [f.evidence["onset"] for f in findings if f.kind == FindingKind.SUSTAINED_DRIFT]
    end = max(s.latest.stamp for s in history.schedules)
    start = min(onsets) if onsets else min(s.executions[0].stamp for s in history.schedules)
    return {"start": start, "end": end}


DRIFT_CHART_POINTS = 30
_CHARTED = INVESTIGATE_KINDS | {
    FindingKind.SUSTAINED_DRIFT,
    FindingKind.EMERGING_DRIFT,
    FindingKind.RECOVERED_DRIFT,
}


def _drift_series(findings: list[Finding]) -> list[dict[str, Any]]:
    """Per drifting feature: its distance per execution and the threshold it is held against.
    Model Monitor reports a violation's size as a multiple of its threshold (reference 1);
    Evidently reports the method's score and its own threshold."""
    charts = []
    for finding in findings:
        series = finding.evidence.get("series") or []
        if finding.kind not in _CHARTED or not series:
            continue
        threshold = finding.evidence.get("threshold")
        evidently = "score" in series[0] and isinstance(threshold, int | float)
        key = "score" if evidently else "ratio"
        values = [p.get(key) for p in series][-DRIFT_CHART_POINTS:]
        if all(v is None for v in values):
            continue
        charts.append(
            {
                "feature": finding.subject,
                "schedule": finding.schedule,
                "kind": str(finding.kind),
                "at": [str(p.get("at", "")) for p in series][-DRIFT_CHART_POINTS:],
                "values": values,
                "reference": float(threshold) if evidently else 1.0,
                "unit": str(finding.evidence.get("method", "distance")) if evidently else "x",
            }
        )
    return charts[:6]


def _signal_key(history: MonitoringHistory) -> str:
    """Identifies the monitoring state triaged: the same executions give the same key."""
    latest = sorted(f"{s.name}@{s.latest.stamp}" for s in history.schedules)
    return hashlib.sha256("|".join(latest).encode()).hexdigest()[:16]


def _headline_sparkline(findings: list[Finding], quality: list[QualityTrend]) -> str:
    for finding in _ordered(findings):
        series = finding.evidence.get("series")
        if finding.kind in INVESTIGATE_KINDS | {FindingKind.SUSTAINED_DRIFT} and series:
            values = [p.get("ratio", p.get("shift", p.get("value"))) for p in series]
            return sparkline([v if v is not None else 0.0 for v in values])
    return sparkline([p["value"] for p in quality[0].series]) if quality else ""


def sparkline_subject(findings: list[Finding], quality: list[QualityTrend]) -> str:
    """What the headline sparkline measures, in words (the same choice as the sparkline's)."""
    for finding in _ordered(findings):
        series = finding.evidence.get("series")
        if finding.kind in INVESTIGATE_KINDS | {FindingKind.SUSTAINED_DRIFT} and series:
            point = series[0]
            what = (
                "drift as a multiple of its threshold"
                if "ratio" in point
                else "distribution shift"
                if "shift" in point
                else "value"
            )
            return f"{finding.subject}: {what}, per monitoring run"
    return f"{quality[0].metric} per monitoring run" if quality else ""


def _round(value: float | None, digits: int = 6) -> float | None:
    return None if value is None else round(value, digits)


def _fmt(value: float | None, suffix: str = "") -> str:
    return "n/a" if value is None else f"{value:.4g}{suffix}"
