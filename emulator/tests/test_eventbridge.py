"""Events put on the bus reach the real handlers and state machines through the real rules."""

from __future__ import annotations

import copy
import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from mlopscp_emulator import Emulator, Stack
from mlopscp_emulator.trace import RuleMatched, TargetDeliveryFailed

from .test_event_patterns import ALARM_EVENT
from .test_lambda_routing import receive_all

pytestmark = pytest.mark.integration


def envelope(event_id: str, **overrides: Any) -> dict[str, Any]:
    """An envelope as users keep them in JSON files."""
    return {
        "version": "0",
        "id": event_id,
        "detail-type": "Thing Happened",
        "source": "fixture.app",
        "account": "111122223333",
        "time": "2024-05-01T12:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": {"size": 3},
        **overrides,
    }


def item(emulator: Emulator, stack: Stack, pk: str) -> dict[str, Any] | None:
    found = emulator.client("dynamodb").get_item(
        TableName=stack.outputs["TableName"], Key={"pk": {"S": pk}}
    )
    return found.get("Item")


def test_a_matching_event_runs_the_real_handler(
    emulator: Emulator, stack: Stack, unique: str
) -> None:
    matched = emulator.put_event(envelope(unique))
    assert matched == [stack.rules["RecorderFunctionThingHappened"].name]
    emulator.wait_idle(30)
    stored = item(emulator, stack, unique)
    assert stored is not None
    assert stored["deliveries"] == {"N": "1"}
    assert stored["fn"] == {"S": stack.functions["RecorderFunction"].name}


def test_handlers_receive_awss_envelope(emulator: Emulator, stack: Stack, unique: str) -> None:
    emulator.put_event(envelope(unique, resources=["arn:aws:sagemaker:x"]))
    emulator.wait_idle(30)
    (record,) = [
        r
        for r in emulator.trace.invocations(stack.functions["RecorderFunction"].name)
        if isinstance(r.payload, dict) and r.payload.get("id") == unique
    ]
    delivered = record.payload
    assert delivered == {
        "version": "0",
        "id": unique,
        "detail-type": "Thing Happened",
        "source": "fixture.app",
        "account": emulator.account,
        "time": "2024-05-01T12:00:00Z",
        "region": "us-east-1",
        "resources": ["arn:aws:sagemaker:x"],
        "detail": {"size": 3},
    }


def test_a_non_matching_event_runs_nothing(emulator: Emulator, stack: Stack, unique: str) -> None:
    before = len(emulator.trace.invocations())
    matched = emulator.put_event(envelope(unique, **{"detail-type": "Something Else"}))
    emulator.wait_idle(30)
    assert matched == []
    assert len(emulator.trace.invocations()) == before
    assert item(emulator, stack, unique) is None


def test_a_pattern_through_an_array_of_objects_matches_a_sagemaker_alarm(
    emulator: Emulator, stack: Stack, unique: str
) -> None:
    alarm = copy.deepcopy(ALARM_EVENT) | {"id": unique}
    assert emulator.put_event(alarm) == [stack.rules["RecorderFunctionSageMakerAlarm"].name]
    emulator.wait_idle(30)
    assert item(emulator, stack, unique) is not None
    alarm["detail"]["configuration"]["metrics"].pop()
    assert emulator.put_event(alarm | {"id": f"{unique}-lambda-only"}) == []


def test_redelivery_brings_the_same_event_id_again(
    emulator: Emulator, stack: Stack, unique: str
) -> None:
    event = envelope(unique)
    emulator.put_event(event)
    emulator.wait_idle(30)
    assert emulator.redeliver(event, times=2) == [stack.rules["RecorderFunctionThingHappened"].name]
    emulator.wait_idle(30)
    stored = item(emulator, stack, unique)
    assert stored is not None
    assert stored["deliveries"] == {"N": "3"}
    matches = emulator.trace.rule_matches(unique)
    assert [m.redelivery for m in matches] == [False, True, True]
    assert all(m.event == matches[0].event for m in matches)


def test_events_put_at_once_from_many_threads_each_keep_their_own_id(
    emulator: Emulator, stack: Stack, unique: str
) -> None:
    # The storm's driver puts events from 8 threads through one shared client: each event must
    # go out under its own id, and each put must report only its own rule matches.
    ids = [f"{unique}-{n}" for n in range(24)]
    rule = stack.rules["RecorderFunctionThingHappened"].name
    start = len(emulator.trace)

    with ThreadPoolExecutor(max_workers=8) as pool:
        matched = list(pool.map(lambda i: emulator.put_event(envelope(i)), ids))
    emulator.wait_idle(60)

    assert matched == [[rule]] * len(ids)
    delivered = [
        r.event_id
        for r in emulator.trace.since(start)
        if isinstance(r, RuleMatched) and r.rule == rule
    ]
    assert sorted(delivered) == sorted(ids)


def test_an_event_for_the_state_machine_starts_an_execution_with_it(
    emulator: Emulator, stack: Stack, unique: str
) -> None:
    event = envelope(unique, source="fixture.flow", detail={"fail": True, "pk": unique})
    assert emulator.put_event(event) == [stack.rules["FlowFlowRequested"].name]
    emulator.wait_idle(30)
    (started,) = [
        e for e in emulator.trace.executions() if isinstance(e.input, str) and unique in e.input
    ]
    assert json.loads(started.input)["id"] == unique
    history = emulator.execution_states(started.execution_arn)
    assert history == ["Record", "Audit", "Check", "Refused", "Done"]


def test_a_handlers_custom_error_is_caught_by_name_in_the_state_machine(
    emulator: Emulator, stack: Stack, unique: str
) -> None:
    sfn = emulator.client("stepfunctions")
    started = sfn.start_execution(
        stateMachineArn=stack.state_machines["Flow"],
        name=unique,
        input=json.dumps({"detail": {"fail": True, "pk": unique}}),
    )
    emulator.wait_idle(30)
    execution = sfn.describe_execution(executionArn=started["executionArn"])
    assert execution["status"] == "SUCCEEDED"
    assert emulator.execution_states(started["executionArn"]) == [
        "Record",
        "Audit",
        "Check",
        "Refused",
        "Done",
    ]
    output = json.loads(execution["output"])
    assert output["error"]["Error"] == "MyCustomError"
    assert output["recorded"] == {"deliveries": 1}
    audit = item(emulator, stack, "audit-local")
    assert audit is not None


def test_an_undeliverable_event_goes_to_the_targets_dead_letter_queue(
    emulator: Emulator, unique: str
) -> None:
    sqs, events = emulator.client("sqs"), emulator.client("events")
    dlq_url = sqs.create_queue(QueueName=f"dlq-{unique}")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    events.put_rule(Name=f"gone-{unique}", EventPattern=json.dumps({"source": [unique]}))
    missing = f"arn:aws:lambda:us-east-1:{emulator.account}:function:deleted-{unique}"
    events.put_targets(
        Rule=f"gone-{unique}",
        Targets=[
            {
                "Id": "gone",
                "Arn": missing,
                "DeadLetterConfig": {"Arn": dlq_arn},
                "RetryPolicy": {"MaximumRetryAttempts": 3},
            }
        ],
    )
    emulator.put_event(envelope(unique, source=unique))
    emulator.wait_idle(30)
    (message,) = receive_all(emulator, dlq_url, 1)
    assert json.loads(message["Body"])["id"] == unique
    attributes = {k: v["StringValue"] for k, v in message["MessageAttributes"].items()}
    assert attributes["TARGET_ARN"] == missing
    assert attributes["ERROR_CODE"] == "ResourceNotFoundException"
    assert attributes["RULE_ARN"].endswith(f":rule/gone-{unique}")
    assert attributes["RETRY_ATTEMPTS"] == "0"  # a missing resource is not retried
    (failed,) = [f for f in emulator.trace.failed_deliveries() if f.event_id == unique]
    assert isinstance(failed, TargetDeliveryFailed)
    assert failed.dead_letter_arn == dlq_arn


def test_an_event_timed_in_epoch_milliseconds_is_delivered_with_that_time(
    emulator: Emulator, stack: Stack, unique: str
) -> None:
    # SageMaker's published Endpoint State Change sample sends "time" as epoch-ms text.
    sent = envelope(unique) | {"time": "1583831889050"}
    emulator.put_event(sent)
    emulator.wait_idle(30)
    (record,) = [
        r
        for r in emulator.trace.invocations(stack.functions["RecorderFunction"].name)
        if isinstance(r.payload, dict) and r.payload.get("id") == unique
    ]
    assert record.payload["time"] == "2020-03-10T09:18:09Z"
