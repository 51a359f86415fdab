"""What promotions read and call in the other accounts, and in the registry.

- :class:`TargetAccount`: clients in a staging or production account through its deployer role,
  assumed with the ExternalId kept in Secrets Manager. Every failure to get in (role missing,
  trust denied, wrong ExternalId, unreadable secret) is a :class:`TargetAccountAccessError`
  naming the account and the role, never a bare AccessDenied.
- The registry (this account): a package, its ModelQuality statistics, the group's policy.
- Production: which endpoint config, model and package the endpoint serves now, on how many
  instances.
- Cleanup: deleting only what carries the promotion's tag.
- Shadow evidence: CloudWatch numbers per variant and data-capture records per variant.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError
from mlops_core.errors import TargetAccountAccessError
from mlops_core.promotion import (
    PROMOTION_TAG,
    CapturedPrediction,
    VariantStats,
    parse_capture_line,
    parse_package_arn,
)
from mlops_core.promotion.endpoint_kinds import Kind, kind_of
from mlops_core.promotion.fleet import live_instance_count

from mlops_runtime.accounts import role_client
from mlops_runtime.aws import client, error_code, missing, translated_errors


class TargetAccount:
    """A staging or production account, reached through its deployer role."""

    def __init__(self, target: Any, external_id_secret_arn: str, session_name: str) -> None:
        self.target = target
        self.secret_arn = external_id_secret_arn
        self.session_name = session_name

    @property
    def label(self) -> str:
        return f"account {self.target.account_id} (role {self.target.deployer_role_arn})"

    def client(self, service: str) -> Any:
        return role_client(
            service,
            self.target.deployer_role_arn,
            self.secret_arn,
            self.session_name,
            TargetAccountAccessError,
            f"the deployer role of {self.label}",
        )


def tags(promotion_id: str, model_id: str) -> list[dict[str, str]]:
    return [
        {"Key": PROMOTION_TAG, "Value": promotion_id},
        {"Key": "mlopscp:model-id", "Value": model_id},
    ]


def created_by(sagemaker: Any, arn: str, promotion_id: str) -> bool:
    """Whether a resource carries this promotion's tag (cleanup deletes only those)."""
    try:
        with translated_errors():
            listed = sagemaker.list_tags(ResourceArn=arn).get("Tags", [])
    except ClientError:
        return False
    return {"Key": PROMOTION_TAG, "Value": promotion_id} in listed


def describe_or_none(call: Any, **kwargs: Any) -> dict[str, Any] | None:
    try:
        with translated_errors():
            return dict(call(**kwargs))
    except ClientError as error:
        if missing(error):
            return None
        raise


_DESCRIBE = {
    "endpoint": ("describe_endpoint", "EndpointName", "EndpointArn", "delete_endpoint"),
    "endpoint-config": (
        "describe_endpoint_config",
        "EndpointConfigName",
        "EndpointConfigArn",
        "delete_endpoint_config",
    ),
    "model": ("describe_model", "ModelName", "ModelArn", "delete_model"),
}


def delete_if_created_by(
    sagemaker: Any, kind: str, name: str, promotion_id: str, report: dict[str, Any]
) -> None:
    """Delete an endpoint, endpoint config or model if it carries the promotion's tag; say in
    ``report`` (``cleaned`` / ``left``) what happened."""
    describe, key, arn_key, delete = _DESCRIBE[kind]
    described = describe_or_none(getattr(sagemaker, describe), **{key: name})
    if described is None:
        return
    if not created_by(sagemaker, described[arn_key], promotion_id):
        report["left"].append(f"{kind} {name}: not created by {promotion_id}, kept")
        return
    with translated_errors():
        getattr(sagemaker, delete)(**{key: name})
    report["cleaned"].append(f"deleted {kind} {name}")


# ---------------------------------------------------------------- the registry


def describe_package(arn: str) -> dict[str, Any]:
    with translated_errors():
        return dict(client("sagemaker").describe_model_package(ModelPackageName=arn))


def quality_statistics(package: dict[str, Any]) -> Any:
    """The ModelQuality statistics JSON a package points to (None: it points to none)."""
    uri = ((package.get("ModelMetrics") or {}).get("ModelQuality", {}).get("Statistics", {})).get(
        "S3Uri"
    )
    if not uri:
        return None
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    with translated_errors():
        body = client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    return json.loads(body)


def ensure_group_policy(group: str, accounts: list[str]) -> None:
    """Let the target accounts read the group's packages (create models from them)."""
    from mlops_core.promotion import group_policy

    sagemaker = client("sagemaker")
    with translated_errors():
        described = sagemaker.describe_model_package_group(ModelPackageGroupName=group)
    try:
        with translated_errors():
            existing = sagemaker.get_model_package_group_policy(ModelPackageGroupName=group)[
                "ResourcePolicy"
            ]
    except ClientError as error:
        if error_code(error) != "ValidationException":
            raise
        existing = None  # the group has no policy yet
    arn = described["ModelPackageGroupArn"]
    prefix = arn.replace(":model-package-group/", ":model-package/")
    wanted = group_policy(existing, arn, prefix, accounts)
    if existing and json.loads(existing) == json.loads(wanted):
        return
    with translated_errors():
        sagemaker.put_model_package_group_policy(ModelPackageGroupName=group, ResourcePolicy=wanted)


# ---------------------------------------------------------------- production


@dataclass(frozen=True)
class Serving:
    """What a production endpoint serves now."""

    endpoint: str
    status: str
    config: str
    variant: str
    model: str
    package_arn: str | None
    version: int | None
    instance_type: str
    instance_count: int  # the live variant's current count (the shadow test keeps it)
    data_capture: dict[str, Any] | None
    kind: str = str(Kind.REAL_TIME)  # mlops_core.promotion.endpoint_kinds

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self).items() if k != "data_capture"}


def serving(sagemaker: Any, endpoint: str, variant: str, group: str) -> Serving | None:
    """None if the endpoint does not exist; raises if it lacks ``variant``."""
    described = describe_or_none(sagemaker.describe_endpoint, EndpointName=endpoint)
    if described is None:
        return None
    with translated_errors():
        config = sagemaker.describe_endpoint_config(
            EndpointConfigName=described["EndpointConfigName"]
        )
    variants = {v["VariantName"]: v for v in config["ProductionVariants"]}
    if variant not in variants:
        raise LookupError(
            f"endpoint {endpoint} has no variant {variant} (it has {', '.join(variants)}); "
            "a blue/green update keeps the variant name"
        )
    chosen = variants[variant]
    with translated_errors():
        model = sagemaker.describe_model(ModelName=chosen["ModelName"])
    containers = model.get("Containers") or [model.get("PrimaryContainer") or {}]
    package = next((c["ModelPackageName"] for c in containers if c.get("ModelPackageName")), None)
    version = None
    if package and package.startswith("arn:"):
        ref = parse_package_arn(package)
        version = ref.version if ref.group == group else None
    return Serving(
        endpoint=endpoint,
        status=described["EndpointStatus"],
        config=described["EndpointConfigName"],
        variant=variant,
        model=chosen["ModelName"],
        package_arn=package,
        version=version,
        instance_type=chosen.get("InstanceType", "ml.m5.large"),
        instance_count=live_instance_count(described.get("ProductionVariants", []), variant)
        or int(chosen.get("InitialInstanceCount", 1)),
        data_capture=config.get("DataCaptureConfig"),
        kind=str(kind_of(chosen, config)),
    )


# ---------------------------------------------------------------- shadow evidence

_METRICS = {
    "invocations": ("Invocations", "Sum"),
    "errors_4xx": ("Invocation4XXErrors", "Sum"),
    "errors_5xx": ("Invocation5XXErrors", "Sum"),
    "p99": ("ModelLatency", "p99"),
}


def variant_stats(
    cloudwatch: Any, endpoint: str, variants: list[str], start: datetime, end: datetime
) -> dict[str, VariantStats]:
    """Invocations, 4xx/5xx errors and p99 ModelLatency of each variant over [start, end), in
    one GetMetricData call (AWS/SageMaker, EndpointName + VariantName; shadow variants report
    under their own VariantName). One period spans the window, so p99 is the window's p99."""
    start = start.replace(second=0, microsecond=0)
    period = max(60, math.ceil((end - start).total_seconds() / 60) * 60)
    queries = []
    for index, variant in enumerate(variants):
        for key, (metric, stat) in _METRICS.items():
            queries.append(
                {
                    "Id": f"v{index}_{key}",
                    "MetricStat": {
                        "Metric": {
                            "Namespace": "AWS/SageMaker",
                            "MetricName": metric,
                            "Dimensions": [
                                {"Name": "EndpointName", "Value": endpoint},
                                {"Name": "VariantName", "Value": variant},
                            ],
                        },
                        "Period": period,
                        "Stat": stat,
                    },
                    "ReturnData": True,
                }
            )
    values: dict[str, list[float]] = {}
    with translated_errors():
        pages = cloudwatch.get_paginator("get_metric_data").paginate(
            MetricDataQueries=queries, StartTime=start, EndTime=start + timedelta(seconds=period)
        )
        for page in pages:
            for result in page["MetricDataResults"]:
                values.setdefault(result["Id"], []).extend(result.get("Values", []))
    stats = {}
    for index, variant in enumerate(variants):
        got = {key: values.get(f"v{index}_{key}", []) for key in _METRICS}
        latency = max(got["p99"]) if got["p99"] else None
        stats[variant] = VariantStats(
            invocations=sum(got["invocations"]),
            errors_4xx=sum(got["errors_4xx"]),
            errors_5xx=sum(got["errors_5xx"]),
            p99_latency_ms=None if latency is None else latency / 1000,  # microseconds
        )
    return stats


def captured_predictions(
    s3: Any, destination: str, variant: str, since: datetime, limit: int
) -> list[CapturedPrediction]:
    """Data-capture records of one variant under ``destination``: files whose key has the
    variant's name as a folder (``.../<endpoint>/<variant>/yyyy/mm/dd/hh/*.jsonl``, the layout
    of data capture and of shadow tests), written since ``since``, newest first."""
    bucket, _, prefix = destination.removeprefix("s3://").partition("/")
    prefix = prefix.rstrip("/") + "/" if prefix else ""
    files = [
        obj
        for obj in _objects(s3, bucket, prefix)
        if f"/{variant}/" in f"/{obj['Key']}"
        and obj["LastModified"] >= since - timedelta(minutes=5)
    ]
    files.sort(key=lambda o: o["LastModified"], reverse=True)
    records: list[CapturedPrediction] = []
    for obj in files:
        with translated_errors():
            body = s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read().decode()
        for line in body.splitlines():
            record = parse_capture_line(line) if line.strip() else None
            if record is not None:
                records.append(record)
            if len(records) >= limit:
                return records
    return records


def _objects(s3: Any, bucket: str, prefix: str) -> Iterator[dict[str, Any]]:
    with translated_errors():
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            yield from page.get("Contents", [])
