"""One emulator for the whole session (moto's state is per process) and the fixture app
deployed into it once; tests create what else they need under unique names."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from mlopscp_emulator import Emulator, Stack

FIXTURE_APP = Path(__file__).parent / "fixture_app" / "template.yaml"
HTTP_APP = Path(__file__).parent / "http_app" / "template.yaml"


@pytest.fixture(scope="session")
def emulator() -> Iterator[Emulator]:
    with Emulator(region="us-east-1") as emu:
        yield emu


@pytest.fixture(scope="session")
def stack(emulator: Emulator) -> Stack:
    with pytest.warns(UserWarning, match="RuleDeadLetterQueuePolicy"):
        return emulator.deploy(FIXTURE_APP, stack_name="fixture", parameters={"Stage": "local"})


@pytest.fixture(scope="session")
def http_stack(emulator: Emulator) -> Stack:
    return emulator.deploy(HTTP_APP, stack_name="http-fixture")


@pytest.fixture
def unique() -> str:
    return uuid.uuid4().hex[:10]
