"""What the demo prints, without running it: scenario selection, collapsed poll loops, whole
reasons, and each scenario printed as it finishes."""

from __future__ import annotations

import pytest
from mlopscp.demo.runner import Demo, print_outcome, select
from mlopscp.demo.scenario import Outcome
from mlopscp.output import CliError
from mlopscp.timeline import Timeline, collapse, describe


def test_every_scenario_runs_without_only() -> None:
    assert select([]) == Demo.SCENARIOS


def test_only_takes_repeated_and_comma_separated_names_in_the_demos_order() -> None:
    assert select(["watch", "malformed,schema_break"]) == ("schema_break", "watch", "malformed")


def test_only_brings_the_scenarios_a_scenario_continues() -> None:
    assert select(["duplicates"]) == ("gradual_drift", "duplicates")
    assert select(["promotion_out_of_order"]) == (
        "promotion_shadow_pass",
        "promotion_out_of_order",
    )
    for name, needed in Demo.REQUIRES.items():
        assert {name, *needed} <= set(Demo.SCENARIOS)
        assert all(Demo.SCENARIOS.index(n) < Demo.SCENARIOS.index(name) for n in needed)


def test_an_unknown_scenario_is_one_line_listing_the_names() -> None:
    with pytest.raises(CliError) as raised:
        select(["gradual_drift,shadow"])
    assert raised.value.message == "no scenario shadow"
    assert all(name in raised.value.hint for name in Demo.SCENARIOS)


@pytest.mark.parametrize(
    ("states", "said"),
    [
        (["Start", "ShadowRunning", "ShadowRunning", "ShadowRunning", "ShadowRunning", "Verdict"],
         ["Start", "ShadowRunning x4", "Verdict"]),
        (["Deploy", "Wait", "Check", "Wait", "Check", "Wait", "Check", "Done"],
         ["Deploy", "(Wait → Check) x3", "Done"]),
        (["Triage", "Route", "Done"], ["Triage", "Route", "Done"]),
    ],
)  # fmt: skip
def test_poll_loops_are_said_once_with_their_count(states: list[str], said: list[str]) -> None:
    assert collapse(states) == said


def test_a_triage_result_prints_every_reason_whole() -> None:
    reason = "gradual drift on 'tenure_months' sustained for 5 executions, " * 4
    shown = Timeline(
        rules=["r"],
        invocations=[
            {
                "function": "DriftTriageFunction",
                "type": "sync",
                "error": None,
                "result": {
                    "model_id": "churn",
                    "decision": "retrain",
                    "summary": {"decision": "retrain", "reasons": [reason, "quality falls"]},
                },
            }
        ],
    ).lines()
    assert shown[1] == "  λ DriftTriageFunction (sync) -> model_id=churn decision=retrain"
    assert shown[2:] == [f"      · {reason}", "      · quality falls"]


def test_arns_are_shown_by_their_resource() -> None:
    arn = "arn:aws:states:us-east-1:123456789012:execution:drift-response:churn-1"
    assert describe({"status": "started", "execution_arn": arn}) == (
        "status=started execution_arn=execution:drift-response:churn-1",
        [],
    )


def test_each_outcome_is_printed_with_its_place_and_flushed(
    capsys: pytest.CaptureFixture[str],
) -> None:
    outcome = Outcome("Schema break -> incident", "a column disappeared", ["→ event"])
    outcome.check("one page", True)
    print_outcome(3, 24, outcome, 4.2)
    assert capsys.readouterr().out.splitlines() == [
        "",
        "[3/24] Schema break -> incident  ✓ (4s)",
        "   (a column disappeared)",
        "   → event",
        "   ✓ one page",
    ]


def test_a_polls_identical_answers_are_said_once_with_their_count() -> None:
    poll = {"function": "PromotionStepFunction", "type": "sync", "error": None}
    creating = {**poll, "result": {"endpoint": "demand-staging", "status": "Creating"}}
    ready = {**poll, "result": {"endpoint": "demand-staging", "status": "InService"}}
    lines = Timeline(invocations=[creating, creating, creating, ready]).lines()
    assert lines[1:] == [
        "  λ PromotionStepFunction (sync) -> endpoint=demand-staging status=Creating  x3",
        "  λ PromotionStepFunction (sync) -> endpoint=demand-staging status=InService",
    ]
