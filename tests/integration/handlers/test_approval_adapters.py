"""The approval adapters on moto, without a Lambda context: the public door's hand-off and its
fallbacks (mlops_runtime.approval_door), asking the decider (approval_service.ask_decider) and
asking the approvers (mlops_runtime.approval_requests)."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import boto3
import pytest
from mlops_core.approvals import ApprovalRequest, LinkClaim, Status
from mlops_core.errors import ApprovalDeliveryError, ApprovalNotConfiguredError
from mlops_runtime import approval_door, approval_service
from mlops_runtime.approval_channels import Email, Slack
from mlops_runtime.approval_door import ApprovalDoor, Receipt
from mlops_runtime.approval_requests import ApprovalRequests
from mlops_runtime.approvals import ApprovalStore
from mlops_runtime.link_keys import LinkKeys
from mlops_runtime.store import Ledger

from tests.integration.handlers.approval_callback_world import (
    APPROVAL_ID,
    APPROVER,
    refusals,
    setup,
    slack_headers,
    store_pending,
)
from tests.integration.handlers.conftest import put_model

pytestmark = pytest.mark.integration


class FakeLambda:
    """The decider as the Lambda service answers for it; ``act`` runs before it answers."""

    def __init__(self, answer: dict[str, Any], failed: bool = False) -> None:
        self.answer, self.failed = answer, failed
        self.invoked: list[dict[str, Any]] = []
        self.act: Callable[[dict[str, Any]], None] = lambda request: None

    def invoke(self, **call: Any) -> dict[str, Any]:
        request = json.loads(call["Payload"])
        self.invoked.append({"type": call.get("InvocationType", "RequestResponse")} | request)
        self.act(request)
        response: dict[str, Any] = {
            "StatusCode": 200,
            "Payload": io.BytesIO(json.dumps(self.answer).encode()),
        }
        if self.failed:
            response["FunctionError"] = "Unhandled"
        return response


def use_decider(monkeypatch: pytest.MonkeyPatch, decider: FakeLambda) -> None:
    """Both modules that invoke the decider build their Lambda client through ``client``."""
    for module in (approval_door, approval_service):
        real = module.client
        monkeypatch.setattr(
            module,
            "client",
            lambda service, real=real: decider if service == "lambda" else real(service),
        )


@pytest.fixture
def door(cloud: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> ApprovalDoor:
    env = setup(monkeypatch)
    store_pending()
    return ApprovalDoor(
        ApprovalStore("approvals"),
        Ledger("ledger"),
        LinkKeys(env["APPROVAL_LINK_KEY_SECRET_ARN"]),
        "decider",  # no such function in moto: invoking it fails until a test fakes it
        env["SLACK_SIGNING_SECRET_ARN"],
        "state",
    )


def click() -> tuple[str, dict[str, str]]:
    payload = {
        "type": "block_actions",
        "user": {"id": "U0ADA", "team_id": "T0MLOPSCP"},
        "actions": [{"action_id": "approval.approve", "value": APPROVAL_ID, "action_ts": "1.2"}],
        "container": {"channel_id": "C0APPROVALS", "message_ts": "1700000000.000100"},
    }
    body = urlencode({"payload": json.dumps(payload)})
    headers = {k.lower(): v for k, v in slack_headers(body.encode()).items()}
    return body, headers


# ---------------------------------------------------------------- Slack


def test_a_signed_click_is_handed_over_once_and_its_redelivery_refused_as_a_replay(
    door: ApprovalDoor, monkeypatch: pytest.MonkeyPatch
) -> None:
    decider = FakeLambda({})
    use_decider(monkeypatch, decider)
    body, headers = click()
    assert door.slack_refusal(body, headers, float(headers["x-slack-request-timestamp"])) is None
    assert door.hand_over(body, headers) is Receipt.HANDED_OVER
    (handed,) = decider.invoked
    assert handed == {
        "type": "Event",  # asynchronously: Slack wants its answer within 3 s
        "channel": "slack",
        "body": body,
        "timestamp": headers["x-slack-request-timestamp"],
        "signature": headers["x-slack-signature"],
    }
    assert door.hand_over(body, headers) is Receipt.REPLAYED
    assert len(decider.invoked) == 1
    (refused,) = refusals()
    assert refused["evidence"]["why"] == "replayed: this interaction was already received"
    assert refused["evidence"]["approval_id"] == APPROVAL_ID


def test_a_failed_hand_off_is_not_marked_so_slacks_retry_goes_through(
    door: ApprovalDoor, monkeypatch: pytest.MonkeyPatch
) -> None:
    body, headers = click()
    assert door.hand_over(body, headers) is Receipt.NOT_HANDED_OVER  # no decider in moto
    decider = FakeLambda({})
    use_decider(monkeypatch, decider)
    assert door.hand_over(body, headers) is Receipt.HANDED_OVER
    assert len(decider.invoked) == 1
    assert refusals() == []


def test_a_body_that_is_no_click_is_ignored_neither_handed_over_nor_refused(
    door: ApprovalDoor, monkeypatch: pytest.MonkeyPatch
) -> None:
    decider = FakeLambda({})
    use_decider(monkeypatch, decider)
    body = urlencode({"payload": json.dumps({"type": "view_submission"})})
    assert door.hand_over(body, {}) is Receipt.IGNORED
    assert decider.invoked == []
    assert refusals() == []


def test_a_forged_signature_is_named_and_recorded_with_what_it_claimed(
    door: ApprovalDoor,
) -> None:
    body, headers = click()
    headers["x-slack-signature"] = "v0=" + "0" * 64
    now = float(headers["x-slack-request-timestamp"])
    why = door.slack_refusal(body, headers, now)
    assert why == "signature does not match (forged or altered request)"
    door.refuse_slack(body, why)
    (refused,) = refusals()
    assert (refused["evidence"]["claimed_by"], refused["actor"]) == ("U0ADA", "unverified")


# ---------------------------------------------------------------- emailed links


def link_claim() -> LinkClaim:
    return LinkClaim(APPROVAL_ID, "approve", APPROVER, "1780000000", "ab" * 32)


def test_when_the_decider_cannot_be_reached_nothing_is_said_to_be_recorded(
    door: ApprovalDoor,
) -> None:
    assert door.decide(link_claim(), "ok") == {
        "status": "refused",
        "why": "the decision could not be recorded; try again",
    }


def test_a_decider_that_recorded_then_failed_is_believed_from_the_approval(
    door: ApprovalDoor, monkeypatch: pytest.MonkeyPatch
) -> None:
    decider = FakeLambda({"errorType": "TimeoutError"}, failed=True)

    def record_then_fail(request: dict[str, Any]) -> None:
        boto3.client("dynamodb").update_item(
            TableName="approvals",
            Key={"pk": {"S": f"APPROVAL#{APPROVAL_ID}"}},
            UpdateExpression="SET decision_id = :d, delivery = :p",
            ExpressionAttributeValues={":d": {"S": request["attempt_id"]}, ":p": {"S": "pending"}},
        )

    decider.act = record_then_fail
    use_decider(monkeypatch, decider)
    assert door.decide(link_claim(), "  looks right  ") == {
        "status": "recorded",
        "delivery": "pending",
    }
    (asked,) = decider.invoked
    assert asked["attempt_id"].startswith("email:")
    assert (asked["channel"], asked["sig"], asked["reason"]) == ("email", "ab" * 32, "looks right")


def test_ask_decider_returns_the_answer_or_none_when_the_decider_failed(
    cloud: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    use_decider(monkeypatch, FakeLambda({"status": "recorded", "delivery": "delivered"}))
    answer = approval_service.ask_decider("decider", {"redeliver": APPROVAL_ID})
    assert answer == {"status": "recorded", "delivery": "delivered"}
    use_decider(monkeypatch, FakeLambda({"errorType": "KeyError"}, failed=True))
    assert approval_service.ask_decider("decider", {"redeliver": APPROVAL_ID}) is None


# ---------------------------------------------------------------- asking the approvers


@pytest.fixture
def asking(cloud: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    env = setup(monkeypatch)
    key_id = boto3.client("kms").create_key()["KeyMetadata"]["Arn"]
    topic = boto3.client("sns").create_topic(Name="approvals")["TopicArn"]
    put_model(approvals={"email_approvers": [APPROVER]})
    email = Email(topic, LinkKeys(env["APPROVAL_LINK_KEY_SECRET_ARN"]), "https://door.example")
    store = ApprovalStore("approvals", key_id)
    slack = Slack("", "https://slack.com/api/")  # no bot token: Slack is off
    return {"store": store, "requests": ApprovalRequests(store, Ledger("ledger"), slack, email)}


def ledger_entries(action: str) -> list[dict[str, Any]]:
    items = boto3.client("dynamodb").scan(TableName="ledger")["Items"]
    return [
        {k: next(iter(v.values())) for k, v in item.items()}
        for item in items
        if item["action"]["S"] == action
    ]


def retrain_request() -> ApprovalRequest:
    return ApprovalRequest(kind="retrain", model_id="churn", subject="inc-1").described()


def test_an_approval_is_stored_with_its_token_sealed_and_announced_by_email(
    asking: dict[str, Any],
) -> None:
    from mlops_runtime.model_config import ModelConfigStore

    requests, store = asking["requests"], asking["store"]
    approval = requests.open(retrain_request(), ModelConfigStore("model-config"), "task-token-1")
    assert approval.approvers.emails == [APPROVER]
    assert requests.announce(approval) == [f"email:{APPROVER}"]
    stored = store.get(approval.approval_id)
    assert stored is not None
    assert (stored.status, stored.delivered) == (Status.PENDING, [f"email:{APPROVER}"])
    assert store.token(approval.approval_id) == "task-token-1"
    (entry,) = ledger_entries("approval_requested")
    assert "task-token-1" not in json.dumps(entry)
    assert json.loads(entry["evidence"])["delivered"] == [f"email:{APPROVER}"]


def test_a_request_no_channel_took_is_withdrawn_and_fails_its_task(
    asking: dict[str, Any],
) -> None:
    from mlops_runtime.model_config import ModelConfigStore

    store = asking["store"]
    no_links = Email(boto3.client("sns").create_topic(Name="approvals")["TopicArn"])
    requests = ApprovalRequests(store, Ledger("ledger"), Slack("", "https://x/"), no_links)
    approval = requests.open(retrain_request(), ModelConfigStore("model-config"), "t")
    assert approval.approvers.emails == []  # without link keys nobody can be emailed a link
    with pytest.raises(ApprovalDeliveryError, match="no channel took"):
        requests.announce(approval)
    stored = store.get(approval.approval_id)
    assert stored is not None
    assert (stored.status, stored.task_result) == (Status.WITHDRAWN, "no channel took the request")
    assert ledger_entries("approval_requested") == []


def test_a_model_without_approvers_gets_no_approval(asking: dict[str, Any]) -> None:
    from mlops_runtime.model_config import ModelConfigStore

    request = ApprovalRequest(kind="retrain", model_id="nobody", subject="inc-2")
    with pytest.raises(ApprovalNotConfiguredError, match="nobody names no approvers"):
        asking["requests"].open(request, ModelConfigStore("model-config"), "t")


def test_a_reminder_goes_to_the_approvers_and_is_recorded(asking: dict[str, Any]) -> None:
    from mlops_runtime.model_config import ModelConfigStore

    requests = asking["requests"]
    approval = requests.open(retrain_request(), ModelConfigStore("model-config"), "t")
    requests.remind(approval)
    (entry,) = ledger_entries("notification_sent")
    assert entry["subject"] == f"approval:{approval.approval_id}#reminder"
    assert json.loads(entry["evidence"])["delivered"] == ["email"]
