"""Serving guardrails: endpoints that cost money for little or no use, as plain data.

Three rules over an endpoint's CloudWatch usage (read by mlops_runtime.serving_usage), each with
the endpoint's cost per month at list price (:mod:`mlops_core.serving_prices`) and the fix:

- **idle** (:data:`Rule.ENDPOINT_IDLE`): no invocation on any variant for ``idle_days``; fix:
  delete it, or serverless inference if it must stay reachable.
- **underused** (:data:`Rule.ENDPOINT_UNDERUSED`): a variant with more than one instance whose
  busiest hour used under ``underused_cpu_percent`` of its CPUs; fix: fewer instances (the count
  its peak needs), a Graviton type where one exists.
- **batch traffic** (:data:`Rule.ENDPOINT_BATCH_TRAFFIC`): at least ``batch_window_share`` of the
  invocations arrive in one daily window of ``batch_window_hours`` on ``batch_min_days`` days or
  more; fix: Batch Transform on a schedule, or async inference scaling to zero.

Serverless variants cost nothing idle and have no instances: only instance variants count.
Findings only warn: the rules never act.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from mlops_core import serving_prices as prices
from mlops_core.guardrails import Finding, Rule
from mlops_core.serving_policy import ServingPolicy

# The peak CPU share an instance may reach after a right-sizing (headroom for bursts).
SIZING_TARGET = 0.6


@dataclass(frozen=True, slots=True)
class VariantUsage:
    """One variant over the window: hourly ``Invocations`` sums and its busiest hour's average
    ``CPUUtilization`` (percent summed over cores, as SageMaker reports it)."""

    name: str
    instance_type: str | None  # None: serverless
    instances: int
    invocations: tuple[tuple[datetime, float], ...] = ()
    cpu_peak: float | None = None


@dataclass(frozen=True, slots=True)
class EndpointUsage:
    name: str
    region: str
    created: datetime
    variants: tuple[VariantUsage, ...]


@dataclass(frozen=True, slots=True)
class Cost:
    monthly_usd: float | None
    detail: str
    verified: bool = True  # every price used is verified against AWS's price list

    def text(self) -> str:
        if self.monthly_usd is None:
            return f"no list price for {self.detail}"
        price = "list price" if self.verified else "list price, unverified"
        return f"${self.monthly_usd:,.2f}/month at {price} ({self.detail})"


def cost(region: str, variants: Sequence[VariantUsage]) -> Cost:
    """What the instance variants cost per month, running as they are."""
    running = [v for v in variants if v.instance_type and v.instances > 0]
    parts = [f"{v.instances} x {v.instance_type}" for v in running]
    detail = f"{' + '.join(parts) or 'no instances'}, {region}, prices of {prices.PRICES_AS_OF}"
    total, verified = 0.0, True
    for v in running:
        known = prices.instance_type(region, str(v.instance_type))
        if known is None:
            return Cost(None, f"{v.instance_type} in {region}")
        total += known.hourly_usd * v.instances * prices.HOURS_PER_MONTH
        verified = verified and known.verified
    return Cost(round(total, 2), detail, verified)


def check_usage(usage: EndpointUsage, policy: ServingPolicy, now: datetime) -> list[Finding]:
    """Findings for one endpoint's usage over the window ending ``now``."""
    paid = tuple(v for v in usage.variants if v.instance_type and v.instances > 0)
    if not paid:
        return []  # serverless (or scaled to zero): nothing is paid while idle
    resource = f"endpoint/{usage.name}"
    since = now - timedelta(days=policy.idle_days)
    recent = sum(n for v in usage.variants for at, n in v.invocations if at >= since)
    if recent == 0 and usage.created <= since:
        spent = cost(usage.region, paid)
        return [
            Finding(
                Rule.ENDPOINT_IDLE,
                resource,
                f"no invocations for {policy.idle_days} days; {spent.text()}",
                monthly_usd=spent.monthly_usd,
                fix="delete it; if it must stay reachable, serverless inference (pays per "
                "request, scales to zero)",
            )
        ]
    found = [f for v in paid if (f := _underused(usage, v, policy)) is not None]
    batch = _batch_traffic(usage, paid, policy)
    return found + ([batch] if batch else [])


def _underused(usage: EndpointUsage, v: VariantUsage, policy: ServingPolicy) -> Finding | None:
    known = prices.instance_type(usage.region, str(v.instance_type))
    if v.instances < 2 or v.cpu_peak is None or known is None:
        return None
    share = v.cpu_peak / (100 * known.vcpus)
    if share * 100 >= policy.underused_cpu_percent:
        return None
    needed = max(1, math.ceil(v.instances * share / SIZING_TARGET))
    spent = cost(usage.region, [v])
    saved = round(known.hourly_usd * (v.instances - needed) * prices.HOURS_PER_MONTH, 2)
    fix = f"run {needed} instance{'s' * (needed != 1)} (lower the instance count or the "
    fix += f"autoscaling minimum): saves ${saved:,.2f}/month"
    if graviton := prices.GRAVITON_ALTERNATIVE.get(str(v.instance_type)):
        fix += f"; or {graviton} (Graviton) if the container supports arm64"
    return Finding(
        Rule.ENDPOINT_UNDERUSED,
        f"endpoint/{usage.name}/variant/{v.name}",
        f"{v.instances} x {v.instance_type}, busiest hour used {share:.1%} of their CPUs; "
        f"{spent.text()}",
        monthly_usd=spent.monthly_usd,
        fix=fix,
        target_count=needed,
    )


def busiest_window(hourly: Sequence[tuple[datetime, float]], hours: int) -> tuple[int, float]:
    """The hour of day (UTC) starting the ``hours``-long daily window with the most invocations,
    and that window's share of them (wrapping past midnight)."""
    by_hour = [0.0] * 24
    for at, count in hourly:
        by_hour[at.hour] += count
    total = sum(by_hour)
    if total == 0:
        return 0, 0.0
    sums = [sum(by_hour[(start + i) % 24] for i in range(hours)) for start in range(24)]
    start = max(range(24), key=lambda h: sums[h])
    return start, sums[start] / total


def _batch_traffic(
    usage: EndpointUsage, paid: Sequence[VariantUsage], policy: ServingPolicy
) -> Finding | None:
    hourly = [(at, n) for v in usage.variants for at, n in v.invocations if n > 0]
    days = {at.date() for at, _ in hourly}
    if len(days) < policy.batch_min_days:
        return None
    start, share = busiest_window(hourly, policy.batch_window_hours)
    if share < policy.batch_window_share:
        return None
    spent = cost(usage.region, paid)
    end = (start + policy.batch_window_hours) % 24
    fix = "Batch Transform on a schedule (pays only while the job runs)"
    if spent.monthly_usd is not None:
        batch = spent.monthly_usd * policy.batch_window_hours / 24
        fix += f": about ${batch:,.2f}/month for {policy.batch_window_hours} h a day"
    fix += "; or async inference scaling to zero between the bursts"
    return Finding(
        Rule.ENDPOINT_BATCH_TRAFFIC,
        f"endpoint/{usage.name}",
        f"{share:.0%} of its invocations on {len(days)} days arrived between "
        f"{start:02d}:00 and {end:02d}:00 UTC; {spent.text()}",
        monthly_usd=spent.monthly_usd,
        fix=fix,
    )
