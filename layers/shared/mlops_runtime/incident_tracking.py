"""One triaged run against the model's incidents (functions/track_incident).

Every run is observed by the investigate incident (a problem, or a clean run that counts towards
its resolution); a retrain decision is also observed by the retrain incident (opened, or attached
to the one in flight). The result tells the drift response where to go next (``route``) and which
messages to send (``notices``: pages, resolutions, and edits of a message the Slack bot posted).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger
from mlops_core.errors import IncidentChangedError, ModelNotConfiguredError
from mlops_core.incidents import (
    IncidentKind,
    IncidentPolicy,
    Observation,
    Step,
    Transition,
    end_retrain,
    observe,
)
from mlops_core.ledger import Action
from mlops_core.retrain import cooldown, lock_key, observed_gate, retrain_gate

from mlops_runtime.incidents import IncidentStore
from mlops_runtime.model_config import ModelConfig, ModelConfigStore
from mlops_runtime.observe import Observer
from mlops_runtime.store import StateStore

logger = Logger(child=True)
ATTEMPTS = 3  # re-reads after a lost race before the state machine's own retry takes over
# Steps worth a message even without a page: they change what the bot's message shows.
_EDITS = {Transition.UPDATED, Transition.ESCALATED, Transition.ATTACHED}


@dataclass
class IncidentTracker:
    store: IncidentStore
    models: ModelConfigStore
    locks: StateStore  # the retrain lock (mlops_core.retrain), read to know if one could start
    default_cooldown_hours: float
    observer: Observer | None = None  # None: always acts (mlops_runtime.observe)

    def track(self, triage: dict[str, Any], now: datetime | None = None) -> dict[str, Any]:
        """Observe one run; returns the route, the run's incident and the notices to send."""
        now = now or datetime.now(UTC)
        model = self._model(str(triage["model_id"]))
        decision = str(triage.get("decision"))
        observed = self.observer.by(model) if self.observer else None
        marks = {"observe_only": observed} if observed else {}
        investigate = self._observe(IncidentKind.INVESTIGATE, triage, model.incidents, now, marks)
        retrain = None
        if decision == IncidentKind.RETRAIN:
            refusal = self._retrain_refusal(model, now, observed)
            retrain = self._observe(
                IncidentKind.RETRAIN, triage, model.incidents, now, marks, refusal
            )
        primary = retrain or investigate
        channel = model.incidents.slack_channel or (
            model.approvals.slack_channel if model.approvals else None
        )
        notices = [
            self._notice(step, triage, channel, model)
            for step in (investigate, retrain)
            if step is not None and _worth_a_message(step)
        ]
        if observed and self.observer:  # the incident is kept; nobody is paged or messaged
            for step in (investigate, retrain):
                if step is not None and _worth_a_message(step):
                    self._would_send(step, triage, observed, self.observer)
            notices = []
        logger.info(
            "incident tracked",
            extra={
                "decision": decision,
                "incident_id": primary.incident_id,
                "transition": str(primary.transition),
                "notices": len(notices),
            },
        )
        return {
            "incident_id": primary.incident_id or triage.get("run_id"),
            "transition": str(primary.transition),
            "route": _route(decision, primary),
            "notify": bool(notices),
            "notices": notices,
        }

    def end_retrain(self, incident_id: str, reason: str, now: datetime | None = None) -> bool:
        """End a retrain incident (the retrain was not started, or its pipeline ended)."""
        return end_retrain_incident(self.store, incident_id, reason, now)

    def _model(self, model_id: str) -> ModelConfig:
        model = self.models.get(model_id)
        if model is None:
            raise ModelNotConfiguredError(f"model {model_id} has no configuration")
        return model

    def _retrain_refusal(
        self, model: ModelConfig, now: datetime, observed: str | None = None
    ) -> str | None:
        """Why no retrain could start now, as the retrain gate would answer; None if one could.
        An observed model also answers from its observed retrains' lock (mlops_core.retrain)."""
        if model.retrain is None:
            return "no retraining pipeline is configured for this model"
        wait = cooldown(model.retrain.cooldown_hours, self.default_cooldown_hours)
        real = self.locks.get(*lock_key(model.model_id))
        if observed:
            own = self.locks.get(*lock_key(model.model_id, observed=True))
            gate = observed_gate(real, own, "", now, wait)
        else:
            gate = retrain_gate(real, "", now, wait)
        return None if gate.allowed else gate.reason

    def _observe(
        self,
        kind: IncidentKind,
        triage: dict[str, Any],
        policy: IncidentPolicy,
        now: datetime,
        marks: dict[str, Any],
        retrain_refusal: str | None = None,
    ) -> Step:
        observation = Observation.of_run(triage, kind)
        # The ledger entry carries the run's evidence, as every decision's entry does.
        evidence = {"triage": triage.get("summary") or {}, "report_uri": triage.get("report_uri")}
        evidence |= marks
        for _ in range(ATTEMPTS):
            current = self.store.current(observation.model_id, kind)
            step = observe(current, observation, policy, now, retrain_refusal)
            try:
                self.store.apply(step, step.ledger_entry(evidence))
                return step
            except IncidentChangedError:
                continue  # a concurrent run wrote first: read it and decide again
        raise IncidentChangedError(f"the {kind} incident of {observation.model_id} kept changing")

    @staticmethod
    def _would_send(step: Step, triage: dict[str, Any], by: str, observer: Observer) -> None:
        reasons = (triage.get("summary") or {}).get("reasons", [])
        entry = step.ledger_entry({"details": list(reasons)[:8]})
        if entry is not None:
            kind = Action.WOULD_PAGE if step.page else Action.WOULD_NOTIFY
            observer.record(entry, by, kind=kind)

    @staticmethod
    def _notice(
        step: Step, triage: dict[str, Any], channel: str | None, model: ModelConfig
    ) -> dict[str, Any]:
        summary = triage.get("summary") or {}
        return step.to_dict() | {
            "slack_channel": channel,
            "details": list(summary.get("reasons", []))[:8],
            "summary": {
                "latest": summary.get("latest", {}),
                "sparkline": summary.get("sparkline"),
                "sparkline_of": summary.get("sparkline_of"),
            },
            # Who and where the message points to (mlops_core.messages.Context).
            "owners": model.owners,
            "runbook_url": model.runbook_url or "",
            "report_uri": triage.get("report_uri") or "",
        }


def end_retrain_incident(
    store: IncidentStore, incident_id: str, reason: str, now: datetime | None = None
) -> bool:
    """End a tracked retrain incident; False when there is none open under that id (already
    ended, or an incident of the era before the lifecycle)."""
    for _ in range(ATTEMPTS):
        state = store.get(incident_id)
        if state is None or state.kind != IncidentKind.RETRAIN:
            return False
        step = end_retrain(state, reason, now or datetime.now(UTC))
        try:
            return store.apply(step)
        except IncidentChangedError:
            continue  # a run attached to it meanwhile: end what is there now
    raise IncidentChangedError(f"{incident_id} kept changing while it was being ended")


def _worth_a_message(step: Step) -> bool:
    """Pages and resolutions of investigate incidents; edits of a message the bot posted."""
    if step.state is None or step.state.kind != IncidentKind.INVESTIGATE or not step.writes:
        return False
    return step.notify or (step.transition in _EDITS and step.state.slack is not None)


def _route(decision: str, primary: Step) -> str:
    """Where the drift response goes after the messages: the retrain gate for a newly opened
    retrain incident, the watch record for a watch run, else done."""
    if primary.transition == Transition.DUPLICATE:
        return "done"
    if decision == IncidentKind.RETRAIN:
        return "retrain" if primary.transition == Transition.OPENED else "done"
    return "watch" if decision == "watch" else "done"
