"""Acknowledge, snooze, resolve: a person's control of an incident, verified, then applied.

Only the approval decider runs this (functions/approval_decider), so the public door still
resolves nothing itself. The door hands it Slack clicks on incident buttons exactly as it hands
approval clicks (Slack's signature, its 5-minute window, the replay markers); operators'
``mlopscp incidents ack|snooze|resolve`` invoke it with an STS identity proof signed for that
one control. Here the proof is checked again (Slack's signature; STS names the operator), a
click must come from the incident's own message in the bot's workspace and from one of the
model's Slack responders (mlops_core.incident_controls), and the control goes through the
IncidentStore (conditional on the incident's version, atomically with its ledger entry, under
the verified identity). Refusals are ``incident_rejected_request`` entries, bounded like the
approvals' (mlops_runtime.refusals).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from aws_lambda_powertools import Logger
from mlops_core.approvals import InteractionError
from mlops_core.errors import IncidentActionRefusedError, IncidentChangedError
from mlops_core.incident_controls import (
    Control,
    IncidentClick,
    Responders,
    control_binding,
    is_incident_click,
    is_incident_id,
    origin_refusal,
    parse_incident_click,
    snooze_until,
)
from mlops_core.incidents import IncidentPolicy, IncidentState, Status, Step, Transition
from mlops_core.incidents import acknowledge as acknowledged
from mlops_core.incidents import resolve as resolved
from mlops_core.incidents import snooze as snoozed
from mlops_core.ledger import UNKNOWN_MODEL, Action
from mlops_core.untrusted import single_line
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from mlops_runtime import refusals
from mlops_runtime.approval_proofs import (
    IdentityRequest,
    ProofError,
    SlackAnswer,
    Verifier,
    caller_arn,
)
from mlops_runtime.incidents import IncidentStore
from mlops_runtime.model_config import ModelConfigStore
from mlops_runtime.refusals import record_bounded_refusal
from mlops_runtime.store import Ledger

logger = Logger(child=True)
RACE_ATTEMPTS = 3  # a monitoring run writing the incident at the same moment: read, redo


class IncidentCliAnswer(BaseModel):
    """An operator's control from `mlopscp incidents`, with the identity proof it signed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    channel: Literal["cli"]
    incident_id: str = Field(max_length=120)
    control: Control
    until: str = Field("", max_length=40, description="a snooze's end (ISO 8601), signed too")
    reason: str = Field("", max_length=500)
    attempt_id: str = Field(min_length=8, max_length=200)
    identity: IdentityRequest


ANSWERS: TypeAdapter[Any] = TypeAdapter(
    Annotated[SlackAnswer | IncidentCliAnswer, Field(discriminator="channel")]
)


def is_incident_request(event: Any) -> bool:
    """Is this decider input about an incident (routing only: nothing is verified yet)?"""
    if not isinstance(event, dict):
        return False
    if "incident_id" in event:
        return True
    return event.get("channel") == "slack" and is_incident_click(str(event.get("body", "")))


@dataclass(frozen=True)
class ControlAttempt:
    """A verified person controlling an incident."""

    incident_id: str
    control: Control
    channel: str  # slack | cli
    actor: str  # the Slack user id Slack signed, or the ARN STS confirmed
    actor_name: str = ""
    until: datetime | None = None
    reason: str = ""
    click: IncidentClick | None = None


@dataclass(frozen=True)
class ControlResult:
    status: str  # recorded | unchanged | refused
    why: str = ""
    state: IncidentState | None = None

    def to_dict(self) -> dict[str, Any]:
        result: dict[str, Any] = {"status": self.status, "why": self.why}
        if self.state is not None:
            result |= {
                "incident_id": self.state.incident_id,
                "model_id": self.state.model_id,
                "incident_status": str(self.state.status),
                "acknowledged_by": self.state.acknowledged_by,
                "snoozed_until": _iso(self.state.snoozed_until),
                "resolved_by": self.state.resolved_by,
            }
        return result


class IncidentControls:
    def __init__(
        self,
        store: IncidentStore,
        ledger: Ledger,
        responders: Callable[[str], tuple[Responders, IncidentPolicy]],
        verifier: Verifier,
        workspace: Callable[[], str | None],
        group_members: Callable[[str], list[str]],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        """``responders(model_id)``: who may press the model's buttons, and its incident policy;
        ``workspace()``: the team id of the bot's Slack workspace (None without Slack)."""
        self.store = store
        self.ledger = ledger
        self.responders = responders
        self.verifier = verifier
        self.workspace = workspace
        self.group_members = group_members
        self.clock = clock

    @classmethod
    def wired(
        cls,
        state_table: str,
        model_config_table: str,
        ledger: Ledger,
        verifier: Verifier,
        slack: Any,
    ) -> IncidentControls:
        """As the decider runs it: the state table's incidents, the models' configuration, and
        the bot's Slack (``approval_channels.Slack``) for its workspace and user groups."""
        return cls(
            IncidentStore(state_table, ledger),
            ledger,
            model_responders(ModelConfigStore(model_config_table)),
            verifier,
            slack.workspace,
            slack.group_members,
        )

    def answer(self, event: Any) -> tuple[ControlAttempt | None, ControlResult]:
        """Verify, then apply; refusals recorded. The attempt is None when nothing verified."""
        try:
            attempt = self.verified(ANSWERS.validate_python(event), self.clock())
        except ValidationError as error:
            fields = ", ".join(".".join(map(str, e["loc"])) for e in error.errors()[:5])
            return None, self.refuse_unverified(
                event, f"not a control the decider accepts ({fields})"
            )
        except ProofError as error:
            return None, self.refuse_unverified(event, str(error))
        return attempt, self.apply(attempt)

    def verified(self, answer: Any, now: datetime) -> ControlAttempt:
        if isinstance(answer, SlackAnswer):
            self.verifier.check_slack_signature(answer, now)
            try:
                click = parse_incident_click(answer.body)
            except InteractionError as error:
                raise ProofError(f"not an incident click: {error}") from None
            until = snooze_until(answer.timestamp, click.hours) if click.hours else None
            return ControlAttempt(
                click.incident_id,
                click.control,
                "slack",
                click.user_id,
                click.user_name,
                until=until,
                click=click,
            )
        until = _parse_until(answer.until) if answer.control is Control.SNOOZE else None
        binding = control_binding(
            answer.incident_id, answer.control, _iso(until) or "", answer.attempt_id
        )
        arn = caller_arn(answer.identity, binding, now)
        return ControlAttempt(
            answer.incident_id,
            answer.control,
            "cli",
            arn,
            arn.rsplit("/", 1)[-1],
            until=until,
            reason=answer.reason.strip(),
        )

    def apply(self, attempt: ControlAttempt) -> ControlResult:
        """The control on the incident as it is now; a lost race is read again and redone."""
        state = self.store.get(attempt.incident_id) if is_incident_id(attempt.incident_id) else None
        if state is None:
            return self.refuse(attempt, None, "no such incident")
        who, policy = self.responders(state.model_id)
        if attempt.click is not None:
            why = origin_refusal(attempt.click, state.slack, self.workspace())
            why = why or who.refusal(state.model_id, attempt.actor, self.group_members)
            if why:
                return self.refuse(attempt, state, why)
        for _ in range(RACE_ATTEMPTS):
            try:
                step = self._step(state, attempt, policy)
            except IncidentActionRefusedError as error:
                return self.refuse(attempt, state, str(error))
            if not step.writes:
                return ControlResult("unchanged", step.reason, state)
            evidence = {
                "channel": attempt.channel,
                "actor_name": attempt.actor_name,
                "snoozed_until": _iso(attempt.until),
            }
            try:
                self.store.apply(step, step.ledger_entry(evidence))
                return ControlResult("recorded", step.reason, step.state)
            except IncidentChangedError:
                state = self.store.get(attempt.incident_id) or state
        raise IncidentChangedError(f"{attempt.incident_id} kept changing; the control is retried")

    def _step(self, state: IncidentState, attempt: ControlAttempt, policy: IncidentPolicy) -> Step:
        now = self.clock()
        if attempt.control is Control.ACKNOWLEDGE:
            return acknowledged(state, attempt.actor, now)
        if attempt.control is Control.RESOLVE:
            return resolved(state, attempt.actor, attempt.reason, now)
        if attempt.until is None:  # verified() gives every snooze its end
            raise IncidentActionRefusedError("a snooze needs its end")
        if state.status == Status.SNOOZED and state.snoozed_until == attempt.until:
            # the same snooze again (a retried click): nothing changes
            why = f"already snoozed until {_iso(attempt.until)}"
            return Step(Transition.SNOOZED, state.incident_id, False, state, why, writes=False)
        return snoozed(state, attempt.actor, attempt.until, now, policy)

    # -- refusals -------------------------------------------------------------------------

    def refuse(
        self, attempt: ControlAttempt, state: IncidentState | None, why: str
    ) -> ControlResult:
        record_incident_refusal(
            self.ledger,
            state,
            attempt.incident_id,
            attempt.channel,
            why,
            attempt.actor,
            verified=True,
            now=self.clock(),
        )
        logger.info("incident control refused", extra={"why": why, "channel": attempt.channel})
        return ControlResult("refused", why, state)

    def refuse_unverified(self, event: Any, why: str) -> ControlResult:
        """Record what the request claimed (never trusted: nothing verified it)."""
        claimed_id, channel, actor = claims_of(event)
        state = self.store.get(claimed_id) if is_incident_id(claimed_id) else None
        record_incident_refusal(self.ledger, state, claimed_id, channel, why, actor)
        logger.warning("unverified incident control refused", extra={"why": why})
        return ControlResult("refused", why, None)


def model_responders(
    configs: ModelConfigStore,
) -> Callable[[str], tuple[Responders, IncidentPolicy]]:
    """Who may press a model's incident buttons, and its incident policy, from its stored
    configuration (nobody, and the defaults, when it has none any more)."""

    def of(model_id: str) -> tuple[Responders, IncidentPolicy]:
        config = configs.get(model_id)
        if config is None:
            return Responders.of([], [], []), IncidentPolicy()
        approvals = config.approvals
        who = Responders.of(
            approvals.slack_approvers if approvals else [],
            approvals.slack_approver_groups if approvals else [],
            config.owners,
        )
        return who, config.incidents

    return of


def claims_of(event: Any) -> tuple[str, str, str]:
    """(incident id, channel, actor) an unverifiable request claims: evidence, never trusted."""

    def click(body: str) -> tuple[str, str]:
        parsed = parse_incident_click(body)
        return parsed.incident_id, parsed.user_id

    return refusals.claims(event, "incident_id", click, 120)


def record_incident_refusal(
    ledger: Ledger,
    state: IncidentState | None,
    claimed_id: str,
    channel: str,
    why: str,
    claimed_by: str = "",
    verified: bool = False,
    now: datetime | None = None,
) -> bool:
    """``incident_rejected_request``: one per incident (all that do not exist count as one),
    channel, reason and hour (mlops_runtime.refusals)."""
    shown_id = state.incident_id if state else "unknown"
    return record_bounded_refusal(
        ledger,
        Action.INCIDENT_REJECTED_REQUEST,
        state.model_id if state else UNKNOWN_MODEL,
        f"incident:{shown_id}",
        channel,
        why,
        claimed_by,
        verified,
        now,
        evidence={
            "incident_id": shown_id,
            "claimed_incident_id": single_line(claimed_id, 120) if not state else None,
            "status": str(state.status) if state else None,
        },
    )


def _parse_until(text: str) -> datetime:
    try:
        until = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ProofError("a snooze needs its end as an ISO 8601 time") from None
    if until.tzinfo is None:
        raise ProofError("a snooze's end must name its time zone")
    return until.astimezone(UTC)


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None
