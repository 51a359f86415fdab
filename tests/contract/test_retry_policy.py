"""Retries are bounded and jittered everywhere: each Retry of the state machines (full jitter,
a capped delay, few attempts) and the SDK clients the handlers build (standard retry mode)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mlops_runtime import aws

ROOT = Path(__file__).resolve().parents[2]
MACHINES = sorted((ROOT / "statemachines").glob("*.asl.json"))
MAX_ATTEMPTS = 5
MAX_DELAY_SECONDS = 60


def _retriers(states: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, state in states.items():
        for retrier in state.get("Retry", []):
            yield name, retrier
        for branch in state.get("Branches", []):
            yield from _retriers(branch["States"])
        for key in ("Iterator", "ItemProcessor"):
            if key in state:
                yield from _retriers(state[key]["States"])


RETRIERS = [
    (f"{path.stem}:{state}", retrier)
    for path in MACHINES
    for state, retrier in _retriers(json.loads(path.read_text())["States"])
]


def test_the_state_machines_have_retriers() -> None:
    assert len(RETRIERS) >= 20


@pytest.mark.parametrize(("where", "retrier"), RETRIERS, ids=[w for w, _ in RETRIERS])
def test_every_retry_is_bounded_and_jittered(where: str, retrier: dict[str, Any]) -> None:
    assert retrier.get("JitterStrategy") == "FULL", f"{where}: no full jitter"
    assert 1 <= retrier.get("MaxAttempts", 3) <= MAX_ATTEMPTS, f"{where}: too many attempts"
    assert 0 < retrier.get("MaxDelaySeconds", 0) <= MAX_DELAY_SECONDS, f"{where}: delay uncapped"
    assert retrier.get("BackoffRate", 2.0) >= 1


def test_sdk_clients_retry_in_standard_mode_with_few_attempts() -> None:
    retries = aws._CONFIG.retries
    assert retries["mode"] == "standard"  # exponential backoff with full jitter, retry quota
    # botocore turns max_attempts (retries) into total_max_attempts once a client is built
    total = retries.get("total_max_attempts") or retries["max_attempts"] + 1
    assert 2 <= total <= MAX_ATTEMPTS
    assert aws._CONFIG.read_timeout <= 30
    assert aws._CONFIG.connect_timeout <= 10
