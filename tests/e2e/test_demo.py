"""The demo's scenarios, end to end on the embedded emulator (what `make demo` shows)."""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import pytest
from mlopscp.demo.runner import Demo
from mlopscp.demo.scenario import Outcome
from mlopscp.local import LocalControlPlane
from mlopscp_emulator import Emulator

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def outcomes() -> Iterator[dict[str, Outcome]]:
    warnings.filterwarnings("ignore", message=".*moto does not enforce.*")
    with Emulator() as emulator:
        demo = Demo(LocalControlPlane(emulator).up())
        yield {name: outcome for name, outcome in zip(Demo.SCENARIOS, demo.run(), strict=True)}


@pytest.mark.parametrize("scenario", Demo.SCENARIOS)
def test_demo_scenario_holds(outcomes: dict[str, Outcome], scenario: str) -> None:
    outcome = outcomes[scenario]
    failed = [what for what, ok in outcome.checks if not ok]
    assert outcome.checks, "a scenario that checks nothing proves nothing"
    assert not failed, f"{outcome.title}: " + "; ".join(failed) + "\n" + "\n".join(outcome.lines)
