"""One emulator for the session (moto's state is per process); each module deploys what it needs
under names of its own."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from mlopscp_emulator import Emulator


@pytest.fixture(scope="session")
def emulator() -> Iterator[Emulator]:
    with Emulator(region="us-east-1") as emu:
        yield emu
