"""Which charts an approval's evidence gets (drawn by :mod:`mlops_core.svg_charts`).

- a retrain's evidence (the triage summary): each drifting feature's distance per execution
  against its threshold, and each headline quality metric per execution against its baseline;
- a promotion's evidence (the shadow verdict): production's and the shadow's p99 latency and
  error rates over the shadow window.

Everything read here came through a Step Functions payload: anything of the wrong type is left
out rather than trusted, and every label is escaped by the chart module.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mlops_core.svg_charts import Pair, line_against, paired_bars


def _numbers(values: Any) -> list[float | None]:
    if not isinstance(values, list):
        return []
    return [float(v) if isinstance(v, int | float) else None for v in values]


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) else None


def drift_charts(evidence: Mapping[str, Any]) -> list[str]:
    charts = []
    for item in evidence.get("drift") or []:
        if not isinstance(item, Mapping):
            continue
        reference = _number(item.get("reference"))
        values = _numbers(item.get("values"))
        if reference is None or not values:
            continue
        unit = str(item.get("unit", ""))
        ratio = unit == "x"
        title = f"{item.get('feature', '?')}: " + (
            "distance as a multiple of its threshold" if ratio else f"{unit} against its threshold"
        )
        labels = [str(a) for a in item.get("at") or []]
        # Model Monitor reports a feature only when it violates: a gap is "under the threshold".
        gaps = "gaps: under the threshold, not reported" if ratio and None in values else ""
        charts.append(
            line_against(
                title, values, reference, "threshold", "x" if ratio else "", labels, note=gaps
            )
        )
    return [chart for chart in charts if chart]


def quality_charts(evidence: Mapping[str, Any]) -> list[str]:
    charts = []
    for item in evidence.get("quality") or []:
        if not isinstance(item, Mapping):
            continue
        baseline, values = _number(item.get("baseline")), _numbers(item.get("values"))
        if baseline is None or not values:
            continue
        lower_is_better = item.get("direction") == "lower_is_better"
        better = "lower" if lower_is_better else "higher"
        title = f"{item.get('metric', '?')} per monitoring run ({better} is better)"
        charts.append(
            line_against(
                title, values, baseline, "baseline", bad_above=lower_is_better, from_zero=False
            )
        )
    return [chart for chart in charts if chart]


def shadow_charts(evidence: Mapping[str, Any]) -> list[str]:
    verdict = evidence.get("verdict")  # a promotion's request carries the verdict's evidence
    if isinstance(verdict, Mapping):
        evidence = verdict
    production, shadow = evidence.get("production"), evidence.get("shadow")
    if not isinstance(production, Mapping) or not isinstance(shadow, Mapping):
        return []

    def rate(stats: Mapping[str, Any], errors: str) -> float | None:
        calls, count = _number(stats.get("invocations")), _number(stats.get(errors))
        return 100 * count / calls if calls and count is not None else None

    latency = paired_bars(
        "p99 model latency (ms)",
        [
            Pair(
                "p99 latency ms",
                _number(production.get("p99_latency_ms")),
                _number(shadow.get("p99_latency_ms")),
            )
        ],
        ("production", "shadow"),
    )
    errors = paired_bars(
        "Error rates (% of requests)",
        [
            Pair("5xx %", rate(production, "errors_5xx"), rate(shadow, "errors_5xx")),
            Pair("4xx %", rate(production, "errors_4xx"), rate(shadow, "errors_4xx")),
        ],
        ("production", "shadow"),
    )
    return [chart for chart in (latency, errors) if chart]


def evidence_charts(evidence: Mapping[str, Any]) -> list[str]:
    """Every chart the evidence supports, drift first (what the approver is asked about)."""
    return drift_charts(evidence) + quality_charts(evidence) + shadow_charts(evidence)
