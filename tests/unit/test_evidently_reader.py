"""Reading Evidently 0.7 output: format from content, drift read the right way round per method,
snapshot dumps, several files per run, and files that cannot be read."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from mlops_core.evidently import METHODS, Direction, method_direction, read_reports, report_format
from mlops_core.monitoring import MonitorType, load_history

from tests.evidently_files import Column, Stream, metric, report

AT = datetime(2026, 7, 1, 3, tzinfo=UTC)


def drift_report(method: str, value: float, threshold: float, **tests: str) -> str:
    item = metric("ValueDrift", value, column="x", method=method, threshold=threshold)
    doc = {"metrics": [item], "tests": []}
    if tests:
        doc["tests"] = [
            {"id": "drift", "status": tests["status"], "metric_config": {"metric_id": item["id"]}}
        ]
    return json.dumps(doc)


@pytest.mark.parametrize(
    ("method", "value", "threshold", "drifted"),
    [
        # p-values: drift when the value is below the threshold
        ("K-S p_value", 0.001, 0.05, True),
        ("K-S p_value", 0.3, 0.05, False),
        ("K-S p_value", 0.05, 0.05, True),  # K-S counts equality as drift (p <= threshold)
        ("chi-square p_value", 0.05, 0.05, False),  # chi-square does not (p < threshold)
        ("Z-test p_value", 0.0, 0.05, True),
        ("Anderson-Darling", 0.2, 0.1, False),
        ("Total-Variation-Distance", 0.01, 0.1, True),  # a p-value despite its name
        ("TVD", 0.5, 0.1, False),
        ("mannw", 0.01, 0.05, True),
        # distances: drift when the value reaches the threshold
        ("Wasserstein distance (normed)", 0.4, 0.1, True),
        ("Wasserstein distance (normed)", 0.04, 0.1, False),
        ("Jensen-Shannon distance", 0.1, 0.1, True),
        ("psi", 0.3, 0.1, True),
        ("PSI", 0.01, 0.1, False),
        ("Energy-distance", 0.1, 0.1, False),  # energy distance is strict (> threshold)
        ("kl_div", 0.2, 0.1, True),
        ("Hellinger distance", 0.02, 0.1, False),
    ],
)
def test_drift_direction_follows_the_method(
    method: str, value: float, threshold: float, drifted: bool
) -> None:
    drift = read_reports({"report.json": drift_report(method, value, threshold)}).drift["x"]
    assert drift.drifted is drifted
    assert drift.verdict == "threshold"


def test_the_method_table_knows_every_builtin_by_name_and_display_name() -> None:
    assert method_direction("ks") == method_direction("K-S p_value") == Direction.P_VALUE
    assert method_direction("wasserstein") == Direction.DISTANCE
    assert method_direction("custom function 'mine'") == Direction.UNKNOWN
    assert method_direction("Percentile text content drift") == Direction.UNKNOWN
    directions = {direction for direction, _ in METHODS.values()}
    assert directions == {Direction.P_VALUE, Direction.DISTANCE}


def test_an_unknown_method_takes_the_reports_own_drift_test_verdict() -> None:
    with_test = read_reports({"r.json": drift_report("mean_gap", 0.7, 0.2, status="FAIL")})
    assert with_test.drift["x"].drifted is True
    assert with_test.drift["x"].verdict == "report test"
    without = read_reports({"r.json": drift_report("mean_gap", 0.7, 0.2)})
    assert without.drift["x"].drifted is None
    assert without.drift["x"].verdict == "unknown"


def test_a_report_carries_summaries_and_quality_of_its_main_task() -> None:
    columns = [Column("tenure", [0.01], means=[0.4], missing=[0.2])]
    doc = report(columns, {"MAE": [0.8], "RMSE": [1.0], "R2Score": [0.7], "MAPE": [1e16]}, 0)
    parsed = read_reports({"report.json": json.dumps(doc)})
    assert parsed.formats == {"report"}
    assert parsed.task == "regression"
    assert parsed.quality == {"mae": 0.8, "rmse": 1.0, "r2": 0.7, "mape": 1e16}
    tenure = parsed.columns["tenure"]
    assert (tenure.kind, tenure.mean, tenure.std, tenure.missing_share) == (
        "numerical",
        0.4,
        1.0,
        0.2,
    )
    assert tenure.quantiles[0.5] == pytest.approx(0.4)


def test_a_named_second_task_is_kept_apart_from_the_main_one() -> None:
    doc = {
        "metrics": [
            metric("Accuracy", 0.9, classification_name="default"),
            metric("Accuracy", 0.7, classification_name="fraud"),
        ]
    }
    parsed = read_reports({"report.json": json.dumps(doc)})
    assert parsed.quality == {"accuracy": 0.9, "fraud:accuracy": 0.7}
    assert parsed.task == "classification"


def test_several_files_of_one_run_are_read_as_one_report() -> None:
    drift = {"metrics": [metric("ValueDrift", 0.5, column="x", method="psi", threshold=0.1)]}
    quality = {"metrics": [metric("RMSE", 1.2, regression_name="default")]}
    parsed = read_reports({"drift.json": json.dumps(drift), "quality.json": json.dumps(quality)})
    assert parsed.drift["x"].drifted
    assert parsed.quality == {"rmse": 1.2}


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("", "report.json is empty"),
        ('{"metrics": [', "report.json is not valid JSON"),
        ("[1, 2]", "report.json is not a JSON object"),
        ('{"violations": []}', "report.json is neither an Evidently report nor a snapshot"),
        ('{"metrics": []}', "report.json: no drift, summary or quality metric"),
        (b"\xff\xfe", "report.json is not valid JSON"),
    ],
)
def test_a_report_that_cannot_be_read_is_a_problem_naming_the_file(
    content: str | bytes, problem: str
) -> None:
    parsed = read_reports({"report.json": content})
    assert parsed.problems[0].startswith(problem)


def test_odd_values_are_skipped_and_an_unknown_shape_is_a_problem_naming_the_file() -> None:
    odd = {
        "metrics": [
            metric("QuantileValue", "high", column="x", quantile=0.5),
            metric("ValueDrift", {}, column="x", method="psi", threshold=0.1),
            metric("MAE", {"median": 1.0}, regression_name="default"),
        ]
    }
    parsed = read_reports({"report.json": json.dumps(odd)})
    assert parsed.columns["x"].quantiles == {}
    assert parsed.drift["x"].drifted is None
    assert parsed.quality == {}
    broken = {"metric_results": {}, "top_level_metrics": [["not", "an", "id"]]}
    parsed = read_reports({"snapshot.json": json.dumps(broken)})
    assert parsed.problems[0].startswith("snapshot.json: unreadable Evidently snapshot")


def test_format_is_read_from_content() -> None:
    assert report_format({"metrics": [{"config": {"type": "evidently:metric_v2:RowCount"}}]}) == (
        "report"
    )
    assert report_format({"metric_results": {}, "top_level_metrics": []}) == "snapshot"
    assert report_format({"violations": []}) is None
    assert report_format({"metrics": [{"config": {"type": "other"}}]}) is None


def snapshot(timestamp: str) -> str:
    def single(value: float, params: dict[str, object]) -> dict[str, object]:
        return {
            "type": "evidently:metric_result_v2:SingleValue",
            "metric_value_location": {"metric": {"metric_id": "m1", "params": params}},
            "tests": [],
            "value": value,
        }

    drift = single(0.3, {"type": "evidently:metric_v2:ValueDrift", "column": "x", "method": "psi",
                         "threshold": 0.1})  # fmt: skip
    missing = {
        "type": "evidently:metric_result_v2:CountValue",
        "metric_value_location": {
            "metric": {
                "metric_id": "m2",
                "params": {"type": "evidently:metric_v2:MissingValueCount", "column": "x"},
            }
        },
        "count": single(5.0, {}),
        "share": single(0.25, {}),
    }
    return json.dumps(
        {
            "report": {"items": []},
            "name": None,
            "timestamp": timestamp,
            "metadata": {},
            "tags": [],
            "metric_results": {"m1": drift, "m2": missing, "m3": single(9.0, {})},
            "top_level_metrics": ["m1", "m2"],
            "widgets": [],
            "tests_widgets": [],
        }
    )


def test_a_snapshot_dump_is_read_with_its_own_timestamp() -> None:
    parsed = read_reports({"snapshot.json": snapshot("2026-07-01T03:17:00")})
    assert parsed.formats == {"snapshot"}
    assert parsed.timestamp == datetime(2026, 7, 1, 3, 17, tzinfo=UTC)
    assert parsed.drift["x"].drifted is True
    assert parsed.columns["x"].missing_share == 0.25


def test_the_snapshot_timestamp_refines_the_folder_hour_and_never_overrides_it() -> None:
    inside = load_history({"s/2026/07/01/03/snapshot.json": snapshot("2026-07-01T03:17:00")})
    assert inside.schedules[0].latest.stamp == "2026-07-01T03:17Z"
    elsewhere = load_history({"s/2026/07/01/03/snapshot.json": snapshot("2026-09-30T00:00:00")})
    assert elsewhere.schedules[0].latest.stamp == "2026-07-01T03:00Z"


def test_an_evidently_stream_and_a_model_monitor_schedule_load_side_by_side() -> None:
    files = dict(Stream([Column("x", [0.3, 0.2])], name="evidently").files)
    files["mm/2026/07/01/00/constraint_violations.json"] = '{"violations": []}'
    files["mm/2026/07/01/00/statistics.json"] = '{"features": []}'
    files["mm/2026/07/01/00/notes.json"] = "not json"  # beside Model Monitor's files: not read
    history = load_history(files)
    kinds = {s.name: (s.monitor_type, s.source) for s in history.schedules}
    assert kinds == {
        "evidently": (MonitorType.EVIDENTLY_REPORT, "evidently"),
        "mm": (MonitorType.DATA_QUALITY, "model_monitor"),
    }
    assert not history.incomplete
