"""List prices of SageMaker real-time inference instances, kept in the repo.

The AWS Pricing API is not reachable from every deployment (nor from CI), and the guardrails
only need an order of magnitude to rank what to fix first, so the prices are a table here with
its date and source. Refresh it when AWS changes prices (docs/serving.md says how); a type or
region missing from it is reported as "no list price", never guessed.
"""

from __future__ import annotations

from dataclasses import dataclass

PRICES_AS_OF = "2026-11-29"
PRICES_SOURCE = (
    "Amazon SageMaker AI pricing page (aws.amazon.com/sagemaker/pricing), Real-Time Inference, "
    "on-demand, Linux, USD per instance-hour; us-east-1 and us-west-2 list the same prices"
)
HOURS_PER_MONTH = 730  # AWS's own monthly convention (8760 / 12)


@dataclass(frozen=True, slots=True)
class InstanceType:
    hourly_usd: float
    vcpus: int
    family: str  # "general", "compute", "memory", "gpu", "inferentia", "graviton"


# ml.* real-time hosting, us-east-1.
_US_EAST_1: dict[str, InstanceType] = {
    "ml.t2.medium": InstanceType(0.056, 2, "burstable"),
    "ml.t2.large": InstanceType(0.111, 2, "burstable"),
    "ml.m5.large": InstanceType(0.115, 2, "general"),
    "ml.m5.xlarge": InstanceType(0.23, 4, "general"),
    "ml.m5.2xlarge": InstanceType(0.461, 8, "general"),
    "ml.m5.4xlarge": InstanceType(0.922, 16, "general"),
    "ml.m5.12xlarge": InstanceType(2.765, 48, "general"),
    "ml.c5.large": InstanceType(0.102, 2, "compute"),
    "ml.c5.xlarge": InstanceType(0.204, 4, "compute"),
    "ml.c5.2xlarge": InstanceType(0.408, 8, "compute"),
    "ml.c5.4xlarge": InstanceType(0.816, 16, "compute"),
    "ml.r5.large": InstanceType(0.151, 2, "memory"),
    "ml.r5.xlarge": InstanceType(0.302, 4, "memory"),
    "ml.m6g.large": InstanceType(0.092, 2, "graviton"),
    "ml.m6g.xlarge": InstanceType(0.184, 4, "graviton"),
    "ml.c6g.large": InstanceType(0.082, 2, "graviton"),
    "ml.c6g.xlarge": InstanceType(0.163, 4, "graviton"),
    "ml.c7g.large": InstanceType(0.087, 2, "graviton"),
    "ml.c7g.xlarge": InstanceType(0.174, 4, "graviton"),
    "ml.g4dn.xlarge": InstanceType(0.736, 4, "gpu"),
    "ml.g4dn.2xlarge": InstanceType(1.052, 8, "gpu"),
    "ml.g5.xlarge": InstanceType(1.408, 4, "gpu"),
    "ml.g5.2xlarge": InstanceType(1.515, 8, "gpu"),
    "ml.p3.2xlarge": InstanceType(3.825, 8, "gpu"),
    "ml.inf1.xlarge": InstanceType(0.297, 4, "inferentia"),
    "ml.inf2.xlarge": InstanceType(0.99, 4, "inferentia"),
    "ml.inf2.8xlarge": InstanceType(2.36, 32, "inferentia"),
}
PRICES: dict[str, dict[str, InstanceType]] = {"us-east-1": _US_EAST_1, "us-west-2": _US_EAST_1}

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
