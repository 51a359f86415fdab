"""The shadow test's evidence side by side: production and shadow over the same window.

One table, two renderings: fixed-width lines for the CLI (``mlopscp promotions``) and one line
per row for approval messages. Shadow traffic is a sample of production's, so its request count
is a size, not a score: no row says "better" or "worse", and agreement is one number (paired
predictions that agree), not a before/after.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

Row = tuple[str, str, str]  # label, production, shadow


def shadow_rows(evidence: Mapping[str, Any]) -> list[Row]:
    production, shadow = evidence.get("production") or {}, evidence.get("shadow") or {}
    if not production and not shadow:
        return []
    rows = [("invocations", _n(production.get("invocations")), _n(shadow.get("invocations")))]
    for key, label in (("errors_5xx", "5xx"), ("errors_4xx", "4xx")):
        rows.append((label, _rate(production, key), _rate(shadow, key)))
    rows.append(
        (
            "p99 latency ms",
            _n(production.get("p99_latency_ms"), ".1f"),
            _n(shadow.get("p99_latency_ms"), ".1f"),
        )
    )
    return rows


def agreement_line(evidence: Mapping[str, Any]) -> str:
    agreement = evidence.get("agreement") or {}
    if not agreement:
        return ""
    share = agreement.get("share")
    return (
        f"agreement       {agreement.get('agreeing')}/{agreement.get('compared')} paired "
        "predictions" + (f" ({share:.2%})" if share is not None else "")
    )


def table_lines(evidence: Mapping[str, Any]) -> list[str]:
    """Fixed-width lines with a header (the CLI)."""
    rows = shadow_rows(evidence)
    if not rows:
        return []
    lines = [f"{a:<15} {b:>12} {c:>12}" for a, b, c in [("", "production", "shadow"), *rows]]
    if agreement := agreement_line(evidence):
        lines.append(agreement)
    return lines


def message_lines(evidence: Mapping[str, Any]) -> list[str]:
    """One line per row (Slack and email, where columns do not line up)."""
    lines = [f"{label}: production {a}, shadow {b}" for label, a, b in shadow_rows(evidence)]
    if lines:
        lines[0] += " (the shadow gets a sample of production's traffic)"
    agreement = evidence.get("agreement") or {}
    if agreement:
        share = agreement.get("share")
        lines.append(
            f"agreement: {agreement.get('agreeing')} of {agreement.get('compared')} paired "
            "predictions agree" + (f" ({share:.2%})" if share is not None else "")
        )
    return lines


def _n(value: Any, spec: str = ".0f") -> str:
    return "-" if value is None else format(float(value), spec)


def _rate(stats: Mapping[str, Any], key: str) -> str:
    invocations = stats.get("invocations") or 0
    if not invocations or stats.get(key) is None:
        return "-"
    return f"{_n(stats[key])} ({float(stats[key]) / invocations:.2%})"
