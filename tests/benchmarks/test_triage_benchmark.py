"""Triage speed on one large endpoint, warm: 4 monitors x 30 executions x 200 features.

Run by ``make bench`` (never by ``make test``); the numbers land in docs/benchmarks.md. Nothing
here asserts a duration: the assertions only prove the workload is the intended one (every
schedule and feature parsed, the full retrain path decided).

Two payloads: "analyzer" carries the KLL sketches and categorical buckets Model Monitor writes
(triage ignores them, but parses them); "compact" leaves them out, like the dev triage cases.
"""

from __future__ import annotations

from typing import Any

import pytest
from mlops_core.monitoring import MonitoringHistory, MonitorType, load_history
from mlops_core.triage import Decision, TriageResult

from tests.benchmarks.synthetic import endpoint_history
from tests.benchmarks.timing import decide_only, describe, json_floor, parse_and_decide

FEATURES, EXECUTIONS, MONITORS = 200, 30, 4


@pytest.fixture(scope="module", params=["analyzer", "compact"])
def files(request: pytest.FixtureRequest) -> dict[str, bytes]:
    return endpoint_history(FEATURES, EXECUTIONS, distributions=request.param == "analyzer")


def _check_workload(history: MonitoringHistory, result: TriageResult) -> None:
    assert len(history.schedules) == MONITORS
    assert all(len(s.executions) == EXECUTIONS for s in history.schedules)
    assert not history.incomplete, [e.problems for e in history.incomplete]
    (data_quality,) = history.of_type(MonitorType.DATA_QUALITY)
    assert len(data_quality.latest.features) == FEATURES
    (attribution,) = history.of_type(MonitorType.FEATURE_ATTRIBUTION_DRIFT)
    assert len(attribution.latest.attributions["label0"]) == FEATURES
    assert result.decision == Decision.RETRAIN, result.reasons


def test_parse_and_decide(benchmark: Any, files: dict[str, bytes]) -> None:
    describe(benchmark, files, "triage, parse bytes + decide")
    _check_workload(*parse_and_decide(benchmark, files))


def test_decide_only(benchmark: Any, files: dict[str, bytes]) -> None:
    describe(benchmark, files, "triage, decide only")
    history = load_history(files)
    _check_workload(history, decide_only(benchmark, history, rounds=50))


def test_json_decode_floor(benchmark: Any, files: dict[str, bytes]) -> None:
    describe(benchmark, files, "triage, json.loads only (floor)")
    assert len(json_floor(benchmark, files)) == MONITORS * EXECUTIONS * 2
