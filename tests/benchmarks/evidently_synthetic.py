"""A large Evidently history for one endpoint, in the JSON ``Report.run(...).json()`` writes.

``runs`` hourly reports of DataDriftPreset + DataSummaryPreset + RegressionPreset over
``columns`` columns (one in ten categorical), with every metric those presets write for a column
(the ValueDrift score; missing values; min, max, mean, std and three quartiles, or the category
counts and shares) and the dataset and regression metrics. The scenario is the expensive one for
triage: gradual drift on ``drifting`` columns, sustained to the latest run, with a rising MAE,
so every column's series is sized and the decision is a retrain.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta

from tests.evidently_files import metric

START = datetime(2026, 6, 1, tzinfo=UTC)
CATEGORICAL_EVERY = 10
CATEGORIES = ("card", "cash", "transfer", "voucher")


def _numerical(name: str, shift: float, rng: random.Random) -> list[dict[str, object]]:
    mean = shift + rng.gauss(0.0, 0.03)
    std = 1.0 + rng.gauss(0.0, 0.02)
    # K-S p-values (a reference of <= 1000 rows): saturated once the column moved.
    p_value = 0.0 if shift >= 0.15 else rng.uniform(0.06, 0.95)
    return [
        metric("ValueDrift", p_value, column=name, method="K-S p_value", threshold=0.05),
        metric("MissingValueCount", {"count": 0.0, "share": 0.0}, column=name),
        metric("MinValue", mean - 3.1 * std, column=name),
        metric("MaxValue", mean + 3.2 * std, column=name),
        metric("MeanValue", mean, column=name),
        metric("StdValue", std, column=name),
        *(
            metric("QuantileValue", mean + z * std, column=name, quantile=q)
            for q, z in ((0.25, -0.674), (0.5, 0.0), (0.75, 0.674))
        ),
    ]


def _categorical(name: str, rng: random.Random) -> list[dict[str, object]]:
    counts = {c: float(rng.randint(100, 300)) for c in CATEGORIES}
    total = sum(counts.values())
    return [
        metric(
            "ValueDrift",
            rng.uniform(0.06, 0.9),
            column=name,
            method="chi-square p_value",
            threshold=0.05,
        ),
        metric("MissingValueCount", {"count": 0.0, "share": 0.0}, column=name),
        metric(
            "UniqueValueCount",
            {"counts": counts, "shares": {c: n / total for c, n in counts.items()}},
            column=name,
        ),
    ]


def _dataset(columns: int) -> list[dict[str, object]]:
    counts = ("RowCount", "DuplicatedRowCount", "DuplicatedColumnsCount", "EmptyRowsCount")
    return [
        metric("DriftedColumnsCount", {"count": 0.0, "share": 0.0}, drift_share=0.5),
        metric("ColumnCount", float(columns)),
        *(metric(kind, 1000.0 if kind == "RowCount" else 0.0) for kind in counts),
        metric("DatasetMissingValueCount", {"count": 0.0, "share": 0.0}),
    ]


def _regression(mae: float) -> list[dict[str, object]]:
    name = {"regression_name": "default"}
    return [
        metric("MeanError", {"mean": 0.01, "std": mae * 1.2}, **name),
        metric("MAPE", {"mean": 4.2e16, "std": 1e15}, **name),  # explodes near zero targets
        metric("RMSE", mae * 1.25, **name),
        metric("MAE", {"mean": mae, "std": mae * 0.8}, **name),
        metric("R2Score", 0.9 - mae / 4, **name),
        metric("AbsMaxError", mae * 6, **name),
    ]


def endpoint_history(
    columns: int = 200, runs: int = 30, drifting: int = 40, seed: int = 7
) -> dict[str, bytes]:
    """``{"<stream>/<yyyy>/<mm>/<dd>/<hh>/report.json": bytes}`` for one endpoint."""
    rng = random.Random(seed)
    files: dict[str, bytes] = {}
    onset = runs * 2 // 3
    for i in range(runs):
        shift = max(0, i - onset + 1) * 0.12  # the drifting columns' mean, in std
        metrics = _dataset(columns)
        for c in range(columns):
            name = f"feature_{c:03d}"
            if c % CATEGORICAL_EVERY == CATEGORICAL_EVERY - 1:
                metrics += _categorical(name, rng)
            else:
                metrics += _numerical(name, shift if c < drifting else 0.0, rng)
        metrics += _regression(0.8 * 1.04 ** max(0, i - onset + 1))
        at = START + timedelta(hours=i)
        files[f"churn-reports/{at:%Y/%m/%d/%H}/report.json"] = json.dumps(
            {"metrics": metrics, "tests": []}
        ).encode()
    return files
