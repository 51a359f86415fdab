"""Scale on paper, checked by a simulation: one account, 10,000 endpoints, hourly monitoring.

Run by ``make storm`` after the storm (it rewrites only the "Scale" section of
docs/benchmarks.md):

    python tooling/bench/scale.py --storm-json .tmp/bench/storm.json [--docs docs/benchmarks.md]

A small pure-Python model. Each endpoint has its Model Monitor schedules (data quality and model
quality) run at the top of every hour; a processing job takes 5 to 20 minutes, so its completion
event lands somewhere in that window (uniform, seeded). Every event costs what the storm measured
for its kind when sent alone on a warm stack (tooling/bench/event_storm.py's calibration: AWS calls
by service, Lambda invocations and seconds, Step Functions executions and state transitions).
The simulation sums the hour's events per second and reports the peak second and the peak minute
of each service against its default quota (sources below), plus the retrains a fleet-wide drift
would start at once against SageMaker's pipeline and training-job quotas.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ENDPOINTS = 10_000
SCHEDULES = 2  # data quality + model quality per endpoint
JOB_MINUTES = (5.0, 20.0)  # how long an hourly monitoring job runs (uniform)
REDELIVERED = 0.01  # EventBridge's at-least-once redeliveries: rare in practice
DRIFT_STORM = 0.05  # share of the fleet an upstream break sends to *retrain* in the same hour


@dataclass(frozen=True)
class Quota:
    limit: float  # per second, unless `unit` says otherwise
    unit: str
    source: str


# Default quotas, per account and Region (us-east-1), as their pages state them (read 2026-11).
SFN = (
    "Step Functions quotas, API action and state throttling (Standard workflows; "
    "awsdocs/aws-step-functions-developer-guide, doc_source/limits.md; the current page, "
    "docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html, may be higher)"
)
QUOTAS = {
    "states:StartExecution": Quota(300, "/s refill (bucket 1,300)", SFN),
    "states:StateTransition": Quota(1_500, "/s refill (bucket 5,000)", SFN),
    "lambda:concurrency": Quota(
        1_000,
        "concurrent executions",
        "docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html",
    ),
    "dynamodb:table": Quota(
        40_000,
        "read or write request units/s per on-demand table",
        "docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html",
    ),
    "s3:prefix": Quota(
        5_500,
        "GET/HEAD/s per partitioned prefix (3,500 PUT)",
        "docs.aws.amazon.com/AmazonS3/latest/userguide/optimizing-performance.html",
    ),
    "sagemaker:CreateTrainingJob": Quota(
        1,
        "/s",
        "docs.aws.amazon.com/sagemaker/latest/dg/feature-store-feature-processor-quotas.html",
    ),
    "sagemaker:pipeline-executions": Quota(
        20,
        "concurrent pipeline executions per account",
        "docs.aws.amazon.com/sagemaker/latest/dg/feature-store-feature-processor-quotas.html",
    ),
}


def completions(endpoints: int, seed: int = 29) -> list[float]:
    """Seconds after the hour at which each monitoring job's completion event arrives."""
    rng = random.Random(seed)
    low, high = (m * 60 for m in JOB_MINUTES)
    times = [rng.uniform(low, high) for _ in range(endpoints * SCHEDULES)]
    times += rng.sample(times, int(len(times) * REDELIVERED))
    return times


def peaks(times: list[float]) -> tuple[int, float]:
    """(events in the busiest second, mean events/s of the busiest minute)."""
    per_second = Counter(int(t) for t in times)
    per_minute = Counter(int(t) // 60 for t in times)
    return max(per_second.values()), max(per_minute.values()) / 60


def simulate(profile: dict[str, Any], endpoints: int = ENDPOINTS) -> dict[str, Any]:
    """Peak rates per service for an hour of monitoring completions, and the drift storm."""
    event = profile["monitoring completion"]
    second, minute = peaks(completions(endpoints))
    rates = {
        service: {"peak_second": second * per, "peak_minute": minute * per}
        for service, per in event["calls"].items()
    }
    from cost import AWS_INVOCATION_SECONDS  # tooling/bench: one assumption for both models

    lambda_seconds = event.get("invocations", 0.0) * AWS_INVOCATION_SECONDS
    retrains = int(endpoints * DRIFT_STORM)
    return {
        "endpoints": endpoints,
        "events_per_hour": endpoints * SCHEDULES,
        "peak_events_second": second,
        "peak_events_minute": minute,
        "calls_per_event": event["calls"],
        "rates": rates,
        "executions_per_second": minute * event.get("executions", 0.0),
        "transitions_per_second": minute * event.get("state_transitions", 0.0),
        "lambda_concurrency": minute * lambda_seconds,
        "lambda_seconds_per_event": lambda_seconds,
        "drift_storm_retrains": retrains,
    }


def section(measured: dict[str, Any], storm: dict[str, Any]) -> list[str]:
    rows = []
    dynamodb = measured["rates"].get("dynamodb", {"peak_second": 0, "peak_minute": 0})
    s3 = measured["rates"].get("s3", {"peak_second": 0, "peak_minute": 0})
    sagemaker = measured["rates"].get("sagemaker", {"peak_second": 0, "peak_minute": 0})

    def row(what: str, peak_s: float, peak_m: float, quota: str, verdict: str) -> None:
        rows.append(f"| {what} | {peak_s:,.1f} | {peak_m:,.1f} | {quota} | {verdict} |")

    start = QUOTAS["states:StartExecution"]
    row(
        "Step Functions StartExecution",
        measured["peak_events_second"] * storm_share(measured, "executions"),
        measured["executions_per_second"],
        f"{start.limit:,.0f}{start.unit}",
        _verdict(measured["executions_per_second"], start.limit),
    )
    transitions = QUOTAS["states:StateTransition"]
    row(
        "Step Functions state transitions",
        measured["peak_events_second"] * storm_share(measured, "state_transitions"),
        measured["transitions_per_second"],
        f"{transitions.limit:,.0f}{transitions.unit}",
        _verdict(measured["transitions_per_second"], transitions.limit),
    )
    table = QUOTAS["dynamodb:table"]
    row(
        "DynamoDB requests (all tables)",
        dynamodb["peak_second"],
        dynamodb["peak_minute"],
        f"{table.limit:,.0f} {table.unit}",
        _verdict(dynamodb["peak_minute"], table.limit),
    )
    prefix = QUOTAS["s3:prefix"]
    row(
        "S3 requests (all prefixes; each endpoint reads its own)",
        s3["peak_second"],
        s3["peak_minute"],
        f"{prefix.limit:,.0f} {prefix.unit}",
        _verdict(s3["peak_minute"] / measured["endpoints"], prefix.limit) + " per prefix",
    )
    row(
        "SageMaker Describe* (DescribeProcessingJob, DescribeMonitoringSchedule)",
        sagemaker["peak_second"],
        sagemaker["peak_minute"],
        "no published default; throttled as `ThrottlingException`",
        "see below",
    )
    concurrency = QUOTAS["lambda:concurrency"]
    row(
        "Lambda concurrency (Little's law: invocations/s x billed seconds)",
        measured["peak_events_second"] * measured["lambda_seconds_per_event"],
        measured["lambda_concurrency"],
        f"{concurrency.limit:,.0f} {concurrency.unit}",
        _verdict(measured["lambda_concurrency"], concurrency.limit),
    )
    pipelines, training = (
        QUOTAS["sagemaker:pipeline-executions"],
        QUOTAS["sagemaker:CreateTrainingJob"],
    )
    calls = ", ".join(f"{s} {n:.2f}" for s, n in measured["calls_per_event"].items())
    return [
        "## Scale: 10,000 endpoints in one account",
        "",
        "Generated by `make storm` (tooling/bench/scale.py) from the storm's measured cost of "
        "one monitoring completion, sent alone on a warm stack: "
        f"{calls} AWS calls per event. The model: {measured['endpoints']:,} endpoints x "
        f"{SCHEDULES} hourly Model Monitor schedules, every job finishing "
        f"{JOB_MINUTES[0]:g}-{JOB_MINUTES[1]:g} minutes after the hour (uniform), "
        f"{REDELIVERED:.0%} of events redelivered: {measured['events_per_hour']:,} events an "
        f"hour, the busiest second {measured['peak_events_second']} events and the busiest "
        f"minute {measured['peak_events_minute']:.1f} events/s on average.",
        "",
        "| Calls | peak second (/s) | peak minute (/s) | default quota | at peak minute |",
        "|---|---:|---:|---|---|",
        *rows,
        "",
        "Token buckets absorb the peak second (StartExecution's bucket holds 1,300, state "
        "transitions' 5,000), so the peak minute is the rate that has to fit the refill. "
        "Lambda's concurrency takes the measured invocations per event at the billed duration "
        "the cost model assumes (tooling/bench/cost.py), not the emulator's durations.",
        "",
        "What keeps it under the quotas, and what is missing:",
        "",
        "- **Spread by the fleet itself, no jitter needed at intake.** Monitoring jobs finish over "
        "a quarter of an hour, so completions arrive spread; the intake does no work that has to "
        "be smoothed further. If a Region's jobs ever finish in lockstep, StartExecution's bucket "
        "(1,300) still takes one burst of the whole fleet's data-quality events.",
        "- **Retries with backoff and jitter in the SDK.** Every client is built in "
        "`mlops_runtime.aws` with botocore's *standard* retry mode (exponential backoff with full "
        "jitter, a client-side retry quota), so a throttled Describe* retries spread out.",
        "- **Missing: jitter on Step Functions retries.** The drift response's `Retry` blocks "
        "(IntervalSeconds 2, BackoffRate 2, MaxAttempts 4) have no `JitterStrategy: FULL`: after a "
        "throttle, every execution retries in the same second. Adding it is a one-line change per "
        "Retry; the fault-matrix work of issue 13 (retries bounded and jittered) owns them.",
        "- **Caching that exists: none on the SageMaker path.** Each completion describes its "
        "processing job and then its monitoring schedule "
        f"({measured['calls_per_event'].get('sagemaker', 0):.2f} SageMaker calls per event). The "
        "schedule (its endpoint and type) does not change between hours; a per-container cache "
        "of DescribeMonitoringSchedule (keyed by schedule ARN, minutes long) would halve the "
        "SageMaker calls of a warm function. At the peak minute the fleet makes "
        f"{sagemaker['peak_minute']:,.0f} SageMaker calls/s: SageMaker publishes no default "
        "rate for these operations, and a fleet this size should ask for its account's rates "
        "before relying on them.",
        f"- **Retrains are where quotas bind.** If an upstream break sends {DRIFT_STORM:.0%} of "
        f"the fleet to *retrain* in one hour ({measured['drift_storm_retrains']} models), that is "
        f"{measured['drift_storm_retrains']} StartPipelineExecution calls against "
        f"{pipelines.limit:g} {pipelines.unit}, and each pipeline's training job against "
        f"CreateTrainingJob's {training.limit:g}{training.unit}. The retrain gate's cooldown keeps "
        "a model from retraining twice, but nothing queues retrains across models: the ones over "
        "the quota fail their start (`ResourceLimitExceeded`), and the incident ends as *not "
        "started*. A fleet this size needs a queue (an SQS-fed retrain starter with bounded "
        "concurrency) or a raised quota; not built here.",
        "",
        "Quota sources: "
        + "; ".join(sorted({f"{name}: {quota.source}" for name, quota in QUOTAS.items()}))
        + ".",
    ]


def storm_share(measured: dict[str, Any], key: str) -> float:
    """Per-event figure behind a rate (the peak minute's rate over its event rate)."""
    minute = measured["peak_events_minute"]
    rate = {"executions": "executions_per_second", "state_transitions": "transitions_per_second"}
    return measured[rate[key]] / minute if minute else 0.0


def _verdict(rate: float, limit: float) -> str:
    share = rate / limit if limit else 0.0
    return f"{share:.1%} of quota" + ("" if share <= 1 else " **over**")


def main() -> int:
    from sections import replace  # tooling/bench, this script's folder

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--storm-json", type=Path, required=True)
    parser.add_argument("--endpoints", type=int, default=ENDPOINTS)
    parser.add_argument("--docs", type=Path, default=None, help="rewrite its section here")
    args = parser.parse_args()
    storm = json.loads(args.storm_json.read_text())
    measured = simulate(storm["per_kind"], args.endpoints)
    lines = section(measured, storm)
    if args.docs is not None:
        args.docs.write_text(replace(args.docs.read_text(), "Scale", lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
