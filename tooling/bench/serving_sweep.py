"""The serving sweep over a large account: API calls and time per digest run.

Run by ``make bench`` (its JSON feeds tooling/bench/report.py's serving section):

    python tooling/bench/serving_sweep.py --out .tmp/bench/serving.json [--endpoints 50]

An account with ``--endpoints`` InService endpoints on moto (in-process), one variant each,
7 days of hourly ``Invocations`` and ``CPUUtilization`` for every variant, a fifth of them idle,
a fifth underused, a tenth with nightly batch traffic. The sweep
(:func:`mlops_runtime.serving_sweep.sweep`) runs against it with the template's state and ledger
tables; every AWS call it makes is counted by operation (a botocore event hook). Also timed:
the pure rules alone (:func:`mlops_core.serving.check_usage`) on the same usage, in memory.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)


def _seed(boto3: Any, count: int) -> None:
    from mlopscp_emulator.sagemaker_ext.state import backend_for, put

    sagemaker, cloudwatch = boto3.client("sagemaker"), boto3.client("cloudwatch")
    sagemaker.create_model(
        ModelName="m", ExecutionRoleArn="arn:aws:iam::123456789012:role/x", PrimaryContainer={}
    )
    for n in range(count):
        name = f"bench-{n:04d}"
        instances = 4 if n % 5 == 1 else 1
        sagemaker.create_endpoint_config(
            EndpointConfigName=name,
            ProductionVariants=[
                {
                    "VariantName": "AllTraffic",
                    "ModelName": "m",
                    "InitialInstanceCount": instances,
                    "InstanceType": "ml.m5.large",
                }
            ],
        )
        sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=name)
        put(
            backend_for("123456789012", "us-east-1").endpoints[name],
            endpoint_status="InService",
            creation_time=NOW - timedelta(days=30),
        )
        if n % 5 == 0:
            continue  # idle
        hours = [1, 2] if n % 10 == 3 else list(range(24))  # nightly batch, or all day
        cpu = 12.0 if n % 5 == 1 else 90.0  # underused, or busy
        dims = [
            {"Name": "EndpointName", "Value": name},
            {"Name": "VariantName", "Value": "AllTraffic"},
        ]
        points = [
            NOW - timedelta(days=d) + timedelta(hours=h - NOW.hour)
            for d in range(1, 8)
            for h in hours
        ]
        for first in range(0, len(points), 150):  # PutMetricData: 1000 values a call
            batch = points[first : first + 150]
            cloudwatch.put_metric_data(
                Namespace="AWS/SageMaker",
                MetricData=[
                    {"MetricName": "Invocations", "Dimensions": dims, "Timestamp": t, "Value": 500}
                    for t in batch
                ],
            )
            cloudwatch.put_metric_data(
                Namespace="/aws/sagemaker/Endpoints",
                MetricData=[
                    {
                        "MetricName": "CPUUtilization",
                        "Dimensions": dims,
                        "Timestamp": t,
                        "Value": cpu,
                    }
                    for t in batch
                ],
            )


def measure(count: int) -> dict[str, Any]:
    import boto3
    from mlops_core import serving
    from mlops_core.serving_policy import ServingPolicy
    from mlops_runtime import aws, serving_sweep, serving_usage
    from mlops_runtime.findings import FindingStore
    from mlops_runtime.model_config import ModelConfigStore
    from mlops_runtime.store import Ledger, StateStore
    from mlopscp_emulator import sagemaker_ext
    from moto import mock_aws
    from samtranslator.yaml_helper import yaml_parse

    os.environ["AWS_DEFAULT_REGION"] = "us-east-1"
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        os.environ[name] = "bench"
    os.environ.pop("AWS_ENDPOINT_URL", None)
    resources = yaml_parse((ROOT / "template.yaml").read_text())["Resources"]
    aws.clear_cached_clients()
    calls: Counter[str] = Counter()
    with mock_aws():
        sagemaker_ext.install()
        try:
            dynamodb = boto3.client("dynamodb")
            tables = {"StateTable": "state", "LedgerTable": "ledger", "ModelConfigTable": "models"}
            for logical_id, table in tables.items():
                props = resources[logical_id]["Properties"]
                keys = (
                    "AttributeDefinitions",
                    "KeySchema",
                    "BillingMode",
                    "GlobalSecondaryIndexes",
                )
                dynamodb.create_table(TableName=table, **{k: props[k] for k in keys if k in props})
            _seed(boto3, count)
            clients = {s: boto3.client(s) for s in ("sagemaker", "cloudwatch")}
            for service, client in clients.items():
                client.meta.events.register(
                    "before-call.*.*",
                    lambda model, service=service, **_: calls.update([f"{service}:{model.name}"]),
                )
            aws.clear_cached_clients()
            findings = FindingStore(Ledger("ledger"), StateStore("state"))
            started = time.perf_counter()
            swept = serving_sweep.sweep(
                clients["sagemaker"],
                clients["cloudwatch"],
                findings,
                ModelConfigStore("models"),
                NOW,
            )
            sweep_seconds = time.perf_counter() - started
            swept_calls = dict(sorted(calls.items()))  # the sweep's calls only
            found = list(serving_usage.endpoints(clients["sagemaker"]))
            usages = serving_usage.usage(clients["cloudwatch"], found, "us-east-1", 7, NOW)
        finally:
            sagemaker_ext.uninstall()
    aws.clear_cached_clients()
    policy = ServingPolicy()
    rounds = 20
    started = time.perf_counter()
    for _ in range(rounds):
        rules = [f for u in usages for f in serving.check_usage(u, policy, NOW)]
    rules_ms = (time.perf_counter() - started) / rounds * 1000
    return {
        "endpoints": count,
        "findings": Counter(f["rule"] for f in swept["recorded"]),
        "monthly_usd": round(sum(f.get("monthly_usd") or 0 for f in swept["recorded"]), 2),
        "calls": swept_calls,
        "sweep_seconds_on_moto": round(sweep_seconds, 2),
        "rules_ms": round(rules_ms, 2),
        "rules_findings": len(rules),
    }


def section(measured: dict[str, Any]) -> list[str]:
    """The docs/benchmarks.md section (report.py calls this with the JSON of :func:`measure`)."""
    calls = measured["calls"]
    rows = [f"| `{name}` | {count} |" for name, count in calls.items()]
    findings = ", ".join(f"{rule} {n}" for rule, n in sorted(measured["findings"].items()))
    return [
        "",
        "## Serving sweep: API calls per digest run",
        "",
        f"{measured['endpoints']} InService endpoints of one variant on moto (in-process, "
        "tooling/bench/serving_sweep.py), 7 days of hourly Invocations and CPUUtilization each: "
        "a fifth idle, a fifth underused (4 instances at 6% CPU), a tenth with nightly batch "
        f"traffic. One sweep recorded {findings}, flagging "
        f"${measured['monthly_usd']:,.2f}/month at list price; it took "
        f"{measured['sweep_seconds_on_moto']} s on moto (moto's speed, not AWS's). The pure "
        f"rules alone on the same usage: {measured['rules_ms']} ms. GetMetricData carries 500 "
        "queries a call (2 per variant), so its calls grow with endpoints / 250; Describe calls "
        "are two per endpoint.",
        "",
        "| call | count |",
        "|---|---:|",
        *rows,
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    # moto answers GetMetricData by scanning every datapoint: a few dozen endpoints take minutes
    parser.add_argument("--endpoints", type=int, default=50)
    args = parser.parse_args()
    measured = measure(args.endpoints)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(measured, indent=2))
    print("\n".join(section(measured)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
