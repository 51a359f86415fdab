"""Retries are bounded and jittered everywhere: each Retry of the state machines (full jitter,
a capped delay, few attempts) and the SDK clients the handlers build (standard retry mode).
The one long wait, a retrain start refused for the account's quota, has its own bounds."""

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
# A refused start waits for running pipelines to end: long, but bounded (docs/benchmarks.md, Scale).
CAPACITY_ERRORS = {"RetrainCapacityError"}
CAPACITY_WAIT_SECONDS = (3600, 2 * 3600)


def _retriers(states: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, state in states.items():
        for retrier in state.get("Retry", []):
            yield name, retrier
        for branch in state.get("Branches", []):
            yield from _retriers(branch["States"])
        for key in ("Iterator", "ItemProcessor"):
            if key in state:
                yield from _retriers(state[key]["States"])


ALL_RETRIERS = [
    (f"{path.stem}:{state}", retrier)
    for path in MACHINES
    for state, retrier in _retriers(json.loads(path.read_text())["States"])
]
RETRIERS = [(w, r) for w, r in ALL_RETRIERS if not set(r["ErrorEquals"]) <= CAPACITY_ERRORS]
CAPACITY_RETRIERS = [(w, r) for w, r in ALL_RETRIERS if set(r["ErrorEquals"]) <= CAPACITY_ERRORS]


def _worst_case_wait(retrier: dict[str, Any]) -> float:
    """The longest a retrier waits in all: FULL jitter waits at most each capped delay."""
    interval, rate = retrier.get("IntervalSeconds", 1), retrier.get("BackoffRate", 2.0)
    cap = retrier.get("MaxDelaySeconds", float("inf"))
    return sum(min(interval * rate**i, cap) for i in range(retrier.get("MaxAttempts", 3)))


def test_the_state_machines_have_retriers() -> None:
    assert len(RETRIERS) >= 20


@pytest.mark.parametrize(("where", "retrier"), RETRIERS, ids=[w for w, _ in RETRIERS])
def test_every_retry_is_bounded_and_jittered(where: str, retrier: dict[str, Any]) -> None:
    assert retrier.get("JitterStrategy") == "FULL", f"{where}: no full jitter"
    assert 1 <= retrier.get("MaxAttempts", 3) <= MAX_ATTEMPTS, f"{where}: too many attempts"
    assert 0 < retrier.get("MaxDelaySeconds", 0) <= MAX_DELAY_SECONDS, f"{where}: delay uncapped"
    assert retrier.get("BackoffRate", 2.0) >= 1


def test_a_start_refused_for_the_quota_waits_long_jittered_and_bounded() -> None:
    assert [w for w, _ in CAPACITY_RETRIERS] == ["drift_response.asl:StartRetraining"]
    retrier = CAPACITY_RETRIERS[0][1]
    assert retrier["ErrorEquals"] == ["RetrainCapacityError"]  # nothing else waits this long
    assert retrier.get("JitterStrategy") == "FULL"  # the fleet's refused starts spread out
    assert retrier.get("MaxDelaySeconds", 0) <= 900
    low, high = CAPACITY_WAIT_SECONDS
    assert low <= _worst_case_wait(retrier) <= high


def test_the_capacity_wait_is_the_last_retrier_of_its_state() -> None:
    """Step Functions uses the first retrier whose ErrorEquals matches: the short one must not
    name the capacity error (or States.ALL) before it."""
    machine = json.loads((ROOT / "statemachines" / "drift_response.asl.json").read_text())
    retry = machine["States"]["StartRetraining"]["Retry"]
    for retrier in retry[:-1]:
        assert not {"States.ALL", "RetrainCapacityError"} & set(retrier["ErrorEquals"])
    assert retry[-1]["ErrorEquals"] == ["RetrainCapacityError"]


def test_sdk_clients_retry_in_standard_mode_with_few_attempts() -> None:
    retries = aws._CONFIG.retries
    assert retries["mode"] == "standard"  # exponential backoff with full jitter, retry quota
    # botocore turns max_attempts (retries) into total_max_attempts once a client is built
    total = retries.get("total_max_attempts") or retries["max_attempts"] + 1
    assert 2 <= total <= MAX_ATTEMPTS
    assert aws._CONFIG.read_timeout <= 30
    assert aws._CONFIG.connect_timeout <= 10
