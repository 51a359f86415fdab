"""Block Kit pieces shared by approval messages and notifications (slack_sdk models).

Values go into ``plain_text`` objects through :mod:`mlops_core.slack_text`; only the control
plane's own labels are mrkdwn.
"""

from __future__ import annotations

from collections.abc import Iterable
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


def facts(pairs: Iterable[tuple[str, object]]) -> list[SectionBlock]:
    """Sections of label | value fields (at most ten fields each, as Slack allows); empty values
    are left out."""
    fields: list[Any] = [
        item for name, value in pairs if value for item in (label(name), plain(value))
    ]
    return [SectionBlock(fields=fields[i : i + 10]) for i in range(0, len(fields), 10)]


def titled_lines(title: str, items: list[str]) -> list[SectionBlock]:
    """A bold title, then the untrusted items one per line in plain text."""
    if not items:
        return []
    return [SectionBlock(text=label(title)), SectionBlock(text=plain_lines(items))]
