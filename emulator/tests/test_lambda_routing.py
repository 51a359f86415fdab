"""Lambda invokes of stack functions run the real handlers in warm worker processes."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from mlopscp_emulator import Emulator, Stack

pytestmark = pytest.mark.integration


def invoke(emulator: Emulator, function: str, payload: dict[str, Any], **kwargs: Any) -> Any:
    response = emulator.client("lambda").invoke(
        FunctionName=function, Payload=json.dumps(payload).encode(), **kwargs
    )
    return response, json.loads(response["Payload"].read() or b"null")


def receive_all(emulator: Emulator, queue_url: str, expected: int) -> list[dict[str, Any]]:
    sqs = emulator.client("sqs")
    messages: list[dict[str, Any]] = []
    for _ in range(20):
        batch = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
        ).get("Messages", [])
        for message in batch:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        messages += batch
        if len(messages) >= expected:
            break
    return messages


def test_sync_invoke_returns_the_handlers_result_from_a_warm_worker(
    emulator: Emulator, stack: Stack
) -> None:
    worker = stack.functions["WorkerFunction"].name
    _, first = invoke(emulator, worker, {"item": "a"})
    _, second = invoke(emulator, worker, {"item": "b"})
    assert (first["item"], second["item"]) == ("a", "b")
    assert second["pid"] == first["pid"]
    assert second["cold"] is False


def test_the_handler_sees_lambdas_environment_and_context(emulator: Emulator, stack: Stack) -> None:
    info = stack.functions["WorkerFunction"]
    _, seen = invoke(emulator, info.name, {"action": "env"})
    environ, context = seen["environ"], seen["context"]
    assert environ["AWS_ENDPOINT_URL"] == emulator.endpoint_url
    assert environ["TABLE_NAME"] == stack.outputs["TableName"]
    assert environ["AWS_LAMBDA_FUNCTION_NAME"] == info.name
    assert environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"
    assert environ["AWS_REGION"] == environ["AWS_DEFAULT_REGION"] == "us-east-1"
    assert "POWERTOOLS_DEV" not in environ
    assert "MOTO_PORT" not in environ
    assert context["invoked_function_arn"] == info.arn
    assert context["memory_limit_in_mb"] == 256
    assert context["log_group_name"] == f"/aws/lambda/{info.name}"
    assert 0 < context["remaining_ms"] <= 10_000


def test_an_exception_becomes_lambdas_error_payload(emulator: Emulator, stack: Stack) -> None:
    response, error = invoke(
        emulator,
        stack.functions["WorkerFunction"].name,
        {"action": "raise", "item": 7},
        LogType="Tail",
    )
    assert response["FunctionError"] == "Unhandled"
    assert error["errorType"] == "MyCustomError"
    assert error["errorMessage"] == "worker refused 7"
    assert any("app.py" in frame for frame in error["stackTrace"])
    assert "a line on stderr" in base64.b64decode(response["LogResult"]).decode()


def test_log_lines_go_to_the_trace_and_cloudwatch_logs(
    emulator: Emulator, stack: Stack, unique: str
) -> None:
    info = stack.functions["WorkerFunction"]
    invoke(emulator, info.name, {"item": unique})
    (record,) = [r for r in emulator.trace.invocations(info.name) if r.payload == {"item": unique}]
    first = json.loads(record.log_lines[0])
    assert (first["message"], first["action"]) == ("working", "ok")
    assert "a line on stderr" in record.log_lines
    assert record.log_lines[0] in emulator.logs("WorkerFunction")
    events = emulator.client("logs").filter_log_events(
        logGroupName=f"/aws/lambda/{info.name}", filterPattern=record.request_id
    )["events"]
    messages = [e["message"] for e in events]
    assert f"START RequestId: {record.request_id} Version: $LATEST" in messages


def test_a_function_with_a_log_group_of_its_own_logs_only_there(
    emulator: Emulator, stack: Stack, unique: str
) -> None:
    """LoggingConfig.LogGroup, as on AWS: the declared group (with its retention) gets the
    lines, and Lambda's own /aws/lambda/<name> group is never created."""
    info = stack.functions["RecorderFunction"]
    group = f"/aws/lambda/{stack.name}/recorder"
    assert info.log_group_name == group
    _, result = invoke(emulator, info.name, {"pk": unique})
    (record,) = [r for r in emulator.trace.invocations(info.name) if r.payload == {"pk": unique}]
    logs = emulator.client("logs")
    events = logs.filter_log_events(logGroupName=group, filterPattern=record.request_id)["events"]
    assert f"END RequestId: {record.request_id}" in [e["message"] for e in events]
    (described,) = logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]
    assert described["retentionInDays"] == 7
    implicit = f"/aws/lambda/{info.name}"
    assert not logs.describe_log_groups(logGroupNamePrefix=implicit)["logGroups"]
    assert result["pk"] == unique


def test_a_crashed_worker_is_an_error_and_is_replaced(emulator: Emulator, stack: Stack) -> None:
    worker = stack.functions["WorkerFunction"].name
    _, before = invoke(emulator, worker, {})
    response, error = invoke(emulator, worker, {"action": "exit"})
    assert response["FunctionError"] == "Unhandled"
    assert error["errorType"] == "Runtime.ExitError"
    assert "exit status 3" in error["errorMessage"]
    _, after = invoke(emulator, worker, {})
    assert after["cold"] is True
    assert after["pid"] != before["pid"]


def test_async_failures_are_retried_then_sent_to_the_on_failure_destination(
    emulator: Emulator, stack: Stack, unique: str
) -> None:
    recorder = stack.functions["RecorderFunction"]
    payload = {"detail": {"fail": True, "pk": unique}}
    response, _ = invoke(emulator, recorder.name, payload, InvocationType="Event")
    assert response["StatusCode"] == 202
    emulator.wait_idle(30)
    attempts = [r for r in emulator.trace.invocations(recorder.name) if r.payload == payload]
    assert [r.attempt for r in attempts] == [1, 2]  # MaximumRetryAttempts: 1
    assert len({r.request_id for r in attempts}) == 1
    # AWS retries a minute later (time scaled as for every retry): never racing the attempt
    # before it, e.g. a redelivery retried while the first delivery still holds its idempotency
    # record.
    assert attempts[1].at - attempts[0].at >= 60 * emulator.retry_scale
    (message,) = receive_all(emulator, stack.outputs["FailureQueueUrl"], 1)
    record = json.loads(message["Body"])
    assert record["version"] == "1.0"
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 2
    assert record["requestContext"]["requestId"] == attempts[0].request_id
    assert record["requestContext"]["functionArn"] == f"{recorder.arn}:$LATEST"
    assert record["requestPayload"] == payload
    assert record["responseContext"] == {
        "statusCode": 200,
        "executedVersion": "$LATEST",
        "functionError": "Unhandled",
    }
    assert record["responsePayload"]["errorType"] == "MyCustomError"


def test_async_failures_go_to_the_functions_dead_letter_queue(
    emulator: Emulator, stack: Stack, unique: str
) -> None:
    worker = stack.functions["WorkerFunction"]
    payload = {"action": "raise", "item": unique}
    invoke(emulator, worker.name, payload, InvocationType="Event")
    emulator.wait_idle(30)
    attempts = [r for r in emulator.trace.invocations(worker.name) if r.payload == payload]
    assert len(attempts) == 1  # MaximumRetryAttempts: 0
    (message,) = receive_all(emulator, stack.outputs["WorkerDeadLetterQueueUrl"], 1)
    assert json.loads(message["Body"]) == payload
    attributes = message["MessageAttributes"]
    assert attributes["RequestID"]["StringValue"] == attempts[0].request_id
    assert attributes["ErrorCode"]["StringValue"] == "200"
    assert attributes["ErrorMessage"]["StringValue"] == f"worker refused {unique}"


def test_a_handler_starting_the_flow_reaches_the_executing_state_machine(
    emulator: Emulator, stack: Stack, unique: str
) -> None:
    _, started = invoke(
        emulator,
        stack.functions["WorkerFunction"].name,
        {"action": "start_flow", "name": f"from-handler-{unique}"},
    )
    emulator.wait_idle(30)
    execution = emulator.client("stepfunctions").describe_execution(
        executionArn=started["executionArn"]
    )
    assert execution["stateMachineArn"] == stack.state_machines["Flow"]
    assert execution["status"] == "SUCCEEDED"
    assert emulator.execution_states(started["executionArn"]) == [
        "Record",
        "Audit",
        "Check",
        "Done",
    ]


def test_functions_outside_the_stack_keep_motos_behaviour(
    emulator: Emulator, stack: Stack, unique: str
) -> None:
    role = emulator.client("iam").create_role(
        RoleName=f"plain-{unique}", AssumeRolePolicyDocument="{}"
    )["Role"]["Arn"]
    emulator.client("lambda").create_function(
        FunctionName=f"plain-{unique}",
        Runtime="python3.13",
        Handler="x.handler",
        Role=role,
        Code={"ZipFile": b"PK\x05\x06" + b"\0" * 18},
    )
    _, echoed = invoke(emulator, f"plain-{unique}", {"echo": unique})
    assert echoed == {"echo": unique}
