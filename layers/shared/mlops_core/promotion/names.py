"""Names and versions: a registry package ARN, the id and execution name of its promotion, the
names of what it creates in the target accounts, and whether its version may replace production's.

- **Version order**: a package version is promoted only if it is newer than the one production
  serves (:func:`order_refusal`).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass

PACKAGE_ARN = re.compile(
    r"^arn:aws[a-z-]*:sagemaker:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):"
    r"model-package/(?P<group>[^/]+)/(?P<version>\d+)$"
)
# Tags the control plane puts on what it creates in the target accounts; cleanup deletes only
# resources that carry this promotion's tag.
PROMOTION_TAG = "mlopscp:promotion"
MODEL_TAG = "mlopscp:model-id"
ALARM_PREFIX = "mlopscp"
SHADOW_VARIANT_PREFIX = "shadow-v"


@dataclass(frozen=True, slots=True)
class PackageRef:
    arn: str
    account: str
    region: str
    group: str
    version: int


def parse_package_arn(arn: str) -> PackageRef:
    """A versioned model package ARN, e.g. ``...:model-package/churn/3``."""
    match = PACKAGE_ARN.match(arn)
    if not match:
        raise ValueError(f"not a versioned model package ARN: {arn!r}")
    return PackageRef(
        arn=arn,
        account=match["account"],
        region=match["region"],
        group=match["group"],
        version=int(match["version"]),
    )


def promotion_id(model_id: str, version: int) -> str:
    """One promotion per package version: the id every record and ledger entry uses."""
    return f"{model_id}-v{version}"


def execution_name(model_id: str, version: int, package_arn: str) -> str:
    """Deterministic, so starting the same version twice asks for the same execution."""
    digest = hashlib.sha256(package_arn.encode()).hexdigest()[:10]
    return re.sub(r"[^A-Za-z0-9_-]", "-", f"{model_id}-v{version}-{digest}")[:80]


@dataclass(frozen=True, slots=True)
class ResourceNames:
    """What a promotion creates in the target accounts (SageMaker names: 63 characters)."""

    staging_model: str
    staging_config: str
    prod_model: str
    prod_config: str
    experiment: str
    shadow_variant: str

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


def resource_names(
    model_id: str, version: int, staging_endpoint: str, prod_endpoint: str
) -> ResourceNames:
    suffix = f"-v{version}"
    return ResourceNames(
        staging_model=_name(f"{model_id}-staging", suffix),
        staging_config=_name(staging_endpoint, suffix),
        prod_model=_name(model_id, suffix),
        prod_config=_name(prod_endpoint, suffix),
        experiment=_name(f"{model_id}-shadow", suffix),
        shadow_variant=f"{SHADOW_VARIANT_PREFIX}{version}",
    )


def _name(base: str, suffix: str) -> str:
    return base[: 63 - len(suffix)].rstrip("-") + suffix


def order_refusal(candidate_version: int, production_version: int | None) -> str | None:
    """Why a version may not be promoted over what production serves (None: it may)."""
    if production_version is None or candidate_version > production_version:
        return None
    if candidate_version == production_version:
        return f"version {candidate_version} is already the version in production"
    return (
        f"version {candidate_version} is older than version {production_version}, which "
        "production already serves; approving an older version does not roll production back"
    )
