"""mlops_runtime.idempotency: Powertools idempotency made on the first idempotent call.

Nothing is built when a handler module defines it (no config, no persistence layer, no client);
the first call builds them once, and from then on a repeated key returns the first result
without running the function again, under the same key Powertools would use at module level.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from aws_lambda_powertools.utilities.idempotency import BasePersistenceLayer
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyItemAlreadyExistsError,
    IdempotencyItemNotFoundError,
)
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord
from mlops_runtime.idempotency import Idempotency


class MemoryStore(BasePersistenceLayer):
    """The persistence contract Powertools' DynamoDB layer implements, in a dict."""

    def __init__(self) -> None:
        super().__init__()
        self.records: dict[str, DataRecord] = {}

    def _get_record(self, idempotency_key: str) -> DataRecord:
        if idempotency_key not in self.records:
            raise IdempotencyItemNotFoundError
        return self.records[idempotency_key]

    def _put_record(self, data_record: DataRecord) -> None:
        if data_record.idempotency_key in self.records:
            raise IdempotencyItemAlreadyExistsError
        self.records[data_record.idempotency_key] = data_record

    def _update_record(self, data_record: DataRecord) -> None:
        self.records[data_record.idempotency_key] = data_record

    def _delete_record(self, data_record: DataRecord) -> None:
        self.records.pop(data_record.idempotency_key, None)


@dataclasses.dataclass
class Context:
    """The part of Lambda's context Powertools reads."""

    function_name: str = "fn"
    aws_request_id: str = "req-1"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


def test_defining_it_builds_nothing() -> None:
    idempotency = Idempotency("idempotency", "event_id", expires_after_seconds=3600)

    @idempotency.function
    def act(request: dict[str, Any]) -> dict[str, Any]:
        return {}

    idempotency.register_lambda_context(Context())  # type: ignore[arg-type]
    assert "config" not in vars(idempotency)
    assert "persistence" not in vars(idempotency)


def test_a_repeated_key_returns_the_first_result_without_acting_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "intake")
    idempotency = Idempotency("idempotency", "event_id", expires_after_seconds=3600)
    store = MemoryStore()
    idempotency.persistence = store  # the DynamoDB layer, as the first call would build it
    acted: list[str] = []

    @idempotency.function
    def act(request: dict[str, Any]) -> dict[str, Any]:
        acted.append(request["event_id"])
        return {"status": "started", "n": len(acted)}

    idempotency.register_lambda_context(Context())  # type: ignore[arg-type]
    first = act(request={"event_id": "e-1", "detail": "x"})
    again = act(request={"event_id": "e-1", "detail": "y"})  # same key, other content
    other = act(request={"event_id": "e-2"})

    assert first == again == {"status": "started", "n": 1}
    assert other == {"status": "started", "n": 2}
    assert acted == ["e-1", "e-2"]
    # Keyed as @idempotent_function on the undecorated function keys it: records written before
    # this change still match.
    prefix = f"intake.{__name__}.{act.__qualname__}#"
    assert all(key.startswith(prefix) for key in store.records), list(store.records)
    assert idempotency.config.lambda_context is not None


def test_the_payload_must_carry_the_key() -> None:
    idempotency = Idempotency("idempotency", "event_id", expires_after_seconds=3600)
    idempotency.persistence = MemoryStore()

    @idempotency.function
    def act(request: dict[str, Any]) -> dict[str, Any]:
        return {}

    idempotency.config.raise_on_no_idempotency_key = True
    with pytest.raises(Exception, match="No data found to create a hashed idempotency_key"):
        act(request={"other": "x"})
