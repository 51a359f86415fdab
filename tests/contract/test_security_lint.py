"""Every bandit suppression in the Lambda code names the check it silences and says why.

`make bandit` fails on any finding; a line may silence one with ``# nosec B105  # why``. A bare
``# nosec`` would silence every check on the line, and one without a reason explains nothing.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LAMBDA_CODE = ("functions", "layers/shared")
NOSEC = re.compile(r"#\s*nosec\b(?P<rest>.*)$")
# `# nosec B101, B105  # the reason`: ids, then a comment of its own with at least a few words.
EXPLAINED = re.compile(r"^:?\s*(?P<ids>B\d{3}(?:\s*,\s*B\d{3})*)\s*#\s*(?P<why>\S.{9,})$")


def suppressions() -> list[tuple[str, str]]:
    found = []
    for folder in LAMBDA_CODE:
        for path in sorted((ROOT / folder).rglob("*.py")):
            for number, line in enumerate(path.read_text().splitlines(), start=1):
                if match := NOSEC.search(line):
                    found.append((f"{path.relative_to(ROOT)}:{number}", match["rest"]))
    return found


def unexplained(rest: str) -> bool:
    return EXPLAINED.match(rest.strip()) is None


def test_every_nosec_names_its_check_and_why() -> None:
    bad = [where for where, rest in suppressions() if unexplained(rest)]
    assert not bad, "write `# nosec B<id>  # why` on:\n  " + "\n  ".join(bad)


@pytest.mark.parametrize(
    ("rest", "is_bad"),
    [
        ("", True),
        (" B105", True),
        (" B105  # ok", True),  # too short to say why
        (" B105  # a verdict, not a password", False),
        (" B101, B105  # narrows a type that validation guarantees", False),
        (": B105  # a verdict, not a password", False),
        (" - a verdict, not a password", True),
    ],
)
def test_unexplained_suppressions_are_recognised(rest: str, is_bad: bool) -> None:
    assert unexplained(rest) is is_bad
