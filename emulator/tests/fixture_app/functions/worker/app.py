"""Does what the input asks: succeed, raise, start the flow, report its environment, or exit."""

import os
import sys

import boto3
from fixture_shared import MyCustomError, log

_cold = True


def handler(event: dict, context: object) -> dict:
    global _cold
    was_cold, _cold = _cold, False
    action = event.get("action", "ok")
    log("working", action=action, cold=was_cold)
    print("a line on stderr", file=sys.stderr)
    if action == "raise":
        raise MyCustomError(f"worker refused {event.get('item')}")
    if action == "exit":
        os._exit(3)
    if action == "start_flow":
        started = boto3.client("stepfunctions").start_execution(
            stateMachineArn=os.environ["FLOW_ARN"], name=event["name"], input='{"detail": {}}'
        )
        return {"executionArn": started["executionArn"]}
    if action == "env":
        return {"environ": dict(os.environ), "context": _describe(context)}
    return {"item": event.get("item"), "pid": os.getpid(), "cold": was_cold}


def _describe(context: object) -> dict:
    names = (
        "function_name",
        "function_version",
        "invoked_function_arn",
        "memory_limit_in_mb",
        "aws_request_id",
        "log_group_name",
        "log_stream_name",
    )
    described = {name: getattr(context, name) for name in names}
    described["remaining_ms"] = context.get_remaining_time_in_millis()
    return described
