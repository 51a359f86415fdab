"""Triage rules for an Evidently report stream: drift, sized by column statistics, and integrity.

Drift verdicts come from each run's ``ValueDrift`` results, read the right way round per method
(mlops_core.evidently). P-values saturate: a 3-sigma leap and a steady creep both read 0.0, and
distances of different methods are not comparable. So how far and how fast a column moved is
measured on the statistics DataSummaryPreset reports every run, in units of the column's own
standard deviation over the early history (the *baseline*: the first third of the runs read, at
least two; Evidently's JSON carries the current data's statistics only, not the reference's):

- *shift*, how far a run is from the baseline: the larger of |mean - baseline mean| and the mean
  |quartile - baseline quartile|, divided by the baseline std. A categorical column's shift is the
  total variation distance between its category shares and the baseline's, expressed as the mean
  shift of a normal distribution that overlaps its baseline as much (2 * Phi^-1((1 + TVD) / 2)),
  so numerical and categorical columns read in the same unit;
- *step*, how far a run is from the run before it, the same way.

The rules mirror Model Monitor's. A drift verdict in each of the last ``drift_run_length`` runs is
sustained drift. A step inside the current drift run (its first step included) of at least
``jump_min_shift`` std that is also 3x the median step of the history before it is a sudden
jump. Drift that stopped is a recovered blip. A column without statistics is sized like Model
Monitor's distances when its method is a distance (score / threshold, ``jump_min_ratio``,
``jump_min_step``); a p-value without statistics cannot be sized, so it is never called sudden.

Integrity, on the latest run against the baseline runs: a column they all had is absent
(``missing_column_check``), a column changed between numerical and categorical
(``data_type_check``), a column's missing share rose by ``missing_share_increase`` or more
(``completeness_check``): the same names as Model Monitor's checks, and the same decision.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from mlops_core.evidently import ColumnDrift, ColumnSummary, Direction, EvidentlyReport
from mlops_core.monitoring import Execution, Schedule
from mlops_core.policy import TriagePolicy
from mlops_core.sparkline import sparkline
from mlops_core.triage_findings import Finding, FindingKind

PACE_FACTOR = 3.0  # a leap is at least this many times the history's median run-to-run step
_NORMAL = statistics.NormalDist()
_TVD_CAP = 0.9999  # 2 * Phi^-1 of 1 is infinite


@dataclass(frozen=True, slots=True)
class _Run:
    execution: Execution
    report: EvidentlyReport
    at: str


@dataclass(frozen=True, slots=True)
class _Sizes:
    """How far (``levels``) and how fast (``steps``) one column moved, run by run."""

    levels: list[float | None]
    steps: list[float | None]
    unit: str  # "std" (statistics) or "threshold" (a distance's own score)


def evidently_findings(schedule: Schedule, policy: TriagePolicy) -> tuple[list[Finding], list[str]]:
    """Drift and integrity findings of one Evidently stream, and notes for the ledger."""
    runs = [
        _Run(e, e.report, e.stamp)
        for e in schedule.executions[-policy.history_window :]
        if e.report is not None and e.complete
    ]
    if not runs:
        return [], []
    base = _baseline(runs)
    findings = _integrity(schedule, runs, base, policy)
    # A column that disappeared is an integrity break, not a drift question.
    absent = {f.subject for f in findings if f.evidence["check"] == "missing_column_check"}
    columns = sorted({c for run in runs for c in run.report.drift} - absent)
    for column in columns:
        drifts = [run.report.drift.get(column) for run in runs]
        # Never drifted, verdict known: nothing to find (most columns, most of the time).
        if any(d and d.drifted for d in drifts) or (drifts[-1] and drifts[-1].drifted is None):
            finding = _classify(schedule, runs, column, drifts, _sizes(column, runs, base), policy)
            if finding:
                findings.append(finding)
    return findings, _notes(schedule, runs[-1])


def _baseline(runs: list[_Run]) -> list[_Run]:
    """The early history every run is compared with: the first third, at least two runs, never
    the latest (with fewer than two earlier runs there is nothing to compare with)."""
    return runs[: min(max(2, len(runs) // 3), len(runs) - 1)]


# ---------------------------------------------------------------------------- how far, how fast


def _sizes(column: str, runs: list[_Run], base: list[_Run]) -> _Sizes | None:
    summaries = [run.report.columns.get(column) for run in runs]
    baseline = [s for run in base if (s := run.report.columns.get(column))]
    numeric = _numeric_sizes(summaries, baseline)
    if numeric:
        return numeric
    categorical = _categorical_sizes(summaries, baseline)
    if categorical:
        return categorical
    return _score_sizes([run.report.drift.get(column) for run in runs])


def _numeric_sizes(
    summaries: list[ColumnSummary | None], baseline: list[ColumnSummary]
) -> _Sizes | None:
    stds = [s.std for s in baseline if s.std]
    means = [s.mean for s in baseline if s.mean is not None]
    if not stds or not means or statistics.median(stds) <= 0:
        return None
    scale = statistics.median(stds)
    quartiles = {q for s in baseline for q in s.quantiles}
    center = ColumnSummary(
        "baseline",
        mean=statistics.median(means),
        quantiles={
            q: statistics.median(s.quantiles[q] for s in baseline if q in s.quantiles)
            for q in quartiles
        },
    )

    def apart(a: ColumnSummary | None, b: ColumnSummary | None) -> float | None:
        if a is None or b is None or a.mean is None or b.mean is None:
            return None
        moves = [abs(a.quantiles[q] - b.quantiles[q]) for q in a.quantiles if q in b.quantiles]
        quantile_move = statistics.fmean(moves) if moves else 0.0
        return max(abs(a.mean - b.mean), quantile_move) / scale

    return _Sizes(
        [apart(s, center) for s in summaries],
        [None, *(apart(b, a) for a, b in pairwise(summaries))],
        "std",
    )


def _categorical_sizes(
    summaries: list[ColumnSummary | None], baseline: list[ColumnSummary]
) -> _Sizes | None:
    shares = [s.shares for s in baseline if s.shares]
    if not shares:
        return None
    labels = {label for each in shares for label in each}
    center = {label: statistics.fmean(each.get(label, 0.0) for each in shares) for label in labels}

    def apart(a: dict[str, float] | None, b: dict[str, float] | None) -> float | None:
        if not a or not b:
            return None
        tvd = 0.5 * sum(abs(a.get(k, 0.0) - b.get(k, 0.0)) for k in a.keys() | b.keys())
        return 2 * _NORMAL.inv_cdf((1 + min(tvd, _TVD_CAP)) / 2)

    current = [s.shares if s else None for s in summaries]
    return _Sizes(
        [apart(s, center) for s in current],
        [None, *(apart(b, a) for a, b in pairwise(current))],
        "std",
    )


def _score_sizes(drifts: list[ColumnDrift | None]) -> _Sizes | None:
    """Without statistics, a distance's score in threshold units (Model Monitor's severity)."""
    if not any(d and d.direction == Direction.DISTANCE for d in drifts):
        return None
    levels = [
        d.value / d.threshold
        if d and d.direction == Direction.DISTANCE and d.value is not None and d.threshold
        else None
        for d in drifts
    ]
    steps = [
        None,
        *(abs(b - a) if a is not None and b is not None else None for a, b in pairwise(levels)),
    ]
    return _Sizes(levels, steps, "threshold")


# ---------------------------------------------------------------------------- drift


def _classify(
    schedule: Schedule,
    runs: list[_Run],
    column: str,
    drifts: list[ColumnDrift | None],
    sizes: _Sizes | None,
    policy: TriagePolicy,
) -> Finding | None:
    flags = [d.drifted if d else None for d in drifts]
    evidence = _evidence(runs, drifts, sizes, policy)
    found = _Builder(schedule, column, evidence)
    if flags[-1] is not True:
        hits = [i for i, flag in enumerate(flags) if flag]
        if flags[-1] is False and hits:
            return found.recovered(runs, hits[-1])
        # An unknown verdict (method not in the table, no drift test): only a leap can count.
        leap = _leap(sizes, len(runs) - 1, policy) if flags[-1] is None and drifts[-1] else None
        return found.sudden(runs, leap, sizes) if leap is not None else None
    onset = len(flags) - 1
    while onset > 0 and flags[onset - 1]:
        onset -= 1
    run = len(flags) - onset
    evidence.update(run_length=run, onset=runs[onset].at)
    leap = _leap(sizes, onset, policy)
    if leap is not None:
        return found.sudden(runs, leap, sizes)
    if run >= policy.drift_run_length:
        return found.sustained(runs, onset, run, sizes)
    return found.emerging(run, policy)


def _leap(sizes: _Sizes | None, onset: int, policy: TriagePolicy) -> int | None:
    """The first run from ``onset`` on whose step is both large and far faster than the
    history's own run-to-run movement (the median step before it)."""
    if sizes is None:
        return None
    least = policy.jump_min_shift if sizes.unit == "std" else policy.jump_min_step
    for i in range(max(onset, 1), len(sizes.steps)):
        step = sizes.steps[i]
        if step is None or step < least:
            continue
        before = [s for s in sizes.steps[1:i] if s is not None]
        pace = statistics.median(before) if len(before) >= 2 else 0.0
        level = sizes.levels[i]
        high_enough = sizes.unit == "std" or (level is not None and level >= policy.jump_min_ratio)
        if step >= PACE_FACTOR * pace and high_enough:
            return i
    return None


def _evidence(
    runs: list[_Run],
    drifts: list[ColumnDrift | None],
    sizes: _Sizes | None,
    policy: TriagePolicy,
) -> dict[str, Any]:
    latest = next((d for d in reversed(drifts) if d), None)
    points = [
        {"at": run.at, "drifted": d.drifted if d else None, "score": _round(d.value if d else None)}
        | ({"shift": _round(sizes.levels[i])} if sizes else {})
        for i, (run, d) in enumerate(zip(runs, drifts, strict=True))
    ]
    evidence: dict[str, Any] = {"series": points[-policy.history_window :]}
    if latest:
        evidence |= {
            "method": latest.method,
            "direction": str(latest.direction),
            "threshold": latest.threshold,
            "verdict_from": latest.verdict,
        }
    if sizes:
        evidence |= {"unit": sizes.unit, "latest_shift": _round(sizes.levels[-1])}
    return evidence


@dataclass(frozen=True, slots=True)
class _Builder:
    """Findings about one column of one stream, with their wording."""

    schedule: Schedule
    column: str
    evidence: dict[str, Any]

    @property
    def quoted(self) -> str:
        return f"'{_short(self.column)}'"

    def make(self, kind: FindingKind, summary: str, **extra: Any) -> Finding:
        return Finding(
            kind,
            self.schedule.name,
            str(self.schedule.monitor_type),
            self.column,
            f"evidently {_short(self.schedule.name)}: {summary}",
            self.evidence | extra,
        )

    def recovered(self, runs: list[_Run], last_hit: int) -> Finding:
        clean = len(runs) - 1 - last_hit
        return self.make(
            FindingKind.RECOVERED_DRIFT,
            f"drift on {self.quoted} at {runs[last_hit].at} recovered: clean for the {clean} "
            "run(s) since",
        )

    def sudden(self, runs: list[_Run], at: int, sizes: _Sizes | None) -> Finding:
        assert sizes is not None  # a leap is only found on sized columns
        step, level = sizes.steps[at] or 0.0, sizes.levels[at]
        before = [s for s in sizes.steps[1:at] if s is not None]
        pace = statistics.median(before) if len(before) >= 2 else None
        if sizes.unit == "std":
            moved = f"its statistics moved {step:.1f} baseline std in one run"
        else:
            moved = f"its score rose {step:.1f} threshold-widths in one run, to {_fmt(level)}x"
        faster = f", {step / pace:.0f}x its usual run-to-run movement" if pace else ""
        return self.make(
            FindingKind.SUDDEN_DRIFT,
            f"sudden drift jump on {self.quoted}: {moved} ({runs[at].at}){faster}"
            f"{_verdict_note(self.evidence)}",
            jump_at=runs[at].at,
            step=_round(step),
            pace=_round(pace),
            latest_ratio=_round(level) if sizes.unit == "threshold" else None,
        )

    def sustained(self, runs: list[_Run], onset: int, run: int, sizes: _Sizes | None) -> Finding:
        shift = sizes.levels[-1] if sizes else None
        how_far = ""
        if sizes and shift is not None:
            how_far = (
                f", now {shift:.2f} baseline std from where it started"
                if sizes.unit == "std"
                else f", now {shift:.1f}x its threshold"
            )
        trend = sparkline(sizes.levels[onset:]) if sizes else ""
        return self.make(
            FindingKind.SUSTAINED_DRIFT,
            f"gradual drift on {self.quoted} sustained for {run} runs since {runs[onset].at}"
            f"{how_far} ({_score(self.evidence)}) {trend}".rstrip(),
        )

    def emerging(self, run: int, policy: TriagePolicy) -> Finding:
        return self.make(
            FindingKind.EMERGING_DRIFT,
            f"drift on {self.quoted} for {run} run(s), fewer than the "
            f"{policy.drift_run_length} that make it sustained",
        )


def _score(evidence: dict[str, Any]) -> str:
    latest = evidence["series"][-1]
    comparison = "<" if evidence.get("direction") == Direction.P_VALUE else ">="
    return (
        f"{evidence.get('method')} {_fmt(latest['score'])} {comparison} {evidence.get('threshold')}"
    )


def _verdict_note(evidence: dict[str, Any]) -> str:
    if evidence.get("verdict_from") == "unknown":
        return f"; drift method '{evidence.get('method')}' is unknown, judged on statistics only"
    return ""


def _notes(schedule: Schedule, latest: _Run) -> list[str]:
    """What the ledger should know about how this stream was read."""
    unknown: dict[str, list[str]] = {}
    for drift in latest.report.drift.values():
        if drift.verdict == "unknown":  # a method not in the table, and no drift test
            unknown.setdefault(drift.method or "(none)", []).append(drift.column)
    return [
        f"evidently {schedule.name}: drift method '{_short(method)}' (columns "
        f"{_short(', '.join(sorted(cols)))}) "
        "is not an Evidently method triage knows, and the report has no drift test to say "
        "whether it drifted: those columns count only when their statistics leap (run the "
        "report with include_tests=True, or use a built-in method)"
        for method, cols in sorted(unknown.items())
    ]


# ---------------------------------------------------------------------------- integrity


def _integrity(
    schedule: Schedule, runs: list[_Run], base: list[_Run], policy: TriagePolicy
) -> list[Finding]:
    """Integrity of the stream's latest run; an unreadable latest run is judged incomplete."""
    if not base or not schedule.latest.complete or runs[-1].execution is not schedule.latest:
        return []
    latest = runs[-1].report
    checks: list[tuple[str, str, str, dict[str, Any]]] = []
    expected = set.intersection(*(run.report.column_names for run in base))
    for column in sorted(expected - latest.column_names):
        checks.append(
            (
                "missing_column_check",
                column,
                f"was in every baseline run ({base[0].at} .. {base[-1].at}) and is absent now",
                {},
            )
        )
    for column in sorted(expected & latest.column_names):
        checks += _column_checks(column, latest, base, policy)
    at = runs[-1].at
    return [
        Finding(
            FindingKind.INTEGRITY_VIOLATION,
            schedule.name,
            str(schedule.monitor_type),
            column,
            f"evidently {schedule.name}: {check} on '{_short(column)}' in the latest report {at}: "
            f"{what}",
            {"check": check, "at": at} | extra,
        )
        for check, column, what, extra in checks
    ]


def _column_checks(
    column: str, latest: EvidentlyReport, base: list[_Run], policy: TriagePolicy
) -> list[tuple[str, str, str, dict[str, Any]]]:
    summary = latest.columns.get(column)
    before = [s for run in base if (s := run.report.columns.get(column))]
    if summary is None or not before:
        return []
    checks = []
    kinds = [s.kind for s in before if s.kind != "other"]
    usual = _most_common(kinds)
    if usual and summary.kind not in {"other", usual}:
        checks.append(
            (
                "data_type_check",
                column,
                f"it was {usual} in the baseline runs and is {summary.kind} now",
                {"was": usual, "now": summary.kind},
            )
        )
    shares = [s.missing_share for s in before if s.missing_share is not None]
    if summary.missing_share is not None and shares:
        usual_share = statistics.median(shares)
        if summary.missing_share - usual_share >= policy.missing_share_increase:
            checks.append(
                (
                    "completeness_check",
                    column,
                    f"{summary.missing_share:.1%} of its values are missing, up from "
                    f"{usual_share:.1%} in the baseline runs",
                    {"value": _round(summary.missing_share), "baseline": _round(usual_share)},
                )
            )
    return checks


def _short(text: str, limit: int = 80) -> str:
    """Names come from report files: a summary quotes at most ``limit`` characters of one, so
    the triage summary stays within a Step Functions payload whatever a file holds."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _most_common(values: Sequence[str]) -> str | None:
    return max(set(values), key=values.count) if values else None


def _round(value: float | None, digits: int = 6) -> float | None:
    return None if value is None else round(value, digits)


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3g}"
