"""Read Evidently 0.7 reports: the JSON ``Report.run(...).json()`` / ``save_json`` writes, and the
full snapshot dump (``snapshot.dumps()`` / ``save``).

A report is a list of metrics, each ``{"id", "metric_name", "config": {"type", "column", "method",
"threshold", ...}, "value"}`` (plus ``"tests"``); a snapshot holds the same results under
``metric_results`` keyed by metric id, in Evidently's typed result models, with its own
``timestamp``. The format is read from the content, never from the file name. Triage reads what
three presets write: DataDriftPreset (``ValueDrift`` per column), DataSummaryPreset (missing
values, mean, std, quantiles, category shares per column) and Regression/ClassificationPreset
(quality metrics). Other metrics are ignored. A file that cannot be read leaves a problem naming
it: the execution is then incomplete, never a crash.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from mlops_core.reading import json_problem, to_float

SOURCE = "evidently"


class Direction(StrEnum):
    P_VALUE = "p_value"  # a test's p-value: drift when it is below the threshold
    DISTANCE = "distance"  # a distance or divergence: drift when it reaches the threshold
    UNKNOWN = "unknown"


_LT, _LE, _GT, _GE = operator.lt, operator.le, operator.gt, operator.ge

# Every drift method Evidently 0.7.23 registers (evidently/legacy/calculations/stattests), by its
# registered name and its display name (a ValueDrift config carries the display name when
# Evidently picked the method, the registered name when the user did), with the comparison each
# implementation applies to its own score: read from the code, not guessed from the names ("TVD"
# returns a p-value; K-S and Cramer-von Mises count a p-value equal to the threshold as drift).
_METHODS: tuple[tuple[str, str, Direction, Callable[[float, float], bool]], ...] = (
    ("anderson", "Anderson-Darling", Direction.P_VALUE, _LT),
    ("chisquare", "chi-square p_value", Direction.P_VALUE, _LT),
    ("cramer_von_mises", "Cramer-von Mises", Direction.P_VALUE, _LE),
    ("ed", "Energy-distance", Direction.DISTANCE, _GT),
    ("es", "Epps-Singleton", Direction.P_VALUE, _LT),
    ("fisher_exact", "Fisher's Exact test", Direction.P_VALUE, _LT),
    ("g_test", "g_test", Direction.P_VALUE, _LT),
    ("hellinger", "Hellinger distance", Direction.DISTANCE, _GE),
    ("jensenshannon", "Jensen-Shannon distance", Direction.DISTANCE, _GE),
    ("kl_div", "Kullback-Leibler divergence", Direction.DISTANCE, _GE),
    ("ks", "K-S p_value", Direction.P_VALUE, _LE),
    ("mannw", "Mann-Whitney U-rank test", Direction.P_VALUE, _LT),
    ("empirical_mmd", "empirical_mmd", Direction.P_VALUE, _LT),
    ("psi", "PSI", Direction.DISTANCE, _GE),
    ("t_test", "t_test", Direction.P_VALUE, _LT),
    ("TVD", "Total-Variation-Distance", Direction.P_VALUE, _LT),
    ("wasserstein", "Wasserstein distance (normed)", Direction.DISTANCE, _GE),
    ("z", "Z-test p_value", Direction.P_VALUE, _LT),
    # A domain classifier's ROC AUC: drift above the threshold.
    ("abs_text_content_drift", "Absolute text content drift", Direction.DISTANCE, _GT),
)
METHODS: dict[str, tuple[Direction, Callable[[float, float], bool]]] = {
    key.lower(): (direction, compare)
    for name, display, direction, compare in _METHODS
    for key in (name, display)
}
# "Percentile text content drift" compares its ROC AUC with a bootstrap percentile, not with the
# threshold it reports, and custom stattest functions ("custom function 'f'") can mean anything:
# neither is in the table. Their verdict comes from the report's own drift test when it has one
# (``include_tests=True``), else it is unknown and triage says so (mlops_core.evidently_triage).


def method_direction(method: str) -> Direction:
    known = METHODS.get(method.strip().lower())
    return known[0] if known else Direction.UNKNOWN


@dataclass(frozen=True, slots=True)
class ColumnDrift:
    """One ``ValueDrift`` result: the method's score against its threshold, read the right way."""

    column: str
    method: str
    value: float | None
    threshold: float | None
    direction: Direction
    drifted: bool | None  # None: the verdict is unknown
    # Where ``drifted`` comes from: "threshold" (the method's own comparison), "report test"
    # (Evidently's drift test in the report), "unknown" (a method not in the table, no test) or
    # "no score" (a known method whose score or threshold is missing).
    verdict: str


@dataclass(slots=True)
class ColumnSummary:
    """DataSummaryPreset's statistics of one column in one run."""

    column: str
    missing_share: float | None = None
    mean: float | None = None
    std: float | None = None
    quantiles: dict[float, float] = field(default_factory=dict)
    shares: dict[str, float] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        if self.mean is not None or self.std is not None or self.quantiles:
            return "numerical"
        return "categorical" if self.shares else "other"


@dataclass(slots=True)
class EvidentlyReport:
    """What triage reads from the report file(s) of one run."""

    formats: set[str] = field(default_factory=set)  # "report" and/or "snapshot"
    timestamp: datetime | None = None  # a snapshot's own
    drift: dict[str, ColumnDrift] = field(default_factory=dict)
    columns: dict[str, ColumnSummary] = field(default_factory=dict)
    quality: dict[str, float] = field(default_factory=dict)  # see _main_task
    task: str | None = None  # "regression" or "classification"
    tasks: dict[str, tuple[str, dict[str, float]]] = field(default_factory=dict, repr=False)
    rows: float | None = None
    problems: list[str] = field(default_factory=list)

    def column(self, name: str) -> ColumnSummary:
        summary = self.columns.get(name)
        if summary is None:
            summary = self.columns[name] = ColumnSummary(name)
        return summary

    @property
    def column_names(self) -> set[str]:
        return set(self.drift) | set(self.columns)


def report_format(doc: object) -> str | None:
    """The format of ``doc``: "report", "snapshot", or None when it is not Evidently output."""
    if not isinstance(doc, dict):
        return None
    if isinstance(doc.get("metric_results"), dict) and isinstance(
        doc.get("top_level_metrics"), list
    ):
        return "snapshot"
    metrics = doc.get("metrics")
    if isinstance(metrics, list) and (
        not metrics
        or any(
            isinstance(m, dict)
            and isinstance(m.get("config"), dict)
            and str(m["config"].get("type", "")).startswith("evidently:")
            for m in metrics
        )
    ):
        return "report"
    return None


def read_reports(contents: Mapping[str, bytes | str]) -> EvidentlyReport:
    """One run's files (``{file name: content}``) read into one report; problems name files."""
    report = EvidentlyReport()
    for name in sorted(contents):
        doc, problem = json_problem(name, contents[name])
        kind = report_format(doc)
        if problem:
            report.problems.append(problem)
        elif kind is None:
            report.problems.append(f"{name} is neither an Evidently report nor a snapshot")
        else:
            report.formats.add(kind)
            try:
                _read(doc, kind, report)
            except (TypeError, ValueError, AttributeError, KeyError) as error:
                # A shape this reader does not know: the run is incomplete, the lambda lives on.
                report.problems.append(f"{name}: unreadable Evidently {kind} ({error!r})")
    _main_task(report)
    if not report.problems and not (report.drift or report.columns or report.quality):
        report.problems.append(
            f"{', '.join(sorted(contents))}: no drift, summary or quality metric"
        )
    return report


def _read(doc: dict[str, Any], kind: str, report: EvidentlyReport) -> None:
    if kind == "snapshot":
        report.timestamp = _timestamp(doc.get("timestamp"))
        items: Iterable[_Item] = _snapshot_items(doc)
    else:
        items = _report_items(doc)
    verdicts = _drift_test_verdicts(doc, kind)
    for metric_id, config, value in items:
        handler = _HANDLERS.get(_metric_name(config.get("type")))
        if handler is not None:
            handler(config, value, verdicts.get(metric_id) if verdicts else None, report)


_Item = tuple[Any, dict[str, Any], object]  # metric id, config, value
_NAMES: dict[object, str] = {}


def _metric_name(type_name: object) -> str:
    """The short name of a metric type ("evidently:metric_v2:ValueDrift" -> "ValueDrift");
    a report repeats a few types thousands of times, so each is split once."""
    name = _NAMES.get(type_name)
    if name is None:
        name = str(type_name).rsplit(":", 1)[-1]
        if len(_NAMES) < 1024:  # files are untrusted: the cache of a warm function stays small
            _NAMES[type_name] = name
    return name


def _report_items(doc: dict[str, Any]) -> Iterator[_Item]:
    for item in doc.get("metrics") or []:
        config = item.get("config") if isinstance(item, dict) else None
        if isinstance(config, dict):
            yield item.get("id"), config, item.get("value")


def _snapshot_items(doc: dict[str, Any]) -> Iterator[_Item]:
    results = doc["metric_results"]
    for metric_id in doc["top_level_metrics"]:
        result = results.get(metric_id)
        if not isinstance(result, dict):
            continue
        location = result.get("metric_value_location") or {}
        config = (location.get("metric") or {}).get("params")
        if isinstance(config, dict):
            yield metric_id, config, _simple(result)


def _simple(result: object) -> object:
    """A typed snapshot result as the report JSON writes its value (MetricResult.to_simple_dict):
    SingleValue -> number, CountValue -> {count, share}, MeanStdValue -> {mean, std},
    ByLabelValue -> {label: number}, ByLabelCountValue -> {counts, shares}."""
    if not isinstance(result, dict):
        return result
    if "value" in result:
        return result["value"]
    if isinstance(result.get("values"), dict):
        return {label: _simple(v) for label, v in result["values"].items()}
    simple: dict[str, object] = {}
    for key in ("count", "share", "mean", "std"):
        if key in result:
            simple[key] = _simple(result[key])
    for key in ("counts", "shares"):
        if isinstance(result.get(key), dict):
            simple[key] = {label: _simple(v) for label, v in result[key].items()}
    return simple


def _drift_test_verdicts(doc: dict[str, Any], kind: str) -> dict[str, bool]:
    """Evidently's own drift verdict per ValueDrift metric id, when the report ran its tests."""
    verdicts: dict[str, bool] = {}
    if kind == "snapshot":
        results = doc["metric_results"]
        pairs = [
            (metric_id, test)
            for metric_id, result in results.items()
            if isinstance(result, dict)
            for test in result.get("tests") or []
        ]
    else:
        pairs = [
            (str((test.get("metric_config") or {}).get("metric_id", "")), test)
            for test in doc.get("tests") or []
            if isinstance(test, dict)
        ]
    for metric_id, test in pairs:
        if isinstance(test, dict) and test.get("id") == "drift" and test.get("status"):
            verdicts[metric_id] = str(test["status"]).upper() == "FAIL"
    return verdicts


# Quality metrics by Evidently metric type: our name, and how to take the number from the value.
# MAPE is read but never a headline metric: it explodes when targets are near zero.
_QUALITY = {
    "MAE": "mae",
    "RMSE": "rmse",
    "R2Score": "r2",
    "MAPE": "mape",
    "AbsMaxError": "max_error",
    "Accuracy": "accuracy",
    "Precision": "precision",
    "Recall": "recall",
    "F1Score": "f1",
    "RocAuc": "auc",
    "LogLoss": "logloss",
    "FPR": "false_positive_rate",
    "FNR": "false_negative_rate",
    "TPR": "true_positive_rate",
    "TNR": "true_negative_rate",
}
_REGRESSION = frozenset({"MAE", "RMSE", "R2Score", "MAPE", "AbsMaxError", "MeanError"})


_Handler = Callable[[dict[str, Any], object, bool | None, EvidentlyReport], None]


def _value_drift(
    config: dict[str, Any], value: object, verdict: bool | None, report: EvidentlyReport
) -> None:
    column = config.get("column")
    if column is None:
        return
    drift, seen = _drift(config, value, verdict), report.drift.get(str(column))
    # A column scored by several methods drifts when any of them says so.
    if seen is None or _rank(drift) > _rank(seen):
        report.drift[str(column)] = drift


def _rows(config: dict[str, Any], value: object, _: bool | None, report: EvidentlyReport) -> None:
    report.rows = to_float(value)


def _drift(config: dict[str, Any], value: object, verdict: bool | None) -> ColumnDrift:
    method = str(config.get("method") or "")
    score, threshold = to_float(value), to_float(config.get("threshold"))
    known = METHODS.get(method.strip().lower())
    column = str(config["column"])
    if known and score is not None and threshold is not None:
        direction, compare = known
        drifted = compare(score, threshold)
        return ColumnDrift(column, method, score, threshold, direction, drifted, "threshold")
    return ColumnDrift(
        column,
        method,
        score,
        threshold,
        known[0] if known else Direction.UNKNOWN,
        verdict,
        "report test" if verdict is not None else "unknown" if not known else "no score",
    )


def _rank(drift: ColumnDrift) -> int:
    return {True: 2, False: 1, None: 0}[drift.drifted]


def _missing(summary: ColumnSummary, config: dict[str, Any], value: object) -> None:
    summary.missing_share = to_float(value.get("share")) if isinstance(value, dict) else None


def _mean(summary: ColumnSummary, config: dict[str, Any], value: object) -> None:
    summary.mean = to_float(value)


def _std(summary: ColumnSummary, config: dict[str, Any], value: object) -> None:
    summary.std = to_float(value)


def _quantile(summary: ColumnSummary, config: dict[str, Any], value: object) -> None:
    quantile, number = to_float(config.get("quantile")), to_float(value)
    if quantile is not None and number is not None:
        summary.quantiles[quantile] = number


def _shares(summary: ColumnSummary, config: dict[str, Any], value: object) -> None:
    shares = value.get("shares") if isinstance(value, dict) else None
    if isinstance(shares, dict):
        summary.shares = {
            str(label): share
            for label, raw in shares.items()
            if (share := to_float(raw)) is not None
        }


def _summary(apply: Callable[[ColumnSummary, dict[str, Any], object], None]) -> _Handler:
    def handle(
        config: dict[str, Any], value: object, _: bool | None, report: EvidentlyReport
    ) -> None:
        column = config.get("column")
        if column is not None:
            apply(report.column(str(column)), config, value)

    return handle


def _quality(metric: str) -> _Handler:
    name, kind = _QUALITY[metric], "regression" if metric in _REGRESSION else "classification"

    def handle(
        config: dict[str, Any], value: object, _: bool | None, report: EvidentlyReport
    ) -> None:
        # MAE and MAPE carry {"mean", "std"} of the per-row error; the rest are single numbers.
        number = to_float(value.get("mean")) if isinstance(value, dict) else to_float(value)
        if number is None:
            return
        task = str(config.get("regression_name") or config.get("classification_name") or "default")
        report.tasks.setdefault(task, (kind, {}))[1][name] = number

    return handle


_HANDLERS: dict[str, _Handler] = {
    "ValueDrift": _value_drift,
    "MissingValueCount": _summary(_missing),
    "MeanValue": _summary(_mean),
    "StdValue": _summary(_std),
    "QuantileValue": _summary(_quantile),
    "UniqueValueCount": _summary(_shares),
    "RowCount": _rows,
    **{metric: _quality(metric) for metric in _QUALITY},
}


def _main_task(report: EvidentlyReport) -> None:
    """A report may evaluate several named regressions/classifications: the one named "default"
    (or else the first by name) gives the headline metrics, the others are kept as "name:metric"."""
    if not report.tasks:
        return
    main = "default" if "default" in report.tasks else min(report.tasks)
    report.task = report.tasks[main][0]
    for task, (_, metrics) in sorted(report.tasks.items()):
        prefix = "" if task == main else f"{task}:"
        report.quality.update({prefix + name: v for name, v in metrics.items()})


def _timestamp(raw: object) -> datetime | None:
    if not isinstance(raw, str):
        return None
    try:
        stamp = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None
    return stamp.replace(tzinfo=UTC) if stamp.tzinfo is None else stamp.astimezone(UTC)
