"""People saying "seen": acknowledging, snoozing and resolving incidents, from Slack or the CLI.

The buttons on an incident's Slack message (Acknowledge, Snooze 4 h, Snooze 24 h) travel the
approvals' public door: Slack's signature, its 5-minute window and the replay markers there, then
the decider checks the signature again and applies the control (mlops_runtime.incident_controls).
This module decides, from plain values, what a press asks for and whether it counts:

- the click must come from the incident's own message (channel and ts as posted) in the
  workspace the bot belongs to;
- who may press: the people a platform team already named for the model in Slack, i.e. the
  approvers (``approvals.slack_approvers``, members of ``approvals.slack_approver_groups``) and
  the ``owners`` given as Slack user or group ids. Nobody else, and nobody at all when the model
  names none (they use the CLI, where IAM decides).

Operators on the CLI are authorised by IAM (``lambda:InvokeFunction`` on the decider) and named
by STS, as for approvals.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from mlops_core.approvals import InteractionError, block_action

ACK_ACTION = "incident.acknowledge"
SNOOZE_ACTIONS = {"incident.snooze_4h": 4.0, "incident.snooze_24h": 24.0}
INCIDENT_ID_PATTERN = re.compile(r"^inc-[A-Za-z0-9][A-Za-z0-9._-]{0,39}-[0-9a-f]{12}$")
_SLACK_USER = re.compile(r"^[UW][A-Z0-9]{2,}$")
_SLACK_GROUP = re.compile(r"^S[A-Z0-9]{2,}$")


class Control(StrEnum):
    """What a person does to an incident."""

    ACKNOWLEDGE = "acknowledge"
    SNOOZE = "snooze"
    RESOLVE = "resolve"


def is_incident_id(value: object) -> bool:
    return isinstance(value, str) and bool(INCIDENT_ID_PATTERN.match(value))


def is_incident_button(action_id: str) -> bool:
    return action_id == ACK_ACTION or action_id in SNOOZE_ACTIONS


@dataclass(frozen=True, slots=True)
class IncidentClick:
    """A press of one of an incident message's buttons (claims until the signature holds)."""

    incident_id: str
    control: Control
    hours: float | None  # a snooze's length
    user_id: str
    user_name: str
    team_id: str
    action_ts: str
    channel_id: str
    message_ts: str
    action_id: str

    @property
    def key(self) -> str:
        """The same for a click and any redelivery of it (the door's replay marker)."""
        parts = (self.user_id, self.action_ts, self.message_ts, self.incident_id, self.action_id)
        return hashlib.sha256("|".join(("incident", *parts)).encode()).hexdigest()


def parse_incident_click(form_body: str) -> IncidentClick:
    """A block_actions body pressing one of our incident buttons; anything else raises
    :class:`InteractionError` (and nothing else: the public door parses what anyone sends)."""
    press = block_action(form_body)
    if not is_incident_button(press.action_id):
        raise InteractionError(f"not an incident button: {press.action_id!r}")
    if not is_incident_id(press.value):
        raise InteractionError("the button carries no valid incident id")
    snooze = SNOOZE_ACTIONS.get(press.action_id)
    return IncidentClick(
        incident_id=press.value,
        control=Control.SNOOZE if snooze else Control.ACKNOWLEDGE,
        hours=snooze,
        user_id=press.user_id,
        user_name=press.user_name,
        team_id=press.team_id,
        action_ts=press.action_ts,
        channel_id=press.channel_id,
        message_ts=press.message_ts,
        action_id=press.action_id,
    )


def is_incident_click(form_body: str) -> bool:
    """Does the body press an incident button (routing only: nothing here is verified)?"""
    try:
        return is_incident_button(block_action(form_body).action_id)
    except InteractionError:
        return False


# ---------------------------------------------------------------- whether a click counts


def origin_refusal(
    click: IncidentClick, posted: dict[str, str] | None, workspace: str | None
) -> str | None:
    """Why a click does not count for an incident posted at ``posted`` (its stored Slack
    channel and ts, and the team when stored) in the bot's ``workspace`` (None: it counts)."""
    if not posted or not (posted.get("channel") and posted.get("ts")):
        return "the incident was not posted in Slack by the bot"
    if (click.channel_id, click.message_ts) != (posted["channel"], posted["ts"]):
        return "the click did not come from the incident's message"
    team = posted.get("team") or workspace
    if not team or click.team_id != team:
        return "the click came from another Slack workspace"
    return None


@dataclass(frozen=True, slots=True)
class Responders:
    """Who may acknowledge or snooze a model's incidents from Slack."""

    users: frozenset[str]
    groups: frozenset[str]

    @classmethod
    def of(
        cls, approvers: Iterable[str], approver_groups: Iterable[str], owners: Iterable[str]
    ) -> Responders:
        """The model's Slack approvers and approver groups, and its owners that are Slack user
        or group ids (owners such as ``@ml-platform`` are names for messages, not identities)."""
        owners = [o.strip() for o in owners]
        users = {*approvers, *(o for o in owners if _SLACK_USER.match(o))}
        groups = {*approver_groups, *(o for o in owners if _SLACK_GROUP.match(o))}
        return cls(frozenset(users), frozenset(groups))

    def refusal(
        self, model_id: str, user_id: str, group_members: Callable[[str], Iterable[str]]
    ) -> str | None:
        """Why ``user_id`` may not press an incident button of ``model_id`` (None: they may)."""
        if not (self.users or self.groups):
            return (
                f"nobody may acknowledge {model_id}'s incidents in Slack: its configuration "
                "names no Slack approvers or Slack-id owners (use `mlopscp incidents`)"
            )
        if user_id in self.users:
            return None
        if any(user_id in set(group_members(group)) for group in sorted(self.groups)):
            return None
        return f"Slack user {user_id} may not acknowledge {model_id}'s incidents"


def snooze_until(signed_at: str, hours: float) -> datetime:
    """A Slack snooze ends ``hours`` after the click's signed request time, so a retry of the
    same click snoozes until the same moment."""
    return datetime.fromtimestamp(int(signed_at), UTC) + timedelta(hours=hours)


def control_binding(incident_id: str, control: Control, detail: str, attempt_id: str) -> str:
    """The identity proof's binding header for one CLI control: it acts on that incident, that
    way (a snooze with its end), once (the attempt)."""
    what = f"{control}:{detail}" if detail else str(control)
    return f"{incident_id} {what} {attempt_id}"
