"""A metric diff row (production before, candidate or shadow after), shared by the quality gate
and the shadow verdict, and how a reported value is read as a number."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any


def finite_number(value: Any) -> float | None:
    """A finite int or float as a float; None for anything else (booleans, NaN, text)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


@dataclass(frozen=True, slots=True)
class MetricRow:
    """One line of a metric diff: production (before) vs candidate or shadow (after)."""

    name: str
    before: float | None
    after: float | None
    higher_is_better: bool = True
    ok: bool = True

    def to_change(self) -> dict[str, Any]:
        """The approvals' MetricChange shape."""
        return {
            "name": self.name,
            "before": self.before,
            "after": self.after,
            "higher_is_better": self.higher_is_better,
        }
