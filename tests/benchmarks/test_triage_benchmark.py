"""Triage speed on one large endpoint, warm: 4 monitors x 30 executions x 200 features.

Run by ``make bench`` (never by ``make test``); the numbers land in docs/benchmarks.md. Nothing
here asserts a duration: the assertions only prove the workload is the intended one (every
schedule and feature parsed, the full retrain path decided).

Two payloads: "analyzer" carries the KLL sketches and categorical buckets Model Monitor writes
(triage ignores them, but parses them); "compact" leaves them out, like the dev triage cases.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from mlops_core.monitoring import MonitoringHistory, MonitorType, load_history
from mlops_core.triage import Decision, TriageResult, triage

from tests.benchmarks.synthetic import endpoint_history

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


def _describe(benchmark: Any, files: dict[str, bytes], mode: str) -> None:
    benchmark.group = f"triage, {mode}"
    benchmark.extra_info.update(
        files=len(files), megabytes=round(sum(map(len, files.values())) / 1e6, 2)
    )


def test_parse_and_decide(benchmark: Any, files: dict[str, bytes]) -> None:
    """What the triage function does after reading S3: parse every file, then decide."""
    _describe(benchmark, files, "parse bytes + decide")

    def parse_and_decide() -> tuple[MonitoringHistory, TriageResult]:
        history = load_history(files)
        return history, triage(history)

    history, result = benchmark.pedantic(parse_and_decide, rounds=15, warmup_rounds=2)
    _check_workload(history, result)


def test_decide_only(benchmark: Any, files: dict[str, bytes]) -> None:
    """The decision on an already parsed history."""
    _describe(benchmark, files, "decide only")
    history = load_history(files)
    result = benchmark.pedantic(triage, args=(history,), rounds=50, warmup_rounds=3)
    _check_workload(history, result)


def test_json_decode_floor(benchmark: Any, files: dict[str, bytes]) -> None:
    """Only json.loads of every file: the part of parsing no change to mlops_core can remove."""
    _describe(benchmark, files, "json.loads only (floor)")

    def decode() -> list[object]:
        return [json.loads(content) for content in files.values()]

    documents = benchmark.pedantic(decode, rounds=15, warmup_rounds=2)
    assert len(documents) == MONITORS * EXECUTIONS * 2
