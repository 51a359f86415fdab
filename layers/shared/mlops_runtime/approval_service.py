"""The one path that resolves an approval: an attempt (someone, or the deadline, answering) is
checked, recorded once with the approval's new status, and delivered to the waiting task.

Every decision goes through :meth:`ApprovalService.resolve`: Slack clicks (through the decider
function), emailed links (the callback function invokes the decider), the CLI (invokes the
decider) and expiry (the sweeper invokes the decider). The task token is decrypted only in
:meth:`ApprovalService.deliver`, right before ``SendTaskSuccess``. Refused requests are recorded
in the ledger as ``approval_rejected_request`` with the reason (:func:`record_refusal`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError
from mlops_core.approvals import (
    CONTROL_PLANE,
    Channel,
    Outcome,
    Status,
    iso,
    refusal,
    slack_origin_refusal,
    state_refusal,
    task_output,
)
from mlops_core.ledger import UNKNOWN_MODEL, Action, LedgerEntry

from mlops_runtime.approvals import PENDING_DELIVERY, Approval, ApprovalStore, from_iso
from mlops_runtime.aws import client, error_code, translated_errors
from mlops_runtime.refusals import record_bounded_refusal
from mlops_runtime.store import Ledger

# Step Functions answers these when the task is no longer waiting (timed out, execution ended,
# already answered): the decision stands, the flow has moved on without it.
TASK_GONE = frozenset({"TaskTimedOut", "TaskDoesNotExist", "InvalidToken"})
# Waiting states time out at the deadline plus an hour (backstop_seconds): past this, a pending
# delivery has no task left to reach.
DELIVERY_GIVE_UP_AFTER_DEADLINE = timedelta(hours=2)
logger = Logger(child=True)


@dataclass(frozen=True)
class Attempt:
    """Someone (or the deadline) answering an approval."""

    approval_id: str
    outcome: Outcome
    channel: Channel
    actor: str  # Slack user id, email address, IAM ARN or "control-plane"
    actor_name: str = ""
    reason: str = ""
    attempt_id: str = ""  # the same for retries of one attempt: they are not a second decision
    slack_origin: tuple[str, str, str] | None = None  # a click's team, channel, message ts


@dataclass(frozen=True)
class Resolution:
    recorded: bool
    why: str = ""
    approval: Approval | None = None

    @property
    def delivered(self) -> bool:
        """The decision reached its task (or the task is gone): nothing left to deliver."""
        return self.approval is not None and self.approval.delivery is None

    def to_dict(self) -> dict[str, Any]:
        result: dict[str, Any] = {"status": "recorded" if self.recorded else "refused"}
        if self.why:
            result["why"] = self.why
        if self.approval:
            result |= {"approval_id": self.approval.approval_id, "outcome": self.approval.status}
        if self.recorded and self.approval:
            result |= {
                "decided_by": self.approval.decided_by,
                "channel": self.approval.decided_channel,
                "delivery": "delivered" if self.delivered else "pending",
                "task_result": self.approval.task_result,
            }
        return result


class ApprovalService:
    def __init__(
        self,
        store: ApprovalStore,
        ledger: Ledger,
        group_members: Callable[[str], list[str]] = lambda group: [],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        display_name: Callable[[str], str] = lambda user: "",
    ) -> None:
        self.store = store
        self.ledger = ledger
        self.group_members = group_members
        self.clock = clock
        self.display_name = display_name  # a Slack user's name (users.info), "" if unknown

    def resolve(self, attempt: Attempt) -> Resolution:
        """Decide one approval if the attempt counts; record it either way."""
        now = self.clock()
        approval = self.store.get(attempt.approval_id)
        if approval is None:
            return self.refuse(attempt, None, "no such approval")
        ours = approval.decision_id is not None and approval.decision_id == attempt.attempt_id
        if not ours:
            why = None
            if attempt.channel is Channel.SLACK:
                posted = (approval.slack_team, approval.slack_channel, approval.slack_ts)
                why = slack_origin_refusal(attempt.slack_origin or ("", "", ""), posted)
            why = why or state_refusal(approval.status, approval.deadline, attempt.outcome, now)
            why = why or refusal(
                approval.approvers, attempt.channel, attempt.actor, self.group_members
            )
            if why:
                return self.refuse(attempt, approval, why)
            if not self._record_decision(approval, attempt, now):
                approval = self.store.get(attempt.approval_id) or approval
                if approval.decision_id != attempt.attempt_id:
                    return self.refuse(
                        attempt, approval, f"the approval is already {approval.status}"
                    )
        decided = self.store.get(attempt.approval_id) or approval
        return Resolution(True, approval=self.deliver(decided))

    def redeliver(self, approval_id: str) -> Resolution:
        """Try again to hand a recorded decision to its task (the sweeper asks, every run)."""
        approval = self.store.get(approval_id)
        if approval is None or approval.status == Status.PENDING:
            return Resolution(False, "no decision to deliver", approval)
        return Resolution(True, approval=self.deliver(approval))

    def deliver(self, approval: Approval) -> Approval:
        """SendTaskSuccess for a recorded decision still pending delivery. It never raises: a
        failure leaves the delivery pending, with why, and the sweeper retries it until it
        lands or the task is gone (the state's backstop timeout)."""
        if approval.delivery != PENDING_DELIVERY:
            return approval  # delivered already (or decided before pending deliveries existed)
        try:
            result, done = self._send_task_result(approval), True
        except Exception as error:
            code = error_code(error) if isinstance(error, ClientError) else type(error).__name__
            if isinstance(error.__cause__, ClientError):
                code = error_code(error.__cause__)
            result, done = f"pending: {code}", False
            if self.clock() >= approval.deadline + DELIVERY_GIVE_UP_AFTER_DEADLINE:
                # The waiting state's backstop (deadline + 1 h) has failed it by now.
                result, done = f"not delivered ({code}) before the task's backstop timeout", True
            logger.warning(
                "decision not delivered",
                extra={"approval_id": approval.approval_id, "error": code, "given_up": done},
            )
        self.store.note_delivery(approval.approval_id, result, done)
        return self.store.get(approval.approval_id) or approval

    def _record_decision(self, approval: Approval, attempt: Attempt, now: datetime) -> bool:
        expired = attempt.outcome is Outcome.EXPIRED
        decided_by = attempt.actor if not expired else CONTROL_PLANE
        if attempt.channel is Channel.SLACK:  # the person's name, not only the id Slack signed
            attempt = replace(attempt, actor_name=self._name(attempt.actor) or attempt.actor_name)
        reason = attempt.reason or (
            f"no decision before the deadline {iso(approval.deadline)}" if expired else ""
        )
        summary = (
            f"{approval.request.kind} of {approval.model_id} expired unanswered: rejected"
            if expired
            else f"{approval.request.kind} of {approval.model_id} {attempt.outcome} by "
            f"{attempt.actor_name or decided_by} via {attempt.channel}"
        )
        entry = LedgerEntry(
            action=Action.APPROVAL_EXPIRED if expired else Action.APPROVAL_RECORDED,
            model_id=approval.model_id,
            subject=f"approval:{approval.approval_id}",
            summary=summary,
            actor=decided_by,
            at=now,
            evidence={
                "approval_id": approval.approval_id,
                "outcome": str(attempt.outcome),
                "decided_by": decided_by,
                "decided_by_name": attempt.actor_name,
                "channel": str(attempt.channel),
                "reason": reason,
                "decided_at": iso(now),
                "kind": approval.request.kind,
                "about": approval.request.subject,
            },
        )
        operation = self.store.decide_operation(
            approval.approval_id,
            attempt.outcome,
            decided_by,
            attempt.channel,
            reason,
            now,
            attempt.attempt_id or iso(now),
            attempt.actor_name if not expired else "",
        )
        return self.ledger.record(entry, operation)

    def _name(self, user_id: str) -> str:
        try:
            return self.display_name(user_id)
        except Exception as error:  # a name is a courtesy: the id is what was verified
            logger.warning("no name for the Slack user", extra={"error": type(error).__name__})
            return ""

    def _send_task_result(self, approval: Approval) -> str:
        output = task_output(
            approval.approval_id,
            Outcome(approval.status),
            approval.decided_by or CONTROL_PLANE,
            Channel(approval.decided_channel or Channel.DEADLINE),
            approval.reason or "",
            from_iso(approval.decided_at) if approval.decided_at else self.clock(),
        )
        token = self.store.token(approval.approval_id)
        try:
            with translated_errors():
                client("stepfunctions").send_task_success(
                    taskToken=token, output=json.dumps(output)
                )
        except ClientError as error:
            code = error_code(error)
            if code not in TASK_GONE:
                raise
            # Only the code: Step Functions' messages may quote the token. Closed also means
            # an earlier attempt delivered it and failed to note that.
            return f"task no longer waiting: {code}"
        return "delivered"

    def refuse(self, attempt: Attempt, approval: Approval | None, why: str) -> Resolution:
        record_refusal(
            self.ledger,
            approval,
            attempt.approval_id,
            str(attempt.channel),
            why,
            claimed_by=attempt.actor,
            verified=True,
            now=self.clock(),
        )
        return Resolution(False, why, approval)


def record_refusal(
    ledger: Ledger,
    approval: Approval | None,
    claimed_id: str,
    channel: str,
    why: str,
    claimed_by: str = "",
    verified: bool = False,
    now: datetime | None = None,
) -> bool:
    """``approval_rejected_request``: a forged, stale, replayed or unauthorised answer, bounded
    as :mod:`mlops_runtime.refusals` says (one per approval, all approvals that do not exist
    counting as one). Returns whether it wrote an entry."""
    from mlops_core.untrusted import single_line

    shown_id = approval.approval_id if approval else "unknown"
    return record_bounded_refusal(
        ledger,
        Action.APPROVAL_REJECTED_REQUEST,
        approval.model_id if approval else UNKNOWN_MODEL,
        f"approval:{shown_id}",
        channel,
        why,
        claimed_by,
        verified,
        now,
        evidence={
            "approval_id": shown_id,
            "claimed_approval_id": single_line(claimed_id, 64) if not approval else None,
            "status": approval.status if approval else None,
        },
    )


def ask_decider(function_name: str, request: dict[str, Any]) -> dict[str, Any] | None:
    """Invoke the decider function (synchronously) for what it alone may do: resolve, expire,
    deliver again. Its answer; None when the decider failed (logged with its error type). A
    decider that cannot be reached raises."""
    with translated_errors():
        response = client("lambda").invoke(
            FunctionName=function_name, Payload=json.dumps(request).encode()
        )
    payload = json.loads(response["Payload"].read() or b"{}")
    if response.get("FunctionError"):
        approval_id = request.get("approval_id") or request.get("redeliver")
        logger.error(
            "decider failed", extra={"approval_id": approval_id, "error": payload.get("errorType")}
        )
        return None
    return dict(payload)
