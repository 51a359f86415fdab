"""Incident messages on their channels (functions/notify, kind ``incident``).

Pages (opened, escalated, reopened, the page after a snooze) and resolutions go to SNS (email).
Slack, with the app's bot token and a channel (the model's ``incidents.slack_channel``, else its
approvals channel): the first page is a ``chat.postMessage`` whose channel and ts are stored on
the incident; later steps edit that message (``chat.update``: status, runs, last seen) and
escalations, reopenings and resolutions reply in its thread (pages with ``reply_broadcast``).
Without the bot, pages and resolutions go to the incoming webhook and nothing is edited.

Untrusted text reaches Slack only as plain_text (mlops_runtime.notify.slack_blocks) and email
only through mlops_core.email_text (Notification.as_text).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger
from mlops_core import messages, slack_text
from mlops_core.errors import IncidentChangedError
from mlops_core.incidents import IncidentState, Transition
from mlops_core.ledger import Action, LedgerEntry
from mlops_core.notification import Notification

from mlops_runtime import notify
from mlops_runtime.incidents import IncidentStore
from mlops_runtime.link_keys import plain_secret
from mlops_runtime.store import Ledger

logger = Logger(child=True)
# Steps that say something new in the thread (the others only edit the message).
_THREAD = {Transition.ESCALATED, Transition.REOPENED, Transition.RESOLVED}


def incident_actions(state: IncidentState) -> list[Any]:
    """The incident message's controls, after its facts: who said "seen", and the Acknowledge
    and Snooze buttons while it is open (mlops_runtime.incident_buttons; a click goes through
    the approval door to the decider)."""
    from mlops_runtime.incident_buttons import control_blocks

    return [block.to_dict() for block in control_blocks(state)]


@dataclass
class IncidentChannels:
    ledger: Ledger
    store: IncidentStore
    topic_arn: str
    webhook_secret_arn: str | None
    bot_token_secret_arn: str | None
    slack_api_url: str

    def deliver(self, notice: dict[str, Any], execution: str = "") -> list[str]:
        """Send one notice (an item of track_incident's ``notices``); returns the channels.
        ``execution``: the drift response's execution, the message's "View details" link."""
        notice = notice | {"execution": execution} if execution else notice
        state = IncidentState.from_item(notice["state"])
        transition = Transition(notice["transition"])
        message = self._message(transition, state, notice)
        channel = notice.get("slack_channel") if self.bot_token_secret_arn else None
        delivered: list[str] = []
        failed: list[str] = []
        undelivered: Exception | None = None
        if notice.get("notify"):
            try:
                sent = notify.send(
                    message, self.topic_arn, None if channel else self.webhook_secret_arn
                )
                delivered += sent.delivered
                failed += sent.failed
            except Exception as error:  # SNS down: the Slack message may still reach someone
                undelivered = error
                failed.append("sns")
        if channel:
            # Slack is a second channel: its failure is recorded, it does not undo the page.
            try:
                if self._slack(state, transition, message, notice, str(channel)):
                    delivered.append("slack")
            except Exception as error:
                logger.warning(
                    "Slack incident message failed", extra={"error": type(error).__name__}
                )
                failed.append("slack")
        if undelivered is not None and not delivered:
            raise undelivered  # nobody was told: the step is retried, then fails visibly
        if notice.get("notify"):
            self._record(message, state, transition, delivered, failed)
        return delivered

    def _message(
        self, transition: Transition, state: IncidentState, notice: dict[str, Any]
    ) -> Notification:
        return messages.incident(
            transition,
            state,
            str(notice.get("reason", "")),
            details=list(notice.get("details") or []),
            new_items=list(notice.get("new_items") or []),
            summary=notice.get("summary") or {},
            context=messages.Context(
                owners=[str(o) for o in notice.get("owners") or []],
                runbook_url=str(notice.get("runbook_url") or ""),
                execution_arn=str(notice.get("execution") or ""),
                report_uri=str(notice.get("report_uri") or ""),
            ),
        )

    def _slack(
        self,
        state: IncidentState,
        transition: Transition,
        message: Notification,
        notice: dict[str, Any],
        channel: str,
    ) -> bool:
        # Read again: a retried delivery finds the message it posted, and a later run's newer
        # counts are not overwritten with this step's.
        fresh = self.store.get(state.incident_id)
        shown = fresh if fresh is not None and fresh.version >= state.version else state
        card_transition = Transition.OPENED if shown.is_open else Transition.RESOLVED
        card = self._message(card_transition, shown, notice)
        blocks = _blocks(card) + incident_actions(shown)
        text = slack_text.fallback(card.title)
        web = self._web()
        if shown.slack is None:
            if not notice.get("page"):
                return False  # only a page posts the incident's message
            posted = web.chat_postMessage(
                channel=channel,
                text=text,
                mrkdwn=False,
                blocks=blocks,
                unfurl_links=False,
                unfurl_media=False,
            )
            try:
                self.store.set_slack(shown, str(posted["channel"]), str(posted["ts"]))
            except IncidentChangedError:
                logger.warning("the incident already had a Slack message; this one is extra")
            return True
        ref = shown.slack
        web.chat_update(
            channel=ref["channel"], ts=ref["ts"], text=text, mrkdwn=False, blocks=blocks
        )
        if transition in _THREAD or notice.get("page"):
            web.chat_postMessage(
                channel=ref["channel"],
                thread_ts=ref["ts"],
                reply_broadcast=bool(notice.get("page")),
                text=slack_text.fallback(message.title),
                mrkdwn=False,
                blocks=_blocks(message),
                unfurl_links=False,
                unfurl_media=False,
            )
        return True

    def _web(self) -> Any:
        from aws_lambda_powertools.utilities.parameters import get_secret

        from mlops_runtime.slack_web import web_client

        secret = get_secret(str(self.bot_token_secret_arn), max_age=300)
        token = plain_secret(secret.decode() if isinstance(secret, bytes) else str(secret))
        return web_client(token, self.slack_api_url)

    def _record(
        self,
        message: Notification,
        state: IncidentState,
        transition: Transition,
        delivered: list[str],
        failed: list[str],
    ) -> None:
        self.ledger.record(
            LedgerEntry(
                action=Action.NOTIFICATION_SENT,
                model_id=state.model_id,
                subject=f"{state.incident_id}#{message.kind}",
                summary=message.title,
                evidence={
                    "delivered": delivered,
                    "failed": failed,
                    "about": state.incident_id,
                    "transition": str(transition),
                    "severity": message.severity,
                },
                key=f"v{state.version}",
            )
        )


def _blocks(message: Notification) -> list[dict[str, Any]]:
    return [block.to_dict() for block in notify.slack_blocks(message)]
