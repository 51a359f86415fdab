"""How long a SageMaker resource shows a transitional status (Creating, Updating, Stopping, ...).

An operation that starts a transition calls :func:`begin` with the steps that follow; each
Describe calls :func:`advance`, which applies the next step once the current status has been
shown for :data:`LIFECYCLE` ``.describes`` Describe calls (or ``.seconds``)."""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Lifecycle:
    describes: int = 1  # Describe calls that still show a transitional status
    seconds: float | None = None  # or: settle once this long has passed


LIFECYCLE = Lifecycle()


def configure(describes: int = 1, seconds: float | None = None) -> None:
    """How long transitional statuses last (in Describe calls, or seconds)."""
    LIFECYCLE.describes, LIFECYCLE.seconds = describes, seconds


# -- lifecycle machinery -----------------------------------------------------------------------


@dataclass
class _Transition:
    steps: list[Callable[[], None]]
    seen: int = 0
    since: float = field(default_factory=time.monotonic)


_pending: weakref.WeakKeyDictionary[Any, _Transition] = weakref.WeakKeyDictionary()
_lock = threading.RLock()


def begin(resource: Any, *steps: Callable[[], None]) -> None:
    """Show the resource's current (transitional) status, then apply `steps` one per settle."""
    with _lock:
        _pending[resource] = _Transition(list(steps))


def cancel(resource: Any) -> None:
    with _lock:
        _pending.pop(resource, None)


def advance(resource: Any) -> None:
    """Called on each Describe: apply the next step once the current status has lasted."""
    with _lock:
        transition = _pending.get(resource)
        if transition is None:
            return
        waited = time.monotonic() - transition.since
        due = transition.seen >= LIFECYCLE.describes or (
            LIFECYCLE.seconds is not None and waited >= LIFECYCLE.seconds
        )
        if not due:
            transition.seen += 1
            return
        step = transition.steps.pop(0)
        if transition.steps:
            transition.seen, transition.since = 0, time.monotonic()
        else:
            del _pending[resource]
        step()
        if (begun := _pending.get(resource)) is not None and begun is not transition:
            begun.seen = 1  # the step began a new status: this Describe already shows it
