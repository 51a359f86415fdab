"""The three measurements every triage benchmark takes, the same way for each source."""

from __future__ import annotations

import json
from typing import Any

from mlops_core.monitoring import MonitoringHistory, load_history
from mlops_core.triage import TriageResult, triage


def describe(benchmark: Any, files: dict[str, bytes], group: str) -> None:
    benchmark.group = group
    benchmark.extra_info.update(
        files=len(files), megabytes=round(sum(map(len, files.values())) / 1e6, 2)
    )


def parse_and_decide(
    benchmark: Any, files: dict[str, bytes]
) -> tuple[MonitoringHistory, TriageResult]:
    """What the triage function does after reading S3: parse every file, then decide."""

    def run() -> tuple[MonitoringHistory, TriageResult]:
        history = load_history(files)
        return history, triage(history)

    result: tuple[MonitoringHistory, TriageResult] = benchmark.pedantic(
        run, rounds=15, warmup_rounds=2
    )
    return result


def decide_only(benchmark: Any, history: MonitoringHistory, rounds: int) -> TriageResult:
    """The decision on an already parsed history."""
    result: TriageResult = benchmark.pedantic(
        triage, args=(history,), rounds=rounds, warmup_rounds=3
    )
    return result


def json_floor(benchmark: Any, files: dict[str, bytes]) -> list[object]:
    """Only json.loads of every file: the part of parsing no change to mlops_core can remove."""

    def decode() -> list[object]:
        return [json.loads(content) for content in files.values()]

    documents: list[object] = benchmark.pedantic(decode, rounds=15, warmup_rounds=2)
    return documents
