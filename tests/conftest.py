"""Fixtures every tier may use. Keep this file small: tier-specific helpers live in the tier."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_ASSIGNMENT = re.compile(r"^(?P<name>[A-Z][A-Z0-9_]*)=(?P<value>.*)$")


def read_env_file(path: Path) -> dict[str, str]:
    """``NAME=value`` lines of a dotenv file; a malformed or repeated line is an error."""
    variables: dict[str, str] = {}
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _ASSIGNMENT.match(line)
        if not match:
            raise ValueError(f"{path.name}:{number}: not a NAME=value line: {line!r}")
        if match["name"] in variables:
            raise ValueError(f"{path.name}:{number}: {match['name']} is listed twice")
        variables[match["name"]] = match["value"]
    return variables


@pytest.fixture(scope="session")
def sample_env() -> dict[str, str]:
    """samplefile.env: every variable the control plane's functions read, with example values."""
    return read_env_file(ROOT / "samplefile.env")
