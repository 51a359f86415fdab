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
import itertools
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
        from mlopscp_emulator import sagemaker_ext

        arn = self._pipelines.get(model.model_id)
        if arn is None:  # a run nobody asked the control plane for (a scheduled one)
            arn = self.plane.emu.client("sagemaker").start_pipeline_execution(
                PipelineName=model.pipeline, ClientRequestToken=uuid.uuid4().hex
            )["PipelineExecutionArn"]
            self._pipelines[model.model_id] = arn
            # How it ended: the control plane consumes only ends (Executing matches no rule).
            ended = self.rng.choice(("Succeeded", "Failed"))
            reason = "AlgorithmError: the training step failed" if ended == "Failed" else None
            sagemaker_ext.set_pipeline_execution_status(arn, ended, reason)
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


class StormStalledError(RuntimeError):
    """The driver waited `patience` seconds and no delivery it waits for ended."""


class Flight:
    """Which sends are still in flight, from the emulator's trace (pure: records in, counts out).

    A send (one put or redelivery of an event) is in flight until each Lambda target of each
    rule it matched has ended with it: Lambda's async machinery finished (success, or retries
    spent: ``AsyncInvocationDone``) or EventBridge gave up delivering (``TargetDeliveryFailed``).
    Deliveries are counted by (event id, function ARN): a redelivery is one more of the same key.
    """

    def __init__(self) -> None:
        self.expected: Counter[tuple[str, str]] = Counter()
        self.ended: Counter[tuple[str, str]] = Counter()
        self.runs: dict[tuple[str, str], list[Any]] = defaultdict(list)
        self._key_of: dict[str, tuple[str, str]] = {}  # async request id -> its delivery

    def sent(self, event_id: str, targets: list[str]) -> None:
        self.expected.update((event_id, arn) for arn in targets)

    def read(self, records: list[Any]) -> int:
        """Take in trace records; return how many deliveries they ended."""
        from mlopscp_emulator.trace import (
            AsyncInvocationDone,
            LambdaInvocation,
            TargetDeliveryFailed,
        )

        ended = 0
        for record in records:
            if isinstance(record, LambdaInvocation) and record.invocation_type == "Event":
                payload = record.payload if isinstance(record.payload, dict) else {}
                if "detail-type" in payload and "id" in payload:
                    key = (str(payload["id"]), record.function_arn)
                    self._key_of[record.request_id] = key
                    self.runs[key].append(record)
            elif isinstance(record, AsyncInvocationDone) and record.request_id in self._key_of:
                self.ended[self._key_of[record.request_id]] += 1
                ended += 1
            elif isinstance(record, TargetDeliveryFailed) and ":lambda:" in record.target_arn:
                self.ended[(record.event_id, record.target_arn)] += 1
                ended += 1
        return ended

    def outstanding(self) -> dict[tuple[str, str], int]:
        """(event id, function ARN) -> deliveries sent that have not ended."""
        return {k: n - self.ended[k] for k, n in self.expected.items() if n > self.ended[k]}

    def in_flight(self) -> int:
        """Sends not ended: per event id, its target with the most deliveries not ended (every
        send of an id matches the same rules)."""
        busiest: dict[str, int] = {}
        for (event_id, _), n in self.outstanding().items():
            busiest[event_id] = max(n, busiest.get(event_id, 0))
        return sum(busiest.values())

    def describe(self) -> list[str]:
        """One line per delivery still waited for: event id, target, what the trace shows."""
        lines = []
        for (event_id, arn), n in sorted(self.outstanding().items()):
            seen = ", ".join(
                f"attempt {r.attempt}: {r.error_type or 'returned'} in {r.duration_ms / 1000:.1f} s"
                for r in self.runs.get((event_id, arn), [])
            )
            function = arn.rsplit(":", 1)[-1]
            lines.append(f"event {event_id} -> {function}: {n} not ended ({seen or 'no run'})")
        return lines


class InFlight:
    """Keeps at most `limit` sends in flight (as many as a small reserved concurrency would run
    at once), not the whole storm queued on a 2-core emulator; never waits forever: after
    `patience` seconds in which no delivery ended it raises :class:`StormStalledError` naming
    each delivery it still waits for."""

    def __init__(self, trace: Any, limit: int, patience: float) -> None:
        self.trace, self.limit, self.patience = trace, limit, patience
        self.flight = Flight()
        self._mark, self._reserved = len(trace), 0
        self._progress = time.monotonic()
        self._lock = threading.Lock()

    def reserve(self) -> None:
        """Wait for room for one more send and hold it until :meth:`sent`."""
        while not self._take(lambda busy: busy < self.limit):
            time.sleep(0.1)

    def sent(self, event_id: str, targets: list[str]) -> None:
        with self._lock:
            self._reserved -= 1
            self.flight.sent(event_id, targets)

    def drain(self) -> None:
        """Wait until every send has ended."""
        while not self._take(lambda busy: busy == 0, reserve=False):
            time.sleep(0.1)

    def _take(self, room: Any, reserve: bool = True) -> bool:
        with self._lock:
            records = self.trace.since(self._mark)
            self._mark += len(records)
            now = time.monotonic()
            if self.flight.read(records):
                self._progress = now
            busy = self.flight.in_flight() + self._reserved
            if room(busy):
                self._reserved += reserve
                self._progress = now
                return True
            if now - self._progress > self.patience:
                waiting = self.flight.describe()
                raise StormStalledError(
                    f"no delivery ended in {self.patience:.0f} s; still waiting for "
                    f"{len(waiting)}:\n" + "\n".join(waiting)
                )
            return False


def deliver(emu: Any, stack: Any, sent: list[Sent], concurrency: int) -> float:
    """Every send from `concurrency` threads at once, at most `concurrency` sends in flight;
    seconds until the stack was idle again."""
    lambda_targets = {
        rule.name: [str(t["Arn"]) for t in rule.targets if ":lambda:" in str(t.get("Arn", ""))]
        for rule in stack.rules.values()
    }
    # A delivery ends within its attempts (1 + 2 async retries) of the slowest function.
    patience = 3 * max(info.timeout for info in stack.functions.values()) + 60
    flight = InFlight(emu.trace, concurrency, patience)
    progress = itertools.count(1)

    def one(send: Sent) -> None:
        flight.reserve()
        rules: list[str] = []
        try:
            if send.how == "redelivery":
                rules = emu.redeliver(send.envelope)
            else:
                rules = emu.put_event(send.envelope)
        finally:
            targets = [arn for rule in rules for arn in lambda_targets.get(rule, [])]
            flight.sent(send.envelope["id"], targets)
        done = next(progress)  # atomic under the GIL
        if done % 100 == 0:
            print(f"storm: {done:,} of {len(sent):,} sent", file=sys.stderr, flush=True)

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(one, sent))
    flight.drain()
    emu.wait_idle(timeout=max(600, len(sent)))
    return time.perf_counter() - started


# ---------------------------------------------------------------------------- accounting


ORDER = ("acted", "duplicate", "rejected", "ignored", "failed")  # the fate a send shows first
ENDED_BADLY = ("FAILED", "TIMED_OUT", "ABORTED")


def delivery_status(invocation: Any) -> str:
    """What one target's handler made of one delivery (its last attempt): acted | duplicate |
    ignored | rejected | failed (every attempt failed: Lambda dead-lettered it)."""
    if invocation.error is not None:
        return "failed"
    result = invocation.result if isinstance(invocation.result, dict) else {}
    status = str(result.get("status", ""))
    return status if status in ("ignored", "duplicate", "rejected") else "acted"


def execution_fate(status: str, output: Any) -> str:
    """An event's fate from how the workflow it started ended: a drift response that found its
    run on record (incident tracking's ``duplicate`` transition, or a watch already recorded)
    is a duplicate; one that ended badly is failed (after its failure notice); one still running
    waits for a human (an approval asked) and has acted."""
    if status in ENDED_BADLY:
        return "failed"
    if status != "SUCCEEDED":
        return "acted"
    output = output if isinstance(output, dict) else {}
    incident, watch = output.get("incident") or {}, output.get("watch") or {}
    if incident.get("transition") == "duplicate":
        return "duplicate"
    if incident.get("route") == "watch" and watch.get("recorded") is False:
        return "duplicate"
    return "acted"


def send_fates(deliveries: dict[str, list[str]], sends: int) -> list[str]:
    """The fates of an event id's `sends` sends, given each target's delivery statuses (one per
    send, in any order: which send got which answer cannot be told, the counts can). The i-th
    best answer of every target makes the i-th send's fate: acted if any target acted, else
    duplicate, rejected, failed, or ignored when every target said why not."""
    ranked = {t: sorted(s, key=ORDER.index) for t, s in deliveries.items()}
    fates = []
    for i in range(sends):
        answers = [s[i] for s in ranked.values() if i < len(s)]
        if not answers:
            fates.append("lost")  # a rule matched, yet no target ever ran or gave up on it
        elif all(a == "ignored" for a in answers):
            fates.append("ignored")
        else:
            fates.append(min((a for a in answers if a != "ignored"), key=ORDER.index))
    return fates


@dataclass
class Seen:
    """What the trace says about the storm's events."""

    # event id -> target function -> each delivery's last attempt (one per async request)
    deliveries: dict[str, dict[str, dict[str, Any]]]
    matched: set[str]  # event ids one of the stack's rules matched
    undelivered: dict[str, list[Any]]  # event id -> EventBridge deliveries it gave up on


def read_trace(records: list[Any], rules: set[str]) -> Seen:
    """What happened to the storm's events; `rules`: the stack's own rules (not, e.g., the rule
    EventBridge keeps for an archive, which matches every event and consumes none)."""
    from mlopscp_emulator.trace import LambdaInvocation, RuleMatched, TargetDeliveryFailed

    seen = Seen(defaultdict(lambda: defaultdict(dict)), set(), defaultdict(list))
    for record in records:
        if isinstance(record, RuleMatched) and record.rule in rules:
            seen.matched.add(record.event_id)
        elif isinstance(record, TargetDeliveryFailed):
            seen.undelivered[record.event_id].append(record)
        elif isinstance(record, LambdaInvocation) and record.invocation_type == "Event":
            payload = record.payload if isinstance(record.payload, dict) else {}
            if "detail-type" in payload and "id" in payload:  # a later attempt replaces
                seen.deliveries[str(payload["id"])][record.function][record.request_id] = record
    return seen


def fates(emu: Any, stack: Any, sent: list[Sent], mark: int) -> dict[str, Any]:
    """Each send's fate, from what its targets returned (the last attempt of each delivery)
    and, where a target started a workflow, from how that execution ended."""
    seen = read_trace(emu.trace.since(mark), {rule.name for rule in stack.rules.values()})
    sfn = emu.client("stepfunctions")
    reasons: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    counts: Counter[str] = Counter()
    sends = Counter(send.envelope["id"] for send in sent)
    kind = {send.envelope["id"]: send.kind for send in sent}
    for event_id, n in sends.items():
        if event_id not in seen.matched:
            # EventBridge's patterns filter it out: nothing runs, nothing to do
            counts["ignored"] += n
            reasons[f"no rule matches it ({kind[event_id]})"] += n
            continue
        statuses: dict[str, list[str]] = {}
        for function, runs in seen.deliveries.get(event_id, {}).items():
            statuses[function] = []
            for run in runs.values():
                status = delivery_status(run)
                arn = run.result.get("execution_arn") if isinstance(run.result, dict) else None
                if status == "acted" and arn:
                    ended = sfn.describe_execution(executionArn=arn)
                    output = json.loads(ended.get("output") or "{}")
                    status = execution_fate(ended["status"], output)
                    if status == "failed":
                        errors[f"{_short(arn)}: {ended.get('error') or ended['status']}"] += 1
                elif status == "failed":
                    errors[f"{_short(run.function)}: {run.error_type}"] += 1
                elif status == "ignored":
                    reasons[_reason(run.result)] += 1
                statuses[function].append(status)
        for failed in seen.undelivered.get(event_id, []):
            statuses.setdefault(failed.target_arn.rsplit(":", 1)[-1], []).append("failed")
            errors[f"EventBridge to {_short(failed.target_arn)}: {failed.error_code}"] += 1
        counts.update(send_fates(statuses, n))
    return {
        "counts": dict(counts),
        "ignored_reasons": dict(reasons.most_common(12)),
        "failures": dict(errors.most_common(8)),
    }


def _short(name_or_arn: str) -> str:
    """A function's or execution's logical name: stack-DriftIntakeFunction-ABC -> DriftIntake..."""
    name = name_or_arn.rsplit(":", 2)[-2] if ":execution:" in name_or_arn else name_or_arn
    name = name.rsplit(":", 1)[-1]
    return next((part for part in name.split("-") if part.endswith(("Function", "Machine"))), name)


def execution_key(request: Any, execution_arn: str) -> str:
    """What an execution acts for, so that two for the same thing are a duplicate action: a
    promotion's model version (``promotion_id``), a drift response's event; else only itself."""
    return _find(request, "promotion_id") or _find(request, "event_id") or execution_arn


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
                keys[execution_key(request, execution["executionArn"])] += 1
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


class LoadSampler:
    """The machine's 1-minute load average, sampled every `every` seconds while it is open."""

    def __init__(self, every: float = 10.0) -> None:
        self.every, self.samples = every, [os.getloadavg()[0]]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True, name="load-sampler")

    def _sample(self) -> None:
        while not self._stop.wait(self.every):
            self.samples.append(os.getloadavg()[0])

    def __enter__(self) -> LoadSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def mean(self) -> float:
        return round(sum(self.samples) / len(self.samples), 1)

    @property
    def peak(self) -> float:
        return round(max(self.samples), 1)


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
        with LoadSampler() as load:
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
        "load_average": load.mean,
        "load_peak": load.peak,
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
# Not one of the rows, shown when any: a target failed on every attempt and Lambda's
# async machinery dead-lettered the event with the error, or the workflow it started ended
# Failed (after its failure notice).
FAILED = "failed (dead-lettered with the error, or its workflow ended Failed)"
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
        f"{m.get('in_flight', m['concurrency'])} sends in flight (a send is in flight until "
        "Lambda is done with each target it reached, retries included). Kinds sent: "
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
        f"({'all' if m['accounted'] == m['events'] else '**not all**'}), one fate per send, "
        "from what its targets returned and, where one started a workflow, how that execution "
        "ended (read back from Step Functions). *acted*: a target started or recorded "
        "something (a drift response that opened or updated an incident, or recorded a watch; "
        "one still running waits for a human's approval); *duplicate*: the same id again (the "
        "intake's idempotency) or the same state under a new id (the drift response found its "
        "run on record); *ignored*: every target said why not; *rejected*: dead-lettered with an "
        f"`event_rejected` ledger entry (read back: {m['dead_letters']} dead letters, "
        f"{m['rejected_in_ledger']} ledger entries"
        + (
            "; a malformed event redelivered is dead-lettered again, its ledger entry is "
            "written once"
            if m["dead_letters"] > m["rejected_in_ledger"]
            else ""
        )
        + "); *lost*: matched by one of the stack's rules, yet no target ran or gave up on it. "
        "Duplicate actions are "
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
                f"*{FAILED}*: Lambda's asynchronous invocation gave up after its retries and "
                "sent the event, with the error, to the function's dead-letter queue (read back "
                "above), or the drift response ended in its Failed state after its failure "
                "notice: recoverable by a redrive, not lost, and no action was taken twice. "
                f"During this run the machine's load average was {m.get('load_average', '?')} "
                f"(1-minute, mean of samples; peak {m.get('load_peak', '?')}) on 2 cores shared "
                "with other jobs; the same handlers alone, one event at a time, end well within "
                "their timeouts (the per-kind table below).",
                "",
            ]
            if counts.get("failed")
            else [
                f"During this run the machine's load average was {m.get('load_average', '?')} "
                f"(1-minute, mean of samples; peak {m.get('load_peak', '?')}) on 2 cores.",
                "",
            ]
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
        "event; docs/promotion.md counts its calls). A *training job* state change is consumed "
        "by Spot recovery and the guardrails, which decide from the job description the event "
        "carries; only a resume reads the job (DescribeTrainingJob, ListTags: the description "
        "has no tags) and creates the new one (CreateTrainingJob). The S3 calls of the drift "
        "kinds are "
        "triage reading the endpoint's monitoring history, one GET per file.",
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
