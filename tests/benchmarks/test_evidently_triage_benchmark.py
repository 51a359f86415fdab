"""Triage speed on Evidently evidence, warm: one endpoint, 30 reports x 200 columns.

Run by ``make bench`` (never by ``make test``); the numbers land in docs/benchmarks.md beside
the Model Monitor rows. Nothing here asserts a duration: the assertions prove the workload is
the intended one (every report and column read, every drifting column's series sized, the
retrain path decided).
"""

from __future__ import annotations

from typing import Any

import pytest
from mlops_core.monitoring import MonitoringHistory, MonitorType, load_history
from mlops_core.triage import Decision, FindingKind, TriageResult

from tests.benchmarks.evidently_synthetic import endpoint_history
from tests.benchmarks.timing import decide_only, describe, json_floor, parse_and_decide

COLUMNS, RUNS, DRIFTING = 200, 30, 40
# One in ten columns is categorical; the drifting ones are the first 40, four of them categorical
# and left still: 36 numerical columns drift.
DRIFTING_NUMERICAL = 36


@pytest.fixture(scope="module")
def files() -> dict[str, bytes]:
    return endpoint_history(COLUMNS, RUNS, DRIFTING)


def _check_workload(history: MonitoringHistory, result: TriageResult) -> None:
    (stream,) = history.schedules
    assert stream.monitor_type == MonitorType.EVIDENTLY_REPORT
    assert len(stream.executions) == RUNS
    assert not history.incomplete, [e.problems for e in history.incomplete]
    report = stream.latest.report
    assert report is not None
    assert len(report.drift) == len(report.columns) == COLUMNS
    sustained = [f for f in result.findings if f.kind == FindingKind.SUSTAINED_DRIFT]
    assert len(sustained) == DRIFTING_NUMERICAL
    assert result.decision == Decision.RETRAIN, result.reasons


def test_parse_and_decide(benchmark: Any, files: dict[str, bytes]) -> None:
    describe(benchmark, files, "evidently triage, parse bytes + decide")
    _check_workload(*parse_and_decide(benchmark, files))


def test_decide_only(benchmark: Any, files: dict[str, bytes]) -> None:
    describe(benchmark, files, "evidently triage, decide only")
    history = load_history(files)
    _check_workload(history, decide_only(benchmark, history, rounds=30))


def test_json_decode_floor(benchmark: Any, files: dict[str, bytes]) -> None:
    describe(benchmark, files, "evidently triage, json.loads only (floor)")
    assert len(json_floor(benchmark, files)) == RUNS
