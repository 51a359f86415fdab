"""Every published Model Monitor / Clarify output is read with the right type and numbers."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from mlops_core.monitoring import MonitorType, parse_execution

from tests.contract.published import SAMPLES, load

AT = datetime(2026, 1, 1, tzinfo=UTC)
MONITOR = SAMPLES / "monitor"


def execution(**documents: object):
    contents = {name: json.dumps(doc) for name, doc in documents.items()}
    return parse_execution("schedule", AT, contents)


def test_data_quality_violations_sample_yields_integrity_checks_with_values() -> None:
    doc, _ = load(
        MONITOR / "data-quality" / "sagemaker-python-sdk_monitor_constraint_violations.json"
    )
    stats, _ = load(MONITOR / "data-quality" / "sagemaker-python-sdk_monitor_statistics.json")
    parsed = execution(**{"constraint_violations.json": doc, "statistics.json": stats})
    assert parsed.complete
    assert parsed.monitor_type == MonitorType.DATA_QUALITY
    checks = {(v.check, v.subject): v.value for v in parsed.violations}
    assert checks[("data_type_check", "fare_amount")] == pytest.approx(0.4994994994994995)
    assert checks[("completeness_check", "congestion_surcharge")] == 0.0
    assert ("categorical_values_check", "store_and_fwd_flag") in checks


def test_full_data_quality_statistics_with_kll_sketches_are_read() -> None:
    stats, _ = load(
        MONITOR
        / "data-quality"
        / "sagemaker-python-sdk_quality-check-step_data-quality_statistics.json"
    )
    parsed = execution(
        **{"constraint_violations.json": {"violations": []}, "statistics.json": stats}
    )
    assert parsed.complete
    assert parsed.features
    assert all(f.inferred_type for f in parsed.features.values())


@pytest.mark.parametrize(
    "name",
    [
        "sagemaker-python-sdk_quality-check-step_data-quality_constraints_good.json",
        "sagemaker-python-sdk_quality-check-step_data-quality_constraints_bad.json",
        "sagemaker-python-sdk_monitor_constraints.json",
    ],
)
def test_baseline_constraint_files_are_valid_json(name: str) -> None:
    doc, repairs = load(MONITOR / "data-quality" / name)
    assert repairs == []
    assert "features" in doc


def test_notebook_data_type_descriptions_carry_their_percentages() -> None:
    text = (
        MONITOR / "data-quality" / "sm-examples_model-monitor-intro_violations-dataframe_cell51.txt"
    ).read_text()
    descriptions = re.findall(r"(Data type match requirement is not met\..*?is Integral\.)", text)
    assert len(descriptions) == 10
    parsed = execution(
        **{
            "constraint_violations.json": {
                "violations": [
                    {
                        "feature_name": "f",
                        "constraint_check_type": "data_type_check",
                        "description": d,
                    }
                    for d in descriptions
                ]
            },
            "statistics.json": {"features": []},
        }
    )
    assert [v.value for v in parsed.violations][-1] == 0.0
    assert parsed.violations[0].value == pytest.approx(0.9964592817400101)


def test_exit_message_sample_is_the_monitoring_execution_format() -> None:
    text = (
        MONITOR / "data-quality" / "sm-examples_model-monitor-intro_exit-message_cell45.txt"
    ).read_text()
    assert re.search(
        r"CompletedWithViolations: Job completed successfully with \d+ violations", text
    )


@pytest.mark.parametrize(
    "name",
    [
        "awsdocs-devguide-2023_bias-drift_constraint_violations_example.json",
        "sm-examples_clarify-bias-monitor-endpoint_constraint_violations_pprint_cell94.txt",
        "sm-examples_clarify-bias-monitor-batch-transform_constraint_violations_pprint_cell80.txt",
    ],
)
def test_bias_violations_in_every_published_wording(name: str) -> None:
    doc, _ = load(MONITOR / "bias" / name)
    parsed = execution(**{"constraint_violations.json": doc})
    assert parsed.monitor_type == MonitorType.BIAS_DRIFT
    assert parsed.violations
    assert all(v.check == "bias_drift_check" for v in parsed.violations)
    assert all("=" in v.subject and ":" in v.subject for v in parsed.violations)
    numbers = [v.value for v in parsed.violations if v.value is not None]
    assert len(numbers) >= len(parsed.violations) - 1  # "Metric value Infinity" included


@pytest.mark.parametrize(
    "name",
    [
        "sm-examples_fraud-detection_clarify_bias_1_analysis.json",
        "sm-examples_fraud-detection_clarify_bias_2_analysis.json",
        "sagemaker-python-sdk_clarify-check-step_data-bias_analysis_good.json",
        "sagemaker-python-sdk_clarify-check-step_data-bias_analysis_bad.json",
    ],
)
def test_clarify_bias_analysis_is_read_as_bias(name: str) -> None:
    doc, _ = load(MONITOR / "bias" / name)
    parsed = execution(**{"constraint_violations.json": {"violations": []}, "analysis.json": doc})
    assert parsed.complete
    assert parsed.monitor_type == MonitorType.BIAS_DRIFT
    assert parsed.bias_metrics  # null metric values (with "error") are skipped, not fatal


def test_feature_attribution_violation_is_a_similarity_score() -> None:
    doc, _ = load(
        MONITOR
        / "explainability"
        / "awsdocs-devguide-2023_feature-attribution-drift_constraint_violations_example.json"
    )
    analysis, _ = load(
        MONITOR
        / "explainability"
        / "sm-examples_fraud-detection_clarify_explainability_analysis.json"
    )
    parsed = execution(**{"constraint_violations.json": doc, "analysis.json": analysis})
    assert parsed.monitor_type == MonitorType.FEATURE_ATTRIBUTION_DRIFT
    assert len(parsed.attributions["label0"]) == 45
    label0 = next(v for v in parsed.violations if v.subject == "label0")
    assert label0.severity == pytest.approx((1 - 0.7639720923277322) / (1 - 0.9))


@pytest.mark.parametrize(
    "name",
    [
        "awsdocs-devguide-2023_statistics_regression_metrics_fragment.json",
        "awsdocs-devguide-2023_statistics_binary_classification_metrics_fragment.json",
        "awsdocs-devguide-2023_statistics_multiclass_classification_metrics_fragment.json",
        "sagemaker-python-sdk_quality-check-step_model-quality_regression_statistics.json",
        "sm-examples_model-card_model_monitor_model_quality_binary_classification_statistics.json",
    ],
)
def test_model_quality_statistics_in_every_published_shape(name: str) -> None:
    doc, repairs = load(MONITOR / "model-quality" / name)
    assert ("fragment" in repairs) == ("fragment" in name)
    parsed = execution(**{"constraint_violations.json": {"violations": []}, "statistics.json": doc})
    assert parsed.complete
    assert parsed.monitor_type == MonitorType.MODEL_QUALITY
    assert parsed.problem_type in {
        "regression",
        "binary_classification",
        "multiclass_classification",
    }
    assert parsed.metrics
    assert all(isinstance(v, float) for v in parsed.metrics.values())


@pytest.mark.parametrize(
    "name",
    [
        "sagemaker-python-sdk_quality-check-step_model-quality_regression_constraints_good.json",
        "sagemaker-python-sdk_quality-check-step_model-quality_regression_constraints_bad.json",
    ],
)
def test_model_quality_constraints_are_valid_json(name: str) -> None:
    doc, repairs = load(MONITOR / "model-quality" / name)
    assert repairs == []
    assert "regression_constraints" in doc


def test_fragment_as_published_is_an_incomplete_execution_not_a_crash() -> None:
    raw = (
        MONITOR
        / "model-quality"
        / "awsdocs-devguide-2023_statistics_regression_metrics_fragment.json"
    ).read_text()
    parsed = parse_execution(
        "s", AT, {"constraint_violations.json": '{"violations": []}', "statistics.json": raw}
    )
    assert not parsed.complete
    assert "not valid JSON" in parsed.problems[0]


def test_every_monitor_sample_is_covered_by_a_test() -> None:
    source = Path(__file__).read_text()
    names = [p.name for p in MONITOR.rglob("*") if p.is_file() and p.name != "PROVENANCE.md"]
    assert [n for n in names if n not in source] == []
