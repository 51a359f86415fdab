"""`mlopscp demo --only NAME`: the named scenario and the one it continues, streamed."""

from __future__ import annotations

import pytest
from mlopscp.cli import main
from mlopscp.worlds.drift import MODELS
from mlopscp.worlds.promotion import PROMOTION_MODELS

pytestmark = pytest.mark.e2e


def test_demo_only_streams_the_named_scenario_and_the_one_it_continues(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["demo", "--only", "duplicates"]) == 0
    out = capsys.readouterr().out
    for model_id in [*MODELS, *PROMOTION_MODELS]:
        assert f"\n  {model_id} " in out, f"{model_id} is introduced before the scenarios"
    first = out.index("[1/2] Gradual drift with falling quality -> one retrain  ✓")
    second = out.index("[2/2] The same signal delivered again -> still one retrain  ✓")
    assert out.index("models configured in the stack") < first < second
    assert "      · gradual drift on 'tenure_months' sustained" in out, "reasons whole, a line each"
    assert out.rstrip().splitlines()[-1].startswith("2/2 scenarios passed in ")
