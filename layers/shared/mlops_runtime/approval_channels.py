"""The channels approvals travel on: Slack (Web API, Block Kit) and email (SNS, signed links).

Slack: ``chat.postMessage`` with the evidence and Approve / Reject buttons (each behind a
confirm dialog), then ``chat.update`` after the decision replacing the buttons with who decided
and when; reminders go in the message's thread. The bot token comes from Secrets Manager and
the API base URL from the environment (a local stand-in in the emulator).

Email: one SNS message per approver, carrying two links signed for that approver (message
attribute ``approver``, so an email subscription's filter policy delivers it to that person
only). Reminders and the expiry notice go once, to all of them (``approver`` as a String.Array).

Both carry "View details" links: the read-only evidence page (a link signed for viewing only,
:data:`mlops_core.approvals.VIEW_PURPOSE`, valid until a week after the deadline) and the
workflow's Step Functions execution in the AWS console. Deadlines are Slack dates with how far
away they are; a Slack decider is named by their Slack name (``users.info``, cached).

Neither ever sees the task token: a message names the approval by its id.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from aws_lambda_powertools import Logger
from mlops_core import email_text, slack_text
from mlops_core.approvals import (
    SLACK_APPROVE_ACTION,
    SLACK_REJECT_ACTION,
    VIEW_PURPOSE,
    Action,
    LinkKey,
    Outcome,
    iso,
    link_signature,
)
from mlops_core.errors import ApprovalDeliveryError
from mlops_core.links import execution_console_url

from mlops_runtime.approvals import Approval
from mlops_runtime.aws import client, translated_errors
from mlops_runtime.cache import TtlCache
from mlops_runtime.link_keys import LinkKeys, plain_secret

logger = Logger(child=True)
GROUP_MEMBERS_TTL_SECONDS = 300
USER_NAMES_TTL_SECONDS = 3600
VIEW_LINK_GRACE = timedelta(days=7)  # evidence links outlive the deadline: decisions get read
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
        self._names: TtlCache[str] = TtlCache(USER_NAMES_TTL_SECONDS)
        self._team: str | None = None

    @property
    def enabled(self) -> bool:
        return bool(self._secret_arn)

    def _client(self) -> Any:
        from mlops_runtime.slack_web import web_client

        return web_client(secret_text(self._secret_arn), self._api_url)

    def post_request(self, approval: Approval, details_url: str = "") -> tuple[str, str, str]:
        """Post the request; returns the channel, message ts and team it was posted in.
        ``details_url``: the evidence page's link (signed for viewing only)."""
        web = self._client()
        response = web.chat_postMessage(
            channel=approval.approvers.slack_channel,
            text=slack_text.fallback(f"Approval needed: {approval.request.headline}"),
            mrkdwn=False,
            blocks=request_blocks(approval, decided=False, details_url=details_url),
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
            blocks=request_blocks(approval, True, approval.slack_details_url or ""),
        )

    def remind(self, approval: Approval) -> None:
        if not (approval.slack_channel and approval.slack_ts):
            return
        self._client().chat_postMessage(
            channel=approval.slack_channel,
            thread_ts=approval.slack_ts,
            # Only validated ids, a date and the control plane's own words: mentions stay live.
            text=f"Reminder {mentions(approval)}: this approval is still open and expires "
            f"{slack_text.date(approval.deadline, datetime.now(UTC))}; unanswered, it is "
            "rejected. The buttons and links are in the message above.",
        )

    def display_name(self, user_id: str) -> str:
        """A user's name as Slack shows it (``users.info``: display name, else real name),
        cached for an hour; "" when Slack is off or does not know the user."""
        if not self.enabled or not slack_text.is_user_id(user_id):
            return ""
        return self._names.get(user_id, lambda: self._fetch_name(user_id))

    def _fetch_name(self, user_id: str) -> str:
        user = self._client().users_info(user=user_id).get("user") or {}
        profile = user.get("profile") or {}
        name = profile.get("display_name") or profile.get("real_name") or user.get("real_name")
        return slack_text.plain(name or user.get("name") or "", 80)

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
    return (
        f"{outcome.capitalize()} by {decider(approval)} via {approval.decided_channel} at {when}."
    )


def decider(approval: Approval) -> str:
    """Who decided, by name when one is known: "Ada Lovelace (U0ADA)", else the id or email."""
    who = approval.decided_by or "?"
    name = approval.decided_by_name
    return f"{name} ({who})" if name and name != who else who


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


def request_blocks(approval: Approval, decided: bool, details_url: str = "") -> list[Any]:
    """Block Kit: what is asked, its links, the evidence, then the buttons or the decision.
    Every value of the request is plain_text (mlops_core.slack_text): none of it can link,
    mention or format; links are the control plane's own (the evidence page, the console)."""
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
    blocks += slack_blocks.links(detail_links(approval, details_url))
    deadline = slack_blocks.date(approval.deadline, None if decided else datetime.now(UTC))
    blocks += slack_blocks.facts([*_facts(approval)[:-1], ("Deadline", deadline)])
    blocks += slack_blocks.titled_lines("Evidence", request.reasons)
    blocks += slack_blocks.titled_lines("Production vs shadow", request.comparison)
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


def detail_links(approval: Approval, details_url: str = "") -> dict[str, str]:
    """ "View details" (the evidence page, when there is a link for it) and the workflow's
    execution in the Step Functions console."""
    console = execution_console_url(approval.request.execution or "")
    links = {"View details": details_url, "Workflow execution": console}
    return {label: url for label, url in links.items() if url}


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
            view = evidence_link(key, self._callback_url, approval, recipient)
            text = request_email(approval, links, recipient, view)
            self._publish(
                approval,
                f"[approval needed] {approval.request.headline}",
                text,
                [recipient],
                "approval_request",
            )
            sent.append(recipient)
        return sent

    def send_reminders(self, approval: Approval) -> bool:
        """The reminder, one message per email approver with their own links again (the first
        message may be buried); False when no email approver was asked. Without link keys
        (a stack that cannot sign), one notice to all of them without links."""
        if not approval.approvers.emails:
            return False
        if not (self.can_link and self._keys is not None):
            text = (
                f"Reminder: this approval is still open and expires at {iso(approval.deadline)}; "
                "unanswered, it is rejected. Use the links in the first message, or Slack.\n\n"
                + request_text(approval)
            )
            subject = f"[reminder] {approval.request.headline}"
            return self.send_notice(approval, subject, text, "approval_reminder")
        key = self._keys.signing()
        for recipient in approval.approvers.emails:
            links = approval_links(key, self._callback_url, approval, recipient)
            view = evidence_link(key, self._callback_url, approval, recipient)
            text = (
                f"Reminder: this approval is still open and expires at {iso(approval.deadline)}"
                "; unanswered, it is rejected.\n\n"
                + request_email(approval, links, recipient, view)
            )
            subject = f"[reminder] {approval.request.headline}"
            self._publish(approval, subject, text, [recipient], "approval_reminder")
        return True

    def view_link(self, approval: Approval, viewer: str) -> str:
        """A "View details" link to the evidence page, signed for ``viewer`` (an email address,
        or ``slack:<channel>``); "" when links are not configured."""
        if not self.can_link or self._keys is None:
            return ""
        return evidence_link(self._keys.signing(), self._callback_url, approval, viewer)

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
) -> dict[str, str]:
    """The approve and reject links of one recipient: id, expiry (the deadline), the signing
    key's id and the HMAC over all of them."""
    expires = int(approval.deadline.timestamp())
    links: dict[str, str] = {}
    for action in Action:
        signature = link_signature(
            key.secret, approval.approval_id, action, recipient, expires, key.key_id
        )
        query = urlencode(
            {"approver": recipient, "expires": expires, "kid": key.key_id, "sig": signature}
        )
        links[action] = f"{base_url.rstrip('/')}/approvals/{approval.approval_id}/{action}?{query}"
    return links


def evidence_link(key: LinkKey, base_url: str, approval: Approval, viewer: str) -> str:
    """The read-only evidence page's link: signed for VIEW_PURPOSE, which the approve and
    reject paths and the decider refuse, so it can show the evidence and never decide."""
    expires = int((approval.deadline + VIEW_LINK_GRACE).timestamp())
    signature = link_signature(
        key.secret, approval.approval_id, VIEW_PURPOSE, viewer, expires, key.key_id
    )
    query = urlencode({"approver": viewer, "expires": expires, "kid": key.key_id, "sig": signature})
    return f"{base_url.rstrip('/')}/approvals/{approval.approval_id}/{VIEW_PURPOSE}?{query}"


def request_email(
    approval: Approval, links: Mapping[str, str], recipient: str, details_url: str = ""
) -> str:
    """The control plane's own words and the real links first; what the request says below,
    quoted (mlops_core.email_text), so nothing in it can pose as an instruction or a link."""
    what = email_text.label_of(approval.request.kind.replace("_", " "))
    details = detail_links(approval, details_url)
    return (
        f"Approval needed: {what} of {email_text.label_of(approval.model_id)}\n\n"
        f"To approve, open: {links[Action.APPROVE]}\n"
        f"To reject, open:  {links[Action.REJECT]}\n"
        + "".join(f"{label}: {url}\n" for label, url in details.items())
        + "\n"
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
    lines += _section("Production vs shadow", request.comparison)
    lines += _section("Metrics", [metric.row() for metric in request.metrics])
    return "\n".join(lines) + "\n"


def _section(title: str, items: Iterable[str]) -> list[str]:
    items = list(items)
    return ["", f"{title}:", *(email_text.bullet(item) for item in items)] if items else []
