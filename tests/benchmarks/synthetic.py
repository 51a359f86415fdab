"""A large, realistic Model Monitor history for one endpoint, as the files Model Monitor writes.

Four schedules (data quality, model quality, bias drift, feature attribution drift), each with
``executions`` hourly executions. The formats follow the analyzer's real output (see
tests/fixtures/samples/monitor): statistics.json with a KLL distribution per numerical feature
and categorical buckets per string feature, pretty-printed the way the analyzer writes them.

``distributions=False`` drops the KLL sketches and categorical buckets (as the dev triage cases
do): triage never reads them, but they are most of the bytes it has to parse.

The scenario is the expensive one for triage: gradual drift on many features and on the
attributions, sustained to the latest execution, while model quality declines, so every drift
series is classified and the decision is a retrain.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta

START = datetime(2026, 6, 1, tzinfo=UTC)
DRIFT_THRESHOLD = 0.1
ATTRIBUTION_THRESHOLD = 0.9
AUC_THRESHOLD = 0.87
KLL_BUCKETS = 10
SKETCH_VALUES = 50
STRING_EVERY = 10  # one feature in ten is a string (categorical) feature


def _dumps(doc: object) -> bytes:
    # The analyzer pretty-prints with Jackson: two-space indent, "key" : value.
    return json.dumps(doc, indent=2, separators=(",", " : ")).encode()


def _path(schedule: str, at: datetime, name: str) -> str:
    return f"{schedule}/{at:%Y/%m/%d/%H}/{name}"


def _ramp(i: int, n: int, start: int, low: float, high: float) -> float:
    """low until ``start``, then rising linearly to ``high`` at the last execution."""
    if i < start:
        return low
    return low + (high - low) * (i - start + 1) / (n - start)


def _numerical(
    name: str, mean: float, rng: random.Random, distributions: bool
) -> dict[str, object]:
    std = abs(mean) * 0.15 + 1.0
    low, high = mean - 3 * std, mean + 3 * std
    width = (high - low) / KLL_BUCKETS
    statistics: dict[str, object] = {
        "common": {"num_present": 1000, "num_missing": rng.randint(0, 3)},
        "mean": mean,
        "sum": mean * 1000,
        "std_dev": std,
        "min": low,
        "max": high,
    }
    if distributions:
        statistics["distribution"] = {
            "kll": {
                "buckets": [
                    {
                        "lower_bound": low + b * width,
                        "upper_bound": low + (b + 1) * width,
                        "count": float(rng.randint(0, 200)),
                    }
                    for b in range(KLL_BUCKETS)
                ],
                "sketch": {
                    "parameters": {"c": 0.64, "k": 2048.0},
                    "data": [[rng.gauss(mean, std) for _ in range(SKETCH_VALUES)]],
                },
            }
        }
    return {"name": name, "inferred_type": "Fractional", "numerical_statistics": statistics}


def _categorical(name: str, rng: random.Random, distributions: bool) -> dict[str, object]:
    statistics: dict[str, object] = {
        "common": {"num_present": 1000, "num_missing": 0},
        "distinct_count": 4.0,
    }
    if distributions:
        statistics["distribution"] = {
            "categorical": {
                "buckets": [
                    {"value": value, "count": rng.randint(100, 400)}
                    for value in ("card", "cash", "transfer", "voucher")
                ]
            }
        }
    return {"name": name, "inferred_type": "String", "string_statistics": statistics}


def data_quality(
    files: dict[str, bytes],
    features: int,
    executions: int,
    drifting: int,
    rng: random.Random,
    distributions: bool,
) -> None:
    names = [f"feature_{i:03d}" for i in range(features)]
    for i in range(executions):
        at = START + timedelta(hours=i)
        stats, violations = [], []
        for f, name in enumerate(names):
            if f % STRING_EVERY == STRING_EVERY - 1:
                stats.append(_categorical(name, rng, distributions))
                continue
            # The first ``drifting`` features drift gradually: up to 1.8x the threshold, in small
            # steps, over the last third of the history (sustained, never a sudden jump).
            distance = _ramp(i, executions, executions * 2 // 3, 0.05, 0.18) if f < drifting else 0
            stats.append(_numerical(name, 50.0 + f + distance * 100, rng, distributions))
            if distance > DRIFT_THRESHOLD:
                violations.append(
                    {
                        "feature_name": name,
                        "constraint_check_type": "baseline_drift_check",
                        "description": f"Baseline drift distance: {distance:.6f} exceeds "
                        f"threshold: {DRIFT_THRESHOLD}",
                    }
                )
        document = {"version": 0.0, "dataset": {"item_count": 1000}, "features": stats}
        files[_path("ms-data-quality", at, "statistics.json")] = _dumps(document)
        files[_path("ms-data-quality", at, "constraint_violations.json")] = _dumps(
            {"violations": violations}
        )


def model_quality(files: dict[str, bytes], executions: int) -> None:
    for i in range(executions):
        at = START + timedelta(hours=i)
        auc = _ramp(i, executions, executions * 2 // 3, 0.90, 0.85)
        metrics = {"auc": auc, "accuracy": auc + 0.03, "f1": auc - 0.04, "precision": auc - 0.02}
        metrics["recall"] = auc - 0.05
        section = {name: {"value": v, "standard_deviation": 0.004} for name, v in metrics.items()}
        violations = []
        if auc < AUC_THRESHOLD:
            violations.append(
                {
                    "constraint_check_type": "LessThanThreshold",
                    "description": f"Metric auc with {auc:.6f} +/- 0.004 was LessThanThreshold "
                    f"{AUC_THRESHOLD}",
                    "metric_name": "auc",
                }
            )
        document = {
            "version": 0.0,
            "dataset": {"item_count": 1800, "evaluation_time": f"{at:%Y-%m-%dT%H:%M:%S}.000Z"},
            "binary_classification_metrics": section,
        }
        files[_path("ms-model-quality", at, "statistics.json")] = _dumps(document)
        files[_path("ms-model-quality", at, "constraint_violations.json")] = _dumps(
            {"violations": violations}
        )


def bias(files: dict[str, bytes], executions: int) -> None:
    """DPPL breaks its constraint for a few executions mid-history, then recovers."""
    blip = range(executions // 3, executions // 3 + 3)
    for i in range(executions):
        at = START + timedelta(hours=i)
        dppl = -0.38 if i in blip else 0.01 + 0.001 * (i % 5)
        metrics = [
            {
                "name": "DPPL",
                "description": "Difference in Positive Proportions in Predicted Labels (DPPL)",
                "value": dppl,
            },
            {"name": "DI", "description": "Disparate Impact (DI)", "value": 0.97},
        ]
        analysis = {
            "version": "1.0",
            "post_training_bias_metrics": {
                "label": "label",
                "facets": {"age": [{"value_or_threshold": "1", "metrics": metrics}]},
            },
        }
        violations = (
            [
                {
                    "facet": "age",
                    "facet_value": "1",
                    "metric_name": "DPPL",
                    "constraint_check_type": "bias_drift_check",
                    "description": f"Value {dppl} does not meet the constraint requirement",
                }
            ]
            if i in blip
            else []
        )
        files[_path("ms-bias", at, "analysis.json")] = _dumps(analysis)
        files[_path("ms-bias", at, "constraint_violations.json")] = _dumps(
            {"version": "1.0", "violations": violations}
        )


def attribution(
    files: dict[str, bytes], features: int, executions: int, rng: random.Random
) -> None:
    """nDCG sinks gradually below its threshold over the last third (sustained, not sudden)."""
    for i in range(executions):
        at = START + timedelta(hours=i)
        ndcg = _ramp(i, executions, executions * 2 // 3, 0.95, 0.84)
        shap = {f"feature_{f:03d}": abs(rng.gauss(0.01, 0.005)) for f in range(features)}
        analysis = {
            "version": "1.0",
            "explanations": {
                "kernel_shap": {"label0": {"global_shap_values": shap, "expected_value": 0.4}}
            },
        }
        violations = (
            [
                {
                    "label": "label0",
                    "metric_name": "shap",
                    "constraint_check_type": "feature_attribution_drift_check",
                    "description": f"Feature attribution drift {ndcg} exceeds threshold "
                    f"{ATTRIBUTION_THRESHOLD}",
                }
            ]
            if ndcg < ATTRIBUTION_THRESHOLD
            else []
        )
        files[_path("ms-attribution", at, "analysis.json")] = _dumps(analysis)
        files[_path("ms-attribution", at, "constraint_violations.json")] = _dumps(
            {"version": "1.0", "violations": violations}
        )


def endpoint_history(
    features: int = 200,
    executions: int = 30,
    drifting: int = 40,
    *,
    distributions: bool = True,
    seed: int = 7,
) -> dict[str, bytes]:
    """{relative path: file bytes} for one endpoint's four schedules."""
    rng = random.Random(seed)
    files: dict[str, bytes] = {}
    data_quality(files, features, executions, drifting, rng, distributions)
    model_quality(files, executions)
    bias(files, executions)
    attribution(files, features, executions, rng)
    return files
