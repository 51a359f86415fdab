"""The fault matrix: every external call of a path failing in each of four ways, on the full local
stack, and what the control plane then does. The table in docs/faults.md is this test's output:
a stale table fails the test with the fresh one (``MLOPSCP_WRITE_FAULTS=1`` or
``make faults-doc`` writes it).

Each cell gets a model of its own (a copy of a demo model: its endpoint, Model Monitor history,
pipeline and configuration), injects the fault on every call of the operation
(``emu.faults.inject(..., times=None)``: an outage, not a blip the SDK's retries absorb), sends
the event that starts the path, waits until nothing runs, lifts the fault and reads back what
happened from the emulated AWS. A cell holds when the run ended (no execution left running),
left a trace a human can act on (a ledger entry, or the event in the dead-letter queue where the
ledger itself is down), told someone (a page over SNS or Slack, or the dead-letter alarm), took
no action twice and no half action, and retried a bounded number of times.
"""

from __future__ import annotations

import json
import os
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest
from mlops_runtime.model_config import ModelConfig
from mlopscp.local import LocalControlPlane
from mlopscp.worlds.drift import MODELS, DemoModel
from mlopscp.worlds.promotion import (
    APPROVER,
    EMAIL_APPROVER,
    PROMOTION_CHANNEL,
    PROMOTION_MODELS,
    PromotionModel,
)
from mlopscp_emulator import Emulator
from mlopscp_emulator.faults import Fault

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "faults.md"
BEGIN, END = "<!-- fault-matrix:begin -->", "<!-- fault-matrix:end -->"
KINDS = ("throttling", "access_denied", "server_error", "timeout")
# Attempts of one operation a run may make under an outage: the SDK's (1 + 4 retries, standard
# mode) x Step Functions' (1 + 4 Retry attempts, or Lambda's 3 async attempts) x ``fan_out``,
# the calls of that operation in flight at once or the steps that make it.
SDK_ATTEMPTS, STEP_ATTEMPTS = 5, 5
# Slack (mlops_runtime.slack_web): slack_sdk's 1 + 1 retry; a failed Slack message never fails
# its step (it is the second channel), so no step retries it.
SLACK_ATTEMPTS = 2


@dataclass(frozen=True)
class Call:
    path: str
    name: str  # as the docs say it
    target: str  # service:Operation
    model: str  # the demo model whose story takes the path through this call
    fan_out: int = 1
    parallel: bool = False  # calls made concurrently: how many land before a failure varies
    incidents: dict[str, str] | None = None  # the model's incidents section, for Slack pages
    approvals: dict[str, list[str] | str] | None = None  # the promotion's approvers, if not Slack

    @property
    def id(self) -> str:
        """Unique per row: a Slack method is called on more than one path."""
        return f"{self.target}/{self.path.split()[-1]}" if self.slack else self.target

    @property
    def slack(self) -> bool:
        return self.target.startswith("slack:")

    @property
    def max_attempts(self) -> int:
        if self.slack:
            return SLACK_ATTEMPTS * self.fan_out
        return SDK_ATTEMPTS * STEP_ATTEMPTS * self.fan_out


CALLS = [
    # triage reads an execution's files 16 at a time
    Call("drift -> retrain", "S3 read (monitoring output)", "s3:GetObject", "churn", 16, True),
    Call("drift -> retrain", "DynamoDB write", "dynamodb:PutItem", "churn"),
    Call("drift -> retrain", "StartPipelineExecution", "sagemaker:StartPipelineExecution", "churn"),
    # the incident's page, then NotifyFailure's
    Call("drift -> page", "SNS publish", "sns:Publish", "fraud", 2),
    # the promotion's start and cleanup each assume both accounts' deployer roles
    Call("promotion", "AssumeRole (deployer role)", "sts:AssumeRole", "demand", 4),
    Call("promotion", "CreateEndpointConfig (staging)", "sagemaker:CreateEndpointConfig", "demand"),
    # the shadow verdict reads both variants' metrics; a run goes through the shadow test
    Call("promotion", "GetMetricData (shadow verdict)", "cloudwatch:GetMetricData", "demand", 2),
    # approved in Slack, then production's blue/green update
    Call("promotion", "UpdateEndpoint (production)", "sagemaker:UpdateEndpoint", "demand", 2),
    # the approval's decision reaches its waiting task: the task token decrypted, then sent;
    # a failed delivery stays pending and the sweeper delivers it once AWS answers again
    Call("promotion", "KMS decrypt (task token)", "kms:Decrypt", "demand", 2),
    Call("promotion", "SendTaskSuccess (approval)", "stepfunctions:SendTaskSuccess", "demand", 2),
    # Slack, the second channel: the incident's page goes to SNS and to its Slack channel
    Call(
        "drift -> page",
        "Slack incident page",
        "slack:chat.postMessage",
        "fraud",
        incidents={"slack_channel": "C0INCIDENTS"},
    ),
    # the approval request asks in Slack and by email; the cell approves by email
    Call(
        "promotion",
        "Slack approval request",
        "slack:chat.postMessage",
        "demand",
        approvals={
            "slack_channel": PROMOTION_CHANNEL,
            "slack_approvers": [APPROVER],
            "email_approvers": [EMAIL_APPROVER],
        },
    ),
    # approved in Slack, the message then shows the decision in place of its buttons
    Call("promotion", "Slack decision shown (approval)", "slack:chat.update", "demand"),
]
# The promotion calls made only after the shadow test starts / after the approval answer.
DELIVERY = {"kms:Decrypt", "stepfunctions:SendTaskSuccess"}
AFTER_APPROVAL = {"sagemaker:UpdateEndpoint", "slack:chat.update", *DELIVERY}
AFTER_SHADOW = {"cloudwatch:GetMetricData", "slack:chat.postMessage", *AFTER_APPROVAL}


@dataclass
class Cell:
    call: Call
    kind: str
    status: str = ""  # the drift response's end: SUCCEEDED / FAILED, or no execution
    last_state: str = ""
    actions: list[str] = field(default_factory=list)
    pages: int = 0
    slack: int = 0
    emails: int = 0  # approval requests that reached an email approver (and were answered)
    failed_channels: set[str] = field(default_factory=set)  # as the ledger's entries say
    click: int = 200  # the approval callback's answer to the approver's Slack click
    dead_letters: int = 0
    half_applied: str = ""  # a promotion that left staging up or production changed
    waiting: bool = False  # the decision's delivery failed: the task still waited for it
    pipelines: int = 0
    attempts: int = 0

    @property
    def ended(self) -> bool:
        return self.status in ("SUCCEEDED", "FAILED") or self.dead_letters > 0

    @property
    def recorded(self) -> bool:
        return bool(self.actions) or self.dead_letters > 0

    @property
    def alarm(self) -> str:
        """The alarm that tells when the run's own messages could not: a dead letter raises the
        dead-letter queue's, a failed execution the state machine's (alarms do not evaluate on
        the emulator: test_failures_raise_an_alarm checks their wiring)."""
        if self.dead_letters:
            return "DLQ alarm"
        return "failed-execution alarm" if self.status == "FAILED" else ""

    @property
    def told(self) -> bool:
        return self.pages > 0 or self.slack > 0 or self.emails > 0 or bool(self.alarm)

    def problems(self) -> list[str]:
        found = []
        if self.click != 200:  # a harness failure, not the cell's: say so
            found.append(f"the Slack click was answered {self.click}")
        if not self.ended:
            found.append("no defined end")
        if not self.recorded:
            found.append("nothing recorded")
        if not self.told:
            found.append("nobody told")
        if self.pipelines > 1:
            found.append(f"{self.pipelines} pipeline executions")
        if self.half_applied:
            found.append(self.half_applied)
        if "retrain_started" in self.actions and self.pipelines != 1:
            found.append("retrain_started recorded without a pipeline execution")
        if self.call.target == "slack:chat.postMessage" and "slack" not in self.failed_channels:
            found.append("the Slack failure is not in the ledger")
        if not 1 <= self.attempts <= self.call.max_attempts:
            found.append(f"{self.attempts} attempts (bound {self.call.max_attempts})")
        return found

    def describe(self) -> str:
        parts = [f"{self.status.lower()} at {self.last_state}" if self.status else "no execution"]
        if self.waiting:
            parts.insert(0, "delivery pending, the sweeper delivered it")
        if self.dead_letters:
            parts.append("event in DLQ")
        channels = ((self.pages, "SNS"), (self.slack, "Slack"), (self.emails, "approval email"))
        told = [f"{n} {what}" for n, what in channels if n]
        parts.append("told: " + ", ".join(told or [self.alarm or "nobody"]))
        shown = [a for a in self.actions if a != "notification_sent"]
        if shown:
            parts.append("ledger: " + ", ".join(dict.fromkeys(shown)))
        if "slack" in self.failed_channels:
            parts.append("ledger notes Slack failed")
        if self.call.parallel:  # the table must not change from run to run
            parts.append(f"≤ {self.call.max_attempts} calls")
        else:
            parts.append(f"{self.attempts} calls")
        problems = self.problems()
        return ("✗ " + "; ".join(problems) + " — " if problems else "") + "; ".join(parts)


@pytest.fixture(scope="module")
def plane() -> Iterator[LocalControlPlane]:
    warnings.filterwarnings("ignore", message=".*moto does not enforce.*")
    with Emulator() as emulator:
        yield LocalControlPlane(emulator).up()


def _inject(plane: LocalControlPlane, call: Call, kind: str) -> Fault:
    """The fault, in the emulator's front or (for Slack) in the Slack stand-in."""
    if call.slack:
        return plane.slack.inject(call.target.partition(":")[2], kind, times=None)
    return plane.emu.faults.inject(call.target, kind, times=None)


def _lift(plane: LocalControlPlane) -> None:
    plane.emu.faults.clear()
    plane.slack.clear()


def _copy(
    plane: LocalControlPlane, base: DemoModel, tag: str, incidents: dict[str, str] | None = None
) -> DemoModel:
    model = replace(
        base,
        model_id=f"{base.model_id}-{tag}",
        endpoint=f"{base.model_id}-{tag}-prod",
        incidents=incidents or base.incidents,
    )
    plane._seed(model)  # the world's own seeding, for a model of the cell's own
    return model


def _read_ledger(plane: LocalControlPlane, model_id: str, cell: Cell) -> None:
    for entry in plane.ledger(model_id):
        cell.actions.append(entry["action"])
        failed = json.loads(entry.get("evidence") or "{}").get("failed") or []
        cell.failed_channels |= {str(channel) for channel in failed}


def _run(plane: LocalControlPlane, call: Call, kind: str) -> Cell:
    if call.path == "promotion":
        return _run_promotion(plane, call, kind)
    emu = plane.emu
    tag = f"{kind.replace('_', '')}-{re.sub(r'[^a-z]', '', call.target.split(':')[1].lower())}"
    model = _copy(plane, MODELS[call.model], tag[:24], call.incidents)
    plane.notifications()  # earlier cells' pages are theirs
    plane.dead_letters()
    slack_before = len(plane.slack.messages())
    event = plane.monitoring_execution_event(model)
    fault = _inject(plane, call, kind)
    try:
        emu.put_event(event)
        emu.wait_idle(timeout=300)
    finally:
        _lift(plane)
    cell = Cell(call, kind, attempts=fault.hits)
    sfn = emu.client("stepfunctions")
    for started in emu.trace.executions():
        given = json.loads(started.input) if isinstance(started.input, str) else started.input
        if isinstance(given, dict) and given.get("model_id") == model.model_id:
            described = sfn.describe_execution(executionArn=started.execution_arn)
            cell.status = described["status"]
            cell.last_state = emu.execution_states(started.execution_arn)[-1]
    _read_ledger(plane, model.model_id, cell)
    cell.pages = sum(model.model_id in m["body"] for m in plane.notifications())
    if call.slack:  # elsewhere the promotion's Slack message is its approval request
        cell.slack = sum(
            model.model_id in json.dumps(m.as_slack())
            for m in plane.slack.messages()[slack_before:]
        )
    cell.dead_letters = sum(event["id"] in m["body"] for m in plane.dead_letters())
    cell.pipelines = len(plane.pipeline_executions(model))
    return cell


def _run_promotion(plane: LocalControlPlane, call: Call, kind: str) -> Cell:
    """A version 2 of a model of the cell's own, approved in the registry: the promotion."""
    emu, world = plane.emu, plane.promotion
    base = PROMOTION_MODELS[call.model]
    operation = re.sub(r"[^a-z]", "", call.target.split(":")[1].lower())
    tag = f"{kind.replace('_', '')[:6]}{operation[:10]}"
    model = replace(base, model_id=f"{base.model_id}-{tag}")
    world._register(model)  # the world's own seeding, for a model of the cell's own
    world._serve_version_1(model)
    _put_config(plane, model, call)
    plane.notifications()
    plane.approval_emails()
    slack_before = len(plane.slack.messages())
    event = world.approve_in_registry(model, 2)
    late = call.target in AFTER_APPROVAL  # the fault starts when the approval is answered
    fault = None if late else _inject(plane, call, kind)
    emails, click = 0, 200
    try:
        emu.put_event(event)
        if call.target in AFTER_SHADOW:
            world.wait_for_shadow(model)
            world.shadow_traffic(model, 2)
            emu.wait_idle(timeout=300)
        if late:
            approval = world.pending_approval(model)["approval_id"]
            fault = _inject(plane, call, kind)
            click = world.approve_in_slack(approval)
        elif call.approvals and "email_approvers" in call.approvals:
            # the approver got the request by email: they answer it there
            approval = world.pending_approval(model)["approval_id"]
            emails = int(world.approve_by_email(approval) == 200)
        emu.wait_idle(timeout=300)
    finally:
        _lift(plane)
    assert fault is not None
    cell = Cell(call, kind, attempts=fault.hits, emails=emails, click=click)
    if call.target in DELIVERY:
        cell.waiting = bool(emu.waiting_executions())
        plane.sweep()  # the sweeper's next run, once AWS answers again
        emu.wait_idle(timeout=300)
    sfn = emu.client("stepfunctions")
    for execution in world.executions(model):
        arn = execution["executionArn"]
        cell.status = sfn.describe_execution(executionArn=arn)["status"]
        cell.last_state = emu.execution_states(arn)[-1]
    _read_ledger(plane, model.model_id, cell)
    cell.pages = sum(
        m["attributes"].get("model_id") == model.model_id for m in plane.notifications()
    )
    if call.slack:  # elsewhere the promotion's Slack message is its approval request
        cell.slack = sum(
            model.model_id in json.dumps(m.as_slack())
            for m in plane.slack.messages()[slack_before:]
        )
    serving = world.serving(model)["config"]
    if world.staging_endpoints(model):
        cell.half_applied = "staging left up"
    elif serving != f"{model.model_id}-prod-v1" and "model_promoted" not in cell.actions:
        cell.half_applied = f"production changed to {serving}"
    return cell


def _put_config(plane: LocalControlPlane, model: PromotionModel, call: Call) -> None:
    """The world's configuration of the model, with the call's approvers when it names them."""
    plane.promotion._put_config(model)
    if call.approvals:
        config = plane.promotion.config(model) | {"approvals": call.approvals}
        document = ModelConfig.model_validate(config).model_dump_json()
        plane.emu.client("dynamodb").put_item(
            TableName=plane.outputs["ModelConfigTableName"],
            Item={"id": {"S": f"model#{model.model_id}"}, "value": {"S": document}},
        )


CELLS: dict[tuple[str, str], Cell] = {}


def cell_of(plane: LocalControlPlane, call: Call, kind: str) -> Cell:
    """Each cell runs once per module (its test, or the docs test when run alone)."""
    if (call.id, kind) not in CELLS:
        CELLS[(call.id, kind)] = _run(plane, call, kind)
    return CELLS[(call.id, kind)]


def table(cells: list[Cell]) -> str:
    header = "| path | call | " + " | ".join(KINDS) + " |"
    lines = [header, "| --- | --- | " + " | ".join("---" for _ in KINDS) + " |"]
    for call in CALLS:
        row = {c.kind: c.describe() for c in cells if c.call == call}
        lines.append(
            f"| {call.path} | {call.name} (`{call.target}`) | "
            + " | ".join(row[k] for k in KINDS)
            + " |"
        )
    return "\n".join(lines)


@pytest.mark.parametrize(
    ("call", "kind"),
    [(call, kind) for call in CALLS for kind in KINDS],
    ids=[f"{call.id}-{kind}" for call in CALLS for kind in KINDS],
)
def test_a_fault_ends_recorded_and_told(plane: LocalControlPlane, call: Call, kind: str) -> None:
    cell = cell_of(plane, call, kind)
    assert not cell.problems(), f"{call.name}, {kind}: {cell.describe()}"


# Run alone (make faults-doc), it runs every cell itself: longer than one cell's timeout.
@pytest.mark.timeout(3600)
def test_the_docs_show_this_matrix(plane: LocalControlPlane) -> None:
    fresh = table([cell_of(plane, call, kind) for call in CALLS for kind in KINDS])
    text = DOC.read_text()
    start, stop = text.index(BEGIN) + len(BEGIN), text.index(END)
    if os.environ.get("MLOPSCP_WRITE_FAULTS") == "1":
        DOC.write_text(text[:start] + "\n" + fresh + "\n" + text[stop:])
        return
    assert text[start:stop].strip() == fresh, (
        "docs/faults.md is stale: run `make faults-doc`, or paste this between its markers:\n"
        + fresh
    )


def test_failures_raise_an_alarm(plane: LocalControlPlane) -> None:
    alarms = plane.emu.client("cloudwatch").describe_alarms()["MetricAlarms"]
    queue = plane.outputs["DeadLetterQueueUrl"].rsplit("/", 1)[1]
    watched = {
        ("ApproximateNumberOfMessagesVisible", "QueueName", queue),
        *(
            ("ExecutionsFailed", "StateMachineArn", arn)
            for arn in plane.stack.state_machines.values()
        ),
    }
    for metric, dimension, value in watched:
        (alarm,) = [
            a
            for a in alarms
            if a["MetricName"] == metric and {"Name": dimension, "Value": value} in a["Dimensions"]
        ]
        assert alarm["AlarmActions"] == [plane.outputs["NotificationTopicArn"]]
        assert alarm["Threshold"] < 1
        assert alarm["ComparisonOperator"] == "GreaterThanThreshold"
