"""The approvals' public door, before and around authentication: whatever arrives, it answers
with a status below 500 and records what it refused (moto in-process, no decider needed)."""

from __future__ import annotations

import io
import json
import time
from typing import Any
from urllib.parse import urlencode

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mlops_core.approvals import Action, link_signature
from mlops_runtime import approval_door

from tests.aws_fixtures import LambdaContext, load_handler
from tests.integration.handlers.approval_callback_world import (
    APPROVAL_ID,
    APPROVER,
    LINK_KEY,
    refusals,
    setup,
    slack_headers,
    store_pending,
    url_event,
)

pytestmark = pytest.mark.integration


class FakeDecider:
    """Stands in for the decider function: records what the callback hands over."""

    def __init__(self) -> None:
        self.handed: list[dict[str, Any]] = []

    def invoke(self, **request: Any) -> dict[str, Any]:
        self.handed.append(json.loads(request["Payload"]))
        answer = json.dumps({"status": "refused", "why": "a stand-in decider decides nothing"})
        return {"StatusCode": 202, "Payload": io.BytesIO(answer.encode())}


@pytest.fixture
def callback(cloud: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Any:
    setup(monkeypatch)
    store_pending()
    module = load_handler("approval_callback")
    decider = FakeDecider()
    real_client = approval_door.client
    monkeypatch.setattr(
        approval_door,
        "client",
        lambda service: decider if service == "lambda" else real_client(service),
    )
    return lambda event: module.handler(event, LambdaContext())


@pytest.mark.parametrize(
    "timestamp",
    ["²", "\u0661\u0667" + "\u0660" * 8, "9" * 5000, "1700000000.5", "-1", " 1700000000"],
    ids=["superscript", "arabic-indic", "5000-digits", "fraction", "negative", "space"],
)
def test_a_malformed_slack_timestamp_is_a_recorded_refusal(callback: Any, timestamp: str) -> None:
    body = b"payload=%7B%7D"
    headers = slack_headers(body, timestamp)
    answer = callback(url_event("POST", "/slack/interactions", body, headers))
    assert answer["statusCode"] == 401
    assert [r["evidence"]["why"] for r in refusals()] == ["malformed X-Slack-Request-Timestamp"]


@pytest.mark.parametrize("expires", ["²", "9" * 5000, "1e10"], ids=["superscript", "5000", "exp"])
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_malformed_link_expiry_is_a_recorded_refusal(
    callback: Any, expires: str, method: str
) -> None:
    fields = {"approver": APPROVER, "expires": expires, "sig": "0" * 64}
    path = f"/approvals/{APPROVAL_ID}/approve"
    if method == "GET":
        event = url_event("GET", path, query=fields)
    else:
        form = urlencode(fields | {"confirm": "approve"}).encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        event = url_event("POST", path, form, headers)
    answer = callback(event)
    assert answer["statusCode"] == 403
    assert "malformed link" in answer["body"].lower()
    assert [r["evidence"]["why"] for r in refusals()] == ["malformed link"]


@pytest.mark.parametrize(
    "path", ["/slack/interactions", f"/approvals/{APPROVAL_ID}/approve"], ids=["slack", "link"]
)
def test_a_body_that_is_not_utf8_is_a_recorded_refusal(callback: Any, path: str) -> None:
    body = b"payload=\xff\xfe\xfa&confirm=approve"
    headers = slack_headers(body) if path.startswith("/slack") else {}
    answer = callback(url_event("POST", path, body, headers))
    assert answer["statusCode"] == 400
    assert [r["evidence"]["why"] for r in refusals()] == ["the body is not valid UTF-8"]


# ---------------------------------------------------------------- fuzzing the door

_texts = st.text(max_size=60) | st.sampled_from(["²", "9" * 5000, "", "1700000000", "apv_"])
_query = st.dictionaries(
    st.sampled_from(["approver", "expires", "sig", "kid", "confirm", "x"]), _texts, max_size=5
)
_bodies = (
    st.binary(max_size=300)
    | st.builds(lambda q: urlencode(q).encode(), _query)
    | st.builds(
        lambda payload: urlencode({"payload": payload}).encode(),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(max_size=20),
            lambda inner: (
                st.lists(inner, max_size=3)
                | st.dictionaries(
                    st.sampled_from(
                        ["type", "actions", "user", "team", "container", "value", "id"]
                    ),
                    inner,
                    max_size=4,
                )
            ),
            max_leaves=12,
        ).map(json.dumps),
    )
    | st.just(b"payload=" + b"[" * 100_000)
)
_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


def _click(user: object, container: object, team: object, action_ts: object) -> bytes:
    """Our button's block_actions payload, with fields of any JSON type."""
    payload = {
        "type": "block_actions",
        "user": user,
        "container": container,
        "team": team,
        "actions": [
            {"action_id": "approval.approve", "value": APPROVAL_ID, "action_ts": action_ts}
        ],
    }
    return urlencode({"payload": json.dumps(payload)}).encode()


_ids = st.text(min_size=1, max_size=12) | _json
_clicks = st.builds(
    _click,
    st.fixed_dictionaries({"id": _ids}, optional={"team_id": _json, "name": _json}) | _json,
    st.fixed_dictionaries({}, optional={"channel_id": _ids, "message_ts": _ids}) | _json,
    st.fixed_dictionaries({"id": _ids}) | _json,
    _ids,
)
_paths = st.sampled_from(
    [
        "/slack/interactions",
        f"/approvals/{APPROVAL_ID}/approve",
        f"/approvals/{APPROVAL_ID}/reject",
        "/approvals/apv_x/approve",
        "/approvals/%ff/approve",
    ]
) | st.builds(lambda a, b: f"/approvals/{a}/{b}", _texts, _texts)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    method=st.sampled_from(["GET", "POST", "PUT"]),
    path=_paths,
    query=_query,
    body=_bodies,
    timestamp=_texts,
    signed=st.booleans(),
)
def test_no_request_makes_the_door_fail(
    callback: Any,
    method: str,
    path: str,
    query: dict[str, str],
    body: bytes,
    timestamp: str,
    signed: bool,
) -> None:
    headers = slack_headers(body) if signed else {"X-Slack-Request-Timestamp": timestamp}
    headers |= {"Content-Type": "application/x-www-form-urlencoded"}
    answer = callback(url_event(method, path, body, headers, query))
    assert 200 <= answer["statusCode"] < 500, answer


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(body=_clicks)
def test_no_genuine_click_with_odd_fields_makes_the_door_fail(callback: Any, body: bytes) -> None:
    """Correctly signed clicks on our button whose other fields have any JSON type."""
    answer = callback(url_event("POST", "/slack/interactions", body, slack_headers(body)))
    assert 200 <= answer["statusCode"] < 500, answer


# ---------------------------------------------------------------- what a flood leaves behind


def forged_click(user: str, approval_id: str = APPROVAL_ID) -> tuple[bytes, dict[str, str]]:
    payload = {
        "type": "block_actions",
        "user": {"id": user, "team_id": "T0MLOPSCP"},
        "actions": [{"action_id": "approval.approve", "value": approval_id, "action_ts": "1.2"}],
        "container": {"channel_id": "C0APPROVALS", "message_ts": "1700000000.000100"},
    }
    body = urlencode({"payload": json.dumps(payload)}).encode()
    headers = slack_headers(body) | {"X-Slack-Signature": "v0=" + "0" * 64}
    return body, headers


def test_forged_requests_leave_one_record_per_approval_and_reason(callback: Any) -> None:
    """40 forged clicks, each claiming another user, on a real approval: one ledger entry,
    the claimed identity marked unverified and stripped of control characters."""
    for n in range(40):
        body, headers = forged_click(f"U0ADA\x1b[31m\n{n}")
        assert (
            callback(url_event("POST", "/slack/interactions", body, headers))["statusCode"] == 401
        )
    (entry,) = refusals()
    assert entry["actor"] == "unverified"
    evidence = entry["evidence"]
    assert evidence["approval_id"] == APPROVAL_ID
    assert evidence["identity"] == "unverified"
    assert evidence["claimed_by"].startswith("U0ADA")
    assert not any(c in evidence["claimed_by"] for c in "\x1b\n")


def test_forged_requests_naming_approvals_that_do_not_exist_share_one_record(
    callback: Any,
) -> None:
    for n in range(20):
        body, headers = forged_click("U0ADA", approval_id=f"apv_{n:022d}")
        callback(url_event("POST", "/slack/interactions", body, headers))
    (entry,) = refusals()
    assert entry["model_id"] == "_unknown"


# ---------------------------------------------------------------- rotating the link key


def signed_link(key_id: str, key: str) -> dict[str, str]:
    expires = int(time.time()) + 3600
    sig = link_signature(key.encode(), APPROVAL_ID, Action.APPROVE, APPROVER, expires, key_id)
    return {"approver": APPROVER, "expires": str(expires), "kid": key_id, "sig": sig}


def test_a_link_works_after_one_rotation_and_not_after_two(
    cloud: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    env = setup(monkeypatch)
    store_pending()
    secrets = boto3.client("secretsmanager")
    arn = env["APPROVAL_LINK_KEY_SECRET_ARN"]
    first = secrets.get_secret_value(SecretId=arn)["VersionId"]
    link = signed_link(first, LINK_KEY)
    path = f"/approvals/{APPROVAL_ID}/approve"

    def get() -> dict[str, Any]:
        # A fresh execution environment each time: nothing cached from before the rotation.
        return load_handler("approval_callback").handler(
            url_event("GET", path, query=link), LambdaContext()
        )

    assert get()["statusCode"] == 200
    secrets.put_secret_value(SecretId=arn, SecretString="n" * 64)
    page = get()
    assert page["statusCode"] == 200, "the previous key is accepted through the grace period"
    assert f'name="kid" value="{first}"' in page["body"], "the form keeps the key id"
    secrets.put_secret_value(SecretId=arn, SecretString="m" * 64)
    refused = get()
    assert refused["statusCode"] == 403
    assert "no longer accepted" in refused["body"]
