"""The incident lifecycle: one incident per problem, not one per monitoring run.

A model has at most one open incident per kind: ``investigate`` (a data problem a human looks at)
or ``retrain`` (a retrain in flight). Each triaged monitoring state (a *run*, the triage's
``signal_key``) is observed against the current incident of each kind:

- the first run showing a problem OPENS an incident (a page); later runs showing the same problem
  UPDATE it (no page); a new finding or a higher severity ESCALATES the same incident (a page);
- ``resolve_after`` consecutive clean runs RESOLVE it (a resolution message, not a page);
- a problem overlapping a resolved incident's fingerprint within ``reopen_within_hours`` REOPENS
  it (a page saying so); otherwise a new incident opens;
- a retrain decision while a retrain incident is open is ATTACHED to it; the retrain incident ends
  when its pipeline ends or the retrain is not started (:func:`end_retrain`);
- the same run seen again is a DUPLICATE: nothing changes.

Acknowledged incidents do not page again for what the acknowledgement covered (an escalation
does page, and clears it); a snoozed incident pages for nothing until the snooze ends, then the
first run still showing the problem pages once. Everything here is pure: the store
(``mlops_runtime.incidents``) persists a :class:`Step` with its ledger entry, conditional on the
version the step was computed from.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from mlops_core.errors import IncidentActionRefusedError
from mlops_core.incident_policy import IncidentPolicy
from mlops_core.incident_state import (
    PROBLEM_KINDS,
    RANK,
    RETRAIN_KINDS,
    IncidentKind,
    IncidentState,
    Severity,
    Status,
    fingerprint,
    new_incident_id,
    severity,
)
from mlops_core.ledger import Action, LedgerEntry

__all__ = [
    "CONTROL_PLANE",
    "PROBLEM_KINDS",
    "RETRAIN_KINDS",
    "IncidentKind",
    "IncidentPolicy",
    "IncidentState",
    "Observation",
    "Severity",
    "Status",
    "Step",
    "Transition",
    "acknowledge",
    "end_retrain",
    "fingerprint",
    "new_incident_id",
    "observe",
    "resolve",
    "severity",
    "snooze",
]

CONTROL_PLANE = "control-plane"


class Transition(StrEnum):
    OPENED = "opened"
    UPDATED = "updated"
    ESCALATED = "escalated"
    REOPENED = "reopened"
    RESOLVED = "resolved"
    ATTACHED = "attached"
    DUPLICATE = "duplicate"
    CLEAN = "clean"
    ACKNOWLEDGED = "acknowledged"
    SNOOZED = "snoozed"


_ACTIONS = {
    Transition.OPENED: Action.INCIDENT_OPENED,
    Transition.UPDATED: Action.INCIDENT_UPDATED,
    Transition.ATTACHED: Action.INCIDENT_UPDATED,
    Transition.ESCALATED: Action.INCIDENT_ESCALATED,
    Transition.REOPENED: Action.INCIDENT_REOPENED,
    Transition.RESOLVED: Action.INCIDENT_RESOLVED,
    Transition.ACKNOWLEDGED: Action.INCIDENT_ACKNOWLEDGED,
    Transition.SNOOZED: Action.INCIDENT_SNOOZED,
}


@dataclass(frozen=True, slots=True)
class Observation:
    """One run seen from one incident kind: does it show that kind's problem, and which."""

    model_id: str
    kind: IncidentKind
    run: str
    problem: bool
    fingerprint: tuple[str, ...] = ()
    severity: Severity = Severity.WARNING
    summary: str = ""
    report_uri: str | None = None

    @classmethod
    def of_run(cls, triage: Mapping[str, Any], kind: IncidentKind) -> Observation:
        """From the drift triage's output (model_id, decision, summary, report_uri)."""
        summary = triage.get("summary") or {}
        items = fingerprint(
            summary, PROBLEM_KINDS if kind == IncidentKind.INVESTIGATE else RETRAIN_KINDS
        )
        reasons = [str(r) for r in summary.get("reasons", [])]
        return cls(
            model_id=str(triage["model_id"]),
            kind=kind,
            run=str(summary.get("signal_key") or triage.get("run_id")),
            problem=str(triage.get("decision")) == str(kind),
            fingerprint=items,
            severity=severity(items),
            summary="; ".join(reasons[:3])[:1000],
            report_uri=triage.get("report_uri"),
        )


@dataclass(frozen=True, slots=True)
class Step:
    """What one observation or action does to an incident.

    ``state`` is the incident after the step (None only for a CLEAN run with no incident);
    ``writes`` says whether the store persists it; ``replaces`` is the incident a newly OPENED one
    takes the model's current-incident pointer from.
    """

    transition: Transition
    incident_id: str | None
    page: bool
    state: IncidentState | None
    reason: str
    writes: bool = True
    replaces: str | None = None
    actor: str = CONTROL_PLANE
    new_items: tuple[str, ...] = field(default=())
    at: datetime | None = None

    @property
    def notify(self) -> bool:
        """A message goes out: every page, and every resolution."""
        return self.page or self.transition == Transition.RESOLVED

    def ledger_entry(self, evidence: Mapping[str, Any] | None = None) -> LedgerEntry | None:
        """The ledger line of this step (None when it changes nothing worth one)."""
        action = _ACTIONS.get(self.transition)
        if action is None or not self.writes or self.state is None:
            return None
        state = self.state
        return LedgerEntry(
            action=action,
            model_id=state.model_id,
            subject=state.incident_id,
            summary=self.reason,
            evidence={
                "kind": str(state.kind),
                "status": str(state.status),
                "fingerprint": list(state.fingerprint),
                "new_items": list(self.new_items),
                "severity": str(state.severity),
                "run": state.last_run,
                "runs": state.runs,
                "page": self.page,
                "version": state.version,
                **dict(evidence or {}),
            },
            actor=self.actor,
            at=self.at or state.last_seen_at,
            key=f"v{state.version}",
        )

    def to_dict(self) -> dict[str, Any]:
        """The step as a Step Functions payload."""
        state = self.state
        return {
            "transition": str(self.transition),
            "incident_id": self.incident_id,
            "page": self.page,
            "notify": self.notify,
            "reason": self.reason,
            "new_items": list(self.new_items),
            "state": state.to_item() if state else None,
        }


def observe(
    current: IncidentState | None,
    observation: Observation,
    policy: IncidentPolicy,
    now: datetime,
    retrain_refusal: str | None = None,
) -> Step:
    """What one run does to the model's current incident of the observation's kind.

    ``current`` is the open incident of that kind, or the last resolved one (for reopening).
    ``retrain_refusal`` is why no retrain could start now (the retrain gate's answer: cooldown,
    one running, no pipeline): a retrain decided again then joins the last retrain incident
    instead of opening one that would end at once, run after run.
    """
    if current is not None and observation.run == current.last_run:
        return Step(
            Transition.DUPLICATE,
            current.incident_id,
            False,
            current,
            "run already seen",
            writes=False,
            at=now,
        )
    if not observation.problem:
        return _clean(current, observation, policy, now)
    if current is None or not current.is_open:
        if observation.kind == IncidentKind.RETRAIN and retrain_refusal and current is not None:
            state = replace(
                current,
                last_seen_at=now,
                last_run=observation.run,
                runs=current.runs + 1,
                updates=current.updates + 1,
                version=current.version + 1,
            )
            reason = f"retrain decided again, none can start yet: {retrain_refusal}"
            return Step(Transition.ATTACHED, current.incident_id, False, state, reason, at=now)
        return _open_or_reopen(current, observation, policy, now)
    if observation.kind == IncidentKind.RETRAIN:
        state = _seen(current, observation, now)
        return Step(
            Transition.ATTACHED,
            current.incident_id,
            False,
            state,
            "retrain decided again while the retrain runs",
            at=now,
        )
    return _update(current, observation, now)


def _seen(
    current: IncidentState, observation: Observation, now: datetime, **changes: Any
) -> IncidentState:
    return replace(
        current,
        last_seen_at=now,
        last_run=observation.run,
        runs=current.runs + 1,
        clean_runs=0,
        updates=current.updates + 1,
        summary=observation.summary or current.summary,
        report_uri=observation.report_uri or current.report_uri,
        version=current.version + 1,
        **changes,
    )


def _clean(
    current: IncidentState | None, observation: Observation, policy: IncidentPolicy, now: datetime
) -> Step:
    if current is None or not current.is_open or current.kind == IncidentKind.RETRAIN:
        # Nothing to count: no investigate incident is open (a retrain ends with its pipeline).
        incident = current.incident_id if current else None
        return Step(Transition.CLEAN, incident, False, current, "clean run", writes=False, at=now)
    clean = current.clean_runs + 1
    counted = replace(
        current, last_run=observation.run, clean_runs=clean, version=current.version + 1
    )
    if clean < policy.resolve_after:
        reason = f"clean run {clean} of {policy.resolve_after}"
        return Step(Transition.CLEAN, current.incident_id, False, counted, reason, at=now)
    reason = f"{clean} consecutive clean runs"
    resolved = replace(
        counted,
        status=Status.RESOLVED,
        resolved_at=now,
        resolved_by=CONTROL_PLANE,
        resolved_reason=reason,
        snoozed_until=None,
        snoozed_by=None,
    )
    return Step(Transition.RESOLVED, current.incident_id, False, resolved, reason, at=now)


def _open_or_reopen(
    last: IncidentState | None, observation: Observation, policy: IncidentPolicy, now: datetime
) -> Step:
    window = timedelta(hours=policy.reopen_within_hours)
    if (
        last is not None
        and observation.kind == IncidentKind.INVESTIGATE
        and last.resolved_at is not None
        and now - last.resolved_at <= window
        and set(last.fingerprint) & set(observation.fingerprint)
    ):
        items = tuple(sorted(set(last.fingerprint) | set(observation.fingerprint)))
        state = _seen(
            last,
            observation,
            now,
            status=Status.OPEN,
            fingerprint=items,
            severity=max(last.severity, observation.severity, key=RANK.__getitem__),
            pages=last.pages + 1,
            reopened=last.reopened + 1,
            resolved_at=None,
            resolved_by=None,
            resolved_reason=None,
            acknowledged_by=None,
            acknowledged_at=None,
            snoozed_until=None,
            snoozed_by=None,
        )
        new = tuple(i for i in observation.fingerprint if i not in last.fingerprint)
        reason = f"the problem came back within {policy.reopen_within_hours:g} h of its resolution"
        return Step(
            Transition.REOPENED, last.incident_id, True, state, reason, new_items=new, at=now
        )
    # The replaced incident is part of the id: an older run arriving late never reuses an id.
    replaces = last.incident_id if last is not None else None
    incident = new_incident_id(observation.model_id, observation.kind, observation.run, replaces)
    state = IncidentState(
        incident_id=incident,
        model_id=observation.model_id,
        kind=observation.kind,
        status=Status.OPEN,
        fingerprint=observation.fingerprint,
        severity=observation.severity,
        opened_at=now,
        last_seen_at=now,
        last_run=observation.run,
        pages=1 if observation.kind == IncidentKind.INVESTIGATE else 0,
        summary=observation.summary,
        report_uri=observation.report_uri,
        version=1,
    )
    # A retrain incident is not a page: the retrain gate and the retrain's own messages speak.
    page = observation.kind == IncidentKind.INVESTIGATE
    reason = observation.summary or f"{observation.kind} decided"
    return Step(
        Transition.OPENED,
        incident,
        page,
        state,
        reason,
        replaces=replaces,
        new_items=observation.fingerprint,
        at=now,
    )


def _update(current: IncidentState, observation: Observation, now: datetime) -> Step:
    new = tuple(i for i in observation.fingerprint if i not in current.fingerprint)
    worse_severity = RANK[observation.severity] > RANK[current.severity]
    items = tuple(sorted(set(current.fingerprint) | set(observation.fingerprint)))
    level = max(current.severity, observation.severity, key=RANK.__getitem__)
    worse = bool(new) or worse_severity
    if current.snoozed_at(now):
        # Snoozed: recorded, never paged, whatever it is.
        transition = Transition.ESCALATED if worse else Transition.UPDATED
        state = _seen(current, observation, now, fingerprint=items, severity=level)
        reason = f"snoozed until {current.snoozed_until}"
        return Step(transition, current.incident_id, False, state, reason, new_items=new, at=now)
    if current.status == Status.SNOOZED:
        # The snooze ended and the problem is still there: one page, then as if open.
        state = _seen(
            current,
            observation,
            now,
            fingerprint=items,
            severity=level,
            status=Status.OPEN,
            snoozed_until=None,
            snoozed_by=None,
            pages=current.pages + 1,
        )
        transition = Transition.ESCALATED if worse else Transition.UPDATED
        reason = "the snooze ended and the problem persists"
        return Step(transition, current.incident_id, True, state, reason, new_items=new, at=now)
    if worse:
        # An acknowledgement covered what was known then, not this.
        state = _seen(
            current,
            observation,
            now,
            fingerprint=items,
            severity=level,
            status=Status.OPEN,
            acknowledged_by=None,
            acknowledged_at=None,
            pages=current.pages + 1,
        )
        what = ", ".join(new) if new else f"severity up to {level}"
        return Step(
            Transition.ESCALATED,
            current.incident_id,
            True,
            state,
            f"worse: {what}",
            new_items=new,
            at=now,
        )
    state = _seen(current, observation, now)
    return Step(
        Transition.UPDATED, current.incident_id, False, state, "the problem persists", at=now
    )


def acknowledge(state: IncidentState, actor: str, now: datetime) -> Step:
    """A person has seen it: no more pages for what is known now (an escalation still pages)."""
    _refuse_closed(state, "acknowledge")
    if state.status == Status.ACKNOWLEDGED:
        return Step(
            Transition.DUPLICATE,
            state.incident_id,
            False,
            state,
            f"already acknowledged by {state.acknowledged_by}",
            writes=False,
            actor=actor,
            at=now,
        )
    acked = replace(
        state,
        status=Status.ACKNOWLEDGED,
        acknowledged_by=actor,
        acknowledged_at=now,
        snoozed_until=None,
        snoozed_by=None,
        version=state.version + 1,
    )
    return Step(
        Transition.ACKNOWLEDGED,
        state.incident_id,
        False,
        acked,
        f"acknowledged by {actor}",
        actor=actor,
        at=now,
    )


def snooze(
    state: IncidentState, actor: str, until: datetime, now: datetime, policy: IncidentPolicy
) -> Step:
    """No pages at all until ``until``; the first run after it still showing the problem pages."""
    _refuse_closed(state, "snooze")
    if until <= now:
        raise IncidentActionRefusedError(f"snooze until {until.isoformat()} is not in the future")
    if until - now > timedelta(hours=policy.max_snooze_hours):
        raise IncidentActionRefusedError(
            f"a snooze may last at most {policy.max_snooze_hours:g} h "
            "(this model's incidents.max_snooze_hours)"
        )
    snoozed = replace(
        state,
        status=Status.SNOOZED,
        snoozed_until=until,
        snoozed_by=actor,
        version=state.version + 1,
    )
    reason = f"snoozed by {actor} until {until.isoformat()}"
    return Step(Transition.SNOOZED, state.incident_id, False, snoozed, reason, actor=actor, at=now)


def resolve(state: IncidentState, actor: str, reason: str, now: datetime) -> Step:
    """A person closes the incident (a later problem may reopen it within the window)."""
    if not state.is_open:
        return Step(
            Transition.DUPLICATE,
            state.incident_id,
            False,
            state,
            "already resolved",
            writes=False,
            actor=actor,
            at=now,
        )
    return _resolved(state, actor, reason or f"resolved by {actor}", now)


def end_retrain(state: IncidentState, outcome: str, now: datetime) -> Step:
    """The retrain incident ends: its pipeline ended, or the retrain was not started."""
    if state.kind != IncidentKind.RETRAIN:
        raise IncidentActionRefusedError(f"{state.incident_id} is not a retrain incident")
    if not state.is_open:
        return Step(
            Transition.DUPLICATE,
            state.incident_id,
            False,
            state,
            "already ended",
            writes=False,
            at=now,
        )
    return _resolved(state, CONTROL_PLANE, outcome, now)


def _resolved(state: IncidentState, actor: str, reason: str, now: datetime) -> Step:
    closed = replace(
        state,
        status=Status.RESOLVED,
        resolved_at=now,
        resolved_by=actor,
        resolved_reason=reason,
        snoozed_until=None,
        snoozed_by=None,
        version=state.version + 1,
    )
    return Step(Transition.RESOLVED, state.incident_id, False, closed, reason, actor=actor, at=now)


def _refuse_closed(state: IncidentState, what: str) -> None:
    if not state.is_open:
        raise IncidentActionRefusedError(f"cannot {what} {state.incident_id}: it is resolved")
