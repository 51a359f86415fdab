"""The channels approvals travel on: Slack (Web API, Block Kit) and email (SNS, signed links).

Slack: ``chat.postMessage`` with the evidence and Approve / Reject buttons (each behind a
confirm dialog), then ``chat.update`` after the decision replacing the buttons with who decided
and when; reminders go in the message's thread. The bot token comes from Secrets Manager and
the API base URL from the environment (a local stand-in in the emulator).

Email: one SNS message per approver, carrying two links signed for that approver (message
attribute ``approver``, so an email subscription's filter policy delivers it to that person
only). Reminders and the expiry notice go once, to all of them (``approver`` as a String.Array).

Neither ever sees the task token: a message names the approval by its id.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlencode

from aws_lambda_powertools import Logger
from mlops_core import email_text, slack_text
from mlops_core.approvals import (
    SLACK_APPROVE_ACTION,
    SLACK_REJECT_ACTION,
    Action,
    LinkKey,
    Outcome,
    iso,
    link_signature,
)
from mlops_core.errors import ApprovalDeliveryError

from mlops_runtime.approvals import Approval
from mlops_runtime.aws import client, translated_errors
from mlops_runtime.cache import TtlCache
from mlops_runtime.link_keys import LinkKeys, plain_secret

logger = Logger(child=True)
GROUP_MEMBERS_TTL_SECONDS = 300
PENDING_NOTE = (
    "Recorded, but it has not reached the workflow yet: the control plane retries every "
    "5 minutes until it does. Nothing more to do."
)
OUTCOME_ICONS = {
    Outcome.APPROVED: ":white_check_mark:",
    Outcome.REJECTED: ":x:",
    Outcome.EXPIRED: ":hourglass:",
}


def secret_text(arn: str) -> str:
    """A secret's value: a plain string, or the single value of a one-key JSON object."""
    from aws_lambda_powertools.utilities.parameters import get_secret

    value = get_secret(arn, max_age=300)
    return plain_secret(value.decode() if isinstance(value, bytes) else str(value))


# ---------------------------------------------------------------- Slack


class Slack:
    """The Slack Web API with the bot token; disabled when no token secret is configured."""

    def __init__(self, token_secret_arn: str, api_url: str) -> None:
        self._secret_arn = token_secret_arn
        self._api_url = api_url
        self._groups: TtlCache[tuple[str, ...]] = TtlCache(GROUP_MEMBERS_TTL_SECONDS)
        self._team: str | None = None

    @property
    def enabled(self) -> bool:
        return bool(self._secret_arn)

    def _client(self) -> Any:
        from slack_sdk import WebClient

        return WebClient(token=secret_text(self._secret_arn), base_url=self._api_url, timeout=5)

    def post_request(self, approval: Approval) -> tuple[str, str, str]:
        """Post the request; returns the channel, message ts and team it was posted in."""
        web = self._client()
        response = web.chat_postMessage(
            channel=approval.approvers.slack_channel,
            text=slack_text.fallback(f"Approval needed: {approval.request.headline}"),
            mrkdwn=False,
            blocks=request_blocks(approval, decided=False),
            unfurl_links=False,
            unfurl_media=False,
        )
        team = (response.get("message") or {}).get("team") or web.auth_test().get("team_id")
        return str(response["channel"]), str(response["ts"]), str(team or "")

    def show_decision(self, approval: Approval) -> None:
        if not (approval.slack_channel and approval.slack_ts):
            return
        self._client().chat_update(
            channel=approval.slack_channel,
            ts=approval.slack_ts,
            text=slack_text.fallback(f"{approval.request.headline} {decision_line(approval)}"),
            mrkdwn=False,
            blocks=request_blocks(approval, decided=True),
        )

    def remind(self, approval: Approval) -> None:
        if not (approval.slack_channel and approval.slack_ts):
            return
        self._client().chat_postMessage(
            channel=approval.slack_channel,
            thread_ts=approval.slack_ts,
            # Only validated ids and the control plane's own words: mentions must stay live.
            text=f"Reminder {mentions(approval)}: this approval is still open and expires at "
            f"{iso(approval.deadline)}; unanswered, it is rejected.",
        )

    def tell(self, channel: str, user: str, text: str) -> None:
        """An ephemeral note to one person (e.g. why their click was refused)."""
        from slack_sdk.models.blocks import SectionBlock

        from mlops_runtime import slack_blocks

        self._client().chat_postEphemeral(
            channel=channel,
            user=user,
            text=slack_text.fallback(text),
            blocks=[SectionBlock(text=slack_blocks.plain(text))],
        )

    def workspace(self) -> str | None:
        """The team id of the workspace the bot is installed in (``auth.test``), asked once per
        execution environment; None without Slack. A click counts only from there."""
        if not self.enabled:
            return None
        if self._team is None:
            self._team = str(self._client().auth_test().get("team_id") or "")
        return self._team or None

    def replace_message(self, channel: str, ts: str, text: str, blocks: list[Any]) -> None:
        """``chat.update`` of a message the bot posted (e.g. an incident's, once acknowledged)."""
        self._client().chat_update(channel=channel, ts=ts, text=text, mrkdwn=False, blocks=blocks)

    def group_members(self, group: str) -> list[str]:
        """Members of a user group (nobody when Slack is not configured), read again after
        GROUP_MEMBERS_TTL_SECONDS: a removed member can still answer within that window."""
        if not self.enabled:
            return []
        return list(self._groups.get(group, lambda: self._fetch_members(group)))

    def _fetch_members(self, group: str) -> tuple[str, ...]:
        response = self._client().usergroups_users_list(usergroup=group)
        return tuple(str(user) for user in response.get("users", []))


def announce_decision(slack: Slack, email: Email, approval: Approval) -> None:
    """Show a recorded decision: Slack replaces the buttons with it (a pending delivery
    included), email approvers hear of an expiry once it is delivered. Best effort: the
    decision itself is recorded already."""
    if slack.enabled:
        best_effort(slack.show_decision, approval)
    if approval.status == Outcome.EXPIRED and not approval.delivery:
        text = f"{decision_line(approval)}\nNothing was done.\n\n{request_text(approval)}"
        subject = f"[approval expired] {approval.request.headline}"
        best_effort(email.send_notice, approval, subject, text, "approval_expired")


def best_effort(call: Any, *args: Any) -> None:
    """Telling people is best effort: a failure is logged, never raised."""
    try:
        call(*args)
    except Exception as error:
        logger.warning(
            "could not tell about the decision",
            extra={"error": type(error).__name__, "step": call.__name__},
        )


def mentions(approval: Approval) -> str:
    people = [slack_text.mention(user) for user in approval.approvers.slack_users]
    people += [slack_text.group_mention(group) for group in approval.approvers.slack_groups]
    return " ".join(people) or "approvers"


def decision_line(approval: Approval) -> str:
    """Who decided, how and when, as plain text (the reason is shown apart, quoted)."""
    outcome = Outcome(approval.status)
    when = approval.decided_at or ""
    if outcome is Outcome.EXPIRED:
        return f"Expired at {when}: nobody answered before the deadline, so it is rejected."
    who = approval.decided_by or "?"
    return f"{outcome.capitalize()} by {who} via {approval.decided_channel} at {when}."


def _decision_blocks(approval: Approval) -> list[Any]:
    """The decision in place of the buttons: a verified Slack decider as a mention (an id the
    decider checked against Slack's signature), everything else as plain text."""
    from slack_sdk.models.blocks import ContextBlock, MarkdownTextObject, SectionBlock

    from mlops_runtime import slack_blocks

    icon = OUTCOME_ICONS.get(Outcome(approval.status), "")
    if approval.decided_channel == "slack" and approval.decided_by:
        outcome = Outcome(approval.status).capitalize()
        text = (
            f"{icon} {outcome} by {slack_text.mention(approval.decided_by)} via slack at "
            f"{slack_text.escape(approval.decided_at or '')}."
        )
        shown: Any = MarkdownTextObject(text=text, verbatim=True)
    else:
        shown = slack_blocks.plain(f"{icon} {decision_line(approval)}")
    blocks: list[Any] = [SectionBlock(block_id="decision", text=shown)]
    if approval.reason:
        blocks.append(
            SectionBlock(fields=[slack_blocks.label("Reason"), slack_blocks.plain(approval.reason)])
        )
    if approval.delivery:
        blocks.append(ContextBlock(elements=[slack_blocks.plain(PENDING_NOTE)]))
    return blocks


def request_blocks(approval: Approval, decided: bool) -> list[Any]:
    """Block Kit: what is asked, the evidence, then the buttons or the decision. Every value of
    the request is plain_text (mlops_core.slack_text): none of it can link, mention or format."""
    from slack_sdk.models.blocks import (
        ActionsBlock,
        ButtonElement,
        ContextBlock,
        DividerBlock,
        HeaderBlock,
        MarkdownTextObject,
    )
    from slack_sdk.models.blocks.basic_components import ConfirmObject

    from mlops_runtime import slack_blocks

    request = approval.request
    blocks: list[Any] = [HeaderBlock(text=slack_blocks.plain(request.headline, 150))]
    blocks += slack_blocks.facts(_facts(approval))
    blocks += slack_blocks.titled_lines("Evidence", request.reasons)
    blocks += slack_blocks.titled_lines("Metrics", [m.row() for m in request.metrics])
    blocks.append(DividerBlock())
    if decided:
        blocks += _decision_blocks(approval)
    else:
        what, model = request.kind.replace("_", " "), request.model_id
        blocks.append(
            ActionsBlock(
                block_id="approval",
                elements=[
                    ButtonElement(
                        text="Approve",
                        action_id=SLACK_APPROVE_ACTION,
                        value=approval.approval_id,
                        style="primary",
                        confirm=ConfirmObject(
                            title=slack_blocks.plain(f"Approve the {what}?", 100),
                            text=slack_blocks.plain(f"This lets the {what} of {model} go ahead."),
                            confirm="Approve",
                            deny="Cancel",
                            style="primary",
                        ),
                    ),
                    ButtonElement(
                        text="Reject",
                        action_id=SLACK_REJECT_ACTION,
                        value=approval.approval_id,
                        style="danger",
                        confirm=ConfirmObject(
                            title=slack_blocks.plain(f"Reject the {what}?", 100),
                            text=slack_blocks.plain(f"The {what} of {model} will not happen."),
                            confirm="Reject",
                            deny="Cancel",
                            style="danger",
                        ),
                    ),
                ],
            )
        )
    context = f"approval `{approval.approval_id}` · approvers: {mentions(approval)}"
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=context, verbatim=True)]))
    return blocks


def _facts(approval: Approval) -> list[tuple[str, object]]:
    request = approval.request
    return [
        ("Model", request.model_id),
        ("What", request.kind.replace("_", " ")),
        ("For", request.subject),
        *((f"Version ({email_text.label_of(k)})", v) for k, v in request.versions.items()),
        ("Verdict", request.verdict or ""),
        ("Trend", request.trend_line),
        ("Deadline", iso(approval.deadline)),
    ]


# ---------------------------------------------------------------- email


class Email:
    """Approval emails through the approvals SNS topic."""

    def __init__(self, topic_arn: str, link_keys: LinkKeys | None = None, callback_url: str = ""):
        self._topic_arn = topic_arn
        self._keys = link_keys
        self._callback_url = callback_url

    @property
    def can_link(self) -> bool:
        return bool(self._keys and self._keys.configured and self._callback_url)

    def send_requests(self, approval: Approval) -> list[str]:
        """One message per email approver, with links signed for them; returns who got one."""
        if self._keys is None:
            raise ApprovalDeliveryError("email approvals need the link keys")
        key = self._keys.signing()
        sent = []
        for recipient in approval.approvers.emails:
            links = approval_links(key, self._callback_url, approval, recipient)
            text = request_email(approval, links, recipient)
            self._publish(
                approval,
                f"[approval needed] {approval.request.headline}",
                text,
                [recipient],
                "approval_request",
            )
            sent.append(recipient)
        return sent

    def send_notice(self, approval: Approval, subject: str, text: str, kind: str) -> bool:
        if not approval.approvers.emails:
            return False
        self._publish(approval, subject, text, approval.approvers.emails, kind)
        return True

    def _publish(
        self, approval: Approval, subject: str, text: str, recipients: list[str], kind: str
    ) -> None:
        approver: dict[str, str] = (
            {"DataType": "String", "StringValue": recipients[0]}
            if len(recipients) == 1
            else {"DataType": "String.Array", "StringValue": json.dumps(recipients)}
        )
        with translated_errors():
            client("sns").publish(
                TopicArn=self._topic_arn,
                Subject=email_text.subject(subject),
                Message=text,
                MessageAttributes={
                    "approver": approver,
                    "kind": {"DataType": "String", "StringValue": kind},
                    "model_id": {"DataType": "String", "StringValue": approval.model_id},
                    "approval_id": {"DataType": "String", "StringValue": approval.approval_id},
                },
            )


def approval_links(
    key: LinkKey, base_url: str, approval: Approval, recipient: str
) -> dict[Action, str]:
    """The approve and reject links of one recipient: id, expiry (the deadline), the signing
    key's id and the HMAC over all of them."""
    expires = int(approval.deadline.timestamp())
    links = {}
    for action in Action:
        signature = link_signature(
            key.secret, approval.approval_id, action, recipient, expires, key.key_id
        )
        query = urlencode(
            {"approver": recipient, "expires": expires, "kid": key.key_id, "sig": signature}
        )
        links[action] = f"{base_url.rstrip('/')}/approvals/{approval.approval_id}/{action}?{query}"
    return links


def request_email(approval: Approval, links: dict[Action, str], recipient: str) -> str:
    """The control plane's own words and the real links first; what the request says below,
    quoted (mlops_core.email_text), so nothing in it can pose as an instruction or a link."""
    what = email_text.label_of(approval.request.kind.replace("_", " "))
    return (
        f"Approval needed: {what} of {email_text.label_of(approval.model_id)}\n\n"
        f"To approve, open: {links[Action.APPROVE]}\n"
        f"To reject, open:  {links[Action.REJECT]}\n\n"
        "Each link opens a confirmation page; nothing is decided until you confirm there. "
        f"The links are for {email_text.single_line(recipient, 254)} only and stop working at "
        f"{iso(approval.deadline)} or once the approval is decided.\n\n" + request_text(approval)
    )


def request_text(approval: Approval) -> str:
    """What is being approved, every value a quoted field (the request's text is untrusted)."""
    request = approval.request
    lines = [
        "What is being approved (quoted as the workflow reported it):",
        email_text.field("Title", request.headline),
        *(email_text.field(name, value) for name, value in _facts(approval) if value),
        email_text.field("Approval", approval.approval_id),
    ]
    lines += _section("Evidence", request.reasons)
    lines += _section("Metrics", [metric.row() for metric in request.metrics])
    return "\n".join(lines) + "\n"


def _section(title: str, items: Iterable[str]) -> list[str]:
    items = list(items)
    return ["", f"{title}:", *(email_text.bullet(item) for item in items)] if items else []
