"""Block Kit pieces shared by approval messages and notifications (slack_sdk models).

Values go into ``plain_text`` objects through :mod:`mlops_core.slack_text`; mrkdwn carries only
the control plane's own labels, validated mentions, dates and https links.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from mlops_core import slack_text
from slack_sdk.models.blocks import MarkdownTextObject, PlainTextObject, SectionBlock


def plain(value: object, limit: int = slack_text.FIELD_LIMIT) -> PlainTextObject:
    """One untrusted value as a plain_text object (``-`` when it is empty)."""
    return PlainTextObject(text=slack_text.plain(value, limit) or "-", emoji=False)


def plain_lines(items: list[str]) -> PlainTextObject:
    """Untrusted values, one per line with a bullet, in one plain_text object."""
    return PlainTextObject(text=slack_text.lines(items) or "-", emoji=False)


def label(text: str) -> MarkdownTextObject:
    return MarkdownTextObject(text=slack_text.label(text), verbatim=True)


def date(when: datetime, now: datetime | None = None) -> MarkdownTextObject:
    """A time as Slack's date token (each reader's time zone), with how far away it is."""
    return MarkdownTextObject(text=slack_text.date(when, now), verbatim=True)


def links(urls: Mapping[str, str]) -> list[SectionBlock]:
    """One line of links ("View details" first); nothing when none is a valid https URL."""
    shown = [slack_text.link(url, name) for name, url in urls.items()]
    line = "  ·  ".join(link for link in shown if link)
    return [SectionBlock(text=MarkdownTextObject(text=line, verbatim=True))] if line else []


def owners(names: Iterable[str]) -> list[Any]:
    """The model's owners: Slack user and group ids as mentions (they are notified), anything
    else (a team name, an email address) as plain text beside them."""
    from slack_sdk.models.blocks import ContextBlock

    names = list(names)
    ids = [
        slack_text.mention(n) if slack_text.is_user_id(n) else slack_text.group_mention(n)
        for n in names
        if slack_text.is_user_id(n) or slack_text.is_group_id(n)
    ]
    others = [n for n in names if not (slack_text.is_user_id(n) or slack_text.is_group_id(n))]
    if not names:
        return []
    elements: list[Any] = [MarkdownTextObject(text="*Owners:* " + " ".join(ids), verbatim=True)]
    if others:
        elements.append(plain(", ".join(others)))
    return [ContextBlock(elements=elements)]


def facts(pairs: Iterable[tuple[str, object]]) -> list[SectionBlock]:
    """Sections of label | value fields (at most ten fields each, as Slack allows); empty values
    are left out. A value is plain text unless it is already a text object (a date)."""
    fields: list[Any] = [
        item
        for name, value in pairs
        if value
        for item in (label(name), value if isinstance(value, MarkdownTextObject) else plain(value))
    ]
    return [SectionBlock(fields=fields[i : i + 10]) for i in range(0, len(fields), 10)]


def titled_lines(title: str, items: list[str]) -> list[SectionBlock]:
    """A bold title, then the untrusted items one per line in plain text."""
    if not items:
        return []
    return [SectionBlock(text=label(title)), SectionBlock(text=plain_lines(items))]
