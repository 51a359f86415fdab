"""What happened inside the emulator, in order, and the background work still under way.

Records are plain frozen dataclasses appended by the server's threads; readers get copies.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

R = TypeVar("R")


@dataclass(frozen=True)
class RuleMatched:
    """An EventBridge rule matched an event (put_events or a redelivery)."""

    rule: str
    rule_arn: str
    event_id: str
    event: dict[str, Any]
    redelivery: bool = False
    at: float = field(default_factory=time.time)


@dataclass(frozen=True)
class EventForwarded:
    """A rule put an event on an event bus (of its own or another account), unchanged."""

    rule: str
    rule_arn: str
    bus_arn: str
    event_id: str
    account: str  # the event's account: the one it came from
    at: float = field(default_factory=time.time)


@dataclass(frozen=True)
class TargetDeliveryFailed:
    """EventBridge gave up delivering to a target (then wrote to its DLQ, if it has one)."""

    rule: str
    target_arn: str
    event_id: str
    error_code: str
    error_message: str
    dead_letter_arn: str | None
    at: float = field(default_factory=time.time)


@dataclass(frozen=True)
class LambdaInvocation:
    """One run of a stack function's real handler (each async retry is its own record)."""

    function: str
    function_arn: str
    request_id: str
    invocation_type: str  # "RequestResponse" or "Event"
    attempt: int
    payload: Any
    result: Any
    error: dict[str, Any] | None
    duration_ms: float
    log_lines: tuple[str, ...]
    at: float = field(default_factory=time.time)

    @property
    def error_type(self) -> str | None:
        return self.error.get("errorType") if self.error else None


@dataclass(frozen=True)
class AsyncInvocationDone:
    """Lambda's async machinery finished with an event: where the outcome was sent."""

    function: str
    request_id: str
    succeeded: bool
    attempts: int
    destinations: tuple[str, ...]
    at: float = field(default_factory=time.time)


@dataclass(frozen=True)
class ExecutionStarted:
    """A Step Functions execution was started, by anyone (API, EventBridge, a handler)."""

    state_machine_arn: str
    execution_arn: str
    input: Any
    at: float = field(default_factory=time.time)


Record = (
    RuleMatched
    | EventForwarded
    | TargetDeliveryFailed
    | LambdaInvocation
    | AsyncInvocationDone
    | ExecutionStarted
)


class Trace:
    """Thread-safe, ordered record of what the emulator did."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: list[Record] = []

    def add(self, record: Record) -> None:
        with self._lock:
            self._records.append(record)

    @property
    def records(self) -> list[Record]:
        with self._lock:
            return list(self._records)

    def __len__(self) -> int:
        with self._lock:
            return len(self._records)

    def since(self, index: int) -> list[Record]:
        with self._lock:
            return self._records[index:]

    def clear(self) -> None:
        with self._lock:
            self._records.clear()

    def rule_matches(self, event_id: str | None = None) -> list[RuleMatched]:
        return [
            r for r in self.records if isinstance(r, RuleMatched) and event_id in (None, r.event_id)
        ]

    def invocations(self, function: str | None = None) -> list[LambdaInvocation]:
        """Invocations of a function, given by name or ARN (all functions when None)."""
        return [
            r
            for r in self.records
            if isinstance(r, LambdaInvocation) and function in (None, r.function, r.function_arn)
        ]

    def executions(self) -> list[ExecutionStarted]:
        return [r for r in self.records if isinstance(r, ExecutionStarted)]

    def failed_deliveries(self) -> list[TargetDeliveryFailed]:
        return [r for r in self.records if isinstance(r, TargetDeliveryFailed)]


class BackgroundTasks:
    """Threads for work AWS does asynchronously, so the emulator can wait until none is left."""

    def __init__(self) -> None:
        self._lock = threading.Condition()
        self._pending: dict[int, str] = {}
        self._ids = itertools.count()
        self.errors: list[tuple[str, BaseException]] = []

    def submit(self, description: str, work: Callable[[], object]) -> None:
        task_id = next(self._ids)
        with self._lock:
            self._pending[task_id] = description

        def run() -> None:
            try:
                work()
            except BaseException as exc:  # kept for wait_idle's report instead of lost in a thread
                with self._lock:
                    self.errors.append((description, exc))
            finally:
                with self._lock:
                    del self._pending[task_id]
                    self._lock.notify_all()

        threading.Thread(target=run, name=f"emulator-task-{task_id}", daemon=True).start()

    def pending(self) -> list[str]:
        with self._lock:
            return list(self._pending.values())

    def wait(self, timeout: float) -> bool:
        """True once nothing is pending; False if `timeout` seconds passed first."""
        with self._lock:
            return self._lock.wait_for(lambda: not self._pending, timeout=timeout)
