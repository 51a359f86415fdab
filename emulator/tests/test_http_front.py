"""The emulator's HTTP front for Function URLs, its CloudFormation additions (Lambda URLs,
Secrets Manager secrets) and executions waiting for a callback."""

from __future__ import annotations

import base64
import json
import time
import urllib.error
import urllib.request
from typing import Any

import pytest
from mlopscp_emulator import Emulator, Stack

pytestmark = pytest.mark.integration


def call(
    url: str, data: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def echoed(url: str, **kwargs: Any) -> dict[str, Any]:
    status, _, body = call(url, **kwargs)
    assert status == 200, body
    return dict(json.loads(body))


def test_the_url_is_what_cloudformation_and_lambda_say(
    emulator: Emulator, http_stack: Stack
) -> None:
    url = emulator.http_url("EchoUrl", "http-fixture")
    assert url.startswith("http://127.0.0.1:")
    assert url.endswith("/")
    assert http_stack.outputs["EchoUrl"] == url
    assert emulator.http_url("EchoFunction") == url
    config = emulator.client("lambda").get_function_url_config(
        FunctionName=http_stack.functions["EchoFunction"].name
    )
    assert config["FunctionUrl"] == url
    assert http_stack.functions["AskFunction"].environment["ECHO_URL"] == url


def test_a_get_becomes_a_payload_2_0_event(emulator: Emulator, http_stack: Stack) -> None:
    url = emulator.http_url("EchoUrl")
    event = echoed(
        url + "some/path?a=1&a=2&b=x%20y",
        headers={"X-Custom": "v", "Cookie": "c1=1; c2=2", "User-Agent": "probe"},
    )
    assert event["version"] == "2.0"
    assert event["routeKey"] == "$default"
    assert event["rawPath"] == "/some/path"
    assert event["rawQueryString"] == "a=1&a=2&b=x%20y"
    assert event["queryStringParameters"] == {"a": "1,2", "b": "x y"}
    assert event["headers"]["x-custom"] == "v"
    assert "cookie" not in event["headers"]
    assert event["cookies"] == ["c1=1", "c2=2"]
    context = event["requestContext"]
    assert context["http"]["method"] == "GET"
    assert context["http"]["path"] == "/some/path"
    assert context["http"]["sourceIp"] == "127.0.0.1"
    assert context["http"]["userAgent"] == "probe"
    assert context["accountId"] == "anonymous"
    assert context["domainName"] == f"{context['apiId']}.lambda-url.us-east-1.on.aws"
    assert event["isBase64Encoded"] is False
    assert "body" not in event


def test_bodies_arrive_as_lambda_sends_them(emulator: Emulator, http_stack: Stack) -> None:
    url = emulator.http_url("EchoUrl")
    form = b"payload=%7B%22a%22%3A1%7D&x=y"
    event = echoed(url, data=form, headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert event["requestContext"]["http"]["method"] == "POST"
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == form
    event = echoed(url, data=b'{"a": 1}', headers={"Content-Type": "application/json"})
    assert event["isBase64Encoded"] is False
    assert event["body"] == '{"a": 1}'


def test_responses_follow_lambdas_rules(emulator: Emulator, http_stack: Stack) -> None:
    url = emulator.http_url("EchoUrl")
    status, headers, body = call(url + "?mode=binary")
    assert (status, body) == (201, b"\x00\x01raw")
    assert headers["x-extra"] == "1"
    assert headers["content-type"] == "application/octet-stream"
    status, headers, body = call(url + "?mode=plain")
    assert (status, json.loads(body)) == (200, {"plain": True})
    assert headers["Content-Type"] == "application/json"
    status, _, body = call(url + "?mode=raise")
    assert status == 502
    assert b"Internal Server Error" in body


def test_secrets_are_created_given_or_generated(emulator: Emulator, http_stack: Stack) -> None:
    secrets = emulator.client("secretsmanager")
    generated = secrets.get_secret_value(SecretId=http_stack.outputs["GeneratedSecretArn"])
    assert len(generated["SecretString"]) == 40
    assert generated["SecretString"].isalnum()
    assert http_stack.functions["EchoFunction"].environment["KEY_SECRET"] == generated["ARN"]
    given = secrets.get_secret_value(SecretId="http-fixture/given")
    assert json.loads(given["SecretString"]) == {"token": "xoxb-given"}
    assert given["ARN"] == http_stack.outputs["GivenSecretArn"]


def test_an_execution_waiting_for_a_callback_counts_as_idle(
    emulator: Emulator, http_stack: Stack
) -> None:
    sfn = emulator.client("stepfunctions")
    arn = sfn.start_execution(
        stateMachineArn=http_stack.state_machines["WaitMachine"], name=f"wait-{time.time_ns()}"
    )["executionArn"]
    emulator.wait_idle(timeout=30)  # returns: nothing works on it, a person will answer
    assert arn in emulator.waiting_executions()
    assert sfn.describe_execution(executionArn=arn)["status"] == "RUNNING"
    (ask,) = [
        r
        for r in emulator.trace.invocations(http_stack.functions["AskFunction"].name)
        if r.payload.get("task_token")
    ][-1:]
    sfn.send_task_success(taskToken=ask.payload["task_token"], output='{"ok": true}')
    # the answer returns once the execution moved on, so it is not mistaken for still waiting
    assert arn not in emulator.waiting_executions()
    emulator.wait_idle(timeout=30)
    described = sfn.describe_execution(executionArn=arn)
    assert described["status"] == "SUCCEEDED"
    assert json.loads(described["output"])["answer"] == {"ok": True}


def test_a_schedule_rule_matches_no_event(emulator: Emulator, http_stack: Stack) -> None:
    matched = emulator.put_event(
        {"source": "anything", "detail-type": "Anything", "detail": {}, "id": "e-1"}
    )
    assert not [rule for rule in matched if "Sweep" in rule]
