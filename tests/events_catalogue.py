"""The `replay` column of events/README.md, read as claims a test can check.

Each backticked span in the column that starts with a known verb is a claim (the README's
legend): ``ledger MODEL ACTION``, ``page TEXT``, ``ignored TEXT``, ``dead-letter TEXT``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

EVENTS = Path(__file__).resolve().parents[1] / "events"
VERBS = ("ledger", "page", "ignored", "dead-letter")
_ROW = re.compile(r"^\|\s*`(?P<file>[\w.-]+\.json)`\s*\|(?P<what>.*)\|(?P<replay>.*)\|\s*$")
_SPAN = re.compile(r"`([^`]+)`")


@dataclass(frozen=True)
class Claim:
    verb: str
    text: str  # "MODEL ACTION" for ledger, else the text to find


def claims_of(cell: str) -> list[Claim]:
    found = []
    for span in _SPAN.findall(cell):
        verb, _, text = span.partition(" ")
        if verb in VERBS and text:
            found.append(Claim(verb, text.strip()))
    return found


def catalogue(readme: Path = EVENTS / "README.md") -> dict[str, list[Claim]]:
    """file name -> the claims its replay cell makes."""
    rows = {}
    for line in readme.read_text().splitlines():
        if match := _ROW.match(line):
            rows[match["file"]] = claims_of(match["replay"])
    return rows
