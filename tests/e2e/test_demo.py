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


def test_demo_only_streams_the_named_scenario_and_the_one_it_continues(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from mlopscp.cli import main
    from mlopscp.worlds.drift import MODELS
    from mlopscp.worlds.promotion import PROMOTION_MODELS

    assert main(["demo", "--only", "duplicates"]) == 0
    out = capsys.readouterr().out
    for model_id in [*MODELS, *PROMOTION_MODELS]:
        assert f"\n  {model_id} " in out, f"{model_id} is introduced before the scenarios"
    first = out.index("[1/2] Gradual drift with falling quality -> one retrain  ✓")
    second = out.index("[2/2] The same signal delivered again -> still one retrain  ✓")
    assert out.index("models configured in the stack") < first < second
    assert "      · gradual drift on 'tenure_months' sustained" in out, "reasons whole, a line each"
    assert out.rstrip().splitlines()[-1].startswith("2/2 scenarios passed in ")
