"""`make demo`'s approval scenarios (issue 4): retrains that wait for a human.

Each is read back from where it happened: the Slack stand-in's recorded messages, the emails on
the approvals topic (an SQS subscription), the approval table, the ledger, the Step Functions
execution history and SageMaker's pipeline executions. The HTTP requests go to the stack's real
Function URL (served on loopback by the emulator) exactly as Slack and a browser send them.
"""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from mlopscp.demo.scenario import Outcome, Scenarios
from mlopscp.timeline import collapse
from mlopscp.worlds.drift import MODELS, DemoModel

APPROVE, REJECT = "approval.approve", "approval.reject"
LINK = re.compile(r"https?://\S+/approvals/(apv_[A-Za-z0-9_-]{22})/(approve|reject)\?\S+")
HIDDEN = re.compile(r'<input type="hidden" name="([a-z]+)" value="([^"]*)">')


class ApprovalScenarios(Scenarios):
    """Combined into :class:`mlopscp.demo.runner.Demo` with the other groups."""

    def approval_over_slack(self) -> Outcome:
        credit, slack = MODELS["credit"], self.plane.slack
        out = Outcome("A retrain that needs approval, answered in Slack", credit.story)
        approval, message = self._ask(out, credit)
        url = self._interactivity_url()
        out.check(
            "one Slack message with the evidence, a metric diff and Approve/Reject buttons "
            "behind confirm dialogs",
            message is not None
            and bool(message.button(APPROVE) and message.button(APPROVE).get("confirm"))
            and "*Metrics*" in json.dumps(message.blocks),
        )
        emails = self._emails()
        out.check(
            "one email to risk-lead@example.com with its own signed links",
            [e["attributes"].get("approver") for e in emails] == ["risk-lead@example.com"]
            and len(LINK.findall(emails[0]["body"] if emails else "")) == 2,
        )
        assert message is not None
        refused = self._refusals()
        started = time.monotonic()
        answer = slack.click(message, "U0MALLORY", APPROVE, url)
        cold = time.monotonic() - started
        self.emu.wait_idle(timeout=60)
        out.lines.append(
            f"→ mallory (not an approver) clicks Approve: Slack gets {answer.status} "
            f"in {cold * 1000:.0f} ms (the callback's cold start)"
        )
        out.check(
            "mallory is refused: approval_rejected_request, an ephemeral note, still waiting",
            self._refusals() == refused + 1
            and any(e.get("user") == "U0MALLORY" for e in slack.ephemeral)
            and self._waiting(credit),
        )
        body = slack.interaction_body(message, "U0ADA", APPROVE)
        wrong_secret = "not-the-signing-secret"  # noqa: S105 - a forgery
        forged = slack.post(url, body, slack.signed_headers(body, secret=wrong_secret))
        out.lines.append(f"→ a request signed with the wrong secret: {forged.status}")
        out.check(
            "the forged request is refused (401) and recorded; still waiting",
            forged.status == 401 and self._refusals() == refused + 2 and self._waiting(credit),
        )
        body = slack.interaction_body(message, "U0ADA", APPROVE)
        headers = slack.signed_headers(body)
        answers: list[tuple[int, float]] = []

        def click() -> None:
            started = time.monotonic()
            answers.append((slack.post(url, body, headers).status, time.monotonic() - started))

        self.send(out, click, "ada clicks Approve")
        status, warm = answers[0]
        out.check(
            f"Slack gets 200 within its 3 s, before the decision is made ({warm * 1000:.0f} ms)",
            status == 200 and warm < 3,
        )
        self._finished(out, credit, "StartRetraining")
        executions = self.plane.pipeline_executions(credit)
        out.check("one execution of credit-retrain", len(executions) == 1)
        updated = slack.messages("C0APPROVALS")
        shown = next((m for m in updated if m.ts == message.ts), None)
        out.check(
            "the Slack message now says who approved and when, without buttons",
            shown is not None
            and shown.button(APPROVE) is None
            and "Approved by <@U0ADA> via slack" in json.dumps(shown.blocks),
        )
        out.check(
            "approval_recorded (ada, slack) and retrain_started in the ledger",
            self._recorded(approval["approval_id"]) == ("approved", "U0ADA", "slack")
            and "retrain_started" in self.actions("credit"),
        )
        replay = slack.post(url, body, headers)
        self.emu.wait_idle(timeout=60)
        out.check(
            "ada's request replayed verbatim is refused and recorded; still one retrain",
            replay.status == 200
            and self._refusals() == refused + 3
            and len(self.plane.pipeline_executions(credit)) == 1,
        )
        if shown:
            out.lines.append(f"  Slack now shows: {shown.text}")
        out.check("the task token appears in no message, email, URL or log", not self._leaks())
        return out

    def approval_over_email(self) -> Outcome:
        ranking = MODELS["ranking"]
        out = Outcome("A retrain that needs approval, answered from an emailed link", ranking.story)
        approval, message = self._ask(out, ranking)
        out.check("no Slack message: ranking's approvers are on email only", message is None)
        emails = self._emails()
        links = dict(
            (a, m.group(0))
            for m in LINK.finditer(emails[0]["body"] if emails else "")
            for a in [m.group(2)]
        )
        out.check(
            "one email to ranking-owner@example.com with an approve and a reject link",
            [e["attributes"].get("approver") for e in emails] == ["ranking-owner@example.com"]
            and set(links) == {"approve", "reject"},
        )
        page = _get(links.get("approve", ""))
        out.lines.append(f"→ GET the approve link (what a link preview does): {page[0]}")
        out.check(
            "the GET shows a confirmation page and decides nothing",
            page[0] == 200
            and "Approve retrain of ranking?" in page[1]
            and self.plane.approvals("ranking")[-1]["status"] == "pending"
            and self._waiting(ranking),
        )
        form = dict(HIDDEN.findall(page[1])) | {"confirm": "approve", "reason": "seen the drift"}
        posted: list[tuple[int, str]] = []
        self.send(
            out,
            lambda: posted.append(_post(links["approve"], form)),
            "the owner confirms on the page (POST)",
        )
        out.check(
            "the POST records the decision and says so",
            bool(posted) and posted[0][0] == 200 and "Recorded: approved" in posted[0][1],
        )
        self._finished(out, ranking, "StartRetraining")
        out.check(
            "one execution of ranking-retrain; approval_recorded (the owner, email)",
            len(self.plane.pipeline_executions(ranking)) == 1
            and self._recorded(approval["approval_id"])
            == ("approved", "ranking-owner@example.com", "email"),
        )
        refused = self._refusals()
        reject_page = _get(links.get("reject", ""))
        out.check(
            "the reject link now shows what was decided, with no form",
            reject_page[0] == 200
            and "approved by ranking-owner@example.com" in reject_page[1]
            and "<form" not in reject_page[1],
        )
        again = _post(links["approve"], form)
        out.lines.append(f"→ the confirmation form posted again (a reused link): {again[0]}")
        out.check(
            "the reused link decides nothing: refused (409) and recorded",
            again[0] == 409 and "already approved" in again[1] and self._refusals() == refused + 1,
        )
        out.check("the task token appears in no message, email, URL or log", not self._leaks())
        return out

    def approval_expired(self) -> Outcome:
        search, slack = MODELS["search"], self.plane.slack
        out = Outcome("Nobody answers: a reminder, then the retrain is rejected", search.story)
        approval, message = self._ask(out, search)
        approval_id = approval["approval_id"]
        self._emails()
        out.lines.append("  (the demo moves the deadline instead of waiting 20 hours)")
        self.plane.move_deadline(approval_id, datetime.now(UTC) + timedelta(hours=1))
        swept = self.send(out, self.plane.sweep, "the sweeper runs, 1 h before the deadline")
        replies = slack.replies(message) if message else []
        reminders = self._emails()
        out.check(
            "a reminder: a thread reply mentioning the on-call group, an email, the ledger",
            len(replies) == 1
            and "<!subteam^S0MLONCALL>" in replies[0].text
            and [e["attributes"].get("kind") for e in reminders] == ["approval_reminder"]
            and "notification_sent" in self.actions("search")
            and self._waiting(search),
        )
        self.plane.move_deadline(approval_id, datetime.now(UTC) - timedelta(minutes=1))
        swept = self.send(out, self.plane.sweep, "the sweeper runs after the deadline")
        out.check(
            "the sweeper expires it",
            any(
                call["result"] == {"reminded": [], "expired": [approval_id], "delivered": []}
                for call in swept.invocations
                if call["function"] == "ApprovalSweeperFunction"
            ),
        )
        self._finished(out, search, "RetrainNotApproved")
        notices = self._emails()
        shown = next(
            (m for m in slack.messages("C0APPROVALS") if message and m.ts == message.ts), None
        )
        out.check(
            "rejected with a notification: the Slack message says it expired, an email notice",
            shown is not None
            and shown.button(APPROVE) is None
            and "Expired at" in shown.text
            and [e["attributes"].get("kind") for e in notices] == ["approval_expired"],
        )
        out.check(
            "approval_expired and retrain_skipped in the ledger; no execution of search-retrain",
            {"approval_expired", "retrain_skipped"} <= set(self.actions("search"))
            and self.plane.pipeline_executions(search) == [],
        )
        refused = self._refusals()
        if message:
            # Grace's Slack client had not refreshed: she still sees the buttons.
            stale = slack.as_first_posted(message)
            slack.click(stale, "U0GRACE", APPROVE, self._interactivity_url())
            self.emu.wait_idle(timeout=60)
        out.check(
            "a late click by an on-call member changes nothing and is recorded",
            self._refusals() == refused + 1 and self.plane.pipeline_executions(search) == [],
        )
        out.check("the task token appears in no message, email, URL or log", not self._leaks())
        return out

    # -- helpers ----------------------------------------------------------------------------

    def _ask(self, out: Any, model: DemoModel) -> tuple[dict[str, Any], Any]:
        """Signal drift; the response waits for a human. Returns the approval and its message."""
        event = self.plane.monitoring_execution_event(model)
        self.send(out, lambda: self.emu.put_event(event), "monitoring execution completed")
        approvals = self.plane.approvals(model.model_id)
        approval: dict[str, Any] = (
            approvals[-1] if approvals else {"approval_id": "", "status": None}
        )
        out.check(
            "the drift response waits in RequestRetrainApproval; no retrain yet",
            self._waiting(model) and self.plane.pipeline_executions(model) == [],
        )
        hours = (
            (_moment(approval["deadline"]) - _moment(approval["created_at"])).total_seconds() / 3600
            if approval["status"]
            else 0
        )
        out.check(
            "approval_requested in the ledger, the approval pending with a 24 h deadline",
            "approval_requested" in self.actions(model.model_id)
            and approval["status"] == "pending"
            and hours == 24,
        )
        message = next(
            (
                m
                for m in self.plane.slack.messages("C0APPROVALS")
                if approval["approval_id"] and approval["approval_id"] in json.dumps(m.blocks)
            ),
            None,
        )
        out.lines.append(f"  approval {approval['approval_id']} (only this id leaves the stack)")
        return approval, message

    def _emails(self) -> list[dict[str, Any]]:
        """Drain the approvals topic's inbox, keeping what was read for the leak check."""
        emails = self.plane.approval_emails()
        self.__dict__.setdefault("_emails_read", []).extend(emails)
        return emails

    def _execution(self, model: DemoModel) -> dict[str, Any]:
        sfn = self.emu.client("stepfunctions")
        arn = self.plane.stack.state_machines["DriftResponseStateMachine"]
        for listed in sfn.list_executions(stateMachineArn=arn)["executions"]:
            described = sfn.describe_execution(executionArn=listed["executionArn"])
            if json.loads(described["input"]).get("model_id") == model.model_id:
                return dict(described)
        return {}

    def _waiting(self, model: DemoModel) -> bool:
        execution = self._execution(model)
        return execution.get("executionArn") in self.emu.waiting_executions() and (
            self.emu.execution_states(execution["executionArn"])[-1] == "RequestRetrainApproval"
        )

    def _finished(self, out: Any, model: DemoModel, through: str) -> None:
        execution = self._execution(model)
        states = self.emu.execution_states(execution["executionArn"]) if execution else []
        out.lines.append(f"  ⎇ DriftResponseStateMachine: {' → '.join(collapse(states))}")
        out.check(
            f"the execution went on through {through} and succeeded",
            execution.get("status") == "SUCCEEDED" and through in states,
        )

    def _interactivity_url(self) -> str:
        return self.emu.http_url("ApprovalCallbackFunctionUrl") + "slack/interactions"

    def _refusals(self) -> int:
        return sum(
            self.actions(model_id).count("approval_rejected_request")
            for model_id in ("credit", "ranking", "search", "_unknown")
        )

    def _recorded(self, approval_id: str) -> tuple[str, str, str] | None:
        for model_id in ("credit", "ranking", "search"):
            for entry in self.plane.ledger(model_id):
                if entry["action"] == "approval_recorded" and approval_id in entry["subject"]:
                    evidence = json.loads(entry["evidence"])
                    return evidence["outcome"], evidence["decided_by"], evidence["channel"]
        return None

    def _leaks(self) -> list[str]:
        """Where a task token shows up outside the encrypted approval item (should be nowhere)."""
        tokens = {
            record.payload["task_token"]
            for record in self.emu.trace.invocations(
                self.plane.stack.functions["RequestApprovalFunction"].name
            )
            if isinstance(record.payload, dict) and "task_token" in record.payload
        }
        places = {
            "Slack": json.dumps([c.args for c in self.plane.slack.calls]),
            "ledger": json.dumps([self.plane.ledger(m) for m in ("credit", "ranking", "search")]),
            "emails and their links": json.dumps(self.__dict__.get("_emails_read", [])),
            "logs": "\n".join(
                line for fn in self.plane.stack.functions for line in self.emu.logs(fn)
            ),
        }
        return [f"{where}" for token in tokens for where, text in places.items() if token in text]


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 - the local URL
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def _post(url: str, form: dict[str, str]) -> tuple[int, str]:
    data = urlencode(form).encode()
    request = urllib.request.Request(url, data=data, method="POST")  # noqa: S310 - the local URL
    request.add_header("Content-Type", "application/x-www-form-urlencoded")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()
