"""Build Evidently 0.7 reports in their real JSON shape, for tests of single rules.

The shapes follow what ``Report.run(...).json()`` writes (see tests/fixtures/samples/evidently
and examples/triage-cases/evidently-dev): ``{"metrics": [{"id", "metric_name", "config":
{"type": "evidently:metric_v2:<Type>", ...}, "value"}], "tests": []}``. A column is described run
by run: its drift score (None: absent from that run), mean, std, missing share, or category
shares for a categorical column.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

START = datetime(2026, 7, 1, tzinfo=UTC)
QUARTILES = {0.25: -0.674, 0.5: 0.0, 0.75: 0.674}  # a normal column's quartiles, in std units


@dataclass
class Column:
    name: str
    scores: Sequence[float | None]  # ValueDrift value per run; None: the column is absent
    method: str = "K-S p_value"
    threshold: float = 0.05
    means: Sequence[float] | None = None  # numerical: DataSummaryPreset statistics per run
    std: float = 1.0
    missing: Sequence[float] | None = None  # missing share per run
    shares: Sequence[dict[str, float]] | None = None  # categorical: category shares per run


def metric(kind: str, value: object, **config: object) -> dict[str, object]:
    params = ",".join(f"{k}={v}" for k, v in config.items())
    name = f"{kind}({params})"
    return {
        "id": hashlib.md5(name.encode()).hexdigest(),  # an id, as Evidently's are
        "metric_name": name,
        "config": {"type": f"evidently:metric_v2:{kind}", **config},
        "value": value,
    }


def column_metrics(column: Column, i: int) -> list[dict[str, object]]:
    score = column.scores[i]
    if score is None:
        return []
    items = [
        metric(
            "ValueDrift",
            score,
            column=column.name,
            method=column.method,
            threshold=column.threshold,
        )
    ]
    share = column.missing[i] if column.missing else 0.0
    items.append(
        metric("MissingValueCount", {"count": share * 1000, "share": share}, column=column.name)
    )
    if column.shares is not None:
        shares = column.shares[i]
        counts = {k: v * 1000 for k, v in shares.items()}
        items.append(
            metric("UniqueValueCount", {"counts": counts, "shares": shares}, column=column.name)
        )
    elif column.means is not None:
        mean = column.means[i]
        items += [
            metric("MeanValue", mean, column=column.name),
            metric("StdValue", column.std, column=column.name),
            *(
                metric("QuantileValue", mean + z * column.std, column=column.name, quantile=q)
                for q, z in QUARTILES.items()
            ),
        ]
    return items


def quality_metrics(quality: dict[str, Sequence[float]], i: int) -> list[dict[str, object]]:
    items = []
    for name, values in quality.items():
        value: object = values[i]
        if name in {"MAE", "MAPE"}:
            value = {"mean": values[i], "std": values[i] / 2}
        task = (
            "regression_name"
            if name in {"MAE", "RMSE", "R2Score", "MAPE"}
            else ("classification_name")
        )
        items.append(metric(name, value, **{task: "default"}))
    return items


def report(
    columns: Sequence[Column], quality: dict[str, Sequence[float]] | None, i: int
) -> dict[str, object]:
    metrics = [metric("DriftedColumnsCount", {"count": 0.0, "share": 0.0}, drift_share=0.5)]
    for column in columns:
        metrics += column_metrics(column, i)
    metrics += quality_metrics(quality or {}, i)
    return {"metrics": metrics, "tests": []}


@dataclass
class Stream:
    """Hourly Evidently reports of one stream: ``{"<name>/<yyyy>/<mm>/<dd>/<hh>/report.json"}``."""

    columns: Sequence[Column]
    quality: dict[str, Sequence[float]] | None = None
    name: str = "churn-evidently"
    start: datetime = START
    files: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        runs = (
            len(self.columns[0].scores) if self.columns else len(next(iter(self.quality.values())))
        )  # type: ignore[union-attr]
        for i in range(runs):
            self.files[self.path(i)] = json.dumps(report(self.columns, self.quality, i))

    def path(self, i: int, name: str = "report.json") -> str:
        return f"{self.name}/{self.start + timedelta(hours=i):%Y/%m/%d/%H}/{name}"


def steady(value: float, n: int, wiggle: float = 0.01) -> list[float]:
    return [value + (wiggle if i % 2 else -wiggle) for i in range(n)]


def ramp(n: int, start: int, per_run: float, base: float = 0.0) -> list[float]:
    """``base`` until run ``start``, then ``per_run`` more every run."""
    return [base + max(0, i - start + 1) * per_run for i in range(n)]


def p_values(means: Sequence[float], drifting_from: float = 0.15) -> list[float]:
    """What K-S says of a column whose mean moved: saturated 0.0 once it moved at all."""
    return [0.0 if abs(m) >= drifting_from else 0.4 for m in means]
