"""What the control plane costs a month at 100 and at 10,000 models, from measured per-event
numbers and list prices.

Run by ``make storm`` after the storm (it rewrites only the "Cost" section of
docs/benchmarks.md):

    python tooling/bench/cost.py --storm-json .tmp/bench/storm.json [--docs docs/benchmarks.md]

Per event of each kind, tooling/bench/event_storm.py's calibration measured (on the emulator,
one event at a time on a warm stack): Lambda invocations and GB-seconds, Step Functions state
transitions, AWS calls by service (DynamoDB requests, S3 reads) and the bytes the handlers
logged. A month's events per model are assumed (:data:`EVENTS_PER_MODEL_MONTH`); the prices
are the us-east-1 list prices below, without free tiers or savings plans. SageMaker's own charges
(monitoring jobs, training, endpoints) are the models' costs, not the control plane's, and are
left out; so are SNS, SQS, Secrets Manager and KMS, a few cents at either size.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

PRICES_READ = "2026-11-29"
# us-east-1 list prices (USD), as the pricing pages state them on PRICES_READ.
PRICES = {
    "lambda_gb_second": (0.0000166667, "aws.amazon.com/lambda/pricing (x86)"),
    "lambda_request": (0.20 / 1e6, "aws.amazon.com/lambda/pricing"),
    "state_transition": (0.025 / 1000, "aws.amazon.com/step-functions/pricing (Standard)"),
    "dynamodb_write": (0.625 / 1e6, "aws.amazon.com/dynamodb/pricing/on-demand (per WRU)"),
    "dynamodb_read": (0.125 / 1e6, "aws.amazon.com/dynamodb/pricing/on-demand (per RRU)"),
    "dynamodb_storage_gb": (0.25, "aws.amazon.com/dynamodb/pricing/on-demand (per GB-month)"),
    "s3_get": (0.0004 / 1000, "aws.amazon.com/s3/pricing (GET, S3 Standard)"),
    "custom_event": (1.00 / 1e6, "aws.amazon.com/eventbridge/pricing (custom events)"),
    "log_ingest_gb": (0.50, "aws.amazon.com/cloudwatch/pricing (Logs, standard ingestion)"),
}
# Events a model causes in a month (30 days): the assumptions behind the totals.
EVENTS_PER_MODEL_MONTH = {
    "monitoring completion": 2 * 24 * 30,  # two hourly Model Monitor schedules
    "drift signal": 0,  # custom monitors are opt-in: a model with an hourly Evidently job adds 720
    "cloudwatch alarm": 4,  # alarm state changes (into and out of ALARM)
    "training job": 8,  # a retrain's training job: its state changes
    "pipeline status": 2,  # a retrain's pipeline: started, ended
    "package approval": 1,  # a new version approved in the registry
}
# A handler's billed duration on Lambda (warm, a few SDK calls; triage's reads of one endpoint's
# monitoring files included): assumed, because durations measured on the emulator on a shared
# 2-core machine are many times Lambda's. Invocations and memory are measured.
AWS_INVOCATION_SECONDS = 0.5
LEDGER_ITEM_KB = 1.0  # a ledger entry, kept (no TTL on the ledger)
REPORT_LINE_BYTES = 300  # START/END/REPORT lines Lambda writes per invocation
READS = {"GetItem", "Query", "Scan", "BatchGetItem", "TransactGetItems"}


def per_event(kind: dict[str, Any]) -> dict[str, float]:
    """One event's billable units, from its calibration profile."""
    operations: dict[str, float] = kind.get("operations", {})
    dynamodb = kind["calls"].get("dynamodb", 0.0)
    reads = sum(n for op, n in operations.items() if op.split(":", 1)[-1] in READS)
    reads = reads if operations else dynamodb / 2
    seconds = kind.get("lambda_seconds") or 0.0
    memory_gb = kind["gb_seconds"] / seconds if seconds else 0.0  # configured, per second run
    return {
        "gb_seconds": kind["invocations"] * AWS_INVOCATION_SECONDS * memory_gb,
        "requests": kind["invocations"],
        "transitions": kind["state_transitions"],
        "dynamodb_reads": reads,
        "dynamodb_writes": max(dynamodb - reads, 0.0),
        "s3_gets": kind["calls"].get("s3", 0.0),
        "log_gb": (kind.get("log_bytes", 0.0) + REPORT_LINE_BYTES * kind["invocations"]) / 1e9,
    }


def monthly(profile: dict[str, Any], models: int) -> dict[str, float]:
    """Dollars a month by line item for `models` models."""
    units = dict.fromkeys(
        (
            "gb_seconds",
            "requests",
            "transitions",
            "dynamodb_reads",
            "dynamodb_writes",
            "s3_gets",
            "log_gb",
        ),
        0.0,
    )
    custom_events = 0.0
    for kind, count in EVENTS_PER_MODEL_MONTH.items():
        if kind not in profile or not count:
            continue
        for unit, value in per_event(profile[kind]).items():
            units[unit] += value * count * models
        if kind == "drift signal":
            custom_events += count * models
    price = {name: value for name, (value, _) in PRICES.items()}
    ledger_gb = units["dynamodb_writes"] * LEDGER_ITEM_KB / 1e6
    return {
        "Lambda compute (GB-s)": units["gb_seconds"] * price["lambda_gb_second"],
        "Lambda requests": units["requests"] * price["lambda_request"],
        "Step Functions state transitions": units["transitions"] * price["state_transition"],
        "DynamoDB requests": units["dynamodb_writes"] * price["dynamodb_write"]
        + units["dynamodb_reads"] * price["dynamodb_read"],
        "DynamoDB storage (a month of ledger)": ledger_gb * price["dynamodb_storage_gb"],
        "S3 reads of monitoring output": units["s3_gets"] * price["s3_get"],
        "EventBridge (custom events; AWS service events are free)": custom_events
        * price["custom_event"],
        "CloudWatch Logs ingestion": units["log_gb"] * price["log_ingest_gb"],
    }


def section(storm: dict[str, Any], sizes: tuple[int, ...] = (100, 10_000)) -> list[str]:
    profile = storm["per_kind"]
    bills = {n: monthly(profile, n) for n in sizes}
    items = list(bills[sizes[0]])
    lines = [
        "## Cost: the control plane's $/month",
        "",
        "Generated by `make storm` (tooling/bench/cost.py) from the storm's per-event "
        "measurements (one event of each kind at a time on the emulator, warm) and us-east-1 "
        f"list prices read {PRICES_READ}, without free tiers. Events per model and month: "
        + ", ".join(f"{k} {v:,}" for k, v in EVENTS_PER_MODEL_MONTH.items())
        + ". SageMaker's own charges (monitoring jobs, training, endpoints) belong to the models "
        "and are left out.",
        "",
        "| Line item | " + " | ".join(f"{n:,} models" for n in sizes) + " |",
        "|---|" + "---:|" * len(sizes),
    ]
    for item in items:
        lines.append(f"| {item} | " + " | ".join(f"${bills[n][item]:,.2f}" for n in sizes) + " |")
    lines.append(
        "| **total** | " + " | ".join(f"**${sum(bills[n].values()):,.2f}**" for n in sizes) + " |"
    )
    kind = profile.get("monitoring completion", {})
    lines += [
        "",
        "Per monitoring completion (the bulk of the events): "
        f"{kind.get('invocations', 0):.1f} Lambda invocations, "
        f"{kind.get('state_transitions', 0):.0f} state transitions, "
        f"{kind.get('calls', {}).get('dynamodb', 0):.1f} DynamoDB and "
        f"{kind.get('calls', {}).get('s3', 0):.1f} S3 requests (triage reads the endpoint's "
        "monitoring files), all counted. Lambda compute is the one assumption: "
        f"{AWS_INVOCATION_SECONDS:g} s billed per invocation at the functions' configured memory; "
        "on the emulator, on this shared machine, the same invocations took "
        f"{kind.get('lambda_seconds', 0) / max(kind.get('invocations', 1), 1):.1f} s each "
        f"({kind.get('gb_seconds', 0):.1f} GB-s per event), which is the machine, not the code. "
        "Everything scales linearly with the fleet: the 10,000-model column is 100 times the "
        "100-model one. State transitions are the largest line: every monitoring completion runs "
        "the drift response, a Standard workflow (it can wait days for an approval). Ending "
        "*watch* runs before the state machine (at the intake) or an Express workflow for the "
        "triage with a Standard one only for retrains would cut most of it; not done here.",
        "",
        "Prices: " + "; ".join(f"{k} ${v:g} ({src})" for k, (v, src) in PRICES.items()) + ".",
    ]
    return lines


def main() -> int:
    from sections import replace  # tooling/bench, this script's folder

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--storm-json", type=Path, required=True)
    parser.add_argument("--docs", type=Path, default=None, help="rewrite its section here")
    args = parser.parse_args()
    lines = section(json.loads(args.storm_json.read_text()))
    if args.docs is not None:
        args.docs.write_text(replace(args.docs.read_text(), "Cost", lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
