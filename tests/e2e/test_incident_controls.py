"""People saying "seen", on the whole stack in the emulator: an incident's Slack buttons through
the public door (requests sent exactly as Slack sends them, to the stack's Function URL on
loopback), and `mlopscp incidents` as an operator, under the identity STS confirms.

One incident of one model, in order: guarded clicks change nothing; an allowed user's ack is
recorded with their Slack id and stops re-pages; a group member snoozes; operators list,
acknowledge, refuse an over-long snooze and resolve it; then nothing more takes.
"""

from __future__ import annotations

import json
import secrets
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from mlops_runtime import aws
from mlops_runtime.model_config import ModelConfig
from mlops_runtime.store import from_attributes
from mlopscp.cli import main as mlopscp
from mlopscp.slack_standin import Message, SlackStandIn
from mlopscp_emulator import Emulator, Stack

from tests.integration.templates.test_incident_lifecycle import BUCKET, CHANNEL, Model, pages
from tests.untrusted_text import HOSTILE, assert_slack_inert

pytestmark = pytest.mark.e2e
STACK = "incident-controls"
USERS = {"U0ADA": "ada", "U0GRACE": "grace", "U0MALLORY": "mallory"}
ACK, SNOOZE_4H = "incident.acknowledge", "incident.snooze_4h"
OPERATOR = "arn:aws:iam::123456789012:role/ml-on-call"
ROOT = Path(__file__).resolve().parents[2]


@dataclass
class World:
    emu: Emulator
    stack: Stack
    slack: SlackStandIn
    inbox: str
    model: Model
    broken: Path

    @property
    def interactivity_url(self) -> str:
        return self.emu.http_url("ApprovalCallbackFunctionUrl", STACK) + "slack/interactions"

    def incident(self) -> dict[str, Any]:
        items = self.emu.client("dynamodb").scan(
            TableName=self.stack.outputs["StateTableName"],
            FilterExpression="sk = :s AND model_id = :m",
            ExpressionAttributeValues={":s": {"S": "INCIDENT"}, ":m": {"S": "payments"}},
        )["Items"]
        (item,) = items
        return from_attributes(item)

    def message(self) -> Message:
        (message,) = self.slack.messages(CHANNEL)
        return message

    def entries(self, action: str) -> list[dict[str, Any]]:
        found = [e for e in self.model.ledger() if e["action"] == action]
        return [e | {"evidence": json.loads(e["evidence"])} for e in found]

    def decider_runs(self) -> int:
        return len(self.emu.trace.invocations(self.stack.functions["ApprovalDeciderFunction"].name))


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    token, signing = f"xoxb-controls-{secrets.token_hex(8)}", secrets.token_hex(16)
    slack = SlackStandIn(token, signing, USERS, {"S0MLONCALL": ["U0GRACE"]}).start()
    with Emulator() as emu:
        manager = emu.client("secretsmanager")
        parameters = {
            "Stage": "controls",
            "MonitoringBucketPattern": BUCKET,
            "SlackBotTokenSecretArn": manager.create_secret(Name="bot", SecretString=token)["ARN"],
            "SlackSigningSecretArn": manager.create_secret(Name="signing", SecretString=signing)[
                "ARN"
            ],
            "SlackApiUrl": slack.api_url,
        }
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # resources the emulator cannot honour
            stack = emu.deploy(ROOT / "template.yaml", stack_name=STACK, parameters=parameters)
        emu.client("s3").create_bucket(Bucket=BUCKET)
        sqs, sns = emu.client("sqs"), emu.client("sns")
        inbox = sqs.create_queue(QueueName="controls-inbox")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])
        sns.subscribe(
            TopicArn=stack.outputs["NotificationTopicArn"],
            Protocol="sqs",
            Endpoint=arn["Attributes"]["QueueArn"],
            Attributes={"RawMessageDelivery": "true"},
        )
        model = Model(emu, stack, "payments", "case-009")
        # Its owners: a name for messages, Ada, and the on-call group (Grace).
        config = ModelConfig.model_validate(
            {
                "model_id": "payments",
                "endpoint_name": "payments-prod",
                "monitoring_output_uri": f"s3://{BUCKET}/{model.root}",
                "owners": ["@payments-ml", "U0ADA", "S0MLONCALL"],
                "incidents": {"slack_channel": CHANNEL},
            }
        )
        emu.client("dynamodb").put_item(
            TableName=stack.outputs["ModelConfigTableName"],
            Item={"id": {"S": "model#payments"}, "value": {"S": config.model_dump_json()}},
        )
        yield World(emu, stack, slack, inbox, model, model.reports[-1])
    slack.stop()


@contextmanager
def operator(world: World, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """An on-call engineer's shell: an assumed role's credentials; the stack arguments."""
    sts = world.emu.client("sts")
    credentials = sts.assume_role(RoleArn=OPERATOR, RoleSessionName="lin")["Credentials"]
    for name, value in {
        "AWS_ACCESS_KEY_ID": credentials["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": credentials["SecretAccessKey"],
        "AWS_SESSION_TOKEN": credentials["SessionToken"],
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": world.emu.endpoint_url,
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    aws.client.cache_clear()
    try:
        yield ["--stack", STACK, "--endpoint-url", world.emu.endpoint_url]
    finally:
        aws.client.cache_clear()


def click(world: World, user: str, action_id: str, where: Message | None = None) -> int:
    answer = world.slack.click(where or world.message(), user, action_id, world.interactivity_url)
    world.emu.wait_idle(timeout=120)
    return answer.status


def buttons(message: Message) -> list[str]:
    return [
        element["action_id"]
        for block in message.blocks
        if block.get("type") == "actions"
        for element in block["elements"]
    ]


# ---------------------------------------------------------------- Slack


def test_the_incident_message_carries_acknowledge_and_snooze_buttons(world: World) -> None:
    world.model.run(world.broken)
    (page,) = pages(world.emu, world.inbox)
    assert page["kind"] == "investigate"
    incident = world.incident()
    message = world.message()
    assert buttons(message) == [ACK, SNOOZE_4H, "incident.snooze_24h"]
    values = {(message.button(action) or {}).get("value") for action in buttons(message)}
    assert values == {incident["incident_id"]}
    assert incident["slack"] == {"channel": CHANNEL, "ts": message.ts}


def test_incident_buttons_are_guarded_like_approval_buttons(world: World) -> None:
    """A forged request never reaches the decider; a genuine click from another message, by
    someone who may not, or replayed, reaches it and changes nothing. Each refusal is recorded
    once, whoever sends it how often."""
    before, deciders = world.incident(), world.decider_runs()
    slack, message = world.slack, world.message()
    body = slack.interaction_body(message, "U0ADA", ACK)
    for _ in range(3):
        forged = slack.signed_headers(body, secret="0123456789abcdef0123456789abcdef")
        assert slack.post(world.interactivity_url, body, forged).status == 401
    world.emu.wait_idle(timeout=60)
    assert world.decider_runs() == deciders, "a forged request never reaches the decider"
    elsewhere = Message("C0ELSEWHERE", message.ts, message.text, message.blocks)
    assert click(world, "U0ADA", ACK, elsewhere) == 200
    assert click(world, "U0MALLORY", ACK) == 200
    genuine = slack.interaction_body(message, "U0MALLORY", SNOOZE_4H)
    headers = slack.signed_headers(genuine)
    for _ in range(2):
        assert slack.post(world.interactivity_url, genuine, headers).status == 200
        world.emu.wait_idle(timeout=60)

    assert world.incident() == before
    assert before["status"] == "OPEN"
    refused = {
        (r["evidence"]["why"], r["evidence"]["identity"])
        for r in world.entries("incident_rejected_request")
    }
    assert refused == {
        ("signature does not match (forged or altered request)", "unverified"),
        ("the click did not come from the incident's message", "verified"),
        ("Slack user U0MALLORY may not acknowledge payments's incidents", "verified"),
        ("replayed: this interaction was already received", "unverified"),
    }
    assert len(world.entries("incident_rejected_request")) == 4, "each recorded once"
    told = [e["text"] for e in slack.ephemeral if e["user"] == "U0MALLORY"]
    assert (
        told == ["Not recorded: Slack user U0MALLORY may not acknowledge payments's incidents."] * 2
    )


def test_an_allowed_users_ack_is_recorded_with_their_id_and_stops_re_pages(world: World) -> None:
    assert click(world, "U0ADA", ACK) == 200
    incident = world.incident()
    assert (incident["status"], incident["acknowledged_by"]) == ("ACKNOWLEDGED", "U0ADA")
    (acked,) = world.entries("incident_acknowledged")
    assert (acked["actor"], acked["subject"]) == ("U0ADA", incident["incident_id"])
    assert acked["evidence"]["channel"] == "slack"
    shown = json.dumps(world.message().blocks)
    assert "Acknowledged by <@U0ADA> at" in shown
    assert buttons(world.message()) == [SNOOZE_4H, "incident.snooze_24h"]

    posts = len(world.slack.api_calls("chat.postMessage"))
    for _ in range(2):
        world.model.run(world.broken)  # the same problem, two more monitoring runs
    assert pages(world.emu, world.inbox) == [], "acknowledged: no page"
    assert len(world.slack.api_calls("chat.postMessage")) == posts, "no thread reply either"
    assert len(world.entries("incident_updated")) == 2, "the runs are still recorded"
    assert "Acknowledged by <@U0ADA> at" in json.dumps(world.message().blocks), (
        "the runs' edits keep who acknowledged"
    )


def test_a_member_of_the_owner_group_snoozes_and_the_message_says_until_when(
    world: World,
) -> None:
    assert click(world, "U0GRACE", SNOOZE_4H) == 200
    incident = world.incident()
    until = datetime.fromisoformat(incident["snoozed_until"])
    assert (incident["status"], incident["snoozed_by"]) == ("SNOOZED", "U0GRACE")
    assert timedelta(hours=3, minutes=55) < until - datetime.now(UTC) <= timedelta(hours=4)
    line = f":zzz: Snoozed by <@U0GRACE> until {until:%Y-%m-%d %H:%M} UTC."
    assert line in json.dumps(world.message().blocks)
    (snoozed,) = world.entries("incident_snoozed")
    assert snoozed["actor"] == "U0GRACE"


# ---------------------------------------------------------------- the CLI


def test_operators_list_ack_and_resolve_under_their_own_identity(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    incident_id = world.incident()["incident_id"]
    who = "arn:aws:sts::123456789012:assumed-role/ml-on-call/lin"
    with operator(world, monkeypatch) as stack:
        assert mlopscp(["incidents", "list", "--model", "payments", "--json", *stack]) == 0
        (listed,) = json.loads(capsys.readouterr().out)  # one JSON document, nothing else
        assert (listed["incident_id"], listed["status"]) == (incident_id, "SNOOZED")

        assert mlopscp(["incidents", "snooze", incident_id, "--hours", "1000", *stack]) == 1
        assert "at most 168 h" in capsys.readouterr().err
        assert world.incident()["status"] == "SNOOZED"

        assert mlopscp(["incidents", "ack", incident_id, *stack]) == 0
        assert "acknowledged by" in capsys.readouterr().out
        incident = world.incident()
        assert (incident["status"], incident["acknowledged_by"]) == ("ACKNOWLEDGED", who)
        cli_ack = [e for e in world.entries("incident_acknowledged") if e["actor"] == who]
        assert [e["evidence"]["channel"] for e in cli_ack] == ["cli"]

        reason = f"upstream fixed the column {HOSTILE}"
        assert mlopscp(["incidents", "resolve", incident_id, "--reason", reason, *stack]) == 0
        incident = world.incident()
        assert (incident["status"], incident["resolved_by"]) == ("RESOLVED", who)
        assert incident["resolved_reason"] == reason[:500].strip()
        (resolved,) = world.entries("incident_resolved")
        assert (resolved["actor"], resolved["evidence"]["channel"]) == (who, "cli")
        assert buttons(world.message()) == [], "a resolved incident offers no buttons"
        assert_slack_inert(world.message().as_slack(), {"<@U0ADA>", "<@U0GRACE>"})

        capsys.readouterr()
        assert mlopscp(["incidents", "ack", incident_id, *stack]) == 1
        assert "it is resolved" in capsys.readouterr().err
        assert mlopscp(["incidents", "list", "--model", "payments", *stack]) == 0
        assert capsys.readouterr().out.strip() == "no open incidents of payments"
        assert mlopscp(["incidents", "list", "--model", "payments", "--all", "--json", *stack]) == 0
        assert [i["status"] for i in json.loads(capsys.readouterr().out)] == ["RESOLVED"]


def test_a_click_on_a_resolved_incident_is_answered_and_changes_nothing(world: World) -> None:
    before, notes = world.incident(), len(world.slack.ephemeral)
    stale = SlackStandIn.as_first_posted(world.message())  # a client that has not refreshed
    assert click(world, "U0ADA", ACK, stale) == 200
    assert world.incident() == before
    told = [(e["user"], e["text"]) for e in world.slack.ephemeral[notes:]]
    why = f"cannot acknowledge {before['incident_id']}: it is resolved"
    assert told == [("U0ADA", f"Not recorded: {why}.")]


def test_a_direct_invoke_of_the_decider_cannot_name_who_acknowledged(world: World) -> None:
    before = world.incident()
    request = {
        "channel": "cli",
        "incident_id": before["incident_id"],
        "control": "acknowledge",
        "actor": "U0ADA",
        "attempt_id": "cli:forged-attempt",
    }
    response = world.emu.client("lambda").invoke(
        FunctionName=world.stack.outputs["ApprovalDeciderFunctionName"],
        Payload=json.dumps(request).encode(),
    )
    answer = json.loads(response["Payload"].read())
    assert answer["status"] == "refused"
    assert world.incident() == before
