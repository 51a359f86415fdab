"""The decider's own checks of who answered (mlops_runtime.approval_proofs), without AWS.

The STS round trip itself is exercised on the emulator (tests/e2e/test_approval_security.py,
emulator/tests/test_accounts_and_metrics.py); here, everything before it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from mlops_core.approvals import Channel, Outcome, identity_binding
from mlops_runtime import aws
from mlops_runtime.approval_proofs import (
    CliAnswer,
    ProofError,
    SlackAnswer,
    Verifier,
    caller_arn,
    claims_of,
)
from mlops_runtime.link_keys import LinkKeys

NOW = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
APPROVAL_ID = "apv_" + "p" * 22


def click_body(user: str = "U0ADA") -> str:
    payload = {
        "type": "block_actions",
        "user": {"id": user, "username": "ada"},
        "team": {"id": "T0MLOPSCP"},
        "container": {"channel_id": "C0APPROVALS", "message_ts": "1.000100"},
        "actions": [{"action_id": "approval.reject", "value": APPROVAL_ID, "action_ts": "2.5"}],
    }
    return urlencode({"payload": json.dumps(payload)})


def signed(body: str, at: datetime, secret: str = SECRET) -> SlackAnswer:
    stamp = str(int(at.timestamp()))
    digest = hmac.new(secret.encode(), f"v0:{stamp}:{body}".encode(), hashlib.sha256)
    return SlackAnswer(
        channel="slack", body=body, timestamp=stamp, signature=f"v0={digest.hexdigest()}"
    )


VERIFIER = Verifier(lambda: SECRET, LinkKeys(""))


def test_a_signed_click_names_the_slack_user_it_came_from() -> None:
    attempt, click = VERIFIER.attempt(signed(click_body(), NOW - timedelta(minutes=30)), NOW)
    assert (attempt.approval_id, attempt.outcome, attempt.channel) == (
        APPROVAL_ID,
        Outcome.REJECTED,
        Channel.SLACK,
    )
    assert (attempt.actor, attempt.attempt_id) == ("U0ADA", click.key)
    assert (click.team_id, click.channel_id, click.message_ts) == (
        "T0MLOPSCP",
        "C0APPROVALS",
        "1.000100",
    )


@pytest.mark.parametrize(
    ("answer", "why"),
    [
        (signed(click_body(), NOW - timedelta(hours=2)), "too old"),
        (signed(click_body(), NOW, secret="another-app"), "signature does not match"),
        (
            signed(click_body(), NOW).model_copy(update={"body": click_body("U0MALLORY")}),
            "signature does not match",
        ),
        (signed("payload=%7B%7D", NOW), "not an approval click"),
        (signed(click_body(), NOW).model_copy(update={"timestamp": "\u00b2"}), "malformed"),
    ],
    ids=["stale", "other-secret", "tampered", "not-a-click", "odd-timestamp"],
)
def test_slack_answers_without_a_valid_signature_are_refused(answer: SlackAnswer, why: str) -> None:
    with pytest.raises(ProofError, match=why):
        VERIFIER.attempt(answer, NOW)


def test_without_a_signing_secret_no_slack_answer_counts() -> None:
    with pytest.raises(ProofError, match="not configured"):
        Verifier(lambda: "", LinkKeys("")).attempt(signed(click_body(), NOW), NOW)


def test_email_answers_need_the_link_keys() -> None:
    from mlops_runtime.approval_proofs import EmailAnswer

    answer = EmailAnswer(
        channel="email",
        approval_id=APPROVAL_ID,
        action="approve",
        approver="a@b.co",
        expires="1",
        sig="0" * 64,
        attempt_id="email:1",
    )
    with pytest.raises(ProofError, match="not configured"):
        VERIFIER.attempt(answer, NOW)


# ---------------------------------------------------------------- an operator's identity proof


@pytest.fixture
def sts_here(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name, value in {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    aws.client.cache_clear()
    yield
    aws.client.cache_clear()


def proof(**change: Any) -> dict[str, Any]:
    headers = {
        "Authorization": "AWS4-HMAC-SHA256 Credential=AKIA/20260701/us-east-1/sts/aws4_request, "
        "SignedHeaders=content-type;host;x-amz-date;x-mlopscp-decision, Signature=" + "0" * 64,
        "X-Amz-Date": NOW.strftime("%Y%m%dT%H%M%SZ"),
        "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
    }
    base = {
        "url": "https://sts.us-east-1.amazonaws.com/",
        "headers": headers,
        "body": "Action=GetCallerIdentity&Version=2011-06-15",
    }
    return base | change


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"url": "https://sts.attacker.example/"}, "signed for sts.attacker.example"),
        ({"url": "http://169.254.169.254/"}, "not this region's STS"),
        ({"body": "Action=AssumeRole&RoleArn=x"}, "not a GetCallerIdentity request"),
        (
            {
                "headers": proof()["headers"]
                | {"Authorization": "AWS4-HMAC-SHA256 SignedHeaders=host"}
            },
            "does not name the decision",
        ),
        (
            {"headers": proof()["headers"] | {"X-Amz-Date": "20260701T110000Z"}},
            "too old",
        ),
    ],
    ids=["other-host", "metadata-endpoint", "other-action", "unbound", "old"],
)
def test_an_identity_proof_is_refused_before_it_reaches_any_network(
    sts_here: None, change: dict[str, Any], why: str
) -> None:
    """Sockets are off in this tier: reaching the network would fail differently."""
    answer = CliAnswer.model_validate(
        {
            "channel": "cli",
            "approval_id": APPROVAL_ID,
            "outcome": "approved",
            "attempt_id": "cli:attempt-1",
            "identity": proof(**change),
        }
    )
    binding = identity_binding(APPROVAL_ID, "approved", "cli:attempt-1")
    with pytest.raises(ProofError, match=why):
        caller_arn(answer.identity, binding, NOW)


def test_what_an_unverifiable_request_claims_is_kept_as_evidence() -> None:
    assert claims_of({"channel": "slack", "body": click_body("U0EVE")}) == (
        APPROVAL_ID,
        "slack",
        "U0EVE",
    )
    assert claims_of({"channel": "cli", "approval_id": "apv_x", "actor": "arn"}) == (
        "apv_x",
        "cli",
        "arn",
    )
    assert claims_of(["not", "an", "object"]) == ("", "unknown", "")
