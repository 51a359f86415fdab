"""`mlopscp explain` and `mlopscp status` on a model with 10,000 ledger entries, on the emulator.

Run by ``make bench`` (never by ``make test``); the numbers land in docs/benchmarks.md (target
for explain: under 2 s). The template is deployed into the embedded emulator, one model's ledger
holds the causal chain of its last promotion under 10,000 older entries, and the reads go
through the real stores over HTTP to moto, as the CLI's do. Nothing here asserts a duration:
the assertions prove the workload is the intended one (the whole chain found, every entry there).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from mlopscp_emulator import Emulator

from tests import fleet_world

ROOT = Path(__file__).resolve().parents[2]
ENTRIES = 10_000


@pytest.fixture(scope="module")
def reader() -> Iterator[Any]:
    from mlops_runtime import aws
    from mlops_runtime.fleet import FleetReader
    from mlops_runtime.model_config import ModelConfig, ModelConfigStore

    with Emulator() as emulator, pytest.MonkeyPatch.context() as env:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            stack = emulator.deploy(ROOT / "template.yaml", stack_name="fleet-bench")
        for key, value in (
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
            ("AWS_DEFAULT_REGION", "us-east-1"),
            ("AWS_ENDPOINT_URL", emulator.endpoint_url),
        ):
            env.setenv(key, value)
        aws.client.cache_clear()
        o = stack.outputs
        tables = {
            "ledger": o["LedgerTableName"],
            "state": o["StateTableName"],
            "config": o["ModelConfigTableName"],
        }
        ModelConfigStore(tables["config"], max_age=0).put(
            ModelConfig.model_validate(fleet_world.config("churn", "churn-prod"))
        )
        now = datetime.now(UTC)
        fleet_world.seed_chain(tables, "churn", now)
        fleet_world.seed_noise(tables, "churn", ENTRIES, before=now - timedelta(hours=31))
        yield FleetReader(
            tables["ledger"], tables["state"], tables["config"], o["ApprovalTableName"]
        )
    aws.client.cache_clear()


def test_explain_with_10000_entries(benchmark: Any, reader: Any) -> None:
    benchmark.group = "fleet, explain one model"
    benchmark.extra_info.update(ledger_entries=ENTRIES + 12)
    chain = benchmark.pedantic(reader.chain, args=("churn",), rounds=10, warmup_rounds=1)
    assert len(chain.hops) == 9
    assert not chain.gaps
    assert len(reader.ledger.since("churn", "2000")) > ENTRIES  # every entry is there


def test_status_with_10000_entries(benchmark: Any, reader: Any) -> None:
    benchmark.group = "fleet, status of one model"
    benchmark.extra_info.update(ledger_entries=ENTRIES + 12)
    now = datetime.now(UTC)
    statuses = benchmark.pedantic(reader.statuses, args=(now,), rounds=10, warmup_rounds=1)
    assert [s.model_id for s in statuses] == ["churn"]
    assert statuses[0].last_decision is not None
