"""Sections of docs/benchmarks.md that one script writes and the others keep.

``make bench`` (report.py) writes the file whole; ``make storm`` (event_storm.py, scale.py)
writes only its own sections (:data:`STORM_SECTIONS`), and report.py carries them over from the
file it replaces, so each target reproduces its own part and neither loses the other's.
"""

from __future__ import annotations

STORM_SECTIONS = ("Storm", "Scale", "Cost")


def _spans(lines: list[str]) -> list[tuple[str, int, int]]:
    """(heading text, first line, end line) of each level-2 section."""
    starts = [(n, line[3:].strip()) for n, line in enumerate(lines) if line.startswith("## ")]
    ends = [n for n, _ in starts[1:]] + [len(lines)]
    return [(title, start, end) for (start, title), end in zip(starts, ends, strict=True)]


def _title_is(title: str, name: str) -> bool:
    return title == name or title.startswith(f"{name}:")


def replace(text: str, name: str, section: list[str]) -> str:
    """`text` with the section titled `name` (``## name`` or ``## name: ...``) replaced by
    `section` (its lines, heading first), or `section` appended if there is none."""
    lines = text.rstrip("\n").split("\n")
    for title, start, end in _spans(lines):
        if _title_is(title, name):
            tail = lines[end:]
            return "\n".join([*lines[:start], *section, *([""] if tail else []), *tail]) + "\n"
    return "\n".join([*lines, "", *section]) + "\n"


def kept(text: str) -> list[str]:
    """The storm's sections of an existing file, in their order, to carry over."""
    lines = text.rstrip("\n").split("\n")
    found: list[str] = []
    for title, start, end in _spans(lines):
        if any(_title_is(title, name) for name in STORM_SECTIONS):
            body = lines[start:end]
            while body and not body[-1].strip():
                body.pop()
            found += ["", *body]
    return found
