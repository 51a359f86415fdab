"""The product's Slack client (mlops_runtime.slack_web) against the Slack stand-in failing the way
Slack fails: what slack_sdk raises, and how many requests a call makes (its retries bounded)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from mlops_runtime.slack_web import MAX_RETRY_AFTER_SECONDS, web_client
from mlopscp.slack_standin import SlackStandIn
from slack_sdk.errors import SlackApiError

pytestmark = pytest.mark.integration
TOKEN = "xoxb-test-faults"


@pytest.fixture
def slack() -> Iterator[SlackStandIn]:
    standin = SlackStandIn(TOKEN, "signing").start()
    yield standin
    standin.stop()


def post(slack: SlackStandIn) -> object:
    return web_client(TOKEN, slack.api_url).chat_postMessage(channel="C0OPS", text="drift")


def test_a_rate_limit_is_waited_out_once(slack: SlackStandIn) -> None:
    fault = slack.inject("chat.postMessage", "throttling", times=1)
    assert post(slack)["ok"] is True
    assert fault.hits == 1
    assert len(slack.messages("C0OPS")) == 1


def test_a_lasting_rate_limit_fails_after_one_retry(slack: SlackStandIn) -> None:
    fault = slack.inject("chat.postMessage", "throttling", times=None)
    with pytest.raises(SlackApiError) as raised:
        post(slack)
    assert raised.value.response.status_code == 429
    assert raised.value.response["error"] == "ratelimited"
    assert raised.value.response.headers["Retry-After"] == "1"
    assert fault.hits == 2
    assert slack.messages() == []


def test_a_long_retry_after_is_not_waited_for(slack: SlackStandIn) -> None:
    """A wait longer than the function can afford fails at once: the other channel goes."""
    wait = MAX_RETRY_AFTER_SECONDS + 25
    fault = slack.inject("chat.postMessage", "throttling", times=None, retry_after=wait)
    with pytest.raises(SlackApiError):
        post(slack)
    assert fault.hits == 1


@pytest.mark.parametrize("error", ["invalid_auth", "not_authed", "missing_scope"])
def test_access_denied_is_not_retried(slack: SlackStandIn, error: str) -> None:
    fault = slack.inject("chat.postMessage", "access_denied", times=None, error=error)
    with pytest.raises(SlackApiError) as raised:
        post(slack)
    assert raised.value.response.status_code == 200
    assert raised.value.response["ok"] is False
    assert raised.value.response["error"] == error
    if error == "missing_scope":
        assert raised.value.response["needed"] == "chat:write"
    assert fault.hits == 1


def test_slack_down_is_retried_once(slack: SlackStandIn) -> None:
    fault = slack.inject("chat.postMessage", "server_error", times=None)
    with pytest.raises(SlackApiError) as raised:
        post(slack)
    assert raised.value.response.status_code == 503
    assert "non-JSON" in raised.value.response["error"]
    assert fault.hits == 2
    slack.clear()
    once = slack.inject("chat.postMessage", "server_error", times=1)
    assert post(slack)["ok"] is True
    assert once.hits == 1


def test_a_dropped_connection_is_retried_once(slack: SlackStandIn) -> None:
    fault = slack.inject("chat.postMessage", "timeout", times=None)
    with pytest.raises(ConnectionError):
        post(slack)
    assert fault.hits == 2
    slack.clear()
    slack.inject("chat.postMessage", "timeout", times=1)
    assert post(slack)["ok"] is True
    assert len(slack.messages("C0OPS")) == 1


def test_a_fault_fails_only_its_method(slack: SlackStandIn) -> None:
    fault = slack.inject("chat.update", "access_denied", times=None)
    assert post(slack)["ok"] is True
    assert fault.hits == 0


def test_unknown_methods_and_kinds_are_refused(slack: SlackStandIn) -> None:
    with pytest.raises(ValueError, match="no method"):
        slack.inject("chat.postMesage", "throttling")
    with pytest.raises(ValueError, match="not one of"):
        slack.inject("chat.postMessage", "flaky")
