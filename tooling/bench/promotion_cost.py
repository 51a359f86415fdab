"""Measure one promotion on the embedded emulator; estimate what a promotion costs on AWS.

Run by ``make bench`` (its JSON feeds tooling/bench/report.py's promotion section):

    python tooling/bench/promotion_cost.py --out .tmp/bench/promotion.json

It runs the demo's promotion of ``demand`` v2 end to end (registry approval -> quality gate ->
staging -> shadow test -> verdict -> approval in Slack -> blue/green deployment -> verify ->
finish) and counts, from the execution's history and the emulator's trace, the state
transitions of each kind of state and the Lambda invocations of each function. The poll loops
run as often as the emulator's lifecycles need; on AWS they run as long as SageMaker takes, so
the estimate separates the fixed transitions from the per-poll ones and prices a typical AWS
run (stated assumptions below).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import warnings
from collections import Counter
from pathlib import Path
from typing import Any

# List prices assumed, us-east-1, from AWS's public pricing pages as of 2025 (not re-checked
# live: no network here); the report prints them with this date.
PRICES_AS_OF = "2025 list prices, us-east-1, assumed unchanged on 2026-11-25"
STANDARD_TRANSITION = 0.025 / 1000  # Step Functions Standard, per state transition
LAMBDA_GB_SECOND = 0.0000166667  # x86
LAMBDA_REQUEST = 0.20 / 1_000_000
GET_METRIC_DATA_METRIC = 0.01 / 1000  # per metric requested
# A typical promotion on AWS: how long each polled phase lasts, and the poll interval.
AWS_POLL_SECONDS = 60
AWS_PHASE_MINUTES = {
    "staging endpoint InService": 8,
    "shadow test Running": 8,
    "shadow test ended, endpoint back": 6,
    "blue/green deployment (canary 300 s + bake 600 s)": 30,
}
AWS_STEP_SECONDS = 0.8  # a promotion step's billed duration (SageMaker API calls, warm)
AWS_MEMORY_GB = 0.5  # template.yaml: MemorySize 512
POLLED = {"CheckStaging", "CheckShadowStarted", "CheckShadowEnded", "CheckDeployment"}
POLL_STATES = {
    "WaitForStaging",
    "WaitForShadowStart",
    "WaitForShadowEnd",
    "WaitForDeployment",
    "StagingReady",
    "ShadowRunning",
    "ShadowEnded",
    "DeploymentSettled",
} | POLLED
METRICS_PER_VERDICT = 8  # GetMetricData: 4 metrics x 2 variants (tooling: target_accounts.py)


def measure() -> dict[str, Any]:
    from mlopscp.local import LocalControlPlane
    from mlopscp.worlds.promotion import PROMOTION_MODELS
    from mlopscp_emulator import Emulator
    from mlopscp_emulator.trace import LambdaInvocation

    warnings.filterwarnings("ignore")
    with Emulator() as emu:
        plane = LocalControlPlane(emu).up()
        world, demand = plane.promotion, PROMOTION_MODELS["demand"]
        mark = len(emu.trace)
        emu.put_event(world.approve_in_registry(demand, 2))
        world.wait_for_shadow(demand)
        world.shadow_traffic(demand, 2)
        emu.wait_idle(timeout=180)
        world.approve_in_slack(world.pending_approval(demand)["approval_id"])
        emu.wait_idle(timeout=180)
        (execution,) = world.executions(demand)
        arn = execution["executionArn"]
        status = emu.client("stepfunctions").describe_execution(executionArn=arn)["status"]
        states = emu.execution_states(arn)
        names = {info.name: logical for logical, info in plane.stack.functions.items()}
        calls = [r for r in emu.trace.since(mark) if isinstance(r, LambdaInvocation)]
    invocations = Counter(names.get(c.function, c.function) for c in calls)
    durations = [c.duration_ms for c in calls if names.get(c.function) == "PromotionStepFunction"]
    return {
        "status": status,
        "states": states,
        "transitions": len(states),
        "state_counts": dict(Counter(states)),
        "lambda_invocations": dict(invocations),
        "step_ms_emulated": sorted(round(d, 1) for d in durations),
    }


def estimate(measured: dict[str, Any]) -> dict[str, Any]:
    """A typical AWS promotion: the emulator's fixed transitions + AWS-length poll loops."""
    counts = measured["state_counts"]
    polls_seen = sum(counts.get(state, 0) for state in POLLED)
    fixed = measured["transitions"] - sum(counts.get(s, 0) for s in POLL_STATES)
    polls = sum(math.ceil(m * 60 / AWS_POLL_SECONDS) for m in AWS_PHASE_MINUTES.values())
    # Each poll: Wait + Check (Task) + Choice. The shadow's duration is one Wait, whatever it is.
    transitions = fixed + 3 * polls
    step_invocations = measured["lambda_invocations"].get("PromotionStepFunction", 0)
    lambda_calls = step_invocations - polls_seen + polls + 2  # + intake + request approval
    lambda_cost = lambda_calls * (
        AWS_STEP_SECONDS * AWS_MEMORY_GB * LAMBDA_GB_SECOND + LAMBDA_REQUEST
    )
    costs = {
        "step_functions": transitions * STANDARD_TRANSITION,
        "lambda": lambda_cost,
        "get_metric_data": METRICS_PER_VERDICT * GET_METRIC_DATA_METRIC,
    }
    return {
        "fixed_transitions": fixed,
        "polls": polls,
        "transitions": transitions,
        "lambda_invocations": lambda_calls,
        "costs": costs,
        "total": sum(costs.values()),
    }


def section(measured: dict[str, Any]) -> list[str]:
    typical = estimate(measured)
    counts = measured["state_counts"]
    durations = measured["step_ms_emulated"]
    return [
        "",
        "## Promotion: state transitions and cost",
        "",
        "One promotion of `demand` v2, end to end on the embedded emulator "
        "(tooling/bench/promotion_cost.py, the demo's promotion scenario): registry approval, "
        "quality gate, staging deploy, shadow test, verdict, approval in Slack, blue/green "
        f"deployment, verification, finish. Execution status: **{measured['status']}**.",
        "",
        "| | emulator run | typical AWS run |",
        "|---|---:|---:|",
        f"| state transitions (Standard workflow) | {measured['transitions']} "
        f"| {typical['transitions']} |",
        f"| of which poll loops (Wait + Check + Choice) | "
        f"{measured['transitions'] - typical['fixed_transitions']} | {3 * typical['polls']} |",
        f"| promotion step invocations (Lambda) | "
        f"{measured['lambda_invocations'].get('PromotionStepFunction', 0)} "
        f"| {typical['lambda_invocations'] - 2} |",
        f"| CloudWatch metrics requested (GetMetricData) | {METRICS_PER_VERDICT} "
        f"| {METRICS_PER_VERDICT} |",
        f"| promotion step duration, median (ms) | {durations[len(durations) // 2]:.0f} "
        f"| {AWS_STEP_SECONDS * 1000:.0f} (assumed) |",
        "",
        f"The typical AWS run polls every {AWS_POLL_SECONDS} s and assumes these phase lengths: "
        + "; ".join(f"{k} {v} min" for k, v in AWS_PHASE_MINUTES.items())
        + f" ({typical['polls']} polls). The shadow test's duration is one Wait state and the "
        "human approval one waiting task: neither adds transitions however long they last.",
        "",
        f"Cost of the control plane per promotion, typical AWS run ({PRICES_AS_OF}):",
        "",
        "| item | assumption | USD |",
        "|---|---|---:|",
        f"| Step Functions Standard | {typical['transitions']} transitions x "
        f"$0.025 / 1,000 | {typical['costs']['step_functions']:.5f} |",
        f"| Lambda | {typical['lambda_invocations']} invocations x {AWS_STEP_SECONDS} s x "
        f"{AWS_MEMORY_GB} GB x $0.0000166667 / GB-s + $0.20 / 1M requests "
        f"| {typical['costs']['lambda']:.5f} |",
        f"| CloudWatch GetMetricData | {METRICS_PER_VERDICT} metrics x $0.01 / 1,000 "
        f"| {typical['costs']['get_metric_data']:.5f} |",
        f"| **total** | | **{typical['total']:.4f}** |",
        "",
        "Not included: free tiers (4,000 transitions and 400,000 GB-s a month would cover "
        "this entirely), DynamoDB, SNS, S3 and Secrets Manager requests (fractions of a cent), "
        "and above all SageMaker itself: the staging endpoint and the shadow variant's "
        "instances for the shadow test's duration, and the blue/green fleet during the "
        "deployment, which cost orders of magnitude more than the orchestration.",
        "",
        "States entered in the emulator run, by count:",
        "",
        "| state | entered |",
        "|---|---:|",
        *(f"| {name} | {n} |" for name, n in sorted(counts.items(), key=lambda kv: -kv[1])),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="where to write the JSON")
    args = parser.parse_args()
    measured = measure()
    measured["estimate"] = estimate(measured)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(measured, indent=2))
    print(
        f"{measured['status']}: {measured['transitions']} transitions on the emulator, "
        f"~{measured['estimate']['transitions']} on AWS, "
        f"${measured['estimate']['total']:.4f} per promotion; wrote {args.out}"
    )
    return 0 if measured["status"] == "SUCCEEDED" else 1


if __name__ == "__main__":
    sys.exit(main())
