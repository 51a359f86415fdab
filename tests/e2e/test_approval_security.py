"""Attacks on the approval callbacks, on the whole stack in the emulator.

Each refused request must leave the approval pending, the execution waiting, SendTaskSuccess
uncalled, and an ``approval_rejected_request`` entry saying why. The requests are sent exactly as
Slack or a browser sends them, to the stack's Function URL served on loopback.
"""

from __future__ import annotations

import base64
import json
import re
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit

import pytest
from mlops_core.approvals import Action, link_signature
from mlops_runtime import aws
from mlopscp.cli import main as mlopscp
from mlopscp.local import LocalControlPlane
from mlopscp.slack_standin import Message
from mlopscp.worlds.drift import MODELS
from mlopscp_emulator import Emulator

from tests.e2e.approval_world import (
    ApprovalWorld,
    Asked,
    counting_task_answers,
    failing_hand_off,
    failing_task_answers,
    form_of,
)
from tests.untrusted_text import HOSTILE, assert_email_inert, assert_slack_inert

pytestmark = pytest.mark.e2e
APPROVE, REJECT = "approval.approve", "approval.reject"


@pytest.fixture(scope="module")
def world() -> Iterator[ApprovalWorld]:
    import warnings

    warnings.filterwarnings("ignore", message=".*moto does not enforce.*")
    with Emulator() as emulator:
        world = ApprovalWorld(LocalControlPlane(emulator).up())
        with counting_task_answers(world):
            yield world


@pytest.fixture(scope="module")
def credit(world: ApprovalWorld) -> Asked:
    """A pending approval of a credit retrain, asked in Slack and by email."""
    asked = world.ask("credit")
    assert asked.message is not None, "credit's approvers are asked in Slack"
    assert set(asked.links) == {"approve", "reject"}, "and by email"
    return asked


def untouched(world: ApprovalWorld, asked: Asked, answers_before: int) -> None:
    """Nothing was executed: still pending, still waiting, no SendTask* call."""
    assert world.status(asked.approval_id) == "pending"
    assert world.waiting(asked), "the execution must still wait for a human"
    assert len(world.task_answers) == answers_before, "SendTaskSuccess/Failure must not be called"


# ---------------------------------------------------------------- Slack


def test_forged_slack_signature_is_refused(world: ApprovalWorld, credit: Asked) -> None:
    slack, answers, deciders = world.plane.slack, len(world.task_answers), world.decider_runs()
    assert credit.message is not None
    body = slack.interaction_body(credit.message, "U0ADA", APPROVE)
    forged_secret = "0123456789abcdef0123456789abcdef"
    answer = slack.post(
        world.interactivity_url, body, slack.signed_headers(body, secret=forged_secret)
    )
    assert answer.status == 401
    world.emu.wait_idle(timeout=60)
    assert world.decider_runs() == deciders, "a forged request never reaches the decider"
    untouched(world, credit, answers)
    (refused,) = world.refusals("signature does not match")
    assert refused["approval_id"] == credit.approval_id
    assert refused["claimed_by"] == "U0ADA"


def test_tampered_slack_payload_is_refused(world: ApprovalWorld, credit: Asked) -> None:
    """A genuine signature over a body whose approval id was then changed."""
    slack, answers = world.plane.slack, len(world.task_answers)
    other = world.ask("search")
    assert credit.message is not None
    body = slack.interaction_body(credit.message, "U0ADA", APPROVE)
    headers = slack.signed_headers(body)
    tampered = body.replace(credit.approval_id, other.approval_id)
    assert tampered != body
    assert slack.post(world.interactivity_url, tampered, headers).status == 401
    world.emu.wait_idle(timeout=60)
    untouched(world, credit, answers)
    untouched(world, other, answers)


def test_stale_slack_timestamp_is_refused(world: ApprovalWorld, credit: Asked) -> None:
    slack, answers = world.plane.slack, len(world.task_answers)
    assert credit.message is not None
    body = slack.interaction_body(credit.message, "U0ADA", APPROVE)
    old = int(time.time()) - 6 * 60  # correctly signed, six minutes ago
    answer = slack.post(world.interactivity_url, body, slack.signed_headers(body, timestamp=old))
    assert answer.status == 401
    world.emu.wait_idle(timeout=60)
    untouched(world, credit, answers)
    assert world.refusals("stale request")


def test_a_user_who_is_not_an_approver_is_refused(world: ApprovalWorld, credit: Asked) -> None:
    slack, answers = world.plane.slack, len(world.task_answers)
    assert credit.message is not None
    answer = slack.click(credit.message, "U0MALLORY", APPROVE, world.interactivity_url)
    assert answer.status == 200  # Slack's request was genuine; the person is not an approver
    world.emu.wait_idle(timeout=60)
    untouched(world, credit, answers)
    assert world.refusals("Slack user U0MALLORY is not an approver")
    assert any(e["user"] == "U0MALLORY" and "not recorded" in e["text"] for e in slack.ephemeral), (
        "the person is told why, privately"
    )


def test_replayed_slack_request_is_refused(world: ApprovalWorld) -> None:
    """The approver's genuine click decides once; the same request again decides nothing."""
    slack, answers = world.plane.slack, len(world.task_answers)
    asked = world.ask("credit")
    assert asked.message is not None
    body = slack.interaction_body(asked.message, "U0ADA", REJECT)
    headers = slack.signed_headers(body)
    assert slack.post(world.interactivity_url, body, headers).status == 200
    world.emu.wait_idle(timeout=60)
    assert world.status(asked.approval_id) == "rejected"
    assert len(world.task_answers) == answers + 1
    refusals = len(world.refusals("replayed"))
    assert slack.post(world.interactivity_url, body, headers).status == 200
    world.emu.wait_idle(timeout=60)
    assert len(world.refusals("replayed")) == refusals + 1
    assert len(world.task_answers) == answers + 1, "a replay must not reach SendTaskSuccess"
    sfn = world.emu.client("stepfunctions")
    assert sfn.describe_execution(executionArn=asked.execution_arn)["status"] == "SUCCEEDED"
    assert "RetrainNotApproved" in world.emu.execution_states(asked.execution_arn)


@pytest.mark.parametrize(
    "elsewhere",
    [{"channel": "C0ELSEWHERE"}, {"ts": "1700000000.000001"}, {"team": "T0OTHERORG"}],
    ids=["other-channel", "other-message", "other-workspace"],
)
def test_a_click_must_come_from_the_approvals_own_message(
    world: ApprovalWorld, elsewhere: dict[str, str]
) -> None:
    """Genuinely signed by Slack, by an approver, on a button carrying the approval's id, but
    from another message, channel or workspace than the one the request was posted in."""
    slack, answers = world.plane.slack, len(world.task_answers)
    asked = world.ask("credit")
    assert asked.message is not None
    where = Message(
        elsewhere.get("channel", asked.message.channel),
        elsewhere.get("ts", asked.message.ts),
        asked.message.text,
        asked.message.blocks,
    )
    body = slack.interaction_body(where, "U0ADA", APPROVE)
    if "team" in elsewhere:
        fields = parse_qs(body)
        payload = json.loads(fields["payload"][0])
        payload["team"]["id"] = payload["user"]["team_id"] = elsewhere["team"]
        body = urlencode({"payload": json.dumps(payload)})
    assert slack.post(world.interactivity_url, body, slack.signed_headers(body)).status == 200
    world.emu.wait_idle(timeout=60)
    untouched(world, asked, answers)
    refused = [r for r in world.refusals() if r["approval_id"] == asked.approval_id]
    assert [r["identity"] for r in refused] == ["verified"]
    assert "approval's message" in refused[0]["why"] or "workspace" in refused[0]["why"]


def test_a_member_of_an_approver_group_may_answer(world: ApprovalWorld) -> None:
    slack = world.plane.slack
    asked = world.ask("search")
    assert asked.message is not None
    slack.click(asked.message, "U0ADA", APPROVE, world.interactivity_url)  # not in S0MLONCALL
    world.emu.wait_idle(timeout=60)
    assert world.status(asked.approval_id) == "pending"
    slack.click(asked.message, "U0GRACE", APPROVE, world.interactivity_url)  # a member
    world.emu.wait_idle(timeout=60)
    assert world.status(asked.approval_id) == "approved"
    assert "StartRetraining" in world.emu.execution_states(asked.execution_arn)


# ---------------------------------------------------------------- emailed links


def test_a_get_alone_decides_nothing(world: ApprovalWorld, credit: Asked) -> None:
    answers = len(world.task_answers)
    for action in ("approve", "reject"):
        for _ in range(3):  # a mail scanner, a link preview, a curious human
            status, page = world.get(credit.links[action])
            assert status == 200
            assert "Nothing has been decided yet" in page
    world.emu.wait_idle(timeout=60)
    untouched(world, credit, answers)


def test_a_tampered_link_is_refused(world: ApprovalWorld, credit: Asked) -> None:
    answers, other = len(world.task_answers), world.ask("credit")
    genuine = credit.links["approve"]
    forgeries = [
        genuine.replace(credit.approval_id, other.approval_id),  # another approval's id
        genuine.replace("/approve?", "/reject?"),  # the other action
        genuine.replace("approver=risk-lead", "approver=mallory"),
        genuine.replace("expires=", "expires=9"),
    ]
    for url in forgeries:
        status, page = world.get(url)
        assert status == 403, url
        assert "signature does not match" in page
        parts = urlsplit(url)
        form = {k: v[0] for k, v in parse_qs(parts.query).items()} | {"confirm": "approve"}
        assert world.post_form(url.split("?")[0], form)[0] == 403
    world.emu.wait_idle(timeout=60)
    untouched(world, credit, answers)
    untouched(world, other, answers)
    # Recorded once per approval and reason within the hour, however many forgeries arrive.
    forged = world.refusals("link signature does not match")
    assert sorted(r["approval_id"] for r in forged) == sorted(
        [credit.approval_id, other.approval_id]
    )


def test_an_expired_link_is_refused(world: ApprovalWorld, credit: Asked) -> None:
    """Genuinely signed (with the stack's own key), but past its expiry."""
    answers = len(world.task_answers)
    env = world.plane.stack.functions["ApprovalCallbackFunction"].environment
    secret = world.emu.client("secretsmanager").get_secret_value(
        SecretId=env["APPROVAL_LINK_KEY_SECRET_ARN"]
    )["SecretString"]
    expires = int((datetime.now(UTC) - timedelta(minutes=1)).timestamp())
    approver = "risk-lead@example.com"
    sig = link_signature(secret.encode(), credit.approval_id, Action.APPROVE, approver, expires)
    base = f"{world.emu.http_url('ApprovalCallbackFunctionUrl')}approvals/{credit.approval_id}"
    url = f"{base}/approve?approver={approver}&expires={expires}&sig={sig}"
    status, page = world.get(url)
    assert status == 403
    assert "Link expired" in page
    form = {"approver": approver, "expires": str(expires), "sig": sig, "confirm": "approve"}
    assert world.post_form(f"{base}/approve", form)[0] == 403
    world.emu.wait_idle(timeout=60)
    untouched(world, credit, answers)
    assert [r["approval_id"] for r in world.refusals("link expired")] == [credit.approval_id]


def test_rotating_the_link_key_keeps_links_in_flight_working(
    world: ApprovalWorld, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`mlopscp approvals rotate-link-key` while a link is in someone's inbox: the link still
    opens and decides; --revoke-previous drops the previous version from Secrets Manager."""
    answers = len(world.task_answers)
    asked = world.ask("ranking")
    manager = world.emu.client("secretsmanager")
    arn = world.plane.outputs["ApprovalLinkKeySecretArn"]
    before = manager.get_secret_value(SecretId=arn)["VersionId"]
    with operator_credentials(world, monkeypatch) as stack:
        assert mlopscp(["approvals", "rotate-link-key", *stack]) == 0
    assert manager.get_secret_value(SecretId=arn)["VersionId"] != before
    status, page = world.get(asked.links["approve"])
    assert status == 200, page
    status, done = world.post_form(asked.links["approve"], form_of(page, confirm="approve"))
    assert status == 200, done
    world.emu.wait_idle(timeout=60)
    assert world.status(asked.approval_id) == "approved"
    assert len(world.task_answers) == answers + 1
    fresh = world.ask("ranking")  # asked after the rotation: signed with the new key
    assert world.get(fresh.links["reject"])[0] == 200
    with operator_credentials(world, monkeypatch) as stack:
        assert mlopscp(["approvals", "rotate-link-key", "--revoke-previous", *stack]) == 0
    assert "revoked" in capsys.readouterr().out
    stages = manager.list_secret_version_ids(SecretId=arn)["Versions"]
    assert [v for v in stages if "AWSPREVIOUS" in v.get("VersionStages", [])] == []


def test_a_reused_link_is_refused(world: ApprovalWorld) -> None:
    answers = len(world.task_answers)
    asked = world.ask("ranking")
    status, page = world.get(asked.links["approve"])
    assert status == 200
    form = form_of(page, confirm="approve", reason="looked at the drift")
    status, done = world.post_form(asked.links["approve"], form)
    assert status == 200
    assert "Recorded: approved by ranking-owner@example.com" in done
    world.emu.wait_idle(timeout=60)
    assert world.status(asked.approval_id) == "approved"
    assert len(world.task_answers) == answers + 1
    status, again = world.post_form(asked.links["approve"], form)
    assert status == 409
    assert "the approval is already approved" in again
    world.emu.wait_idle(timeout=60)
    assert len(world.task_answers) == answers + 1, "a reused link must not resolve anything"
    assert world.refusals("already approved")


def test_malformed_requests_get_a_4xx_and_a_record_never_a_502(
    world: ApprovalWorld, credit: Asked
) -> None:
    """Unicode digits, 5,000 digits and a body that is not UTF-8, through the real URL."""
    answers, slack = len(world.task_answers), world.plane.slack
    assert credit.message is not None
    body = slack.interaction_body(credit.message, "U0ADA", APPROVE)
    for stamp in ("\u00b2", "9" * 5000):
        headers = slack.signed_headers(body) | {"X-Slack-Request-Timestamp": stamp}
        assert slack.post(world.interactivity_url, body, headers).status == 401
    genuine = credit.links["approve"]
    for expires in ("\u00b2", "9" * 5000):
        tampered = re.sub(r"expires=\d+", f"expires={quote(expires)}", genuine)
        assert world.get(tampered)[0] == 403
    request = urllib.request.Request(
        genuine.split("?")[0],
        data=b"approver=\xff\xfe&confirm=approve",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        method="POST",
    )
    try:
        urllib.request.urlopen(request, timeout=60)
        status = 200
    except urllib.error.HTTPError as error:
        status = error.code
    assert status == 400
    world.emu.wait_idle(timeout=60)
    untouched(world, credit, answers)
    assert world.refusals("malformed X-Slack-Request-Timestamp")
    assert world.refusals("malformed link")
    assert world.refusals("the body is not valid UTF-8")


# ---------------------------------------------------------------- untrusted text


def test_hostile_monitoring_text_arrives_inert_in_slack_and_email(world: ApprovalWorld) -> None:
    """A label name in the monitoring files carries Slack markup and a forged email line; the
    approval request it ends up in (as triage evidence) must show it as written and inert."""
    model = MODELS["credit"]
    files = model.files()
    hostile = {
        name: body.replace(b'"label0"', json.dumps(HOSTILE).encode())
        for name, body in files.items()
    }
    assert hostile != files, "the history names the label"
    bucket, prefix = model.output_uri.removeprefix("s3://").split("/", 1)
    s3 = world.emu.client("s3")
    for name, body in hostile.items():
        s3.put_object(Bucket=bucket, Key=f"{prefix}/{name}", Body=body)
    try:
        asked = world.ask("credit")
    finally:
        for name, body in files.items():
            s3.put_object(Bucket=bucket, Key=f"{prefix}/{name}", Body=body)
    (posted,) = [
        call.args
        for call in world.plane.slack.api_calls("chat.postMessage")
        if asked.approval_id in json.dumps(call.args)
    ]
    assert "evil.example" in json.dumps(posted), "the hostile text reached Slack"
    assert_slack_inert(posted, allowed_mentions={"<@U0ADA>"})
    (email,) = [e for e in world.emails_read if e["attributes"]["approval_id"] == asked.approval_id]
    lines = email["body"].splitlines()
    last_link = max(i for i, line in enumerate(lines) if "/approvals/" in line)
    hostile_lines = [i for i, line in enumerate(lines) if "evil.example" in line]
    assert hostile_lines, "the hostile text reached the email"
    assert min(hostile_lines) > last_link, "untrusted text must come below the real links"
    assert_email_inert(email["body"])


# ---------------------------------------------------------------- recorded, then delivered


def test_an_emailed_decision_whose_delivery_fails_is_kept_and_delivered_later(
    world: ApprovalWorld,
) -> None:
    """SendTaskSuccess fails after the decision is stored: the approver is told it is
    recorded and on its way, the delivery stays pending, and the sweeper delivers it."""
    asked = world.ask("ranking")
    status, page = world.get(asked.links["approve"])
    with failing_task_answers():
        status, done = world.post_form(asked.links["approve"], form_of(page, confirm="approve"))
        world.emu.wait_idle(timeout=60)
    assert status == 200, done
    assert "Recorded: approved by ranking-owner@example.com" in done
    assert "has not received it yet" in done
    (stored,) = [a for a in world.plane.approvals() if a["approval_id"] == asked.approval_id]
    assert (stored["status"], stored["delivery"]) == ("approved", "pending")
    assert world.waiting(asked), "the workflow still waits: the delivery is pending"
    status, again = world.post_form(asked.links["approve"], form_of(page, confirm="approve"))
    assert status == 409
    assert "already approved" in again
    swept = world.plane.sweep()
    world.emu.wait_idle(timeout=60)
    assert swept["delivered"] == [asked.approval_id]
    (stored,) = [a for a in world.plane.approvals() if a["approval_id"] == asked.approval_id]
    assert (stored["task_result"], stored.get("delivery")) == ("delivered", None)
    assert "StartRetraining" in world.emu.execution_states(asked.execution_arn)


def test_a_slack_decision_whose_delivery_fails_is_shown_pending_then_delivered(
    world: ApprovalWorld,
) -> None:
    slack = world.plane.slack
    asked = world.ask("credit")
    assert asked.message is not None
    with failing_task_answers():
        slack.click(asked.message, "U0ADA", APPROVE, world.interactivity_url)
        world.emu.wait_idle(timeout=60)
    assert world.status(asked.approval_id) == "approved"
    assert world.waiting(asked)
    shown = json.dumps(shown_message(world, asked).blocks)
    assert "Approved by <@U0ADA>" in shown
    assert "not reached the workflow yet" in shown, "everyone in the channel is told"
    world.plane.sweep()
    world.emu.wait_idle(timeout=60)
    assert "not reached the workflow yet" not in json.dumps(shown_message(world, asked).blocks)
    assert "StartRetraining" in world.emu.execution_states(asked.execution_arn)


def test_slacks_retry_after_a_failed_hand_off_is_not_a_replay(world: ApprovalWorld) -> None:
    """The callback could not hand the click to the decider: it answers with an error (Slack
    shows it and retries), and the retry of that same request is processed, not refused."""
    slack = world.plane.slack
    asked = world.ask("credit")
    assert asked.message is not None
    body = slack.interaction_body(asked.message, "U0ADA", APPROVE)
    headers = slack.signed_headers(body)
    decider = world.plane.stack.functions["ApprovalDeciderFunction"].name
    with failing_hand_off(decider):
        assert slack.post(world.interactivity_url, body, headers).status >= 500
    retry = headers | {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_error"}
    assert slack.post(world.interactivity_url, body, retry).status == 200
    world.emu.wait_idle(timeout=60)
    assert world.status(asked.approval_id) == "approved"
    assert not [r for r in world.refusals("replayed") if r["approval_id"] == asked.approval_id]


def shown_message(world: ApprovalWorld, asked: Asked) -> Any:
    assert asked.message is not None
    (message,) = [m for m in world.plane.slack.messages() if m.ts == asked.message.ts]
    return message


# ---------------------------------------------------------------- operators


@contextmanager
def operator_credentials(
    world: ApprovalWorld, monkeypatch: pytest.MonkeyPatch
) -> Iterator[list[str]]:
    """An operator's environment for the CLI (the emulator's credentials); the stack args."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": world.emu.endpoint_url,
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    aws.client.cache_clear()
    try:
        yield ["--stack", "mlopscp-local", "--endpoint-url", world.emu.endpoint_url]
    finally:
        aws.client.cache_clear()


def test_operators_list_and_answer_from_the_cli(
    world: ApprovalWorld, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    asked = world.ask("ranking")
    with operator_credentials(world, monkeypatch) as stack:
        assert mlopscp(["approvals", "list", "--model", "ranking", "--json", *stack]) == 0
        listed = json.loads(capsys.readouterr().out)  # one JSON document, nothing else
        assert asked.approval_id in [a["approval_id"] for a in listed]
        answer = ["approvals", "approve", asked.approval_id, "--reason", "on call", *stack]
        assert mlopscp(answer) == 0
        assert "approved by arn:aws:sts::123456789012:user/moto" in capsys.readouterr().out
        world.emu.wait_idle(timeout=60)
        assert mlopscp(answer) == 1, "a decided approval cannot be answered again"
    (approval,) = [a for a in world.plane.approvals() if a["approval_id"] == asked.approval_id]
    assert (approval["status"], approval["decided_channel"], approval["reason"]) == (
        "approved",
        "cli",
        "on call",
    )
    assert "StartRetraining" in world.emu.execution_states(asked.execution_arn)


# ---------------------------------------------------------------- who decided, and how


def invoke_decider(world: ApprovalWorld, request: dict[str, Any]) -> dict[str, Any]:
    """What anyone with lambda:InvokeFunction on the decider can send it."""
    response = world.emu.client("lambda").invoke(
        FunctionName=world.plane.outputs["ApprovalDeciderFunctionName"],
        Payload=json.dumps(request).encode(),
    )
    return dict(json.loads(response["Payload"].read()))


@pytest.mark.parametrize(
    "claimed",
    [
        {"channel": "slack", "actor": "U0ADA"},
        {"channel": "email", "actor": "risk-lead@example.com"},
        {"channel": "cli", "actor": "arn:aws:iam::123456789012:role/release-manager"},
    ],
    ids=["slack", "email", "cli"],
)
def test_a_direct_invoke_cannot_choose_who_decided_or_how(
    world: ApprovalWorld, claimed: dict[str, str]
) -> None:
    """The decider takes who and how only from proof it checks itself (a Slack signature, a
    link's HMAC, STS's answer for the caller's own signature), never from its input."""
    answers, asked = len(world.task_answers), world.ask("credit")
    request = {"approval_id": asked.approval_id, "outcome": "approved", "attempt_id": "x"}
    result = invoke_decider(world, request | claimed)
    assert result["status"] == "refused"
    world.emu.wait_idle(timeout=60)
    untouched(world, asked, answers)
    refused = [r for r in world.refusals() if r["approval_id"] == asked.approval_id]
    assert refused
    assert all(r["identity"] == "unverified" for r in refused)


def test_a_cli_identity_proof_decides_only_what_it_was_signed_for(
    world: ApprovalWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A proof the operator's credentials signed for one approval, replayed for another (or
    with the other outcome), is refused by STS itself: the decision is in the signature."""
    from mlopscp.commands.approvals import identity_proof
    from mlopscp.stack import StackArgs

    answers = len(world.task_answers)
    one, other = world.ask("ranking"), world.ask("ranking")
    with operator_credentials(world, monkeypatch):
        stack = StackArgs("mlopscp-local", "us-east-1", world.emu.endpoint_url)
        proof = identity_proof(stack, one.approval_id, "approved", "cli:attempt-1")
    base = {"channel": "cli", "reason": "replayed", "attempt_id": "cli:attempt-1"}
    for approval_id, outcome in ((other.approval_id, "approved"), (one.approval_id, "rejected")):
        request = base | {"approval_id": approval_id, "outcome": outcome, "identity": proof}
        result = invoke_decider(world, request)
        assert result["status"] == "refused", result
        assert "SignatureDoesNotMatch" in result["why"]
    world.emu.wait_idle(timeout=60)
    untouched(world, one, answers)
    untouched(world, other, answers)


def test_a_cli_decision_is_recorded_under_the_callers_own_identity(
    world: ApprovalWorld, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Credentials of an assumed role: STS, not the CLI, names who decided."""
    asked = world.ask("ranking")
    sts = world.emu.client("sts")
    role = "arn:aws:iam::123456789012:role/release-manager"
    credentials = sts.assume_role(RoleArn=role, RoleSessionName="ada")["Credentials"]
    with operator_credentials(world, monkeypatch) as stack:
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", credentials["AccessKeyId"])
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", credentials["SecretAccessKey"])
        monkeypatch.setenv("AWS_SESSION_TOKEN", credentials["SessionToken"])
        answer = ["approvals", "reject", asked.approval_id, "--reason", "not yet", *stack]
        assert mlopscp(answer) == 0
    world.emu.wait_idle(timeout=60)
    (approval,) = [a for a in world.plane.approvals() if a["approval_id"] == asked.approval_id]
    assert approval["decided_by"] == "arn:aws:sts::123456789012:assumed-role/release-manager/ada"
    assert approval["decided_channel"] == "cli"


# ---------------------------------------------------------------- the token itself


def test_a_token_ciphertext_only_decrypts_for_its_own_approval(world: ApprovalWorld) -> None:
    first, second = world.ask("credit"), world.ask("credit")
    dynamodb, kms = world.emu.client("dynamodb"), world.emu.client("kms")
    table = world.plane.outputs["ApprovalTableName"]

    def ciphertext(approval_id: str) -> bytes:
        item = dynamodb.get_item(TableName=table, Key={"pk": {"S": f"APPROVAL#{approval_id}"}})
        return bytes(item["Item"]["token"]["B"])

    def context(approval_id: str) -> dict[str, str]:
        return {"approval_id": approval_id, "purpose": "mlopscp-approval-task-token"}

    own = kms.decrypt(
        CiphertextBlob=ciphertext(first.approval_id), EncryptionContext=context(first.approval_id)
    )["Plaintext"].decode()
    assert own in world.tokens()
    with pytest.raises(kms.exceptions.InvalidCiphertextException):
        kms.decrypt(
            CiphertextBlob=ciphertext(first.approval_id),
            EncryptionContext=context(second.approval_id),
        )


def test_the_task_token_never_leaves_the_approval_item(world: ApprovalWorld) -> None:
    """Runs last: every token of every approval above, looked for everywhere it could leak."""
    tokens = world.tokens()
    assert len(tokens) >= 8, "the tests above asked for approvals"
    world.emails()
    logs = world.emu.client("logs")
    cloudwatch = [
        event["message"]
        for group in logs.describe_log_groups()["logGroups"]
        for stream in logs.describe_log_streams(logGroupName=group["logGroupName"])["logStreams"]
        for event in logs.get_log_events(
            logGroupName=group["logGroupName"], logStreamName=stream["logStreamName"]
        )["events"]
    ]
    approvals = [{k: v for k, v in a.items() if k != "token"} for a in world.plane.approvals()]
    slack = world.plane.slack
    places = {
        "handler logs": "\n".join(
            line for fn in world.plane.stack.functions for line in world.emu.logs(fn)
        ),
        "CloudWatch Logs": "\n".join(cloudwatch),
        "Slack API calls": json.dumps([(c.method, c.args, c.response) for c in slack.calls]),
        "Slack ephemeral notes": json.dumps(slack.ephemeral),
        "SNS emails": json.dumps(world.emails_read),
        "links and pages": "\n".join(world.http_bodies),
        "ledger": json.dumps([world.plane.ledger(m) for m in ("credit", "ranking", "search")]),
        "approval items (but the ciphertext)": json.dumps(approvals, default=str),
    }
    assert all(places.values()), "every place holds something to look through"
    leaks = [
        f"{where}: {token[:6]}..."
        for token in tokens
        for where, text in places.items()
        for form in (token, base64.b64encode(token.encode()).decode())
        if form in text
    ]
    assert not leaks
