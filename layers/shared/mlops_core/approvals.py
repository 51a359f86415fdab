"""Human approvals: the rules, whatever channel carries the question and the answer.

One mechanism serves every flow (drift retrain gates, promotions): a state machine asks with a
``.waitForTaskToken`` task, a human answers over Slack, an emailed link or the CLI, and the task
resolves with :func:`task_output` (the contract in docs/approvals.md). This module decides, from
plain values, whether an answer counts; the adapters in ``mlops_runtime`` fetch and store.

- Approval ids are random (128 bits): messages and links carry only the id, never the task token.
- Emailed links are signed with HMAC-SHA256 over the id, the action, the recipient and an expiry;
  a link decides nothing by itself (GET shows a confirmation page, only its POST decides).
- Slack requests are authenticated by Slack's signature (checked in the adapter with
  slack_sdk's SignatureVerifier) within a five-minute window; this module names why one is stale.
- An answer is refused, with a reason for the audit trail, when the approval is no longer
  pending, the deadline passed, or the person is not one of the approvers named for it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from urllib.parse import parse_qs

from pydantic import BaseModel, ConfigDict, Field

from mlops_core.sparkline import sparkline

APPROVAL_ID_PREFIX = "apv_"
APPROVAL_ID_PATTERN = re.compile(r"^apv_[A-Za-z0-9_-]{22}$")
# Epoch seconds as sent in headers and links: ASCII digits only (str.isdigit() also accepts
# "²" and other scripts' digits, which int() then refuses), and never thousands of them.
EPOCH_PATTERN = re.compile(r"^[0-9]{1,12}$")
SLACK_WINDOW_SECONDS = 300  # Slack's documented replay window for signed requests
SLACK_APPROVE_ACTION = "approval.approve"
SLACK_REJECT_ACTION = "approval.reject"
LINK_SIGNATURE_VERSION = "v2"
KEY_ID_PATTERN = re.compile(r"^[A-Za-z0-9-]{1,64}$")  # a Secrets Manager version id
# The previous link key is accepted this long after a rotation: the longest deadline (every
# link it signed has expired by then).
MAX_DEADLINE_HOURS = 720
LINK_KEY_GRACE = timedelta(hours=MAX_DEADLINE_HOURS)
CONTROL_PLANE = "control-plane"
# An operator's identity proof is a signed STS GetCallerIdentity request; this signed header
# names the one decision it was made for (mlops_runtime.approval_proofs).
IDENTITY_BINDING_HEADER = "X-Mlopscp-Decision"
STS_IDENTITY_BODY = "Action=GetCallerIdentity&Version=2011-06-15"


class Outcome(StrEnum):
    APPROVED = "approved"
    REJECTED = "rejected"
    EXPIRED = "expired"


class Status(StrEnum):
    """An approval is pending until it gets its one outcome."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    EXPIRED = "expired"
    WITHDRAWN = "withdrawn"  # never reached anyone (no channel took it); the task failed


class Channel(StrEnum):
    SLACK = "slack"
    EMAIL = "email"
    CLI = "cli"  # operators with IAM access to the decider function
    DEADLINE = "deadline"  # nobody answered in time


class Action(StrEnum):
    """What an emailed link or a Slack button asks for."""

    APPROVE = "approve"
    REJECT = "reject"

    @property
    def outcome(self) -> Outcome:
        return Outcome.APPROVED if self is Action.APPROVE else Outcome.REJECTED


# The signed purpose of a read-only "View details" link. It is not an Action: the decider and
# the approve/reject pages accept only Actions, and the purpose is part of the HMAC, so an
# evidence link can never be turned into a decision.
VIEW_PURPOSE = "view"


def new_approval_id() -> str:
    return APPROVAL_ID_PREFIX + secrets.token_urlsafe(16)


def is_approval_id(value: object) -> bool:
    return isinstance(value, str) and bool(APPROVAL_ID_PATTERN.match(value))


# ---------------------------------------------------------------- what is being approved


class MetricChange(BaseModel):
    """One row of the metric diff shown to approvers."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    name: str = Field(min_length=1, max_length=80)
    before: float | None = None
    after: float | None = None
    higher_is_better: bool = True

    def row(self) -> str:
        before = "—" if self.before is None else f"{self.before:.4g}"
        after = "—" if self.after is None else f"{self.after:.4g}"
        change = ""
        if self.before and self.after is not None:  # no relative change from 0
            relative = (self.after - self.before) / abs(self.before)
            better = relative > 0 if self.higher_is_better else relative < 0
            verdict = "better" if better else "worse" if relative else "same"
            change = f" ({relative:+.1%}, {verdict})"
        return f"{self.name}: {before} → {after}{change}"


class ApprovalRequest(BaseModel):
    """What a flow asks a human to approve: the ``request`` of the RequestApproval task.

    Approvers and the deadline come from the model's configuration, never from here: a state
    machine's input is derived from events, and events must not choose who may approve.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    kind: str = Field(pattern=r"^[a-z][a-z0-9_]{0,39}$", description="retrain, promotion, ...")
    model_id: str = Field(min_length=1, max_length=63)
    subject: str = Field(
        min_length=1, max_length=200, description="the incident, promotion... it gates"
    )
    title: str | None = Field(None, max_length=150)
    execution: str | None = Field(None, max_length=2048, description="$$.Execution.Id")
    versions: dict[str, str] = Field(default_factory=dict, description="label -> version")
    verdict: str | None = Field(None, max_length=500)
    reasons: list[str] = Field(default_factory=list, max_length=20)
    metrics: list[MetricChange] = Field(default_factory=list, max_length=20)
    trend: str | list[float | None] | None = None
    evidence: dict[str, Any] = Field(default_factory=dict)

    @property
    def headline(self) -> str:
        return self.title or f"Approve {self.kind.replace('_', ' ')} of {self.model_id}?"

    def described(self) -> ApprovalRequest:
        """Fill reasons, metric diff and trend from a triage summary given as evidence."""
        evidence = self.evidence
        reasons = self.reasons or [str(r) for r in evidence.get("reasons", [])][:8]
        metrics = self.metrics or [
            MetricChange(
                name=str(q.get("metric")),
                before=q.get("baseline"),
                after=q.get("latest"),
                higher_is_better=q.get("direction") != "lower_is_better",
            )
            for q in evidence.get("quality", [])[:5]
            if isinstance(q, Mapping) and q.get("metric")
        ]
        trend = self.trend if self.trend is not None else evidence.get("sparkline")
        verdict = self.verdict or (
            f"triage decided {evidence['decision']}" if evidence.get("decision") else None
        )
        return self.model_copy(
            update={"reasons": reasons, "metrics": metrics, "trend": trend, "verdict": verdict}
        )

    @property
    def trend_line(self) -> str:
        """The trend, labelled with what it measures when the evidence says."""
        line = sparkline(self.trend) if isinstance(self.trend, list) else self.trend or ""
        what = self.evidence.get("sparkline_of")
        return f"{line} ({what})" if line and isinstance(what, str) and what else line

    @property
    def comparison(self) -> list[str]:
        """A shadow test's production vs shadow rows, one line each (empty for other kinds)."""
        # Imported here: the promotion package is the one thing in this module only a shadow
        # test's approval needs, and link keys (every notice) import this module.
        from mlops_core.promotion.shadow_table import message_lines

        verdict = self.evidence.get("verdict")
        return message_lines(verdict) if isinstance(verdict, Mapping) else []


class Approvers(BaseModel):
    """Who may answer one approval, frozen when it is requested."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    slack_channel: str | None = None  # where the request is posted
    slack_users: list[str] = Field(default_factory=list)
    slack_groups: list[str] = Field(default_factory=list)
    emails: list[str] = Field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.slack_users or self.slack_groups or self.emails)


# ---------------------------------------------------------------- who may answer, and when


def refusal(
    approvers: Approvers,
    channel: Channel,
    actor: str,
    group_members: Callable[[str], Iterable[str]],
) -> str | None:
    """Why ``actor`` may not answer over ``channel`` (None: they may).

    Operators on the CLI are authorised by IAM (they could invoke the decider function), so the
    channel itself is the allow-list; the deadline channel belongs to the control plane.
    """
    if channel is Channel.CLI:
        return None
    if channel is Channel.DEADLINE:
        return None if actor == CONTROL_PLANE else "only the control plane expires an approval"
    if channel is Channel.EMAIL:
        allowed = {e.strip().lower() for e in approvers.emails}
        if actor.strip().lower() in allowed:
            return None
        return f"{actor} is not an email approver of this request"
    if actor in approvers.slack_users:
        return None
    if any(actor in set(group_members(group)) for group in approvers.slack_groups):
        return None
    return f"Slack user {actor} is not an approver of this request"


def slack_origin_refusal(
    click: tuple[str, str, str], posted: tuple[str | None, str | None, str | None]
) -> str | None:
    """Why a Slack click (team, channel, message ts) does not count for an approval posted at
    ``posted`` (its team, channel and message ts as stored; None: not answerable there)."""
    team, channel, message_ts = posted
    if not (channel and message_ts):
        return "the approval was not posted in Slack"
    if (click[1], click[2]) != (channel, message_ts):
        return "the click did not come from the approval's message"
    if team and click[0] != team:
        return "the click came from another Slack workspace"
    return None


def state_refusal(status: str, deadline: datetime, outcome: Outcome, now: datetime) -> str | None:
    """Why the approval cannot take ``outcome`` now (None: it can)."""
    if status != Status.PENDING:
        return f"the approval is already {status}"
    if outcome is Outcome.EXPIRED:
        return None if now >= deadline else "the approval is not past its deadline"
    if now >= deadline:
        return f"the deadline passed at {iso(deadline)}"
    return None


@dataclass(frozen=True, slots=True)
class Timing:
    deadline: datetime
    reminder_at: datetime | None


def timing(now: datetime, deadline_hours: float, reminder_before_hours: float | None) -> Timing:
    deadline = now + timedelta(hours=deadline_hours)
    if not reminder_before_hours or reminder_before_hours >= deadline_hours:
        return Timing(deadline, None)
    return Timing(deadline, deadline - timedelta(hours=reminder_before_hours))


def due(
    status: str,
    deadline: datetime,
    reminder_at: datetime | None,
    reminded: bool,
    now: datetime,
) -> str | None:
    """What the sweeper owes a pending approval now: ``"expire"``, ``"remind"`` or nothing."""
    if status != Status.PENDING:
        return None
    if now >= deadline:
        return "expire"
    if reminder_at is not None and not reminded and now >= reminder_at:
        return "remind"
    return None


def identity_binding(approval_id: str, outcome: str, attempt_id: str) -> str:
    """The IDENTITY_BINDING_HEADER value for one decision: an identity proof signed over it
    decides that approval, that way, once (the attempt), and nothing else."""
    return f"{approval_id} {outcome} {attempt_id}"


def backstop_seconds(deadline_hours: float) -> int:
    """TimeoutSeconds of a waiting state: the deadline plus an hour for the sweeper to expire it
    (it runs every 5 minutes). Reached only if the sweeper is broken: the state fails with
    States.Timeout instead of waiting forever."""
    return int((deadline_hours + 1) * 3600)


def task_output(
    approval_id: str,
    outcome: Outcome,
    decided_by: str,
    channel: Channel,
    reason: str,
    decided_at: datetime,
) -> dict[str, str]:
    """The SendTaskSuccess output every approval resolves with: THE interface of flows."""
    return {
        "approval_id": approval_id,
        "outcome": str(outcome),
        "decided_by": decided_by,
        "channel": str(channel),
        "reason": reason,
        "decided_at": iso(decided_at),
    }


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


# ---------------------------------------------------------------- emailed links


def link_signature(
    key: bytes, approval_id: str, action: str, approver: str, expires: int, key_id: str = ""
) -> str:
    """HMAC-SHA256 over what a link says. With ``key_id`` (v2, every link since key rotation)
    the key's id is signed too; without it, the v1 form of links sent before rotation."""
    parts = (approval_id, str(action), approver.lower(), str(expires))
    head = (LINK_SIGNATURE_VERSION, key_id) if key_id else ("v1",)
    message = "\n".join((*head, *parts))
    return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True, slots=True)
class LinkKey:
    """One version of the links' HMAC key: its id (the secret's version id), its bytes and
    when it became the current key."""

    key_id: str
    secret: bytes
    since: datetime


def accepted_link_keys(
    current: LinkKey, previous: LinkKey | None, now: datetime
) -> dict[str, bytes]:
    """The keys a link may be signed with: the current one, and the previous one for
    LINK_KEY_GRACE after the rotation (every link it signed has expired by then, so this
    only bounds what a leaked old key could still forge)."""
    keys = {current.key_id: current.secret}
    if previous is not None and now < current.since + LINK_KEY_GRACE:
        keys[previous.key_id] = previous.secret
    return keys


@dataclass(frozen=True, slots=True)
class LinkClaim:
    """What a link (or its confirmation form) claims; verified by :func:`link_refusal`."""

    approval_id: str
    action: str
    approver: str
    expires: str
    signature: str
    key_id: str = ""

    @classmethod
    def from_fields(cls, approval_id: str, action: str, fields: Mapping[str, str]) -> LinkClaim:
        """A link's query string, or its confirmation form (the same field names)."""
        return cls(
            approval_id=approval_id,
            action=action,
            approver=fields.get("approver", ""),
            expires=fields.get("expires", ""),
            signature=fields.get("sig", ""),
            key_id=fields.get("kid", ""),
        )

    def form_fields(self) -> dict[str, str]:
        """What the confirmation form carries on to its POST (the link, checked again there)."""
        fields = {"approver": self.approver, "expires": self.expires, "sig": self.signature}
        if self.key_id:
            fields["kid"] = self.key_id
        return fields


def link_refusal(
    keys: bytes | Mapping[str, bytes],
    claim: LinkClaim,
    now: datetime,
    purposes: frozenset[str] = frozenset(Action),
) -> str | None:
    """Why a link is not honoured (None: it is genuine and unexpired).

    ``keys`` are the accepted keys by id (:func:`accepted_link_keys`). The signature is checked
    before anything else the link says, so a tampered id, action, recipient, expiry or key id
    reads as what it is: a forgery. A link without a key id (sent before rotation existed) is
    checked against every accepted key. ``purposes``: what the link may be for here (approve or
    reject; :data:`VIEW_PURPOSE` on the read-only evidence page).
    """
    accepted = {"": keys} if isinstance(keys, bytes) else dict(keys)
    if claim.action not in purposes or not EPOCH_PATTERN.match(claim.expires):
        return "malformed link"
    if not claim.approver or not re.fullmatch(r"[0-9a-f]{64}", claim.signature):
        return "malformed link"
    if claim.key_id and not KEY_ID_PATTERN.match(claim.key_id):
        return "malformed link"
    if claim.key_id and claim.key_id not in accepted:
        return "link signed with a key that is no longer accepted (rotated out)"
    candidates = [accepted[claim.key_id]] if claim.key_id else list(accepted.values())
    action, expires = str(claim.action), int(claim.expires)
    genuine = any(
        hmac.compare_digest(
            link_signature(key, claim.approval_id, action, claim.approver, expires, claim.key_id),
            claim.signature,
        )
        for key in candidates
    )
    if not genuine:
        return "link signature does not match (forged or altered link)"
    if now.timestamp() >= expires:
        return "link expired"
    return None


# ---------------------------------------------------------------- Slack interactions


class InteractionError(ValueError):
    """A Slack interaction this app cannot act on; the message says why."""


@dataclass(frozen=True, slots=True)
class SlackClick:
    approval_id: str
    action: Action
    user_id: str
    user_name: str
    team_id: str
    action_ts: str
    channel_id: str
    message_ts: str

    @property
    def key(self) -> str:
        """The same for a click and any redelivery of it (Slack retry or replay)."""
        parts = (self.user_id, self.action_ts, self.message_ts, self.approval_id, self.action)
        return hashlib.sha256("|".join(parts).encode()).hexdigest()


def slack_timestamp_problem(timestamp: str | None, now: float) -> str | None:
    """Why an X-Slack-Request-Timestamp is unacceptable (None: within the window)."""
    if not timestamp:
        return "missing X-Slack-Request-Timestamp"
    if not EPOCH_PATTERN.match(timestamp):
        return "malformed X-Slack-Request-Timestamp"
    age = now - int(timestamp)
    if abs(age) > SLACK_WINDOW_SECONDS:
        return f"stale request: timestamp {age:+.0f} s from now (window {SLACK_WINDOW_SECONDS} s)"
    return None


def parse_slack_click(form_body: str) -> SlackClick:
    """A block_actions payload (``payload=<json>``, form-encoded) clicking one of our buttons.

    Any other body raises :class:`InteractionError` (and nothing else: the public callback
    parses what anyone sends, and a crash there would be a 502 instead of a refusal).
    """
    button = block_action(form_body)
    if button.action_id not in (SLACK_APPROVE_ACTION, SLACK_REJECT_ACTION):
        raise InteractionError(f"not an approval button: {button.action_id!r}")
    if not is_approval_id(button.value):
        raise InteractionError("the button carries no valid approval id")
    return SlackClick(
        approval_id=button.value,
        action=Action.APPROVE if button.action_id == SLACK_APPROVE_ACTION else Action.REJECT,
        user_id=button.user_id,
        user_name=button.user_name,
        team_id=button.team_id,
        action_ts=button.action_ts,
        channel_id=button.channel_id,
        message_ts=button.message_ts,
    )


@dataclass(frozen=True, slots=True)
class ButtonPress:
    """The first action of a block_actions payload and who pressed it where (all claims until
    the request's signature is checked)."""

    action_id: str
    value: str
    user_id: str
    user_name: str
    team_id: str
    action_ts: str
    channel_id: str
    message_ts: str


def block_action(form_body: str) -> ButtonPress:
    """The button press of a block_actions body (``payload=<json>``, form-encoded), whichever
    button it is; any other body raises :class:`InteractionError` (and nothing else)."""
    fields = parse_qs(form_body, keep_blank_values=True)
    try:
        payload = json.loads(fields["payload"][0])
    except (KeyError, IndexError, ValueError, RecursionError) as error:
        raise InteractionError("the body holds no JSON payload field") from error
    if not isinstance(payload, dict) or payload.get("type") != "block_actions":
        raise InteractionError(f"unsupported interaction type {_text(_get(payload, 'type'))!r}")
    actions = payload.get("actions")
    action = actions[0] if isinstance(actions, list) and actions else {}
    user, container = payload.get("user"), payload.get("container")
    user_id = _get(user, "id")
    if not isinstance(user_id, str) or not user_id:
        raise InteractionError("the payload names no user")
    return ButtonPress(
        action_id=_text(_get(action, "action_id")),
        value=_text(_get(action, "value")),
        user_id=user_id,
        user_name=_text(_get(user, "username") or _get(user, "name")),
        team_id=_text(_get(payload.get("team"), "id") or _get(user, "team_id")),
        action_ts=_text(_get(action, "action_ts")),
        channel_id=_text(_get(container, "channel_id") or _get(payload.get("channel"), "id")),
        message_ts=_text(_get(container, "message_ts")),
    )


def _get(value: object, key: str) -> object:
    return value.get(key) if isinstance(value, dict) else None


def _text(value: object, limit: int = 200) -> str:
    """A claimed field as a short string (whatever JSON type it arrived as)."""
    return str(value)[:limit] if isinstance(value, str | int | float) else ""


def fingerprint(*parts: str) -> str:
    """A short, stable digest naming a refused request in the ledger (never the raw input)."""
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]
