"""List prices of SageMaker real-time inference instances, kept in the repo.

The AWS Pricing API is not reachable from every deployment (nor from CI), and the guardrails
only need an order of magnitude to rank what to fix first, so the prices are a table in the
repo (:mod:`mlops_core.serving_price_table`) with its date and source, generated from AWS's
price list by ``tooling/prices/sagemaker_hosting.py`` (docs/serving.md says how). Each entry
says whether it was verified against that list; an unverified one is reported as "list price,
unverified". A type or region missing from the table is reported as "no list price", never
guessed.
"""

from __future__ import annotations

from dataclasses import dataclass

from mlops_core import serving_price_table as table

PRICES_AS_OF = table.AS_OF
PRICES_SOURCE = table.SOURCE
HOURS_PER_MONTH = 730  # AWS's own monthly convention (8760 / 12)


@dataclass(frozen=True, slots=True)
class InstanceType:
    hourly_usd: float
    vcpus: int
    verified: bool  # checked against AWS's price list (False: "list price, unverified")


PRICES: dict[str, dict[str, InstanceType]] = {
    region: {name: InstanceType(*entry) for name, entry in types.items()}
    for region, types in table.HOURLY.items()
}

# The same size one step cheaper: Graviton for general/compute CPU types.
GRAVITON_ALTERNATIVE = {
    "ml.m5.large": "ml.m6g.large",
    "ml.m5.xlarge": "ml.m6g.xlarge",
    "ml.c5.large": "ml.c6g.large",
    "ml.c5.xlarge": "ml.c6g.xlarge",
}


def instance_type(region: str, name: str) -> InstanceType | None:
    return PRICES.get(region, {}).get(name)


def monthly_usd(region: str, name: str, instances: int) -> float | None:
    """List price of ``instances`` instances of ``name`` running a whole month (None: unknown)."""
    known = instance_type(region, name)
    return None if known is None else round(known.hourly_usd * instances * HOURS_PER_MONTH, 2)
