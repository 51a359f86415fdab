"""Percentile statistics (``p99``, ``p50``, ``p99.9``) for moto's CloudWatch GetMetricData.

moto computes Sum, Average, Minimum, Maximum and SampleCount and answers a percentile with no
value at all (the response then fails to serialise). AWS computes percentiles from the raw
values of the period; this does the same, nearest-rank, over the values put with ``Value`` or
``Values``/``Counts``. A datum put as ``StatisticValues`` has no distribution: its Maximum stands
in for any of its percentiles (the conservative reading). :func:`install` / :func:`uninstall`
apply and remove the patch; the :class:`~mlopscp_emulator.Emulator` does both.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any, SupportsFloat

from moto.cloudwatch.models import Statistics

from mlopscp_emulator._patching import Patches

PERCENTILE = re.compile(r"^p(\d{1,2}(?:\.\d+)?|100)$")
_patches = Patches()
_installed = False


def percentile(values: list[float], rank: float) -> float | None:
    """Nearest-rank percentile: the smallest value with at least ``rank`` % of values <= it."""
    if not values:
        return None
    ordered = sorted(values)
    index = max(0, math.ceil(rank / 100 * len(ordered)) - 1)
    return ordered[min(index, len(ordered) - 1)]


def _with_percentiles(original: Callable[..., Any]) -> Callable[..., Any]:
    def get_statistics_for_type(statistics: Statistics, stat: str) -> SupportsFloat | None:
        match = PERCENTILE.match(stat)
        if match is None:
            return original(statistics, stat)
        values = list(statistics.metric_single_values_list)
        values += [datum.max for datum in statistics.metric_aggregated_list]
        return percentile(values, float(match.group(1)))

    return get_statistics_for_type


def install() -> None:
    """Apply the patch (idempotent)."""
    global _installed
    if not _installed:
        original = _patches.set(Statistics, "get_statistics_for_type", None)
        _patches.set(Statistics, "get_statistics_for_type", _with_percentiles(original))
        _installed = True


def uninstall() -> None:
    global _installed
    _patches.undo()
    _installed = False
