"""A small time-bounded cache for values read from other services (Slack groups, keys).

Lambda keeps an execution environment for minutes to hours: a plain ``functools.cache`` would
keep a removed group member's right to approve, or a rotated-out key, for that whole time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable


class TtlCache[V]:
    def __init__(self, ttl_seconds: float, clock: Callable[[], float] | None = None) -> None:
        self._ttl = ttl_seconds
        self._clock = clock or (lambda: time.monotonic())
        self._items: dict[Hashable, tuple[float, V]] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable, load: Callable[[], V]) -> V:
        """The cached value of ``key`` if younger than the TTL, else ``load()`` (then cached)."""
        now = self._clock()
        with self._lock:
            hit = self._items.get(key)
        if hit is not None and now - hit[0] < self._ttl:
            return hit[1]
        value = load()
        with self._lock:
            self._items[key] = (now, value)
        return value

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
