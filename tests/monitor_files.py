"""Build Model Monitor output in its real file formats, for tests and the demo's synthetic data.

Each helper returns ``{relative path: JSON text}`` for one execution; ``History`` assembles
several schedules. Formats follow the analyzer's output seen in tests/fixtures/samples/monitor.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

START = datetime(2026, 7, 1, tzinfo=UTC)


def _path(schedule: str, at: datetime, name: str) -> str:
    return f"{schedule}/{at:%Y/%m/%d/%H}/{name}"


def drift_violation(feature: str, distance: float, threshold: float) -> dict[str, str]:
    return {
        "feature_name": feature,
        "constraint_check_type": "baseline_drift_check",
        "description": f"Baseline drift distance: {distance:.6f} exceeds threshold: {threshold}",
    }


def integrity_violation(feature: str, check: str) -> dict[str, str]:
    descriptions = {
        "data_type_check": "Data type match requirement is not met. Expected data type: "
        "Fractional, Expected match: 100.0%. Observed: Only 40.2% of data is Fractional.",
        "completeness_check": "Data completeness requirement is not met. Expected completeness: "
        "100.0%. Observed: Only 51.2% of data is present.",
        "missing_column_check": "There are missing columns in current dataset. Number of columns "
        "in current dataset: 3, Number of columns in baseline constraints: 4",
        "extra_column_check": "There are extra columns in current dataset.",
        "categorical_values_check": "Value: 0.49 does not meet the constraint requirement! ",
    }
    return {
        "feature_name": feature,
        "constraint_check_type": check,
        "description": descriptions[check],
    }


def quality_violation(metric: str, value: float, threshold: float, operator: str) -> dict[str, str]:
    return {
        "constraint_check_type": operator,
        "description": f"Metric {metric} with {value:.6f} +/- 0.003 was {operator} {threshold}",
        "metric_name": metric,
    }


def data_quality_execution(
    schedule: str,
    at: datetime,
    means: dict[str, float],
    violations: Sequence[dict[str, str]],
    indent: int | None = 4,
) -> dict[str, str]:
    features = [
        {
            "name": name,
            "inferred_type": "Fractional",
            "numerical_statistics": {
                "common": {"num_present": 1000, "num_missing": 0},
                "mean": mean,
                "sum": mean * 1000,
                "std_dev": abs(mean) * 0.1,
                "min": 0.0,
                "max": mean * 3,
            },
        }
        for name, mean in means.items()
    ]
    return {
        _path(schedule, at, "statistics.json"): json.dumps(
            {"version": 0.0, "dataset": {"item_count": 1000}, "features": features}, indent=indent
        ),
        _path(schedule, at, "constraint_violations.json"): json.dumps(
            {"violations": list(violations)}, indent=indent
        ),
    }


def model_quality_execution(
    schedule: str,
    at: datetime,
    metrics: dict[str, float],
    violations: Sequence[dict[str, str]],
    problem_type: str = "binary_classification",
) -> dict[str, str]:
    section = {
        name: {"value": value, "standard_deviation": 0.004} for name, value in metrics.items()
    }
    return {
        _path(schedule, at, "statistics.json"): json.dumps(
            {"version": 0.0, "dataset": {"item_count": 1800}, f"{problem_type}_metrics": section}
        ),
        _path(schedule, at, "constraint_violations.json"): json.dumps(
            {"violations": list(violations)}
        ),
    }


def bias_execution(schedule: str, at: datetime, dppl: float, violated: bool) -> dict[str, str]:
    analysis = {
        "version": "1.0",
        "post_training_bias_metrics": {
            "label": "label",
            "facets": {
                "age": [
                    {
                        "value_or_threshold": "1",
                        "metrics": [
                            {
                                "name": "DPPL",
                                "description": "Difference in Positive Proportions in Predicted "
                                "Labels (DPPL)",
                                "value": dppl,
                            }
                        ],
                    }
                ]
            },
        },
    }
    violations = [
        {
            "facet": "age",
            "facet_value": "1",
            "metric_name": "DPPL",
            "constraint_check_type": "bias_drift_check",
            "description": f"Value {dppl} does not meet the constraint requirement",
        }
    ]
    return {
        _path(schedule, at, "analysis.json"): json.dumps(analysis),
        _path(schedule, at, "constraint_violations.json"): json.dumps(
            {"version": "1.0", "violations": violations if violated else []}
        ),
    }


def attribution_execution(schedule: str, at: datetime, ndcg: float | None) -> dict[str, str]:
    analysis = {
        "version": "1.0",
        "explanations": {
            "kernel_shap": {
                "label0": {
                    "global_shap_values": {"age": 0.01, "income": 0.02},
                    "expected_value": 0.3,
                }
            }
        },
    }
    violations = (
        []
        if ndcg is None
        else [
            {
                "label": "label0",
                "metric_name": "shap",
                "constraint_check_type": "feature_attribution_drift_check",
                "description": f"Feature attribution drift {ndcg} exceeds threshold 0.9",
            }
        ]
    )
    return {
        _path(schedule, at, "analysis.json"): json.dumps(analysis),
        _path(schedule, at, "constraint_violations.json"): json.dumps(
            {"version": "1.0", "violations": violations}
        ),
    }


@dataclass
class History:
    """Executions of several schedules at the same hourly or daily cadence."""

    executions: int = 10
    step: timedelta = timedelta(days=1)
    files: dict[str, str] = field(default_factory=dict)

    def times(self) -> list[datetime]:
        return [START + i * self.step for i in range(self.executions)]

    def data_quality(
        self,
        drift: Sequence[float | None],
        threshold: float = 0.1,
        feature: str = "tenure",
        integrity: dict[int, str] | None = None,
        schedule: str = "ms-dq",
    ) -> History:
        """``drift[i]`` is the feature's drift distance at execution i (None: no violation)."""
        for i, at in enumerate(self.times()):
            violations = []
            if drift[i] is not None:
                violations.append(drift_violation(feature, drift[i], threshold))
            if integrity and i in integrity:
                violations.append(integrity_violation(feature, integrity[i]))
            means = {feature: 50.0 + (drift[i] or 0.0) * 100, "other": 10.0}
            self.files |= data_quality_execution(schedule, at, means, violations)
        return self

    def model_quality(
        self, auc: Sequence[float], threshold: float | None = None, schedule: str = "ms-mq"
    ) -> History:
        for i, at in enumerate(self.times()):
            violations = []
            if threshold is not None and auc[i] < threshold:
                violations.append(quality_violation("auc", auc[i], threshold, "LessThanThreshold"))
            metrics = {
                "auc": auc[i],
                "accuracy": auc[i] + 0.02,
                "f1": auc[i] - 0.03,
                "precision": auc[i] - 0.02,
                "recall": auc[i] - 0.04,
            }
            self.files |= model_quality_execution(schedule, at, metrics, violations)
        return self

    def regression_quality(self, rmse: Sequence[float], schedule: str = "ms-reg") -> History:
        for i, at in enumerate(self.times()):
            metrics = {"mae": rmse[i] * 0.7, "mse": rmse[i] ** 2, "rmse": rmse[i], "r2": 0.7}
            self.files |= model_quality_execution(schedule, at, metrics, [], "regression")
        return self

    def bias(self, violated_at: Iterable[int], schedule: str = "ms-bias") -> History:
        hits = set(violated_at)
        for i, at in enumerate(self.times()):
            self.files |= bias_execution(schedule, at, -0.38 if i in hits else 0.01, i in hits)
        return self

    def attribution(self, ndcg: Sequence[float | None], schedule: str = "ms-fa") -> History:
        for i, at in enumerate(self.times()):
            self.files |= attribution_execution(schedule, at, ndcg[i])
        return self


def flat(value: float, n: int, wiggle: float = 0.002) -> list[float]:
    return [value + (wiggle if i % 2 else -wiggle) for i in range(n)]


def declining(start: float, n: int, from_index: int, per_step: float) -> list[float]:
    return [start - max(0, i - from_index + 1) * per_step for i in range(n)]
