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
would start at once against SageMaker's pipeline and training-job quotas. What keeps it under
them is read from the sources where it can be: the state machines' Retry blocks (jitter, caps,
the wait for pipeline capacity).
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

MACHINES = Path(__file__).resolve().parents[2] / "statemachines"

ENDPOINTS = 10_000
SCHEDULES = 2  # data quality + model quality per endpoint
JOB_MINUTES = (5.0, 20.0)  # how long an hourly monitoring job runs (uniform)
REDELIVERED = 0.01  # EventBridge's at-least-once redeliveries: rare in practice
DRIFT_STORM = 0.05  # share of the fleet an upstream break sends to *retrain* in the same hour
RETRAIN_HOURS = 1.0  # assumed run time of one retraining pipeline (the storm runs none to the end)
CAPACITY_ERROR = "RetrainCapacityError"  # what a start refused for the account's limit raises


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


def _retriers(states: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for state in states.values():
        found += state.get("Retry", [])
        for branch in state.get("Branches", []):
            found += _retriers(branch["States"])
        for key in ("Iterator", "ItemProcessor"):
            if key in state:
                found += _retriers(state[key]["States"])
    return found


def worst_case_wait(retrier: dict[str, Any]) -> float:
    """The longest a retrier waits in all (FULL jitter waits at most each capped delay)."""
    interval, rate = retrier.get("IntervalSeconds", 1), retrier.get("BackoffRate", 2.0)
    cap = retrier.get("MaxDelaySeconds", float("inf"))
    return float(sum(min(interval * rate**i, cap) for i in range(retrier.get("MaxAttempts", 3))))


def retry_facts(machines: Path = MACHINES) -> dict[str, Any]:
    """What the state machines' Retry blocks say, read from the ASL itself."""
    retriers = [
        r
        for path in sorted(machines.glob("*.asl.json"))
        for r in _retriers(json.loads(path.read_text())["States"])
    ]
    capacity = [r for r in retriers if CAPACITY_ERROR in r["ErrorEquals"]]
    return {
        "machines": len(list(machines.glob("*.asl.json"))),
        "retriers": len(retriers),
        "jittered": sum(r.get("JitterStrategy") == "FULL" for r in retriers),
        "capped": max(
            (r.get("MaxDelaySeconds", 0) for r in retriers if r not in capacity), default=0
        ),
        "uncapped": sum("MaxDelaySeconds" not in r for r in retriers),
        "capacity": capacity[0] if capacity else None,
        "capacity_wait": worst_case_wait(capacity[0]) if capacity else 0.0,
    }


def warm_containers(measured: dict[str, Any]) -> float:
    """The intake's warm containers at the peak minute (Little's law at the billed duration)."""
    from cost import AWS_INVOCATION_SECONDS  # tooling/bench: one assumption for both models

    return max(1.0, measured["peak_events_minute"] * AWS_INVOCATION_SECONDS)


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
    retries = retry_facts()
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
        _jitter_line(retries),
        _describe_line(measured, sagemaker["peak_minute"]),
        _retrain_line(measured, retries, pipelines, training),
        "",
        "Quota sources: "
        + "; ".join(sorted({f"{name}: {quota.source}" for name, quota in QUOTAS.items()}))
        + ".",
    ]


def _jitter_line(facts: dict[str, Any]) -> str:
    missing = facts["retriers"] - facts["jittered"]
    line = (
        f"- **Jitter on Step Functions retries** (read from `statemachines/`): "
        f"{facts['jittered']} of the {facts['retriers']} `Retry` blocks of the "
        f"{facts['machines']} state machines have `JitterStrategy: FULL`"
    )
    if missing or facts["uncapped"]:
        return (
            f"{line}. **Missing:** {missing} without full jitter, {facts['uncapped']} without "
            "`MaxDelaySeconds`: after a throttle, those executions retry in the same second."
        )
    return (
        f"{line} and a `MaxDelaySeconds` (at most {facts['capped']:g} s, apart from the wait for "
        "pipeline capacity below), so executions throttled together retry spread out."
    )


def _describe_line(measured: dict[str, Any], peak_minute: float) -> str:
    containers = warm_containers(measured)
    return (
        "- **No cache on the SageMaker path.** Each completion describes its processing job and "
        "then its monitoring schedule. A per-container cache of schedules was tried and measured, "
        "and removed: schedules run hourly, so only a duplicate finds a cached answer, "
        f"and only in the container that described it, one of {containers:.0f} warm at the "
        f"peak minute; it saved under 0.1% of the calls. A cache spanning the hour would hit "
        f"about 1 time in {containers:.0f} and would misattribute a schedule re-pointed at "
        "another endpoint. SageMaker publishes no default rate for these Describe operations "
        f"({peak_minute:,.0f} calls/s at the peak minute): a fleet this size should ask for its "
        "account's rates, or map schedules to endpoints in a shared table (one DynamoDB read "
        "instead of a Describe; not built)."
    )


def _retrain_line(
    measured: dict[str, Any], facts: dict[str, Any], pipelines: Quota, training: Quota
) -> str:
    retrains = measured["drift_storm_retrains"]
    head = (
        f"- **Retrains are where quotas bind.** If an upstream break sends {DRIFT_STORM:.0%} of "
        f"the fleet to *retrain* in one hour ({retrains} models), that is {retrains} "
        f"StartPipelineExecution calls against {pipelines.limit:g} {pipelines.unit}, and each "
        f"pipeline's training job against CreateTrainingJob's {training.limit:g}{training.unit}. "
        "The retrain gate's cooldown keeps a model from retraining twice."
    )
    retrier = facts["capacity"]
    if retrier is None:
        return (
            f"{head} Nothing waits for capacity: the starts over the quota fail "
            "(`ResourceLimitExceeded`) and their incidents end as *not started*."
        )
    hours = facts["capacity_wait"] / 3600
    started = min(retrains, pipelines.limit * (1 + hours / RETRAIN_HOURS))
    return (
        f"{head} A start over the quota (`ResourceLimitExceeded`) raises `{CAPACITY_ERROR}`, and "
        f"the drift response retries it from {retrier['IntervalSeconds']:g} s doubling to "
        f"{retrier['MaxDelaySeconds'] / 60:g} min with full jitter, at most {hours:.1f} h in all "
        "(read from the ASL): the refused starts spread out and take the slots running pipelines "
        "free, one execution per incident (its ClientRequestToken). At "
        f"{RETRAIN_HOURS:g} h a pipeline (assumed), about {started:.0f} of the {retrains} start "
        f"within that wait; the other {retrains - started:.0f} page with the reason and are "
        "tried again by their model's next monitoring run, as a new incident. A burst a little "
        "over the quota drains by itself; a fleet-wide storm needs the account's quota raised "
        "(a queue would only hold the same starts longer)."
    )


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
