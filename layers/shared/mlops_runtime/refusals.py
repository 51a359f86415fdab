"""Refused requests in the ledger, bounded: what anyone on the internet sends must not fill it.

One entry per thing asked about (all things that do not exist count as one), channel, reason and
hour, the first of its kind; repeats are counted by metrics only. An identity that was not
verified is kept as a claim, marked so and reduced to one printable line; a verified person's
refusals are kept per person. Approvals (``approval_rejected_request``) and incident controls
(``incident_rejected_request``) record their refusals through :func:`record_bounded_refusal`.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from mlops_core.approvals import InteractionError, fingerprint
from mlops_core.ledger import Action, LedgerEntry
from mlops_core.untrusted import single_line

from mlops_runtime.store import Ledger


def claims(
    event: Any, id_key: str, slack_click: Callable[[str], tuple[str, str]], id_limit: int
) -> tuple[str, str, str]:
    """(id, channel, actor) an unverifiable request claims: evidence, never trusted. A Slack
    request's claims are in its body (``slack_click`` reads the id and user id from it)."""
    claimed = event if isinstance(event, dict) else {}
    subject, actor = str(claimed.get(id_key, "")), str(claimed.get("actor", ""))
    if claimed.get("channel") == "slack":
        with contextlib.suppress(InteractionError):  # unreadable: the plain claims stand
            subject, actor = slack_click(str(claimed.get("body", "")))
    return subject[:id_limit], str(claimed.get("channel", "unknown"))[:20], actor


def record_bounded_refusal(
    ledger: Ledger,
    action: Action,
    model_id: str,
    subject: str,
    channel: str,
    why: str,
    claimed_by: str = "",
    verified: bool = False,
    now: datetime | None = None,
    evidence: dict[str, Any] | None = None,
) -> bool:
    """Write ``action`` about ``subject`` (``<kind>:<id or unknown>``) unless this refusal was
    recorded already this hour. Returns whether it wrote an entry."""
    moment = now or datetime.now(UTC)
    claimed = single_line(claimed_by, 100)
    reason = single_line(why, 300)
    kind = re.sub(r"[-+]?\d+(\.\d+)?", "#", reason)  # "stale by 301 s" and "by 302 s" alike
    window = moment.strftime("%Y-%m-%dT%H")
    key = fingerprint(channel, kind, window, claimed if verified else "")
    return ledger.record(
        LedgerEntry(
            action=action,
            model_id=model_id,
            subject=f"{subject}#refused#{key}",
            summary=f"refused a {channel} answer: {reason}",
            actor=(claimed or "unknown") if verified else "unverified",
            at=moment,
            evidence={
                **(evidence or {}),
                "channel": channel,
                "why": reason,
                "claimed_by": claimed,
                "identity": "verified" if verified else "unverified",
                "window": f"{window}:00Z, first refusal of this kind in the hour",
            },
        )
    )
