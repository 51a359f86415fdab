"""One incident per problem, on the emulator: the real template, handlers and drift response
state machine, Evidently reports in emulated S3 (a new report per monitoring run), the Model
Drift Signal a monitor puts after each, SNS read back through an SQS subscription and the Slack
stand-in as the bot's workspace.

Deployed as a stack of its own in the session's emulator.
"""

from __future__ import annotations

import json
import secrets
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mlops_runtime.model_config import ModelConfig
from mlopscp.pipelines import load_definition, upload_code, upsert_pipeline
from mlopscp.slack_standin import SlackStandIn
from mlopscp.worlds.common import envelope
from mlopscp_emulator import Emulator, Stack

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]
CASES = ROOT / "examples" / "triage-cases" / "evidently-dev"
BUCKET = "incident-reports-123456789012"
ROLE = "arn:aws:iam::123456789012:role/mlopscp-sagemaker-execution"
STACK = "incident-loop"
CHANNEL = "C0INCIDENTS"


@pytest.fixture(scope="module")
def world(emulator: Emulator) -> Iterator[dict[str, Any]]:
    token = f"xoxb-incidents-{secrets.token_hex(8)}"
    slack = SlackStandIn(token, secrets.token_hex(16)).start()
    manager = emulator.client("secretsmanager")
    bot = manager.create_secret(Name=f"{STACK}/slack-bot", SecretString=token)["ARN"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # resources the emulator cannot honour, listed once
        stack = emulator.deploy(
            ROOT / "template.yaml",
            stack_name=STACK,
            parameters={
                "Stage": "incidents",
                "MonitoringBucketPattern": BUCKET,
                "SlackBotTokenSecretArn": bot,
                "SlackApiUrl": slack.api_url,
            },
        )
    emulator.client("s3").create_bucket(Bucket=BUCKET)
    sqs, sns = emulator.client("sqs"), emulator.client("sns")
    inbox = sqs.create_queue(QueueName=f"{STACK}-inbox")["QueueUrl"]
    inbox_arn = sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])
    sns.subscribe(
        TopicArn=stack.outputs["NotificationTopicArn"],
        Protocol="sqs",
        Endpoint=inbox_arn["Attributes"]["QueueArn"],
        Attributes={"RawMessageDelivery": "true"},
    )
    yield {"stack": stack, "slack": slack, "inbox": inbox}
    slack.stop()


class Model:
    """One model whose Evidently stream gets a report per monitoring run."""

    def __init__(self, emulator: Emulator, stack: Stack, model_id: str, case: str) -> None:
        self.emu, self.stack, self.model_id = emulator, stack, model_id
        self.case = CASES / case
        self.root = f"monitoring/{model_id}"
        self.reports = sorted(self.case.rglob("report.json"))
        s3 = emulator.client("s3")
        for path in self.reports:
            key = f"{self.root}/{path.relative_to(self.case)}"
            s3.put_object(Bucket=BUCKET, Key=key, Body=path.read_bytes())
        self.hour = 0
        pipeline = f"{model_id}-retrain"
        code = upload_code(s3, f"s3://{BUCKET}/retrain/{model_id}/code")
        upsert_pipeline(
            emulator.client("sagemaker"),
            pipeline,
            ROLE,
            load_definition(),
            {"CodePrefix": code, "ModelPackageGroupName": model_id},
        )
        config = ModelConfig.model_validate(
            {
                "model_id": model_id,
                "endpoint_name": f"{model_id}-prod",
                "monitoring_output_uri": f"s3://{BUCKET}/{self.root}",
                "retrain": {"pipeline_name": pipeline, "cooldown_hours": 24},
                "incidents": {"resolve_after": 3, "slack_channel": CHANNEL},
            }
        )
        emulator.client("dynamodb").put_item(
            TableName=stack.outputs["ModelConfigTableName"],
            Item={"id": {"S": f"model#{model_id}"}, "value": {"S": config.model_dump_json()}},
        )

    def run(self, like: Path, redeliver: bool = False) -> None:
        """One more monitoring run: a report like ``like`` at the next day, then its signal."""
        self.hour += 1
        key = f"{self.root}/2027/01/{self.hour:02d}/00/report.json"
        self.emu.client("s3").put_object(Bucket=BUCKET, Key=key, Body=like.read_bytes())
        event = json.loads((ROOT / "events" / "drift-signal.json").read_text())
        event["id"] = str(uuid.uuid4())
        event["detail"] |= {
            "model_id": self.model_id,
            "monitoring_output_uri": f"s3://{BUCKET}/{key}",
        }
        assert self.emu.put_event(event), "a rule of the template matches the Model Drift Signal"
        self.emu.wait_idle(timeout=180)
        if redeliver:
            self.emu.redeliver(event)  # EventBridge delivers at least once
            self.emu.wait_idle(timeout=180)

    def ledger(self) -> list[dict[str, Any]]:
        items = self.emu.client("dynamodb").query(
            TableName=self.stack.outputs["LedgerTableName"],
            IndexName="by-time",
            KeyConditionExpression="model_id = :m",
            ExpressionAttributeValues={":m": {"S": self.model_id}},
        )["Items"]
        return [{k: next(iter(v.values())) for k, v in item.items()} for item in items]

    def actions(self, subject_prefix: str = "inc-") -> list[str]:
        return sorted(
            e["action"] for e in self.ledger() if str(e["subject"]).startswith(subject_prefix)
        )


def pages(emulator: Emulator, inbox: str) -> list[dict[str, Any]]:
    sqs, found = emulator.client("sqs"), []
    while batch := sqs.receive_message(
        QueueUrl=inbox, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
    ).get("Messages"):
        for message in batch:
            attributes = message.get("MessageAttributes", {})
            found.append({"body": message["Body"], "kind": attributes["kind"]["StringValue"]})
            sqs.delete_message(QueueUrl=inbox, ReceiptHandle=message["ReceiptHandle"])
    return found


def test_a_persistent_problem_is_one_incident_one_page_then_resolved_and_reopened(
    emulator: Emulator, world: dict[str, Any]
) -> None:
    slack: SlackStandIn = world["slack"]
    model = Model(emulator, world["stack"], "fraud-inc", "case-009")
    broken, clean = model.reports[-1], model.reports[0]  # a dropped column; before it
    for index in range(4):
        model.run(broken, redeliver=index == 1)

    (page,) = pages(emulator, world["inbox"])
    assert page["kind"] == "investigate"
    assert "missing_column_check on 'tenure'" in page["body"]
    (message,) = slack.messages(CHANNEL)
    assert len(slack.api_calls("chat.postMessage")) == 1
    assert len(slack.api_calls("chat.update")) == 3, "each later run edits the message"
    assert "4 showing the problem, 3 updates" in json.dumps(message.blocks)
    actions = model.actions()
    assert actions.count("incident_opened") == 1
    assert actions.count("incident_updated") == 3, "the redelivered run changed nothing"
    assert "retrain_started" not in actions

    for _ in range(3):
        model.run(clean)
    (resolution,) = pages(emulator, world["inbox"])
    assert resolution["kind"] == "investigate_resolved"
    (reply,) = slack.replies(message)
    assert reply.text.startswith("[resolved] fraud-inc")
    assert model.actions().count("incident_resolved") == 1
    assert model.actions("inc-").count("incident_opened") == 1

    model.run(broken)  # back within reopen_within_hours
    (reopened,) = pages(emulator, world["inbox"])
    assert reopened["kind"] == "investigate_reopened"
    assert len(slack.messages(CHANNEL)) == 1, "the same incident, the same message"
    assert slack.api_calls("chat.postMessage")[-1].args.get("reply_broadcast") in (True, "true")
    assert model.actions().count("incident_reopened") == 1
    assert model.actions().count("incident_opened") == 1


def test_a_retrain_decision_repeated_while_the_pipeline_runs_is_one_retrain(
    emulator: Emulator, world: dict[str, Any]
) -> None:
    model = Model(emulator, world["stack"], "churn-inc", "case-004")
    drifting = model.reports[-1]
    for _ in range(3):
        model.run(drifting)
    sagemaker = emulator.client("sagemaker")
    (execution,) = sagemaker.list_pipeline_executions(PipelineName="churn-inc-retrain")[
        "PipelineExecutionSummaries"
    ]
    (started,) = [e for e in model.ledger() if e["action"] == "retrain_started"]
    incident = started["subject"]
    about = sorted(e["action"] for e in model.ledger() if e["subject"] == incident)
    assert about == ["incident_opened", "incident_updated", "incident_updated", "retrain_started"]
    assert pages(emulator, world["inbox"]) == [], "a retrain is not a page"

    # The pipeline ends: so does its incident. A drift that keeps going within the cooldown
    # joins that ended incident (no new incident, no new retrain decision, run after run).
    arn = execution["PipelineExecutionArn"]
    described = sagemaker.describe_pipeline_execution(PipelineExecutionArn=arn)
    detail = {
        "pipelineArn": described["PipelineArn"],
        "pipelineExecutionArn": arn,
        "currentPipelineExecutionStatus": "Succeeded",
        "previousPipelineExecutionStatus": "Executing",
    }
    emulator.put_event(
        envelope(
            "aws.sagemaker",
            "SageMaker Model Building Pipeline Execution Status Change",
            detail,
            [described["PipelineArn"], arn],
        )
    )
    emulator.wait_idle(timeout=180)
    resolved = [e for e in model.ledger() if e["action"] == "incident_resolved"]
    assert [(e["subject"], e["summary"]) for e in resolved] == [
        (incident, "retraining pipeline succeeded")
    ]
    for _ in range(2):
        model.run(model.reports[-1])
    assert [e["subject"] for e in model.ledger() if e["action"] == "incident_opened"] == [incident]
    assert not [e for e in model.ledger() if e["action"] == "retrain_skipped"]
    late = [
        e
        for e in model.ledger()
        if e["action"] == "incident_updated" and "none can start yet" in e["summary"]
    ]
    assert [e["subject"] for e in late] == [incident, incident]
    assert "cooldown" in late[0]["summary"]
    assert (
        len(
            sagemaker.list_pipeline_executions(PipelineName="churn-inc-retrain")[
                "PipelineExecutionSummaries"
            ]
        )
        == 1
    )


def test_a_start_refused_for_the_account_limit_waits_and_starts_once(
    emulator: Emulator, world: dict[str, Any]
) -> None:
    """20 concurrent pipeline executions per account: the starts over it are refused with
    ResourceLimitExceeded; the drift response waits (jittered) and the retried start begins
    one execution for the incident, with no page and the incident still open."""
    model = Model(emulator, world["stack"], "limit-inc", "case-004")
    refused = emulator.faults.inject("sagemaker:StartPipelineExecution", "limit_exceeded", times=3)
    try:
        for _ in range(3):
            model.run(model.reports[-1])
    finally:
        emulator.faults.clear()
    assert refused.hits == 3
    sagemaker = emulator.client("sagemaker")
    executions = sagemaker.list_pipeline_executions(PipelineName="limit-inc-retrain")
    assert len(executions["PipelineExecutionSummaries"]) == 1
    actions = model.actions()
    assert actions.count("retrain_started") == 1
    assert "incident_resolved" not in actions, "the retrain runs: its incident stays open"
    assert pages(emulator, world["inbox"]) == [], "a wait for capacity is not a page"


def test_a_limit_that_never_lifts_pages_with_the_reason_after_a_bounded_wait(
    emulator: Emulator, world: dict[str, Any]
) -> None:
    model = Model(emulator, world["stack"], "full-inc", "case-004")
    refused = emulator.faults.inject(
        "sagemaker:StartPipelineExecution", "limit_exceeded", times=None
    )
    try:
        model.run(model.reports[-1])
    finally:
        emulator.faults.clear()
    assert refused.hits == 12, "the first start and the capacity retrier's 11 attempts"
    sagemaker = emulator.client("sagemaker")
    executions = sagemaker.list_pipeline_executions(PipelineName="full-inc-retrain")
    assert executions["PipelineExecutionSummaries"] == []
    (page,) = [p for p in pages(emulator, world["inbox"]) if "RetrainCapacityError" in p["body"]]
    assert "limit of concurrent pipeline executions" in page["body"]
    ended = [e for e in model.ledger() if e["action"] == "incident_resolved"]
    assert len(ended) == 1, "the incident ends, so the next run may open a new one"
