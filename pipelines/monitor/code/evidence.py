"""One window's Evidently report: the captured rows against the training baseline.

What goes in, and why:

- Features are the baseline's columns (less the target and prediction columns). A numeric column
  keeps numbers only: a value that is not a number counts as missing, so an upstream type break
  shows as a missing-values spike instead of failing the run.
- A feature that no captured row holds at all is left out of both datasets, as Evidently does for
  a dropped column: it is absent from the report. A feature present but empty in every row stays
  in DataSummaryPreset (missing share 1.0) but not in DataDriftPreset, which cannot test an empty
  column.
- Predictions and labels are compared with the baseline where the baseline holds them too (then
  the report is one ``Report.run``, like the triage examples); otherwise the quality preset runs on
  the labelled rows alone and its metrics are appended to the drift report's.
"""

from __future__ import annotations

import json
from argparse import Namespace
from typing import Any

import pandas as pd
from evidently import (
    BinaryClassification,
    DataDefinition,
    Dataset,
    MulticlassClassification,
    Regression,
    Report,
)
from evidently.presets import (
    ClassificationPreset,
    DataDriftPreset,
    DataSummaryPreset,
    RegressionPreset,
)


def evidently_report(
    baseline: pd.DataFrame, rows: list[dict[str, Any]], features: list[str], args: Namespace
) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(report, notes)``: Evidently's JSON (``{"metrics": [...], "tests": [...]}``) and what
    the run summary should say about it."""
    target, prediction = args.target_column, args.prediction_column
    present = [c for c in features if any(c in row for row in rows)]
    current = pd.DataFrame.from_records(rows).reindex(columns=[*present, prediction, target])
    numeric = [c for c in present if pd.api.types.is_numeric_dtype(baseline[c])]
    reference = baseline.copy()
    for column in present:
        for frame in (current, reference):
            if column in numeric:
                frame[column] = pd.to_numeric(frame[column], errors="coerce")
            else:
                frame[column] = frame[column].map(_text, na_action="ignore")
    labelled = _labelled(current, target, prediction, args.min_labelled_rows)
    extras = [
        c for c in (prediction, target) if c in reference.columns and current[c].notna().any()
    ]
    if target in extras and not labelled:
        extras.remove(target)
    drifting = [
        c for c in present + extras if current[c].notna().any() and reference[c].notna().any()
    ]
    quality_inside = labelled and {prediction, target} <= set(extras)
    for column in (prediction, target):
        for frame in (current, reference):
            if column in frame.columns:
                frame[column] = _outcome(frame[column], args, column == target)
    definition = _definition(present, numeric, extras, current, args, quality=quality_inside)
    metrics: list[Any] = [DataDriftPreset(columns=drifting), DataSummaryPreset()]
    if quality_inside:
        metrics.append(_quality_preset(args, current[prediction]))
    snapshot = Report(metrics).run(
        Dataset.from_pandas(current[present + extras], data_definition=definition),
        Dataset.from_pandas(reference[present + extras], data_definition=definition),
    )
    report = json.loads(snapshot.json())
    if labelled and not quality_inside:
        report = _append(report, _quality_only(current, args))
    notes = {
        "columns_analysed": present,
        "columns_missing": [c for c in features if c not in present],
        "drifted_columns": _drifted(report, len(drifting)),
        "quality": bool(labelled),
    }
    return report, notes


def _text(value: Any) -> str:
    # CSV cells that read as numbers arrive as floats: 3.0 and "3" are one category.
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _outcome(values: pd.Series, args: Namespace, is_target: bool) -> pd.Series:
    """Numbers for regression and scores; for class labels, whole numbers as ints (Evidently
    refuses float labels) and anything else as text."""
    numbers = pd.to_numeric(values, errors="coerce")
    if args.problem_type == "regression" or (not is_target and _probabilities(values)):
        return numbers
    if numbers.notna().sum() == values.notna().sum():
        labels = [None if pd.isna(v) else int(v) if float(v).is_integer() else v for v in numbers]
    else:
        labels = [None if pd.isna(v) else _text(v) for v in values]
    return pd.Series(labels, index=values.index, dtype=object)


def _labelled(current: pd.DataFrame, target: str, prediction: str, minimum: int) -> bool:
    both = current[target].notna() & current[prediction].notna()
    return int(both.sum()) >= minimum


def _definition(
    present: list[str],
    numeric: list[str],
    extras: list[str],
    current: pd.DataFrame,
    args: Namespace,
    quality: bool,
) -> DataDefinition:
    numerical = [c for c in present if c in numeric]
    categorical = [c for c in present if c not in numeric]
    target = args.target_column
    for column in extras:
        is_label = column == target or not _probabilities(current[column])
        if args.problem_type == "classification" and is_label:
            categorical.append(column)
        else:
            numerical.append(column)
    tasks = _tasks(current, args) if quality else {}
    return DataDefinition(numerical_columns=numerical, categorical_columns=categorical, **tasks)


def _tasks(current: pd.DataFrame, args: Namespace) -> dict[str, Any]:
    target, prediction = args.target_column, args.prediction_column
    if args.problem_type == "regression":
        return {"regression": [Regression(target=target, prediction=prediction)]}
    if _probabilities(current[prediction]):
        return {
            "classification": [
                BinaryClassification(target=target, prediction_probas=prediction, pos_label=1)
            ]
        }
    labels = set(current[target].dropna()) | set(current[prediction].dropna())
    if labels <= {0, 1}:
        return {
            "classification": [
                BinaryClassification(target=target, prediction_labels=prediction, pos_label=1)
            ]
        }
    return {
        "classification": [MulticlassClassification(target=target, prediction_labels=prediction)]
    }


def _probabilities(values: pd.Series) -> bool:
    """Scores in [0, 1] that are not all 0 or 1: a binary classifier's probabilities."""
    numbers = pd.to_numeric(values.dropna(), errors="coerce").dropna()
    if numbers.empty:
        return False
    return bool(numbers.between(0, 1).all() and not numbers.isin([0, 1]).all())


def _quality_preset(args: Namespace, predictions: pd.Series) -> Any:
    if args.problem_type == "regression":
        return RegressionPreset()
    if _probabilities(predictions):  # Evidently takes a threshold only with probabilities
        return ClassificationPreset(probas_threshold=args.classification_threshold)
    return ClassificationPreset()


def _quality_only(current: pd.DataFrame, args: Namespace) -> dict[str, Any]:
    """The quality preset on the labelled rows, without a reference (the baseline has no
    labels or predictions to compare quality with)."""
    target, prediction = args.target_column, args.prediction_column
    rows = current.loc[current[target].notna() & current[prediction].notna(), [target, prediction]]
    if args.problem_type == "regression":
        numerical, categorical = [target, prediction], []
    elif _probabilities(rows[prediction]):
        numerical, categorical = [prediction], [target]
    else:
        numerical, categorical = [], [target, prediction]
    definition = DataDefinition(
        numerical_columns=numerical, categorical_columns=categorical, **_tasks(rows, args)
    )
    snapshot = Report([_quality_preset(args, rows[prediction])]).run(
        Dataset.from_pandas(rows, data_definition=definition), None
    )
    return dict(json.loads(snapshot.json()))


def _append(report: dict[str, Any], more: dict[str, Any]) -> dict[str, Any]:
    return {
        "metrics": [*report.get("metrics", []), *more.get("metrics", [])],
        "tests": [*report.get("tests", []), *more.get("tests", [])],
    }


def _drifted(report: dict[str, Any], tested: int) -> dict[str, Any] | None:
    for metric in report.get("metrics", []):
        if str(metric.get("config", {}).get("type", "")).endswith(":DriftedColumnsCount"):
            value = metric.get("value") or {}
            return {"count": int(value.get("count", 0)), "share": value.get("share"), "of": tested}
    return None
