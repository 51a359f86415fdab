"""The storm driver (tooling/bench/event_storm.py): its flow control (which sends are in
flight, read from the emulator's trace, and a wait that never lasts forever) and its
accounting (every send's fate, a workflow's by how its execution ended)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from mlopscp_emulator.trace import (
    AsyncInvocationDone,
    LambdaInvocation,
    RuleMatched,
    TargetDeliveryFailed,
    Trace,
)

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tooling" / "bench"))  # the bench scripts import each other so

import event_storm  # noqa: E402

INTAKE = "arn:aws:lambda:us-east-1:123456789012:function:stack-DriftIntakeFunction-X"
SPOT = "arn:aws:lambda:us-east-1:123456789012:function:stack-SpotRecoveryFunction-X"
GUARD = "arn:aws:lambda:us-east-1:123456789012:function:stack-GuardrailsFunction-X"


def ran(event_id: str, arn: str, request_id: str, attempt: int = 1, error: str = "") -> object:
    return LambdaInvocation(
        function=arn.rsplit(":", 1)[-1],
        function_arn=arn,
        request_id=request_id,
        invocation_type="Event",
        attempt=attempt,
        payload={"id": event_id, "detail-type": "X", "detail": {}},
        result=None if error else {"status": "started"},
        error={"errorType": error} if error else None,
        duration_ms=1500.0,
        log_lines=(),
    )


def done(arn: str, request_id: str, attempts: int = 1) -> object:
    return AsyncInvocationDone(
        function=arn.rsplit(":", 1)[-1],
        request_id=request_id,
        succeeded=True,
        attempts=attempts,
        destinations=(),
    )


def test_a_send_is_in_flight_until_lambda_has_finished_with_it_retries_included() -> None:
    flight = event_storm.Flight()
    flight.sent("e1", [INTAKE])

    flight.read([ran("e1", INTAKE, "r1", error="Sandbox.Timedout")])
    assert flight.in_flight() == 1  # the first attempt failed: Lambda retries it

    flight.read([ran("e1", INTAKE, "r1", attempt=2), done(INTAKE, "r1", 2)])
    assert flight.in_flight() == 0
    assert flight.outstanding() == {}


def test_a_delivery_eventbridge_gave_up_on_ends_without_any_invocation() -> None:
    # The stall's shape: a delivery that never becomes an invocation must still end.
    flight = event_storm.Flight()
    flight.sent("e1", [INTAKE])

    ended = flight.read(
        [TargetDeliveryFailed("rule", INTAKE, "e1", "ThrottlingException", "rate", None)]
    )

    assert ended == 1
    assert flight.in_flight() == 0


def test_a_send_with_two_targets_ends_when_both_have_ended() -> None:
    flight = event_storm.Flight()
    flight.sent("job", [SPOT, GUARD])

    flight.read([ran("job", SPOT, "r1"), done(SPOT, "r1")])
    assert flight.in_flight() == 1
    assert flight.outstanding() == {("job", GUARD): 1}

    flight.read([ran("job", GUARD, "r2"), done(GUARD, "r2")])
    assert flight.in_flight() == 0


def test_a_redelivery_is_one_more_delivery_of_the_same_id() -> None:
    flight = event_storm.Flight()
    flight.sent("e1", [INTAKE])
    flight.sent("e1", [INTAKE])  # the same envelope again, as an EventBridge retry

    flight.read([ran("e1", INTAKE, "r1"), done(INTAKE, "r1")])
    assert flight.in_flight() == 1

    flight.read([ran("e1", INTAKE, "r2"), done(INTAKE, "r2")])
    assert flight.in_flight() == 0


def test_invocations_that_are_not_the_storms_deliveries_end_nothing() -> None:
    flight = event_storm.Flight()
    flight.sent("e1", [INTAKE])
    by_a_workflow = LambdaInvocation(
        function="stack-DriftTriageFunction-X",
        function_arn="arn:aws:lambda:us-east-1:123456789012:function:stack-DriftTriageFunction-X",
        request_id="r9",
        invocation_type="RequestResponse",
        attempt=1,
        payload={"event_id": "e1"},
        result={},
        error=None,
        duration_ms=10.0,
        log_lines=(),
    )

    assert flight.read([by_a_workflow, done(INTAKE, "r9")]) == 0
    assert flight.in_flight() == 1


def test_a_send_matching_no_lambda_target_is_never_in_flight() -> None:
    flight = event_storm.Flight()
    flight.sent("ignored", [])

    assert flight.in_flight() == 0


def test_room_is_held_from_reserve_to_sent_so_no_more_than_the_limit_go_out() -> None:
    trace = Trace()
    waiter = event_storm.InFlight(trace, limit=2, patience=60)

    waiter.reserve()
    waiter.reserve()  # two reserved, none sent yet: the limit is reached
    assert not waiter._take(lambda busy: busy < waiter.limit)

    waiter.sent("e1", [INTAKE])
    waiter.sent("e2", [])  # matched nothing: its room comes back at once
    waiter.reserve()
    assert not waiter._take(lambda busy: busy < waiter.limit)

    trace.add(ran("e1", INTAKE, "r1"))
    trace.add(done(INTAKE, "r1"))
    waiter.reserve()  # e1 ended


def test_a_wait_with_no_delivery_ending_stops_and_names_what_it_waits_for() -> None:
    trace = Trace()
    waiter = event_storm.InFlight(trace, limit=1, patience=0.3)
    waiter.reserve()
    waiter.sent("e-stuck", [INTAKE])
    trace.add(ran("e-stuck", INTAKE, "r1", error="Sandbox.Timedout"))

    with pytest.raises(event_storm.StormStalledError) as raised:
        waiter.reserve()

    message = str(raised.value)
    assert "e-stuck" in message
    assert "DriftIntakeFunction" in message
    assert "attempt 1: Sandbox.Timedout" in message


def test_draining_waits_for_every_send_and_is_bounded_too() -> None:
    trace = Trace()
    waiter = event_storm.InFlight(trace, limit=8, patience=0.3)
    waiter.reserve()
    waiter.sent("e1", [INTAKE])

    with pytest.raises(event_storm.StormStalledError, match=r"e1 -> .*no run"):
        waiter.drain()

    trace.add(ran("e1", INTAKE, "r1"))
    trace.add(done(INTAKE, "r1"))
    waiter.drain()


# ---------------------------------------------------------------------------- accounting


def test_a_drift_response_is_judged_by_how_its_execution_ended() -> None:
    fate = event_storm.execution_fate

    assert fate("SUCCEEDED", {"incident": {"transition": "opened", "route": "retrain"}}) == "acted"
    assert fate("SUCCEEDED", {"incident": {"transition": "duplicate"}}) == "duplicate"
    watched = {"incident": {"transition": "none", "route": "watch"}}
    assert fate("SUCCEEDED", watched | {"watch": {"recorded": True}}) == "acted"
    assert fate("SUCCEEDED", watched | {"watch": {"recorded": False}}) == "duplicate"
    assert fate("RUNNING", {}) == "acted"  # waits for a human's approval
    for status in ("FAILED", "TIMED_OUT", "ABORTED"):
        assert fate(status, None) == "failed"


def test_each_send_of_an_id_gets_one_fate_and_the_sum_is_the_sends() -> None:
    # Sent twice: one delivery started the response, the other found it on record.
    assert sorted(event_storm.send_fates({"Intake": ["duplicate", "acted"]}, 2)) == [
        "acted",
        "duplicate",
    ]
    # A redelivery whose every attempt failed is failed (dead-lettered), not a duplicate.
    assert sorted(event_storm.send_fates({"Intake": ["failed", "acted"]}, 2)) == [
        "acted",
        "failed",
    ]


def test_a_send_with_several_targets_takes_the_most_telling_answer() -> None:
    fates = event_storm.send_fates
    assert fates({"Spot": ["acted"], "Guardrails": ["ignored"]}, 1) == ["acted"]
    assert fates({"Spot": ["ignored"], "Guardrails": ["ignored"]}, 1) == ["ignored"]
    assert fates({"Spot": ["ignored"], "Guardrails": ["failed"]}, 1) == ["failed"]
    assert fates({"Intake": ["rejected"]}, 1) == ["rejected"]


def test_a_matched_send_with_no_answer_at_all_is_lost() -> None:
    assert event_storm.send_fates({}, 1) == ["lost"]
    assert event_storm.send_fates({"Intake": ["acted"]}, 2) == ["acted", "lost"]


def test_the_trace_gives_each_delivery_its_last_attempt() -> None:
    records = [
        ran("e1", INTAKE, "r1", error="Sandbox.Timedout"),
        ran("e1", INTAKE, "r1", attempt=2),
        ran("e1", INTAKE, "r2"),
        TargetDeliveryFailed("rule", GUARD, "e2", "ThrottlingException", "rate", None),
    ]

    seen = event_storm.read_trace(records, {"intake-rule"})

    last = seen.deliveries["e1"]["stack-DriftIntakeFunction-X"]
    assert sorted(last) == ["r1", "r2"]
    assert last["r1"].attempt == 2
    assert event_storm.delivery_status(last["r1"]) == "acted"
    assert [f.target_arn for f in seen.undelivered["e2"]] == [GUARD]


def test_only_the_stacks_own_rules_make_an_event_matched() -> None:
    # EventBridge's rule for an archive matches every event and consumes none.
    records = [
        RuleMatched("Events-Archive-DefaultBusArchive", "arn:archive", "e1", {}),
        RuleMatched("intake-rule", "arn:rule", "e2", {}),
    ]

    seen = event_storm.read_trace(records, {"intake-rule"})

    assert seen.matched == {"e2"}


def test_executions_are_the_same_action_only_when_they_act_for_the_same_thing() -> None:
    key = event_storm.execution_key
    # A promotion's input names its package as package_arn and its promotion id, no event id:
    # two promotions of different versions are two actions.
    first = {"promotion_id": "churn#2", "model_id": "churn", "package_arn": "arn:p/2"}
    second = {"promotion_id": "offers#2", "model_id": "offers", "package_arn": "arn:o/2"}
    assert key(first, "arn:x:1") != key(second, "arn:x:2")
    assert key(first, "arn:x:1") == key(dict(first), "arn:x:3")
    assert key({"event_id": "e1", "model_id": "m"}, "arn:x:4") == key({"event_id": "e1"}, "arn:x:5")
    assert key({}, "arn:x:6") != key({}, "arn:x:7")
