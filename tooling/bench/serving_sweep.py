"""The serving sweep over a large tooling account and a workload account: API calls per account
and time per digest run.

Run by ``make bench`` (its JSON feeds tooling/bench/report.py's serving section):

    python tooling/bench/serving_sweep.py --out .tmp/bench/serving.json \
        [--endpoints 50] [--workload-endpoints 25]

The tooling account holds ``--endpoints`` InService endpoints on moto (in-process), a workload
account ``--workload-endpoints`` more, read through its reader role (trust and ExternalId checked
by the emulator's STS extension); one variant each, 7 days of hourly ``Invocations`` and
``CPUUtilization`` for every variant, a fifth of them idle, a fifth underused, a tenth with
nightly batch traffic. The sweep (:func:`mlops_runtime.serving_sweep.sweep_accounts`) runs
against both with the template's state and ledger tables; every AWS call it makes is counted by
account and operation (a botocore event hook on the default session, the account told by the
credentials that signed it). Also timed: the pure rules alone
(:func:`mlops_core.serving.check_usage`) on the tooling account's usage, in memory.
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
TOOLING, WORKLOAD = "123456789012", "333333333333"
EXTERNAL_ID = "bench-external-id"


def _seed(clients: dict[str, Any], account: str, count: int) -> None:
    from mlopscp_emulator.sagemaker_ext.state import backend_for, put

    sagemaker, cloudwatch = clients["sagemaker"], clients["cloudwatch"]
    sagemaker.create_model(
        ModelName="m", ExecutionRoleArn=f"arn:aws:iam::{account}:role/x", PrimaryContainer={}
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
            backend_for(account, "us-east-1").endpoints[name],
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


def _workload(boto3: Any) -> tuple[dict[str, Any], str, str]:
    """Clients in the workload account, its reader role's ARN and the ExternalId secret."""
    import json

    trust = {
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{TOOLING}:root"},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"sts:ExternalId": EXTERNAL_ID}},
            }
        ]
    }
    admin = boto3.client("sts").assume_role(
        RoleArn=f"arn:aws:iam::{WORKLOAD}:role/bench-admin", RoleSessionName="bench"
    )["Credentials"]
    session = boto3.session.Session(
        aws_access_key_id=admin["AccessKeyId"],
        aws_secret_access_key=admin["SecretAccessKey"],
        aws_session_token=admin["SessionToken"],
        region_name="us-east-1",
    )
    reader = session.client("iam").create_role(
        RoleName="mlopscp-reader", AssumeRolePolicyDocument=json.dumps(trust)
    )["Role"]["Arn"]
    secret = boto3.client("secretsmanager").create_secret(
        Name="mlopscp/promotion/external-id", SecretString=EXTERNAL_ID
    )["ARN"]
    clients = {s: session.client(s) for s in ("sagemaker", "cloudwatch")}
    return clients, reader, secret


def measure(count: int, workload_count: int) -> dict[str, Any]:
    import boto3
    from mlops_core import serving
    from mlops_core.serving_policy import ServingPolicy
    from mlops_runtime import aws, serving_sweep, serving_usage
    from mlops_runtime.findings import FindingStore
    from mlops_runtime.model_config import ModelConfig
    from mlops_runtime.store import Ledger, StateStore
    from mlopscp_emulator import sagemaker_ext, sts_ext
    from moto import mock_aws
    from samtranslator.yaml_helper import yaml_parse

    os.environ["AWS_DEFAULT_REGION"] = "us-east-1"
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        os.environ[name] = "bench"
    os.environ.pop("AWS_ENDPOINT_URL", None)
    resources = yaml_parse((ROOT / "template.yaml").read_text())["Resources"]
    aws.clear_cached_clients()
    calls: Counter[tuple[str, str]] = Counter()

    own_key: list[str] = []  # the tooling account's key (moto's fake one, once mocked)

    def count_call(model: Any, request_signer: Any, **_: Any) -> None:
        service = model.service_model.service_name
        if service not in ("sagemaker", "cloudwatch", "sts"):
            return  # the ledger's writes are not the sweep's reads
        key = request_signer._credentials.access_key  # the account that signs the call
        calls.update([(TOOLING if key in own_key else WORKLOAD, f"{service}:{model.name}")])

    with mock_aws():
        sagemaker_ext.install()
        sts_ext.install()
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
            tooling = {s: boto3.client(s) for s in ("sagemaker", "cloudwatch")}
            _seed(tooling, TOOLING, count)
            workload, reader, secret = _workload(boto3)
            _seed(workload, WORKLOAD, workload_count)
            model = ModelConfig.model_validate(
                {
                    "model_id": "bench",
                    "endpoint_name": "bench-0000",
                    "account": {
                        "account_id": WORKLOAD,
                        "reader_role_arn": reader,
                        "external_id_secret_arn": secret,
                    },
                }
            )
            aws.clear_cached_clients()
            default: Any = boto3._get_default_session()  # the one aws.client() builds on
            own_key.append(default.get_credentials().access_key)
            default.events.register("before-call.*.*", count_call)
            findings = FindingStore(Ledger("ledger"), StateStore("state"))
            started = time.perf_counter()
            swept = serving_sweep.sweep_accounts([model], TOOLING, findings, NOW)
            sweep_seconds = time.perf_counter() - started
            default.events.unregister("before-call.*.*", count_call)
            found = list(serving_usage.endpoints(tooling["sagemaker"]))
            usages = serving_usage.usage(tooling["cloudwatch"], found, "us-east-1", 7, NOW)
        finally:
            sts_ext.uninstall()
            sagemaker_ext.uninstall()
    aws.clear_cached_clients()
    policy = ServingPolicy()
    rounds = 20
    started = time.perf_counter()
    for _ in range(rounds):
        rules = [f for u in usages for f in serving.check_usage(u, policy, NOW)]
    rules_ms = (time.perf_counter() - started) / rounds * 1000
    per_account: dict[str, dict[str, int]] = {}
    for (account, call), n in sorted(calls.items()):
        per_account.setdefault(account, {})[call] = n
    return {
        "endpoints": swept["accounts"],
        "not_swept": swept["not_swept"],
        "findings": Counter(f["rule"] for f in swept["recorded"]),
        "monthly_usd": round(sum(f.get("monthly_usd") or 0 for f in swept["recorded"]), 2),
        "calls": per_account,
        "sweep_seconds_on_moto": round(sweep_seconds, 2),
        "rules_ms": round(rules_ms, 2),
        "rules_findings": len(rules),
    }


def section(measured: dict[str, Any]) -> list[str]:
    """The docs/benchmarks.md section (report.py calls this with the JSON of :func:`measure`)."""
    accounts = list(measured["endpoints"])
    names = sorted({name for calls in measured["calls"].values() for name in calls})
    header = " | ".join(f"account {a} ({measured['endpoints'][a]} endpoints)" for a in accounts)
    rows = [
        f"| `{name}` | "
        + " | ".join(str(measured["calls"].get(a, {}).get(name, 0)) for a in accounts)
        + " |"
        for name in names
    ]
    findings = ", ".join(f"{rule} {n}" for rule, n in sorted(measured["findings"].items()))
    return [
        "",
        "## Serving sweep: API calls per digest run",
        "",
        f"A tooling account and a workload account on moto (in-process, "
        "tooling/bench/serving_sweep.py), endpoints of one variant with 7 days of hourly "
        "Invocations and CPUUtilization each: a fifth idle, a fifth underused (4 instances at 6% "
        "CPU), a tenth with nightly batch traffic. The workload account is read through its "
        f"reader role. One sweep recorded {findings}, flagging "
        f"${measured['monthly_usd']:,.2f}/month at list price; it took "
        f"{measured['sweep_seconds_on_moto']} s on moto (moto's speed, not AWS's). The pure "
        f"rules alone on the tooling account's usage: {measured['rules_ms']} ms. GetMetricData "
        "carries 500 queries a call (2 per variant), so its calls grow with endpoints / 250 per "
        "account; Describe calls are two per endpoint; a workload account adds one AssumeRole "
        "(credentials are kept for an hour) in the tooling account.",
        "",
        f"| call | {header} |",
        "|---|" + "---:|" * len(accounts),
        *rows,
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    # moto answers GetMetricData by scanning every datapoint: a few dozen endpoints take minutes
    parser.add_argument("--endpoints", type=int, default=50)
    parser.add_argument("--workload-endpoints", type=int, default=25)
    args = parser.parse_args()
    measured = measure(args.endpoints, args.workload_endpoints)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(measured, indent=2))
    print("\n".join(section(measured)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
