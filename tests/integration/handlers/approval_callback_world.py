"""The public approval callback on moto in-process: its tables and secrets, and requests as a
Lambda Function URL delivers them (payload format 2.0)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import boto3
import pytest
from mlops_runtime.store import to_attributes

from tests.aws_fixtures import create_template_tables

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
LINK_KEY = "k" * 64
APPROVAL_ID = "apv_" + "c" * 22
APPROVER = "lead@example.com"


def setup(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Tables, the Slack signing secret and the link key; the callback's environment."""
    create_template_tables(boto3.client("dynamodb"), {"ApprovalTable": "approvals"})
    secrets = boto3.client("secretsmanager")
    env = {
        "APPROVAL_TABLE": "approvals",
        "APPROVAL_DECIDER_FUNCTION": "decider",
        "SLACK_SIGNING_SECRET_ARN": secrets.create_secret(
            Name="slack-signing", SecretString=SIGNING_SECRET
        )["ARN"],
        "APPROVAL_LINK_KEY_SECRET_ARN": secrets.create_secret(
            Name="link-key", SecretString=LINK_KEY
        )["ARN"],
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


def store_pending(approval_id: str = APPROVAL_ID, model_id: str = "churn") -> None:
    now = datetime.now(UTC)
    item = {
        "pk": f"APPROVAL#{approval_id}",
        "approval_id": approval_id,
        "status": "pending",
        "model_id": model_id,
        "kind": "retrain",
        "subject": "inc-1",
        "request": json.dumps({"kind": "retrain", "model_id": model_id, "subject": "inc-1"}),
        "approvers": json.dumps(
            {"slack_channel": "C0APPROVALS", "slack_users": ["U0ADA"], "emails": [APPROVER]}
        ),
        "deadline": (now + timedelta(hours=24)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "created_at": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "slack_channel": "C0APPROVALS",
        "slack_ts": "1700000000.000100",
    }
    boto3.client("dynamodb").put_item(TableName="approvals", Item=to_attributes(item))


def url_event(
    method: str,
    path: str,
    body: bytes | str = b"",
    headers: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A Function URL event: form bodies arrive base64-encoded, as Lambda sends them."""
    raw = body.encode() if isinstance(body, str) else body
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": urlencode(query or {}),
        "headers": {k.lower(): v for k, v in (headers or {}).items()},
        "requestContext": {
            "accountId": "anonymous",
            "apiId": "abc",
            "domainName": "abc.lambda-url.us-east-1.on.aws",
            "domainPrefix": "abc",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.7",
                "userAgent": "test",
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": "$default",
            "stage": "$default",
            "time": "01/Jul/2026:12:00:00 +0000",
            "timeEpoch": int(time.time() * 1000),
        },
        "isBase64Encoded": bool(raw),
    }
    if query:
        event["queryStringParameters"] = query
    if raw:
        event["body"] = base64.b64encode(raw).decode()
    return event


def slack_headers(body: bytes, timestamp: str | None = None) -> dict[str, str]:
    stamp = timestamp if timestamp is not None else str(int(time.time()))
    base = b"v0:" + stamp.encode() + b":" + body
    digest = hmac.new(SIGNING_SECRET.encode(), base, hashlib.sha256).hexdigest()
    return {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": f"v0={digest}",
    }


def refusals() -> list[dict[str, Any]]:
    items = boto3.client("dynamodb").scan(TableName="ledger")["Items"]
    entries = [{k: next(iter(v.values())) for k, v in item.items()} for item in items]
    return [
        e | {"evidence": json.loads(e["evidence"])}
        for e in entries
        if e["action"] == "approval_rejected_request"
    ]
