"""Tiny unicode trend lines for notifications and the CLI."""

from __future__ import annotations

from collections.abc import Sequence

_BARS = "▁▂▃▄▅▆▇█"


def sparkline(values: Sequence[float | None]) -> str:
    """One bar per value scaled between the series' min and max; gaps (None) print as a space."""
    known = [v for v in values if v is not None]
    if not known:
        return ""
    low, high = min(known), max(known)
    span = high - low
    bars = []
    for value in values:
        if value is None:
            bars.append(" ")
        elif span == 0:
            bars.append(_BARS[len(_BARS) // 2])
        else:
            bars.append(_BARS[round((value - low) / span * (len(_BARS) - 1))])
    return "".join(bars)
