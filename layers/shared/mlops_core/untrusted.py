"""Untrusted text, reduced to what any channel may carry: printable characters on one line.

Untrusted means anything the control plane did not write itself: event fields, monitoring files
(feature names, violation descriptions), model package descriptions, approvers' reasons, names
of models, endpoints and jobs. Each channel then applies its own rules on top: Slack in
:mod:`mlops_core.slack_text`, email (SNS) in :mod:`mlops_core.email_text`, HTML pages with
``html.escape`` in :mod:`mlops_core.approval_pages`. Logs are JSON (Powertools), which escapes
control characters by itself.
"""

from __future__ import annotations

import unicodedata

# Control (Cc), format (Cf: bidi overrides, zero-width joiners), surrogate (Cs), private-use
# (Co), unassigned (Cn), line and paragraph separators (Zl, Zp): none of them is text a person
# meant to show, and each can forge a line, hide characters or reorder what is displayed.
_DROPPED = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
ELLIPSIS = "…"


def single_line(text: object, limit: int = 500) -> str:
    """``text`` on one line: every kind of line break and space becomes one space, other
    control, format and separator characters are dropped, and it is cut at ``limit``."""
    kept = "".join(
        char for char in str(text) if char.isspace() or unicodedata.category(char) not in _DROPPED
    )
    return shorten(" ".join(kept.split()), limit)


def shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: max(limit - 1, 0)] + ELLIPSIS
