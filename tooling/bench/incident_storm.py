"""Replay a day of a 50-model fleet's monitoring through the incident lifecycle and count pages.

Run by ``make bench`` (its JSON feeds tooling/bench/report.py's incident section):

    python tooling/bench/incident_storm.py --out .tmp/bench/incidents.json [--store memory]

A seeded, reproducible fleet (:func:`fleet`): clean models, persistent schema breaks, a break
that clears and comes back within the reopen window, flapping drift, escalations (a second
column breaks), breaks that clear for good, and retrains that run for hours while the drift goes
on. Every hour each endpoint's monitoring schedules (1 to 4 streams) finish a few minutes apart;
each finish is an event delivered 1 to 3 times (EventBridge is at-least-once), and now and then
a stream's event is triaged before the endpoint's other streams wrote their hour (a partial
state: a run of its own).

Each triaged run goes through the real lifecycle, :func:`mlops_core.incidents.observe`, for
both incident kinds, as the drift response does; retrain incidents start a retrain through the
real :func:`mlops_core.retrain.retrain_gate` and end with their pipeline
(:func:`mlops_core.incidents.end_retrain`). ``--store moto`` (the default) persists every step
through :class:`mlops_runtime.incidents.IncidentStore` into the template's own state and ledger
tables on moto (in-process) and reads the counts back from the ledger; ``--store memory`` keeps
the current incidents in a dict (what the unit test uses).

The old behaviour is counted on the same runs: one incident and one page per monitoring state
that triage sent to *investigate* (an id per model and monitoring state, as before), and one retrain
decision per state that it sent to *retrain*.
"""

from __future__ import annotations

import argparse
import heapq
import json
import random
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from mlops_core.errors import IncidentChangedError
from mlops_core.incidents import (
    IncidentKind,
    IncidentPolicy,
    IncidentState,
    Observation,
    Step,
    Transition,
    end_retrain,
    observe,
)
from mlops_core.retrain import RUNNING, SUCCEEDED, retrain_gate
from mlops_core.signals import run_id as old_incident_id

ROOT = Path(__file__).resolve().parents[2]
DAY = datetime(2026, 11, 29, tzinfo=UTC)
COOLDOWN = timedelta(hours=24)  # DEFAULT_RETRAIN_COOLDOWN_HOURS in samplefile.env
PARTIAL = 0.15  # chance an event is triaged before the endpoint's later streams wrote their hour
COPIES = (1, 1, 1, 1, 1, 1, 2, 2, 2, 3)  # deliveries per event: at-least-once
STREAMS = (1, 2, 2, 3, 3, 4)  # monitoring schedules per endpoint
# How many models of each kind the fleet has (50 in all), in the order they are drawn.
MIX = {
    "clean": 20,
    "persistent_break": 8,
    "break_returns": 5,
    "cleared_break": 2,
    "flapping_drift": 5,
    "escalation": 5,
    "retrain_in_flight": 5,
}
COLUMNS = ("zip_code", "country", "device_type", "basket_value", "latency_ms", "age")


# ---------------------------------------------------------------------------- the fleet's day


@dataclass(frozen=True)
class HourState:
    """What triage decides on a model's monitoring state in one hour."""

    decision: str  # investigate | retrain | watch
    findings: tuple[tuple[str, str], ...] = ()  # (finding kind, subject)


@dataclass(frozen=True)
class ModelDay:
    model_id: str
    profile: str
    streams: int
    hours: tuple[HourState, ...]
    problems: int  # distinct problems (a return, an escalation or a flap is the same problem)
    pipeline_hours: int = 0  # how long a retrain it starts runs


CLEAN = HourState("watch")


def _broken(*columns: str) -> HourState:
    return HourState("investigate", tuple(("integrity_violation", c) for c in columns))


def _day(hours: int, spans: list[tuple[int, int, HourState]]) -> tuple[HourState, ...]:
    day = [CLEAN] * hours
    for start, end, state in spans:
        for hour in range(max(start, 0), min(end, hours)):
            day[hour] = state
    return tuple(day)


def _profile_day(profile: str, rng: random.Random, hours: int, resolve_after: int) -> ModelDay:
    column, other = rng.sample(COLUMNS, 2)
    start = rng.randrange(0, 6)
    if profile == "clean":
        return ModelDay("", profile, 0, _day(hours, []), 0)
    if profile == "persistent_break":
        return ModelDay("", profile, 0, _day(hours, [(start, hours, _broken(column))]), 1)
    if profile == "cleared_break":
        end = start + rng.randrange(4, 10)
        return ModelDay("", profile, 0, _day(hours, [(start, end, _broken(column))]), 1)
    if profile == "break_returns":
        first = start + rng.randrange(2, 5)
        back = first + resolve_after + rng.randrange(1, 4)  # resolved, then back within 24 h
        spans = [
            (start, first, _broken(column)),
            (back, back + rng.randrange(2, 6), _broken(column)),
        ]
        return ModelDay("", profile, 0, _day(hours, spans), 1)
    if profile == "flapping_drift":
        flap = HourState("investigate", (("sudden_drift", column),))
        spans = [(h, h + 1, flap) for h in range(start, hours) if rng.random() < 0.5]
        return ModelDay("", profile, 0, _day(hours, spans), 1)
    if profile == "escalation":
        worse, end = start + rng.randrange(2, 6), start + rng.randrange(10, 16)
        spans = [(start, end, _broken(column)), (worse, end, _broken(column, other))]
        return ModelDay("", profile, 0, _day(hours, spans), 1)
    if profile == "retrain_in_flight":
        drift = HourState(
            "retrain", (("sustained_drift", column), ("quality_decline", "validation:mae"))
        )
        day = _day(hours, [(start, hours, drift)])
        return ModelDay("", profile, 0, day, 1, pipeline_hours=rng.randrange(3, 7))
    raise ValueError(profile)


def fleet(
    seed: int = 17, mix: dict[str, int] | None = None, hours: int = 24, resolve_after: int = 3
) -> list[ModelDay]:
    """The fleet's day, the same for the same seed."""
    rng = random.Random(seed)
    profiles = [p for p, n in (mix or MIX).items() for _ in range(n)]
    days = []
    for number, profile in enumerate(profiles):
        day = _profile_day(profile, rng, hours, resolve_after)
        days.append(
            ModelDay(
                f"m{number:02d}-{profile.replace('_', '-')}",
                profile,
                rng.choice(STREAMS),
                day.hours,
                day.problems,
                day.pipeline_hours,
            )
        )
    return days


@dataclass(order=True, frozen=True)
class Delivery:
    """One delivery of one stream's event, and the monitoring state its triage sees."""

    at: datetime
    model_id: str = field(compare=False)
    hour: int = field(compare=False)
    event_id: str = field(compare=False)
    run: str = field(compare=False)  # the triage's signal_key


def deliveries(days: list[ModelDay], seed: int = 17) -> list[Delivery]:
    """Every delivery of the day, in the order they arrive."""
    rng = random.Random(seed + 1)
    found = []
    for day in days:
        for hour in range(len(day.hours)):
            # Streams write their hour minutes apart; the first `early` events are triaged
            # before the later streams wrote (each its own partial state), the rest see it all.
            early = 0
            while early < day.streams - 1 and rng.random() < PARTIAL:
                early += 1
            for stream in range(day.streams):
                finished = DAY + timedelta(hours=hour, minutes=2 + 4 * stream + rng.random() * 3)
                run = f"{day.model_id}@{hour:02d}" + (f"/partial{stream}" if stream < early else "")
                event = f"{day.model_id}-{hour:02d}-{stream}"
                for copy in range(rng.choice(COPIES)):
                    at = finished + timedelta(seconds=1 + copy * 20 + rng.random() * 5)
                    found.append(Delivery(at, day.model_id, hour, event, run))
    return sorted(found)


# ---------------------------------------------------------------------------- where incidents live


class Tracker(Protocol):
    def current(self, model_id: str, kind: IncidentKind) -> IncidentState | None: ...

    def apply(self, step: Step) -> None: ...


class MemoryTracker:
    """The models' current incidents in a dict, with the store's pointer and its conditions (a
    new incident's id must be new, every later write must follow the version it was read at)."""

    def __init__(self) -> None:
        self._current: dict[tuple[str, str], str] = {}
        self._incidents: dict[str, IncidentState] = {}

    def current(self, model_id: str, kind: IncidentKind) -> IncidentState | None:
        incident = self._current.get((model_id, str(kind)))
        return self._incidents[incident] if incident else None

    def apply(self, step: Step) -> None:
        state = step.state
        if not step.writes or state is None:
            return
        stored = self._incidents.get(state.incident_id)
        if (stored.version if stored else 0) != state.version - 1:
            raise IncidentChangedError(f"{state.incident_id} is not at version {state.version - 1}")
        self._incidents[state.incident_id] = state
        if step.transition == Transition.OPENED:
            self._current[(state.model_id, str(state.kind))] = state.incident_id


# ---------------------------------------------------------------------------- the replay


@dataclass
class Counts:
    """What happened, per incident (new behaviour) and per model (old behaviour)."""

    transitions: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    pages: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    incident_model: dict[str, str] = field(default_factory=dict)
    incident_kind: dict[str, str] = field(default_factory=dict)
    old: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    model: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))

    def record(self, step: Step) -> None:
        if not step.writes or step.incident_id is None or step.state is None:
            return  # a duplicate, or a clean run with nothing open: nothing happens
        incident = step.incident_id
        self.incident_model[incident] = step.state.model_id
        self.incident_kind[incident] = str(step.state.kind)
        self.transitions[incident][str(step.transition)] += 1
        if step.page:
            self.pages[incident][str(step.transition)] += 1


def _triage(day: ModelDay, delivery: Delivery) -> dict[str, Any]:
    """What the drift triage hands the state machine for this run."""
    state = day.hours[delivery.hour]
    findings = [
        {"kind": kind, "subject": subject, "summary": f"{kind} on {subject}"}
        for kind, subject in state.findings
    ]
    return {
        "model_id": day.model_id,
        "decision": state.decision,
        "summary": {
            "signal_key": delivery.run,
            "reasons": [f["summary"] for f in findings],
            "findings": findings,
        },
    }


class Replay:
    """Drives one day through the lifecycle (new) and through the old per-state rule."""

    def __init__(self, days: list[ModelDay], tracker: Tracker, policy: IncidentPolicy) -> None:
        self.days = {d.model_id: d for d in days}
        self.tracker, self.policy = tracker, policy
        self.counts = Counts()
        self._delivered: set[str] = set()  # the intake's idempotency: event ids seen
        self._old_runs: set[str] = set()
        self._locks: dict[str, dict[str, Any]] = {}  # new: retrain lock per model
        self._old_locks: dict[str, dict[str, Any]] = {}
        self._ends: list[tuple[datetime, int, str, str, bool]] = []  # pipeline ends, by time

    def run(self, schedule: list[Delivery]) -> Counts:
        for delivery in schedule:
            self._end_pipelines(before=delivery.at)
            self.deliver(delivery)
        self._end_pipelines(before=DAY + timedelta(days=2))
        return self.counts

    def deliver(self, delivery: Delivery) -> None:
        model = self.counts.model[delivery.model_id]
        model["deliveries"] += 1
        if delivery.event_id in self._delivered:
            model["dropped_at_intake"] += 1
            return
        self._delivered.add(delivery.event_id)
        model["triaged"] += 1
        day, now = self.days[delivery.model_id], delivery.at
        triage = _triage(day, delivery)
        self._old(day, delivery, triage["decision"], now)
        duplicate = False
        for kind in (IncidentKind.INVESTIGATE, IncidentKind.RETRAIN):
            if kind == IncidentKind.RETRAIN and triage["decision"] != "retrain":
                continue  # a retrain incident ends with its pipeline, not with a clean run
            observation = Observation.of_run(triage, kind)
            refusal = self._refusal(day, now) if kind == IncidentKind.RETRAIN else None
            current = self.tracker.current(day.model_id, kind)
            step = observe(current, observation, self.policy, now, refusal)
            self._apply(step)
            duplicate |= step.transition == Transition.DUPLICATE
            if kind == IncidentKind.RETRAIN and step.transition == Transition.OPENED:
                self._start_retrain(day, step, now)
        model["duplicate_runs"] += duplicate

    def _apply(self, step: Step) -> None:
        self.tracker.apply(step)
        self.counts.record(step)

    def _refusal(self, day: ModelDay, now: datetime) -> str | None:
        """What TrackIncident asks the retrain gate before a retrain incident opens."""
        gate = retrain_gate(self._locks.get(day.model_id), "", now, COOLDOWN)
        return None if gate.allowed else gate.reason

    def _start_retrain(self, day: ModelDay, step: Step, now: datetime) -> None:
        assert step.state is not None
        assert step.incident_id is not None
        gate = retrain_gate(self._locks.get(day.model_id), step.incident_id, now, COOLDOWN)
        if not gate.allowed:
            self._apply(end_retrain(step.state, f"not started: {gate.reason}", now))
            self.counts.model[day.model_id]["retrains_refused"] += 1
            return
        self._locks[day.model_id] = {
            "incident_id": step.incident_id,
            "status": RUNNING,
            "started_at": now.isoformat(),
        }
        self.counts.model[day.model_id]["retrains_started"] += 1
        ends = now + timedelta(hours=day.pipeline_hours)
        heapq.heappush(self._ends, (ends, len(self._ends), day.model_id, step.incident_id, True))

    def _end_pipelines(self, before: datetime) -> None:
        while self._ends and self._ends[0][0] <= before:
            at, _, model_id, incident, new = heapq.heappop(self._ends)
            locks = self._locks if new else self._old_locks
            locks[model_id] = locks[model_id] | {"status": SUCCEEDED}
            if not new:
                continue
            current = self.tracker.current(model_id, IncidentKind.RETRAIN)
            if current is not None and current.incident_id == incident:
                self._apply(end_retrain(current, "pipeline succeeded", at))

    def _old(self, day: ModelDay, delivery: Delivery, decision: str, now: datetime) -> None:
        """The old rule: an incident per monitoring state (the same state twice: nothing)."""
        if delivery.run in self._old_runs:
            return
        self._old_runs.add(delivery.run)
        old = self.counts.old[day.model_id]
        incident = old_incident_id(day.model_id, delivery.run)
        if decision == "investigate":
            old["incidents"] += 1
            old["pages"] += 1
        elif decision == "retrain":
            old["retrain_decisions"] += 1
            gate = retrain_gate(self._old_locks.get(day.model_id), incident, now, COOLDOWN)
            if gate.allowed:
                old["retrains_started"] += 1
                self._old_locks[day.model_id] = {
                    "incident_id": incident,
                    "status": RUNNING,
                    "started_at": now.isoformat(),
                }
                ends = now + timedelta(hours=day.pipeline_hours)
                heapq.heappush(self._ends, (ends, len(self._ends), day.model_id, incident, False))


# ---------------------------------------------------------------------------- summing up

PAGE_KINDS = ("opened", "escalated", "reopened")


def summarise(days: list[ModelDay], counts: Counts) -> dict[str, Any]:
    """Per profile and in total: old pages against new pages, updates, resolutions; and whether
    every problem got at most one opening page and one resolution per episode."""
    rows: dict[str, Counter[str]] = {p: Counter() for p in dict.fromkeys(d.profile for d in days)}
    for day in days:
        row = rows[day.profile]
        row.update(models=1, problems=day.problems)
        row.update(counts.model[day.model_id])
        row.update({f"old_{k}": v for k, v in counts.old[day.model_id].items()})
    profile_of = {d.model_id: d.profile for d in days}
    for incident, transitions in counts.transitions.items():
        kind = counts.incident_kind[incident]
        rows[profile_of[counts.incident_model[incident]]].update(
            _incident_counts(kind, transitions, counts.pages.get(incident, Counter()))
        )
    total: Counter[str] = Counter()
    for row in rows.values():
        total.update(row)
    worst = _worst(days, counts)
    per_incident = Counter(
        sum(counts.pages[i].values())
        for i, kind in counts.incident_kind.items()
        if kind == "investigate"
    )
    return {
        "pages_per_incident": {str(k): v for k, v in sorted(per_incident.items())},
        "profiles": {p: dict(r) for p, r in rows.items()},
        "total": dict(total),
        "worst": worst,
        "goal_met": worst["opening_pages_per_problem"] <= 1
        and worst["resolutions_per_episode"] <= 1,
    }


def _incident_counts(kind: str, transitions: Counter[str], pages: Counter[str]) -> Counter[str]:
    """One incident's contribution to its profile's row; retrain incidents apart (never pages)."""
    if kind == "retrain":
        return Counter(
            retrain_incidents=1,
            retrain_attached=transitions["attached"],
            retrain_resolutions=transitions["resolved"],
        )
    found = Counter(
        incidents=1,
        pages=sum(pages.values()),
        updates=transitions["updated"],
        resolutions=transitions["resolved"],
        clean_counted=transitions["clean"],
    )
    found.update({f"pages_{what}": pages[what] for what in PAGE_KINDS})
    return found


def _worst(days: list[ModelDay], counts: Counts) -> dict[str, float]:
    """The worst problem: opening pages per problem, resolutions per open episode (an episode
    starts with the opening or a reopen)."""
    opening: Counter[str] = Counter()
    per_episode = 0.0
    for incident, transitions in counts.transitions.items():
        if counts.incident_kind[incident] != "investigate":
            continue
        opening[counts.incident_model[incident]] += counts.pages[incident]["opened"]
        episodes = 1 + transitions["reopened"]
        per_episode = max(per_episode, transitions["resolved"] / episodes)
    per_problem = max((opening[d.model_id] / d.problems for d in days if d.problems), default=0.0)
    return {"opening_pages_per_problem": per_problem, "resolutions_per_episode": per_episode}


def replay(
    seed: int = 17,
    mix: dict[str, int] | None = None,
    hours: int = 24,
    tracker: Tracker | None = None,
    policy: IncidentPolicy | None = None,
) -> tuple[list[ModelDay], Counts]:
    policy = policy or IncidentPolicy()
    days = fleet(seed, mix, hours, policy.resolve_after)
    counts = Replay(days, tracker or MemoryTracker(), policy).run(deliveries(days, seed))
    return days, counts


# ---------------------------------------------------------------------------- on moto


@dataclass
class StoreTracker:
    """The models' current incidents in the template's own tables, through IncidentStore."""

    store: Any

    def current(self, model_id: str, kind: IncidentKind) -> IncidentState | None:
        state: IncidentState | None = self.store.current(model_id, kind)
        return state

    def apply(self, step: Step) -> None:
        self.store.apply(step)


@contextmanager
def on_moto() -> Iterator[tuple[StoreTracker, Any]]:
    """An IncidentStore on moto (in-process) with the template's state and ledger tables."""
    import os

    import boto3
    from mlops_runtime import aws
    from mlops_runtime.incidents import IncidentStore
    from mlops_runtime.store import Ledger
    from moto import mock_aws
    from samtranslator.yaml_helper import yaml_parse

    # moto's fake credentials and region, whatever the shell has: nothing leaves the process.
    os.environ["AWS_DEFAULT_REGION"] = "us-east-1"
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        os.environ[name] = "bench"
    os.environ.pop("AWS_ENDPOINT_URL", None)
    resources = yaml_parse((ROOT / "template.yaml").read_text())["Resources"]
    aws.clear_cached_clients()
    with mock_aws():
        dynamodb = boto3.client("dynamodb")
        for logical_id, name in (("StateTable", "state"), ("LedgerTable", "ledger")):
            props = resources[logical_id]["Properties"]
            keys = ("AttributeDefinitions", "KeySchema", "BillingMode", "GlobalSecondaryIndexes")
            dynamodb.create_table(TableName=name, **{k: props[k] for k in keys if k in props})
        yield StoreTracker(IncidentStore("state", Ledger("ledger"))), dynamodb
    aws.clear_cached_clients()


def ledger_actions(dynamodb: Any) -> dict[str, int]:
    """Every ledger entry written during the replay, by action: read back from the table."""
    found: Counter[str] = Counter()
    for page in dynamodb.get_paginator("scan").paginate(TableName="ledger"):
        found.update(item["action"]["S"] for item in page["Items"])
    return dict(found)


def measure(seed: int = 17, store: str = "moto") -> dict[str, Any]:
    started = time.perf_counter()
    ledger: dict[str, int] | None = None
    if store == "moto":
        with on_moto() as (tracker, dynamodb):
            days, counts = replay(seed, tracker=tracker)
            ledger = ledger_actions(dynamodb)
    else:
        days, counts = replay(seed)
    seconds = time.perf_counter() - started
    schedule = deliveries(days, seed)
    return {
        "seed": seed,
        "store": store,
        "seconds": round(seconds, 1),
        "models": len(days),
        "hours": len(days[0].hours),
        "mix": MIX,
        "policy": IncidentPolicy().model_dump(),
        "deliveries": len(schedule),
        "runs": len({d.run for d in schedule}),
        "ledger": ledger,
        **summarise(days, counts),
    }


# ---------------------------------------------------------------------------- the report section

PROFILE_TEXT = {
    "clean": "clean all day",
    "persistent_break": "a column breaks early and stays broken",
    "cleared_break": "a column breaks for 4-9 h, then is fixed",
    "break_returns": "a break is fixed, resolves, comes back hours later",
    "flapping_drift": "a sudden drift on one feature that comes and goes hour to hour",
    "escalation": "a column breaks, hours later a second one; both fixed by afternoon",
    "retrain_in_flight": "sustained drift while quality falls: a retrain runs 3-6 h, drift goes on",
}


def section(measured: dict[str, Any]) -> list[str]:
    """The docs/benchmarks.md section (report.py calls this with the JSON of :func:`measure`)."""
    policy, total = measured["policy"], measured["total"]
    store = (
        "through `IncidentStore` into the template's own state and ledger tables on moto "
        "(in-process; the ledger's entries are read back below)"
        if measured["store"] == "moto"
        else "through the pure core with the current incidents in memory"
    )
    lines = [
        "",
        "## Incident storm: pages over a replayed fleet-day",
        "",
        f"{measured['models']} models x {measured['hours']} hourly monitoring runs, seeded "
        f"(seed {measured['seed']}, tooling/bench/incident_storm.py): each endpoint has 1-4 "
        "monitoring schedules finishing minutes apart, each finish an event delivered 1-3 times; "
        f"{PARTIAL:.0%} of the earlier streams' events are triaged before the endpoint's later "
        f"streams wrote their hour (a partial state, a run of its own). {measured['deliveries']} "
        f"deliveries, {measured['runs']} distinct runs. Every run goes through the real "
        f"lifecycle (`mlops_core.incidents.observe`, both kinds) {store}; retrains go through "
        "the real retrain gate (24 h cooldown) and end with their pipeline. Policy: "
        f"resolve_after {policy['resolve_after']}, reopen_within_hours "
        f"{policy['reopen_within_hours']:g}. *Old* is the same runs under the previous rule: "
        "an incident and a page per monitoring state sent to *investigate* "
        "(an id per model and monitoring state, `signal_key`). "
        f"Replay took {measured['seconds']} s.",
        "",
        "Goal (issue 17): at most one page plus one resolution per problem; escalations (a new "
        "finding or higher severity on the open incident) and reopens (the problem back within "
        "the window after a resolution) page once each and are counted apart.",
        "",
        "| Fleet member | models | problems | old pages | new pages | opened | escalated "
        "| reopened | updates | resolutions | duplicate runs |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for profile, row in measured["profiles"].items():
        lines.append(
            f"| {PROFILE_TEXT.get(profile, profile)} | {row.get('models', 0)} "
            f"| {row.get('problems', 0)} | {row.get('old_pages', 0)} | {row.get('pages', 0)} "
            f"| {row.get('pages_opened', 0)} | {row.get('pages_escalated', 0)} "
            f"| {row.get('pages_reopened', 0)} | {row.get('updates', 0)} "
            f"| {row.get('resolutions', 0)} | {row.get('duplicate_runs', 0)} |"
        )
    lines.append(
        f"| **fleet** | {total.get('models', 0)} | {total.get('problems', 0)} "
        f"| **{total.get('old_pages', 0)}** | **{total.get('pages', 0)}** "
        f"| {total.get('pages_opened', 0)} | {total.get('pages_escalated', 0)} "
        f"| {total.get('pages_reopened', 0)} | {total.get('updates', 0)} "
        f"| {total.get('resolutions', 0)} | {total.get('duplicate_runs', 0)} |"
    )
    worst = measured["worst"]
    verdict = "met" if measured["goal_met"] else "**not met**"
    lines += [
        "",
        f"Goal {verdict}: at most {worst['opening_pages_per_problem']:g} opening page per "
        f"problem and "
        f"{worst['resolutions_per_episode']:g} resolution per open episode (an episode ends "
        "with a resolution or the end of the day; a reopen starts the next). *Resolutions* "
        "are investigate incidents closed after resolve_after clean runs. *Updates* are "
        "later runs attached to the open incident (a ledger entry and an edit of the "
        "incident's Slack message, no page); *duplicate runs* are the same monitoring state "
        "triaged again (another stream's event for the same hour) on a model with an incident "
        "on record: nothing is written. The intake dropped "
        f"{total.get('dropped_at_intake', 0)} redelivered events before triage.",
        "",
        "Pages per investigate incident over the day: "
        + ", ".join(
            f"{pages} page{'s' if pages != '1' else ''}: {n} incident{'s' if n != 1 else ''}"
            for pages, n in measured["pages_per_incident"].items()
        )
        + (
            " (every page after the first is an escalation or a reopen)."
            if total.get("pages", 0) == sum(total.get(f"pages_{w}", 0) for w in PAGE_KINDS)
            else " (some pages are neither openings, escalations nor reopens: see the JSON)."
        ),
    ]
    retrain = measured["profiles"].get("retrain_in_flight")
    if retrain:
        lines += [
            "",
            f"Retrains: old, {retrain.get('old_retrain_decisions', 0)} retrain decisions for "
            f"{retrain.get('problems', 0)} drifts ({retrain.get('old_retrains_started', 0)} "
            "retrains started, the rest skipped by the gate); new, "
            f"{retrain.get('retrain_incidents', 0)} retrain incidents: "
            f"{retrain.get('retrains_started', 0)} started a retrain and took "
            f"{retrain.get('retrain_attached', 0)} later runs as attachments, while it ran and "
            "after it ended while the gate's 24 h cooldown would refuse another (no new "
            "decision); "
            f"{retrain.get('retrains_refused', 0)} opened and were closed at once by the gate. "
            "Retrain incidents never page: the table counts investigate incidents only.",
        ]
    if measured.get("ledger"):
        read = ", ".join(f"{k} {v}" for k, v in sorted(measured["ledger"].items()))
        lines += ["", f"Ledger entries read back from the ledger table: {read}."]
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--store", choices=("moto", "memory"), default="moto")
    args = parser.parse_args()
    measured = measure(args.seed, args.store)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(measured, indent=2))
    print("\n".join(section(measured)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
