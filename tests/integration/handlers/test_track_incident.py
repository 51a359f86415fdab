"""track_incident and notify as the drift response runs them, on moto with the Slack stand-in:
one incident and one page per problem, edits and thread replies with the bot, the webhook for
pages and resolutions without it."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import pytest
from mlops_runtime.store import Ledger
from mlopscp.slack_standin import SlackStandIn

from tests.aws_fixtures import LambdaContext, load_handler
from tests.integration.handlers.conftest import put_model

pytestmark = pytest.mark.integration
TOKEN = "xoxb-test-incidents"
ZIP = {"kind": "integrity_violation", "subject": "zip_code", "summary": "type"}
AGE = {"kind": "sudden_drift", "subject": "age", "summary": "jump"}


@pytest.fixture
def world(cloud, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """SNS pages land in an SQS inbox; the Slack stand-in holds the bot's messages."""
    sqs, sns = boto3.client("sqs"), boto3.client("sns")
    topic = sns.create_topic(Name="notifications")["TopicArn"]
    inbox = sqs.create_queue(QueueName="inbox")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])["Attributes"]
    sns.subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=arn["QueueArn"],
        Attributes={"RawMessageDelivery": "true"},
    )
    slack = SlackStandIn(TOKEN, "signing").start()
    secret = boto3.client("secretsmanager").create_secret(Name="bot", SecretString=TOKEN)["ARN"]
    monkeypatch.setenv("NOTIFICATION_TOPIC_ARN", topic)
    monkeypatch.setenv("SLACK_WEBHOOK_SECRET_ARN", "")
    monkeypatch.setenv("SLACK_BOT_TOKEN_SECRET_ARN", secret)
    monkeypatch.setenv("SLACK_API_URL", slack.api_url)
    put_model(incidents={"slack_channel": "C0INCIDENTS", "resolve_after": 3})
    yield {"inbox": inbox, "slack": slack}
    slack.stop()


def pages(inbox: str) -> list[dict[str, Any]]:
    found = []
    while True:
        batch = boto3.client("sqs").receive_message(
            QueueUrl=inbox, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
        )
        if not batch.get("Messages"):
            return found
        for message in batch["Messages"]:
            found.append(
                {
                    "body": message["Body"],
                    "kind": message["MessageAttributes"]["kind"]["StringValue"],
                }
            )
            boto3.client("sqs").delete_message(
                QueueUrl=inbox, ReceiptHandle=message["ReceiptHandle"]
            )


def run(key: str, decision: str = "investigate", findings: list | None = None) -> dict[str, Any]:
    return {
        "model_id": "churn",
        "run_id": f"run-{key}",
        "decision": decision,
        "summary": {
            "signal_key": key,
            "reasons": ["zip_code: data type check failed"] if decision == "investigate" else [],
            "findings": ([ZIP] if findings is None else findings)
            if decision == "investigate"
            else [],
            "latest": {"churn-dq": f"2026-11-29T{key}"},
        },
        "report_uri": f"s3://artifacts/triage/churn/run-{key}.json",
    }


def respond(triage: dict[str, Any]) -> dict[str, Any]:
    """What the drift response does with one run: track it, then send its notices."""
    tracked: dict[str, Any] = load_handler("track_incident").handler(triage, LambdaContext())
    if tracked["notify"]:
        load_handler("notify").handler(
            {
                "kind": "incident",
                "model_id": triage["model_id"],
                "incident_id": tracked["incident_id"],
                "notices": tracked["notices"],
            },
            LambdaContext(),
        )
    return tracked


def notifications() -> list[dict[str, Any]]:
    return [e for e in Ledger("ledger").entries("churn") if e["action"] == "notification_sent"]


def incident_actions(incident: str) -> list[str]:
    return sorted(e["action"] for e in Ledger("ledger").about(incident))


def test_a_persistent_problem_pages_once_then_edits_and_resolves_in_its_thread(world) -> None:
    slack: SlackStandIn = world["slack"]
    first = respond(run("00"))
    assert (first["transition"], first["route"]) == ("opened", "done")
    incident = first["incident_id"]
    for hour in range(1, 6):
        later = respond(run(f"{hour:02d}"))
        assert (later["incident_id"], later["transition"]) == (incident, "updated")

    (page,) = pages(world["inbox"])
    assert page["kind"] == "investigate"
    assert "[investigate] churn: monitoring shows a data problem" in page["body"]
    (message,) = slack.messages("C0INCIDENTS")
    assert len(slack.api_calls("chat.postMessage")) == 1
    assert len(slack.api_calls("chat.update")) == 5, "each update edits the incident's message"
    shown = json.dumps(message.blocks)
    assert "6 showing the problem, 5 updates" in shown
    assert slack.replies(message) == []
    assert incident_actions(incident) == ["incident_opened"] + ["incident_updated"] * 5
    (opened,) = [e for e in Ledger("ledger").about(incident) if e["action"] == "incident_opened"]
    assert opened["evidence"]["triage"]["findings"] == [ZIP], "the run's evidence is kept"
    assert opened["evidence"]["fingerprint"] == ["integrity_violation:zip_code"]
    assert len(notifications()) == 1

    # The same run delivered again: nothing at all.
    again = respond(run("05"))
    assert (again["transition"], again["notify"], again["route"]) == ("duplicate", False, "done")
    assert len(slack.api_calls("chat.update")) == 5

    clean = [respond(run(f"c{i}", "watch")) for i in range(3)]
    assert [c["transition"] for c in clean] == ["clean", "clean", "resolved"]
    assert [c["route"] for c in clean] == ["watch"] * 3
    (resolution,) = pages(world["inbox"])
    assert resolution["kind"] == "investigate_resolved"
    assert "3 consecutive clean runs" in resolution["body"]
    (reply,) = slack.replies(message)
    assert "resolved" in reply.text
    resolved_call = slack.api_calls("chat.postMessage")[-1]
    assert not resolved_call.args.get("reply_broadcast")
    (message,) = slack.messages("C0INCIDENTS")
    assert "resolved" in json.dumps(message.blocks)
    assert incident_actions(incident).count("incident_resolved") == 1

    # Back within the window: the same incident reopens, one page, broadcast from its thread.
    back = respond(run("10"))
    assert (back["incident_id"], back["transition"]) == (incident, "reopened")
    (reopened,) = pages(world["inbox"])
    assert reopened["kind"] == "investigate_reopened"
    assert len(slack.messages("C0INCIDENTS")) == 1, "no second incident message"
    broadcast = slack.api_calls("chat.postMessage")[-1]
    assert broadcast.args.get("reply_broadcast") in (True, "true", "1")
    assert incident_actions(incident).count("incident_reopened") == 1


def test_a_worse_problem_escalates_the_same_incident_with_one_more_page(world) -> None:
    slack: SlackStandIn = world["slack"]
    incident = respond(run("00", findings=[AGE]))["incident_id"]
    worse = respond(run("01", findings=[AGE, ZIP]))
    assert (worse["incident_id"], worse["transition"]) == (incident, "escalated")
    assert [p["kind"] for p in pages(world["inbox"])] == ["investigate", "investigate_escalated"]
    (message,) = slack.messages("C0INCIDENTS")
    (reply,) = slack.replies(message)
    assert "worse" in reply.text
    assert "integrity_violation:zip_code" in json.dumps(reply.blocks)


def test_retrain_decisions_while_the_retrain_runs_are_attached_not_decided_again(world) -> None:
    opened = respond(run("00", "retrain"))
    assert (opened["transition"], opened["route"]) == ("opened", "retrain")
    attached = [respond(run(f"{h:02d}", "retrain")) for h in range(1, 4)]
    assert {(a["incident_id"], a["transition"], a["route"]) for a in attached} == {
        (opened["incident_id"], "attached", "done")
    }
    assert pages(world["inbox"]) == []
    assert incident_actions(opened["incident_id"]) == ["incident_opened"] + ["incident_updated"] * 3
    ended = load_handler("track_incident").handler(
        {
            "end_retrain": {
                "incident_id": opened["incident_id"],
                "retrain": {"status": "skipped", "reason": "cooldown: the last retrain started"},
            }
        },
        LambdaContext(),
    )
    assert ended == {"incident_id": opened["incident_id"], "ended": True}
    (resolved,) = [
        e
        for e in Ledger("ledger").about(opened["incident_id"])
        if e["action"] == "incident_resolved"
    ]
    assert resolved["summary"] == "retrain not started: cooldown: the last retrain started"
    assert respond(run("05", "retrain"))["transition"] == "opened"


class _Webhook(BaseHTTPRequestHandler):
    posts: list[dict[str, Any]] = []

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        self.posts.append(json.loads(self.rfile.read(length)))
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: Any) -> None:
        pass


def test_without_the_bot_pages_and_resolutions_go_to_the_webhook_only(
    world, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Webhook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Webhook.posts = []
    url = f"http://127.0.0.1:{server.server_port}/services/T/B/x"
    secret = boto3.client("secretsmanager").create_secret(Name="hook", SecretString=url)["ARN"]
    monkeypatch.setenv("SLACK_BOT_TOKEN_SECRET_ARN", "")
    monkeypatch.setenv("SLACK_WEBHOOK_SECRET_ARN", secret)
    try:
        for key in ("00", "01", "02"):
            respond(run(key))
        for key in ("c0", "c1", "c2"):
            respond(run(key, "watch"))
    finally:
        server.shutdown()
    titles = [post["text"] for post in _Webhook.posts]
    assert len(titles) == 2
    assert titles[0].startswith("[investigate] churn")
    assert titles[1].startswith("[resolved] churn")
    assert world["slack"].calls == []
    assert [p["kind"] for p in pages(world["inbox"])] == ["investigate", "investigate_resolved"]
