"""Triage speed on Evidently evidence, warm: one endpoint, 30 reports x 200 columns.

Run by ``make bench`` (never by ``make test``); the numbers land in docs/benchmarks.md beside
the Model Monitor rows. Nothing here asserts a duration: the assertions prove the workload is
the intended one (every report and column read, every drifting column's series sized, the
retrain path decided).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from mlops_core.monitoring import MonitoringHistory, MonitorType, load_history
from mlops_core.triage import Decision, FindingKind, TriageResult, triage

from tests.benchmarks.evidently_synthetic import endpoint_history

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


def _describe(benchmark: Any, files: dict[str, bytes], mode: str) -> None:
    benchmark.group = f"evidently triage, {mode}"
    benchmark.extra_info.update(
        files=len(files), megabytes=round(sum(map(len, files.values())) / 1e6, 2)
    )


def test_parse_and_decide(benchmark: Any, files: dict[str, bytes]) -> None:
    """What the triage function does after reading S3: parse every report, then decide."""
    _describe(benchmark, files, "parse bytes + decide")

    def parse_and_decide() -> tuple[MonitoringHistory, TriageResult]:
        history = load_history(files)
        return history, triage(history)

    history, result = benchmark.pedantic(parse_and_decide, rounds=15, warmup_rounds=2)
    _check_workload(history, result)


def test_decide_only(benchmark: Any, files: dict[str, bytes]) -> None:
    _describe(benchmark, files, "decide only")
    history = load_history(files)
    result = benchmark.pedantic(triage, args=(history,), rounds=30, warmup_rounds=3)
    _check_workload(history, result)


def test_json_decode_floor(benchmark: Any, files: dict[str, bytes]) -> None:
    """Only json.loads of every report: the floor of any parse of these bytes with the stdlib."""
    _describe(benchmark, files, "json.loads only (floor)")

    def decode() -> list[object]:
        return [json.loads(content) for content in files.values()]

    documents = benchmark.pedantic(decode, rounds=15, warmup_rounds=2)
    assert len(documents) == RUNS
