"""The controls part of an incident's Slack message: who acknowledged or snoozed it, and the
buttons that still apply (Acknowledge, Snooze 4 h, Snooze 24 h; none once it is resolved).

The bot's incident message carries :func:`control_blocks` (posted and edited by Notify,
mlops_runtime.incident_channels); after a person's control the decider replaces the message
with the incident's current state (:func:`show_control`) and tells a refused clicker why,
privately. Buttons carry only the incident id (its action says
what it does). A verified Slack user is shown as a mention (an id Slack signed and the model's
configuration named); anything else (an operator's ARN, a reason) is plain_text.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from mlops_core import slack_text
from mlops_core.incident_controls import ACK_ACTION, SNOOZE_ACTIONS
from mlops_core.incidents import CONTROL_PLANE, IncidentState, Status

if TYPE_CHECKING:
    from mlops_runtime.approval_channels import Slack
    from mlops_runtime.incident_controls import ControlAttempt, ControlResult

CONTROLS_BLOCK = "incident_controls"
STATUS_BLOCK = "incident_status"
SNOOZE_LABELS = {"incident.snooze_4h": "Snooze 4 h", "incident.snooze_24h": "Snooze 24 h"}


def control_blocks(state: IncidentState) -> list[Any]:
    """Who said "seen" (and until when), then the buttons that still apply."""
    from slack_sdk.models.blocks import ActionsBlock, ButtonElement, SectionBlock

    blocks: list[Any] = [
        SectionBlock(block_id=f"{STATUS_BLOCK}_{i}", text=line)
        for i, line in enumerate(_status_lines(state))
    ]
    if not state.is_open:
        return blocks
    buttons = [
        ButtonElement(text=SNOOZE_LABELS[action], action_id=action, value=state.incident_id)
        for action in SNOOZE_ACTIONS
    ]
    if state.status != Status.ACKNOWLEDGED:
        acknowledge = ButtonElement(
            text="Acknowledge", action_id=ACK_ACTION, value=state.incident_id, style="primary"
        )
        buttons.insert(0, acknowledge)
    blocks.append(ActionsBlock(block_id=CONTROLS_BLOCK, elements=buttons))
    return blocks


def _status_lines(state: IncidentState) -> list[Any]:
    lines = []
    if state.acknowledged_by and state.acknowledged_at:
        lines.append(_who(":eyes: Acknowledged by", state.acknowledged_by, state.acknowledged_at))
    if state.status == Status.SNOOZED and state.snoozed_by and state.snoozed_until:
        until = f"until {when(state.snoozed_until)}"
        lines.append(_who(":zzz: Snoozed by", state.snoozed_by, None, until))
    person = state.resolved_by if state.resolved_by != CONTROL_PLANE else None
    if state.status == Status.RESOLVED and person:
        lines.append(_who(":white_check_mark: Resolved by", person, state.resolved_at))
        if state.resolved_reason:
            from mlops_runtime import slack_blocks

            lines.append(slack_blocks.plain(f"Reason: {state.resolved_reason}"))
    return lines


def _who(what: str, actor: str, at: datetime | None, tail: str = "") -> Any:
    """One status line: a Slack user as a mention (mrkdwn), anyone else as plain text."""
    from slack_sdk.models.blocks import MarkdownTextObject

    from mlops_runtime import slack_blocks

    moment = f"at {when(at)}" if at else ""
    rest = " ".join(part for part in (moment, tail) if part)
    if slack_text.is_user_id(actor):
        text = f"{what} {slack_text.mention(actor)} {slack_text.escape(rest)}."
        return MarkdownTextObject(text=text, verbatim=True)
    return slack_blocks.plain(f"{what.split(' ', 1)[1]} {actor} {rest}.")


def when(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def show_control(slack: Slack, attempt: ControlAttempt | None, result: ControlResult) -> None:
    """After a control: the incident's message shows it (whoever acted, Slack or CLI); a Slack
    clicker whose press changed nothing is told why, privately. Best effort: the control is
    recorded already."""
    from mlops_runtime.approval_channels import best_effort

    if not slack.enabled:
        return
    if result.status == "recorded" and result.state is not None and result.state.slack:
        best_effort(refresh_message, slack, result.state)
    click = attempt.click if attempt else None
    if click is not None and result.status != "recorded":
        note = "Not recorded" if result.status == "refused" else "Nothing changed"
        best_effort(slack.tell, click.channel_id, click.user_id, f"{note}: {result.why}.")


def refresh_message(slack: Slack, state: IncidentState) -> None:
    """Replace the incident's message with its current state (``chat.update``): the card Notify
    keeps (mlops_runtime.incident_channels), then the controls. The run's latest executions,
    trend, links and owners come back with the next run's edit; the card's facts are the
    incident's own."""
    from mlops_core import messages
    from mlops_core.incidents import Transition

    from mlops_runtime import notify

    if not state.slack:
        return
    shown = Transition.OPENED if state.is_open else Transition.RESOLVED
    details = [part for part in state.summary.split("; ") if part]
    card = messages.incident(shown, state, "", details=details)
    blocks = [block.to_dict() for block in (*notify.slack_blocks(card), *control_blocks(state))]
    text = slack_text.fallback(card.title)
    slack.replace_message(state.slack["channel"], state.slack["ts"], text, blocks)
