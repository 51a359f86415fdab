"""Read one endpoint's monitoring evidence into typed executions, whatever wrote it.

Every evidence stream writes one folder per execution, ``<stream>/<yyyy>/<mm>/<dd>/<hh>/``.
SageMaker Model Monitor puts ``constraint_violations.json`` and either ``statistics.json`` (data
quality, model quality) or ``analysis.json`` (Clarify bias drift, feature attribution drift)
there; an Evidently monitor puts its report(s), any ``*.json`` name (mlops_core.evidently). The
monitor type is read from the files themselves, never from folder or file names. A file that is
missing, empty or unreadable makes the execution *incomplete*: it is reported, and never used as
evidence for a retrain.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from mlops_core.evidently import SOURCE as EVIDENTLY
from mlops_core.evidently import EvidentlyReport, read_reports
from mlops_core.reading import json_problem
from mlops_core.reading import to_float as _to_float

VIOLATIONS_FILE = "constraint_violations.json"
STATISTICS_FILE = "statistics.json"
ANALYSIS_FILE = "analysis.json"
KNOWN_FILES = frozenset({VIOLATIONS_FILE, STATISTICS_FILE, ANALYSIS_FILE})


_EXECUTION_PATH = re.compile(
    r"(?:^|/)(?P<schedule>[^/]+)/(?P<y>\d{4})/(?P<m>\d{2})/(?P<d>\d{2})/(?P<h>\d{2})/(?P<file>[^/]+)$"
)


class MonitorType(StrEnum):
    DATA_QUALITY = "data_quality"
    MODEL_QUALITY = "model_quality"
    BIAS_DRIFT = "bias_drift"
    FEATURE_ATTRIBUTION_DRIFT = "feature_attribution_drift"
    EVIDENTLY_REPORT = "evidently_report"  # drift, data summary and quality in one report


MODEL_MONITOR = "model_monitor"


# Data-quality checks that mean the inputs no longer look like the baseline's schema or integrity.
INTEGRITY_CHECKS = frozenset(
    {
        "data_type_check",
        "missing_column_check",
        "extra_column_check",
        "completeness_check",
        "categorical_values_check",
    }
)
DRIFT_CHECK = "baseline_drift_check"
ATTRIBUTION_CHECK = "feature_attribution_drift_check"
BIAS_CHECK = "bias_drift_check"

_NUMBER = r"[-+]?(?:\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+|Infinity|NaN)"
_DRIFT_DESC = re.compile(rf"distance:?\s*({_NUMBER})\s*exceeds threshold:?\s*({_NUMBER})", re.I)
_ATTRIBUTION_DESC = re.compile(rf"drift\s*({_NUMBER})\s*exceeds threshold\s*({_NUMBER})", re.I)
_QUALITY_DESC = re.compile(
    rf"Metric\s+\S+\s+with\s+({_NUMBER})(?:\s*\+/-\s*{_NUMBER})?\s+was\s+\w+\s+({_NUMBER})", re.I
)
_BIAS_DESC = re.compile(
    rf"value\s+({_NUMBER})\s+(?:does not|doesn't) meet the(?: baseline)? constraint requirement"
    rf"(?:\s+({_NUMBER}))?",
    re.I,
)
_PERCENT_PRESENT = re.compile(rf"Only\s+({_NUMBER})%", re.I)
_VALUE_COLON = re.compile(rf"Value:\s*({_NUMBER})", re.I)


@dataclass(frozen=True, slots=True)
class Violation:
    """One entry of constraint_violations.json, with the numbers its description carries."""

    check: str
    subject: str
    description: str
    value: float | None = None
    threshold: float | None = None

    @property
    def severity(self) -> float | None:
        """How many times past its threshold the check is (1.0 = exactly at the threshold).

        Drift distances grow with drift, so severity is distance / threshold. Feature attribution
        drift is a similarity score (nDCG: 1.0 means unchanged) reported "exceeding" a threshold
        while it is below it, so its severity is (1 - score) / (1 - threshold).
        """
        if self.value is None or self.threshold is None:
            return None
        if self.check == ATTRIBUTION_CHECK and self.value < self.threshold < 1.0:
            return (1.0 - self.value) / (1.0 - self.threshold)
        if self.threshold > 0:
            return self.value / self.threshold
        return None


@dataclass(frozen=True, slots=True)
class FeatureStats:
    name: str
    inferred_type: str
    present: int
    missing: int
    mean: float | None = None
    std_dev: float | None = None

    @property
    def missing_ratio(self) -> float:
        total = self.present + self.missing
        return self.missing / total if total else 0.0


@dataclass(slots=True)
class Execution:
    """One monitoring execution of one schedule."""

    schedule: str
    at: datetime
    files: frozenset[str]
    monitor_type: MonitorType | None = None
    violations: tuple[Violation, ...] | None = None  # None: constraint_violations.json unreadable
    raw_features: dict[str, dict[str, object]] = field(default_factory=dict, repr=False)
    metrics: dict[str, float] = field(default_factory=dict)
    problem_type: str | None = None
    bias_metrics: dict[str, float] = field(default_factory=dict)
    attributions: dict[str, dict[str, float]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    report: EvidentlyReport | None = None  # an Evidently run's reading

    def feature(self, name: str) -> FeatureStats | None:
        """A feature's statistics. Built on demand: an analyzer statistics.json holds hundreds
        of features per execution and triage looks at a handful of them."""
        raw = self.raw_features.get(name)
        return _feature_stats(raw) if raw is not None else None

    @property
    def features(self) -> dict[str, FeatureStats]:
        return {name: stats for name in self.raw_features if (stats := self.feature(name))}

    @property
    def stamp(self) -> str:
        return self.at.strftime("%Y-%m-%dT%H:%MZ")

    @property
    def complete(self) -> bool:
        return not self.problems

    def violations_of(self, checks: Iterable[str]) -> list[Violation]:
        wanted = set(checks)
        return [v for v in self.violations or () if v.check in wanted]


@dataclass(slots=True)
class Schedule:
    name: str
    monitor_type: MonitorType | None
    executions: list[Execution]

    @property
    def latest(self) -> Execution:
        return self.executions[-1]

    @property
    def source(self) -> str:
        """Who wrote the stream: "model_monitor" or "evidently"."""
        return EVIDENTLY if self.monitor_type == MonitorType.EVIDENTLY_REPORT else MODEL_MONITOR

    @property
    def complete_executions(self) -> list[Execution]:
        return [e for e in self.executions if e.complete]


@dataclass(slots=True)
class MonitoringHistory:
    """All schedules of one endpoint, each with its executions oldest first."""

    schedules: list[Schedule]

    def of_type(self, monitor_type: MonitorType) -> list[Schedule]:
        return [s for s in self.schedules if s.monitor_type == monitor_type]

    @property
    def incomplete(self) -> list[Execution]:
        return [e for s in self.schedules for e in s.executions if not e.complete]


def execution_key(path: str) -> tuple[str, datetime, str] | None:
    """(schedule, execution time, file name) for a path in Model Monitor's layout, else None."""
    match = _EXECUTION_PATH.search(path.replace("\\", "/"))
    if not match:
        return None
    try:
        at = datetime(
            int(match["y"]), int(match["m"]), int(match["d"]), int(match["h"]), tzinfo=UTC
        )
    except ValueError:
        return None
    return match["schedule"], at, match["file"]


def is_evidence(name: str) -> bool:
    """Whether a file in an execution folder may be monitoring output (every writer's is JSON)."""
    return name.endswith(".json")


def latest_executions(paths: Iterable[str], per_schedule: int) -> set[tuple[str, datetime]]:
    """The newest ``per_schedule`` executions of each schedule: lets callers fetch only those."""
    by_schedule: dict[str, set[datetime]] = {}
    for path in paths:
        key = execution_key(path)
        if key and is_evidence(key[2]):
            by_schedule.setdefault(key[0], set()).add(key[1])
    return {
        (name, at) for name, stamps in by_schedule.items() for at in sorted(stamps)[-per_schedule:]
    }


def load_history(
    files: Mapping[str, bytes | str], per_schedule: int | None = None
) -> MonitoringHistory:
    """Build the history from ``{relative path: file content}``; other files are ignored."""
    grouped: dict[tuple[str, datetime], dict[str, bytes | str]] = {}
    for path, content in files.items():
        key = execution_key(path)
        if key and is_evidence(key[2]):
            grouped.setdefault((key[0], key[1]), {})[key[2]] = content
    if per_schedule is not None:
        keep = latest_executions(
            (f"{s}/{at:%Y/%m/%d/%H}/{f}" for (s, at), fs in grouped.items() for f in fs),
            per_schedule,
        )
        grouped = {k: v for k, v in grouped.items() if k in keep}

    by_schedule: dict[str, list[Execution]] = {}
    for (schedule, at), contents in sorted(grouped.items(), key=lambda kv: kv[0]):
        by_schedule.setdefault(schedule, []).append(_parse_any(schedule, at, contents))
    schedules = [
        Schedule(name, _schedule_type(executions), executions)
        for name, executions in sorted(by_schedule.items())
    ]
    for each in schedules:
        for execution in each.executions:
            if execution.monitor_type is None:
                execution.monitor_type = each.monitor_type
    return MonitoringHistory(schedules)


def _parse_any(schedule: str, at: datetime, contents: Mapping[str, bytes | str]) -> Execution:
    """Model Monitor's files make a Model Monitor execution (other files beside them are not its
    output); any other JSON is read as Evidently report(s)."""
    if KNOWN_FILES & contents.keys():
        return parse_execution(
            schedule, at, {k: v for k, v in contents.items() if k in KNOWN_FILES}
        )
    return parse_evidently(schedule, at, contents)


def parse_evidently(schedule: str, at: datetime, contents: Mapping[str, bytes | str]) -> Execution:
    report = read_reports(contents)
    stamp = report.timestamp
    # A snapshot knows its time to the second; the folder's hour stays authoritative.
    if stamp is not None and at <= stamp < at + timedelta(hours=1):
        at = stamp
    return Execution(
        schedule=schedule,
        at=at,
        files=frozenset(contents),
        monitor_type=MonitorType.EVIDENTLY_REPORT,
        metrics=report.quality,
        problem_type=report.task,
        problems=report.problems,
        report=report,
    )


def parse_execution(schedule: str, at: datetime, contents: Mapping[str, bytes | str]) -> Execution:
    execution = Execution(schedule=schedule, at=at, files=frozenset(contents))
    violations_doc = _read_json(contents, VIOLATIONS_FILE, execution)
    if violations_doc is not None:
        execution.violations = _parse_violations(violations_doc, execution)

    statistics = _read_json(contents, STATISTICS_FILE, execution, required=False)
    analysis = _read_json(contents, ANALYSIS_FILE, execution, required=False)
    if statistics is None and analysis is None and not _unreadable(execution):
        execution.problems.append(f"neither {STATISTICS_FILE} nor {ANALYSIS_FILE} present")
    if isinstance(statistics, dict):
        _parse_statistics(statistics, execution)
    if isinstance(analysis, dict):
        _parse_analysis(analysis, execution)
    if execution.monitor_type is None:
        execution.monitor_type = _type_from_violations(execution.violations or ())
    return execution


def _unreadable(execution: Execution) -> bool:
    return any(STATISTICS_FILE in p or ANALYSIS_FILE in p for p in execution.problems)


def _read_json(
    contents: Mapping[str, bytes | str], name: str, execution: Execution, *, required: bool = True
) -> object | None:
    if name not in contents:
        if required:
            execution.problems.append(f"{name} missing")
        return None
    doc, problem = json_problem(name, contents[name])
    if problem:
        execution.problems.append(problem)
    return doc


def _parse_violations(doc: object, execution: Execution) -> tuple[Violation, ...]:
    entries = doc.get("violations") if isinstance(doc, dict) else None
    if not isinstance(entries, list):
        execution.problems.append(f"{VIOLATIONS_FILE} has no 'violations' list")
        return ()
    return tuple(_violation(entry) for entry in entries if isinstance(entry, dict))


def _violation(entry: dict[str, object]) -> Violation:
    check = str(entry.get("constraint_check_type", "unknown"))
    description = str(entry.get("description", ""))
    if "facet" in entry:
        subject = f"{entry.get('facet')}={entry.get('facet_value', '')}:{entry.get('metric_name')}"
    elif "label" in entry and check == ATTRIBUTION_CHECK:
        subject = str(entry["label"])
    else:
        subject = str(entry.get("feature_name") or entry.get("metric_name") or "")
    value, threshold = _numbers_in(check, description)
    return Violation(check, subject, description, value, threshold)


def _numbers_in(check: str, description: str) -> tuple[float | None, float | None]:
    patterns: list[re.Pattern[str]]
    if check == DRIFT_CHECK:
        patterns = [_DRIFT_DESC]
    elif check == ATTRIBUTION_CHECK:
        patterns = [_ATTRIBUTION_DESC]
    elif check == BIAS_CHECK:
        patterns = [_BIAS_DESC]
    elif check in INTEGRITY_CHECKS:
        match = _PERCENT_PRESENT.search(description)
        if match:
            return _ratio(match[1]), None
        match = _VALUE_COLON.search(description)
        return (_to_float(match[1]) if match else None), None
    else:
        patterns = [_QUALITY_DESC]
    for pattern in patterns:
        match = pattern.search(description)
        if match:
            groups = match.groups()
            threshold = _to_float(groups[1]) if len(groups) > 1 and groups[1] else None
            return _to_float(groups[0]), threshold
    return None, None


def _ratio(percent: str) -> float | None:
    value = _to_float(percent)
    return None if value is None else value / 100.0


def _parse_statistics(doc: dict[str, object], execution: Execution) -> None:
    features = doc.get("features")
    if isinstance(features, list):
        execution.monitor_type = MonitorType.DATA_QUALITY
        execution.raw_features = {
            str(f["name"]): f for f in features if isinstance(f, dict) and "name" in f
        }
        return
    for key, section in doc.items():
        if key.endswith("_metrics") and isinstance(section, dict):
            execution.monitor_type = MonitorType.MODEL_QUALITY
            execution.problem_type = key.removesuffix("_metrics")
            for name, metric in section.items():
                value = _to_float(metric.get("value")) if isinstance(metric, dict) else None
                if value is not None:
                    execution.metrics[name] = value
            return
    execution.problems.append(f"{STATISTICS_FILE} has neither 'features' nor '*_metrics'")


def _feature_stats(feature: object) -> FeatureStats | None:
    if not isinstance(feature, dict) or "name" not in feature:
        return None
    numerical = feature.get("numerical_statistics")
    section = numerical if isinstance(numerical, dict) else feature.get("string_statistics")
    section = section if isinstance(section, dict) else {}
    raw_common = section.get("common")
    common = raw_common if isinstance(raw_common, dict) else {}
    return FeatureStats(
        name=str(feature["name"]),
        inferred_type=str(feature.get("inferred_type", "Unknown")),
        present=int(_to_float(common.get("num_present")) or 0),
        missing=int(_to_float(common.get("num_missing")) or 0),
        mean=_to_float(section.get("mean")),
        std_dev=_to_float(section.get("std_dev")),
    )


def _parse_analysis(doc: dict[str, object], execution: Execution) -> None:
    bias_sections = [doc.get("post_training_bias_metrics"), doc.get("pre_training_bias_metrics")]
    if any(isinstance(s, dict) for s in bias_sections):
        execution.monitor_type = MonitorType.BIAS_DRIFT
        for section in bias_sections:
            if isinstance(section, dict):
                _collect_bias(section, execution.bias_metrics)
        return
    explanations = doc.get("explanations")
    if isinstance(explanations, dict):
        execution.monitor_type = MonitorType.FEATURE_ATTRIBUTION_DRIFT
        for method in explanations.values():
            if not isinstance(method, dict):
                continue
            for label, body in method.items():
                values = body.get("global_shap_values") if isinstance(body, dict) else None
                if isinstance(values, dict):
                    execution.attributions[str(label)] = {
                        str(k): v for k, raw in values.items() if (v := _to_float(raw)) is not None
                    }
        return
    execution.problems.append(f"{ANALYSIS_FILE} has neither bias metrics nor explanations")


def _collect_bias(section: dict[str, object], into: dict[str, float]) -> None:
    facets = section.get("facets")
    if not isinstance(facets, dict):
        return
    for facet, groups in facets.items():
        for group in groups if isinstance(groups, list) else []:
            if not isinstance(group, dict):
                continue
            for metric in group.get("metrics") or []:
                value = _to_float(metric.get("value")) if isinstance(metric, dict) else None
                if value is not None:
                    key = f"{facet}={group.get('value_or_threshold', '')}:{metric.get('name')}"
                    into[key] = value


def _type_from_violations(violations: Iterable[Violation]) -> MonitorType | None:
    for violation in violations:
        if violation.check == BIAS_CHECK:
            return MonitorType.BIAS_DRIFT
        if violation.check == ATTRIBUTION_CHECK:
            return MonitorType.FEATURE_ATTRIBUTION_DRIFT
        if violation.check == DRIFT_CHECK or violation.check in INTEGRITY_CHECKS:
            return MonitorType.DATA_QUALITY
        if "Threshold" in violation.check or "Bound" in violation.check:
            return MonitorType.MODEL_QUALITY
    return None


def _schedule_type(executions: list[Execution]) -> MonitorType | None:
    counts: dict[MonitorType, int] = {}
    for execution in executions:
        if execution.monitor_type is not None:
            counts[execution.monitor_type] = counts.get(execution.monitor_type, 0) + 1
    return max(counts, key=lambda t: counts[t]) if counts else None
