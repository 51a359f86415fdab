"""Text for Slack: every message and block the control plane sends is built with these.

Slack acts on two kinds of markup (its formatting reference): control sequences in ``<...>``
(links with any label, user and group mentions, ``<!channel>``-style broadcasts) and, in
``mrkdwn`` text, formatting (``*bold*``, ``_italic_``, ``~strike~``, code, quotes) plus
auto-linked URLs. mrkdwn has no escape for the formatting characters, so the rule here is:

- untrusted text only ever goes into ``plain_text`` text objects (:func:`plain`), where Slack
  formats nothing, with ``&``, ``<`` and ``>`` escaped as Slack asks, on one line each;
- ``mrkdwn`` is used only for the control plane's own labels (:func:`label`), for mentions
  of ids that a model's configuration validated (:func:`mention`, :func:`group_mention`), for
  links the control plane built or a configuration validated as https (:func:`link`, through
  :func:`mlops_core.links.safe_url`) and for dates (:func:`date`);
- a message's top-level ``text`` (the notification fallback) is sent with ``mrkdwn: false``
  and escaped (:func:`fallback`).
"""

from __future__ import annotations

import re
from datetime import datetime

from mlops_core.links import safe_url
from mlops_core.untrusted import shorten, single_line

PLAIN_TEXT_LIMIT = 3000  # Slack's limit for a section's text object
FIELD_LIMIT = 2000  # and for one of a section's fields
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
_GROUP_ID = re.compile(r"^S[A-Z0-9]{2,}$")
_FORMATTING = re.compile(r"[*_~`]")


def escape(text: str) -> str:
    """Slack's three control characters as the entities Slack shows as the characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def plain(text: object, limit: int = FIELD_LIMIT) -> str:
    """One untrusted value for a ``plain_text`` object: one line, escaped, cut to ``limit``."""
    return _escaped_within(single_line(text, limit), limit)


def lines(items: list[str], bullet: str = "• ", limit: int = PLAIN_TEXT_LIMIT) -> str:
    """Untrusted values for one ``plain_text`` object, one per line."""
    text = "\n".join(bullet + single_line(item, 500) for item in items)
    return _escaped_within(text, limit)


def label(text: str) -> str:
    """One of the control plane's own labels as bold mrkdwn (formatting characters removed)."""
    return f"*{escape(_FORMATTING.sub('', single_line(text, 100)))}*"


def fallback(text: object, limit: int = 300) -> str:
    """A message's top-level ``text``; send it with ``mrkdwn: false``."""
    return _escaped_within(single_line(text, limit), limit)


def is_user_id(value: str) -> bool:
    """A Slack user id (``U...``/``W...``): safe to show as a mention."""
    return bool(_USER_ID.match(value))


def is_group_id(value: str) -> bool:
    """A Slack user group id (``S...``): safe to show as a group mention."""
    return bool(_GROUP_ID.match(value))


def mention(user_id: str) -> str:
    """``<@U...>`` for a validated user id; anything else is shown as plain, escaped text."""
    return f"<@{user_id}>" if _USER_ID.match(user_id) else escape(single_line(user_id, 100))


def group_mention(group_id: str) -> str:
    return f"<!subteam^{group_id}>" if _GROUP_ID.match(group_id) else escape(group_id[:100])


def link(url: str, text: str) -> str:
    """``<url|text>`` for an https URL (percent-encoded, so it cannot close the sequence) with
    one of the control plane's own labels; "" when the URL is not https."""
    safe = safe_url(url)
    shown = _FORMATTING.sub("", single_line(text, 60)).replace("|", "/")
    return f"<{safe}|{escape(shown)}>" if safe else ""


def relative(when: datetime, now: datetime) -> str:
    """How far ``when`` is from ``now``, coarsely: "in 23 h", "in 40 min", "2 d ago"."""
    seconds = (when - now).total_seconds()
    size = abs(seconds)
    if size < 3600:
        amount = f"{max(round(size / 60), 1)} min"
    elif size < 48 * 3600:
        amount = f"{round(size / 3600)} h"
    else:
        amount = f"{round(size / 86400)} d"
    return f"in {amount}" if seconds >= 0 else f"{amount} ago"


def date(when: datetime, now: datetime | None = None) -> str:
    """A time as Slack's date token (shown in each reader's time zone), the UTC time as the
    fallback, and with ``now`` how far away it is ("in 23 h")."""
    fallback_text = when.strftime("%Y-%m-%d %H:%M UTC")
    token = f"<!date^{int(when.timestamp())}^{{date_short_pretty}} {{time}}|{fallback_text}>"
    return f"{token} ({relative(when, now)})" if now is not None else token


def _escaped_within(text: str, limit: int) -> str:
    """Escape, then cut without splitting an entity (escaping lengthens the text)."""
    escaped = escape(text)
    if len(escaped) <= limit:
        return escaped
    cut = shorten(escaped, limit)
    return re.sub(r"&[a-z]{0,3}…$", "…", cut)
