"""What the serving guardrails read: this account's InService endpoints (instance type and
count of each variant) and their hourly CloudWatch usage, as mlops_core.serving.EndpointUsage.

Metrics come in as few GetMetricData calls as the API allows: two queries per variant
(``Invocations`` Sum, ``CPUUtilization`` Average, one-hour periods), up to 500 queries per call,
every page followed (the API's paginator). Hourly datapoints stay in CloudWatch for 63 days,
beyond any window the rules use.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError
from mlops_core.errors import TransientAwsError
from mlops_core.serving import EndpointUsage, VariantUsage

from mlops_runtime.aws import translated_errors

MAX_QUERIES = 500  # GetMetricData's limit per request
PERIOD = 3600


@dataclass(frozen=True, slots=True)
class ServingEndpoint:
    name: str
    config: str
    created: datetime
    variants: tuple[
        tuple[str, str | None, int], ...
    ]  # name, instance type (None: serverless), count


def endpoints(sagemaker: Any, skipped: list[str] | None = None) -> Iterator[ServingEndpoint]:
    """Every InService endpoint of the account, with what each variant runs on. One that
    cannot be described (deleted since the listing, or refused) is left out and named in
    ``skipped``: it does not cost the other endpoints their check."""
    with translated_errors():
        pages = sagemaker.get_paginator("list_endpoints").paginate(StatusEquals="InService")
        names = [s["EndpointName"] for page in pages for s in page.get("Endpoints", [])]
    for name in names:
        try:
            with translated_errors():
                yield described(sagemaker, name)
        except (ClientError, TransientAwsError) as error:
            if skipped is not None:
                skipped.append(f"{name}: {error}")


def described(sagemaker: Any, name: str) -> ServingEndpoint:
    endpoint = sagemaker.describe_endpoint(EndpointName=name)
    config = sagemaker.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
    types = {v["VariantName"]: v.get("InstanceType") for v in config["ProductionVariants"]}
    variants = []
    for live in endpoint.get("ProductionVariants", []):
        serverless = live.get("CurrentServerlessConfig") or live.get("DesiredServerlessConfig")
        count = live.get("CurrentInstanceCount", live.get("DesiredInstanceCount", 0))
        kind = None if serverless else types.get(live["VariantName"])
        variants.append((live["VariantName"], kind, int(count or 0)))
    return ServingEndpoint(
        name, endpoint["EndpointConfigName"], endpoint["CreationTime"], tuple(variants)
    )


def usage(
    cloudwatch: Any,
    found: Sequence[ServingEndpoint],
    region: str,
    days: int,
    now: datetime,
) -> list[EndpointUsage]:
    """Hourly invocations and peak CPU of every variant over the last ``days`` days."""
    keys = {(e.name, v[0]): n for n, (e, v) in enumerate((e, v) for e in found for v in e.variants)}
    queries = []
    for (endpoint, variant), n in keys.items():
        dimensions = [
            {"Name": "EndpointName", "Value": endpoint},
            {"Name": "VariantName", "Value": variant},
        ]
        queries += [
            _query(f"i{n}", "AWS/SageMaker", "Invocations", dimensions, "Sum"),
            _query(f"c{n}", "/aws/sagemaker/Endpoints", "CPUUtilization", dimensions, "Average"),
        ]
    series = _read(cloudwatch, queries, now - timedelta(days=days), now)
    result = []
    for e in found:
        variants = []
        for name, kind, count in e.variants:
            n = keys[(e.name, name)]
            cpu = [value for _, value in series.get(f"c{n}", [])]
            variants.append(
                VariantUsage(
                    name, kind, count, tuple(series.get(f"i{n}", [])), max(cpu) if cpu else None
                )
            )
        result.append(EndpointUsage(e.name, region, e.created, tuple(variants)))
    return result


def _query(
    query_id: str, namespace: str, metric: str, dimensions: list[dict[str, str]], stat: str
) -> dict[str, Any]:
    return {
        "Id": query_id,
        "MetricStat": {
            "Metric": {"Namespace": namespace, "MetricName": metric, "Dimensions": dimensions},
            "Period": PERIOD,
            "Stat": stat,
        },
        "ReturnData": True,
    }


def _read(
    cloudwatch: Any, queries: list[dict[str, Any]], start: datetime, end: datetime
) -> dict[str, list[tuple[datetime, float]]]:
    series: dict[str, list[tuple[datetime, float]]] = {}
    paginator = cloudwatch.get_paginator("get_metric_data")
    with translated_errors():
        for first in range(0, len(queries), MAX_QUERIES):
            pages = paginator.paginate(
                MetricDataQueries=queries[first : first + MAX_QUERIES],
                StartTime=start,
                EndTime=end,
                ScanBy="TimestampAscending",
            )
            for page in pages:
                for result in page.get("MetricDataResults", []):
                    points = zip(
                        result.get("Timestamps", []), result.get("Values", []), strict=True
                    )
                    series.setdefault(result["Id"], []).extend(points)
    return series
