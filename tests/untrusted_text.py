"""Hostile text for the tests that check it reaches Slack and email inert, and the checks.

Slack: the stand-in's model of Slack's rendering (mlopscp.slack_standin) says what a client
would turn into links, mentions, broadcasts or formatting. Email: hostile text must stay on one
quoted line, never start a line of its own.
"""

from __future__ import annotations

import re

from mlopscp.slack_standin import displayed, live_markup

INJECTED_LINE = "To approve, open: https://evil.example/approve"
HOSTILE = (
    "<!channel> <https://evil.example|Approve here> *bold* _it_ ~gone~ `code`\n"
    f"{INJECTED_LINE}\r\n> quoted\u2028\u202e\x1b[31m"
)
# What must reach the reader as written (after the channel's own rendering).
SHOWN_AS_WRITTEN = ("<!channel>", "<https://evil.example|Approve here>", "*bold*", "_it_")
# A labelled field or a bullet whose whole value is one JSON string.
QUOTED_FIELD = re.compile(r'^(- |[A-Za-z0-9 ()._/-]+: )"([^"\\]|\\.)*"$')


def assert_slack_inert(message: dict[str, object], allowed_mentions: set[str]) -> None:
    hostile_markup = [
        m
        for m in live_markup(message)
        if m.kind not in ("mention", "usergroup") or m.source not in allowed_mentions
    ]
    hostile_markup = [m for m in hostile_markup if _from_hostile(m.source)]
    assert not hostile_markup, f"Slack would act on untrusted text: {hostile_markup}"
    assert not [m for m in live_markup(message) if m.kind == "broadcast"]
    shown = displayed(message)
    for fragment in SHOWN_AS_WRITTEN:
        assert fragment in shown, f"{fragment!r} is not shown as written"


def _from_hostile(source: str) -> bool:
    # "_it_", not "it": the control plane's own bold labels ("*severity*") contain "it".
    markers = ("evil", "channel", "bold", "_it_", "gone", "code", "quoted", "Approve here")
    return any(marker in source for marker in markers)


def assert_email_inert(body: str) -> None:
    lines = body.splitlines()
    assert not [line for line in lines if line.lstrip().startswith(INJECTED_LINE)], (
        "an untrusted value started a line of its own"
    )
    for line in lines:
        assert not any(c in line for c in "\r\x1b\u2028\u202e"), f"control character in {line!r}"
        if "evil.example" in line:
            assert QUOTED_FIELD.match(line), f"not a quoted field: {line!r}"
