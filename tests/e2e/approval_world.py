"""The local stack with approval-gated models, and what the approval tests look at.

Used by test_approval_security.py and test_approval_browser.py: each module starts its own
emulator (one at a time per process) and asks for approvals by signalling drift of a model whose
retrains need one (credit: Slack + email, ranking: email, search: a Slack group + email).
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from mlops_core.monitoring import execution_key
from mlopscp.local import LocalControlPlane
from mlopscp.slack_standin import Message
from mlopscp.worlds.drift import MODELS
from moto.core.exceptions import ServiceException
from moto.stepfunctions.parser.models import StepFunctionsParserBackend

LINK = re.compile(r"https?://\S+/approvals/(apv_[A-Za-z0-9_-]{22})/(approve|reject)\?\S+")
VIEW_LINK = re.compile(r"^View details: (\S+/approvals/apv_[A-Za-z0-9_-]{22}/view\?\S+)$", re.M)
HIDDEN = re.compile(r'<input type="hidden" name="([a-z]+)" value="([^"]*)">')


@dataclass
class Asked:
    """One approval the stack asked for, and where it was announced."""

    approval_id: str
    model_id: str
    execution_arn: str
    message: Message | None
    links: dict[str, str] = field(default_factory=dict)  # action -> URL of the first recipient
    details: str = ""  # the first recipient's "View details" link (the evidence page)


@dataclass
class ApprovalWorld:
    plane: LocalControlPlane
    emails_read: list[dict[str, Any]] = field(default_factory=list)
    http_bodies: list[str] = field(default_factory=list)
    task_answers: list[str] = field(default_factory=list)  # tokens SendTaskSuccess/Failure got

    @property
    def emu(self) -> Any:
        return self.plane.emu

    @property
    def interactivity_url(self) -> str:
        return self.emu.http_url("ApprovalCallbackFunctionUrl") + "slack/interactions"

    def ask(self, model_id: str) -> Asked:
        """Signal drift of a gated model; return the approval the drift response waits on."""
        before = {a["approval_id"] for a in self.plane.approvals(model_id)}
        self.new_retrain_problem(model_id)
        event = self.plane.monitoring_execution_event(MODELS[model_id])
        self.emu.put_event(event)
        self.emu.wait_idle(timeout=120)
        (new,) = [a for a in self.plane.approvals(model_id) if a["approval_id"] not in before]
        approval_id = new["approval_id"]
        message = next(
            (m for m in self.plane.slack.messages() if approval_id in json.dumps(m.blocks)), None
        )
        emails = self.emails()
        links, details = {}, ""
        for email in emails:
            if email["attributes"].get("approval_id") == approval_id:
                links = {m.group(2): m.group(0) for m in LINK.finditer(email["body"])}
                details = m.group(1) if (m := VIEW_LINK.search(email["body"])) else ""
                break
        execution = self.execution_of(approval_id)
        return Asked(approval_id, model_id, execution, message, links, details)

    def new_retrain_problem(self, model_id: str) -> None:
        """Make the next signal a new retrain problem, so the drift response asks again.

        A model has one retrain incident at a time: retrain decisions while it is open (here,
        while its approval waits) are attached to it, and the same monitoring state seen again
        is a duplicate. These tests ask about one model many times, so each ask gets a new
        monitoring run (every stream's newest execution written again an hour later: still
        sustained drift, a new signal) and the model's previous retrain incident is let go of
        (its current-incident pointer removed, as if it had ended).
        """
        model = MODELS[model_id]
        bucket, _, prefix = model.output_uri.removeprefix("s3://").partition("/")
        s3 = self.emu.client("s3")
        keys = [
            o["Key"]
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
            for o in page.get("Contents", [])
        ]
        parsed = [(key, execution_key(key.removeprefix(prefix + "/"))) for key in keys]
        latest: dict[str, datetime] = {}
        for _, found in parsed:
            if found:
                latest[found[0]] = max(latest.get(found[0], found[1]), found[1])
        for key, found in parsed:
            if found and found[1] == latest[found[0]]:
                at = found[1] + timedelta(hours=1)
                s3.copy_object(
                    Bucket=bucket,
                    CopySource={"Bucket": bucket, "Key": key},
                    Key=f"{prefix}/{found[0]}/{at:%Y/%m/%d/%H}/{found[2]}",
                )
        self.emu.client("dynamodb").delete_item(
            TableName=self.plane.outputs["StateTableName"],
            Key={"pk": {"S": f"MODEL#{model_id}"}, "sk": {"S": "INCIDENT#retrain"}},
        )

    def emails(self) -> list[dict[str, Any]]:
        found = self.plane.approval_emails()
        self.emails_read.extend(found)
        return found

    def execution_of(self, approval_id: str) -> str:
        sfn = self.emu.client("stepfunctions")
        machine = self.plane.stack.state_machines["DriftResponseStateMachine"]
        for listed in sfn.list_executions(stateMachineArn=machine)["executions"]:
            history = sfn.get_execution_history(executionArn=listed["executionArn"])["events"]
            if approval_id in json.dumps(history, default=str):
                return str(listed["executionArn"])
        return ""

    def status(self, approval_id: str) -> str:
        (found,) = [a for a in self.plane.approvals() if a["approval_id"] == approval_id]
        return str(found["status"])

    def waiting(self, asked: Asked) -> bool:
        return asked.execution_arn in self.emu.waiting_executions()

    def refusals(self, why: str = "") -> list[dict[str, Any]]:
        """approval_rejected_request entries (all models), optionally whose reason has `why`."""
        found = []
        for model_id in (*MODELS, "_unknown"):
            for entry in self.plane.ledger(model_id):
                if entry["action"] == "approval_rejected_request":
                    evidence = json.loads(entry["evidence"])
                    if why in evidence["why"]:
                        found.append(evidence)
        return found

    def decider_runs(self) -> int:
        name = self.plane.stack.functions["ApprovalDeciderFunction"].name
        return len(self.emu.trace.invocations(name))

    def get(self, url: str) -> tuple[int, str]:
        return self._http(urllib.request.Request(url))

    def post_form(self, url: str, form: dict[str, str]) -> tuple[int, str]:
        request = urllib.request.Request(
            url,
            data=urlencode(form).encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            method="POST",
        )
        return self._http(request)

    def _http(self, request: urllib.request.Request) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                status, body = response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            status, body = error.code, error.read().decode()
        self.http_bodies.append(body)
        return status, body

    def tokens(self) -> set[str]:
        """Every task token Step Functions handed RequestApprovalFunction (from the trace)."""
        name = self.plane.stack.functions["RequestApprovalFunction"].name
        return {
            record.payload["task_token"]
            for record in self.emu.trace.invocations(name)
            if isinstance(record.payload, dict) and "task_token" in record.payload
        }


@contextmanager
def counting_task_answers(world: ApprovalWorld) -> Iterator[None]:
    """Record the token of every SendTaskSuccess / SendTaskFailure the emulated service gets
    (moto's server runs in this process, so its backend can be wrapped here)."""
    originals = {
        name: getattr(StepFunctionsParserBackend, name)
        for name in ("send_task_success", "send_task_failure")
    }

    def wrap(original: Any) -> Any:
        def answer(backend: Any, task_token: str, *args: Any, **kwargs: Any) -> Any:
            world.task_answers.append(task_token)
            return original(backend, task_token, *args, **kwargs)

        return answer

    for name, original in originals.items():
        setattr(StepFunctionsParserBackend, name, wrap(original))
    try:
        yield
    finally:
        for name, original in originals.items():
            setattr(StepFunctionsParserBackend, name, original)


class StepFunctionsDown(ServiceException):
    code = "ServiceUnavailable"
    message = "Step Functions is unavailable (injected by the test)"


class Throttled(ServiceException):
    code = "TooManyRequestsException"
    message = "Rate exceeded (injected by the test)"


@contextmanager
def failing_task_answers() -> Iterator[None]:
    """Step Functions refuses every SendTaskSuccess / SendTaskFailure until the block ends."""
    originals = {
        name: getattr(StepFunctionsParserBackend, name)
        for name in ("send_task_success", "send_task_failure")
    }

    def refuse(backend: Any, *args: Any, **kwargs: Any) -> Any:
        raise StepFunctionsDown()

    for name in originals:
        setattr(StepFunctionsParserBackend, name, refuse)
    try:
        yield
    finally:
        for name, original in originals.items():
            setattr(StepFunctionsParserBackend, name, original)


@contextmanager
def failing_hand_off(function_name: str) -> Iterator[None]:
    """Lambda throttles every asynchronous invoke of ``function_name`` until the block ends."""
    from moto.awslambda_simple.models import LambdaSimpleBackend

    original = LambdaSimpleBackend.invoke

    def invoke(backend: Any, name: str, qualifier: Any, body: Any, headers: Any, out: Any) -> Any:
        if function_name in name and headers.get("X-Amz-Invocation-Type") == "Event":
            raise Throttled()
        return original(backend, name, qualifier, body, headers, out)

    LambdaSimpleBackend.invoke = invoke  # type: ignore[method-assign]
    try:
        yield
    finally:
        LambdaSimpleBackend.invoke = original  # type: ignore[method-assign]


def form_of(page: str, **extra: str) -> dict[str, str]:
    """The hidden fields of a confirmation page's form, plus what the person types/clicks."""
    return dict(HIDDEN.findall(page)) | extra
