"""Approvals in DynamoDB, their task tokens under KMS, and the one path that resolves them.

The approval table holds one item per approval (``pk = APPROVAL#<id>``) and one per Slack
interaction already received (``pk = SEEN#<digest>``, with a TTL: replay protection). The task
token is stored only as KMS ciphertext whose encryption context names the approval id, so a
ciphertext copied onto another approval does not decrypt, and IAM can require that context.
It is decrypted in exactly one place, :meth:`ApprovalService.resolve`, right before
``SendTaskSuccess``, and is never logged, returned or put in a message.

Every decision goes through :meth:`ApprovalService.resolve`: Slack clicks (through the decider
function), emailed links (the callback function invokes the decider), the CLI (invokes the
decider) and expiry (the sweeper invokes the decider). Refused requests are recorded in the
ledger as ``approval_rejected_request`` with the reason.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError
from mlops_core.approvals import (
    CONTROL_PLANE,
    ApprovalRequest,
    Approvers,
    Channel,
    Outcome,
    Status,
    is_approval_id,
    iso,
    refusal,
    slack_origin_refusal,
    state_refusal,
    task_output,
)
from mlops_core.ledger import UNKNOWN_MODEL, Action, LedgerEntry

from mlops_runtime.aws import client, error_code, paginate, translated_errors
from mlops_runtime.store import Ledger, from_attributes, to_attributes

ENCRYPTION_PURPOSE = "mlopscp-approval-task-token"
SEEN_TTL = timedelta(minutes=15)  # longer than Slack's 5-minute signature window
RETAIN_AFTER_DEADLINE = timedelta(days=400)
# Step Functions answers these when the task is no longer waiting (timed out, execution ended,
# already answered): the decision stands, the flow has moved on without it.
TASK_GONE = frozenset({"TaskTimedOut", "TaskDoesNotExist", "InvalidToken"})
PENDING_DELIVERY = "pending"
# Waiting states time out at the deadline plus an hour (backstop_seconds): past this, a pending
# delivery has no task left to reach.
DELIVERY_GIVE_UP_AFTER_DEADLINE = timedelta(hours=2)
logger = Logger(child=True)


def silence_sdk_debug_logs() -> None:
    """Called at cold start by the functions that handle task tokens and Slack tokens.

    Secrets flow through these clients (the task token to KMS and Step Functions, the bot token
    to Slack): at DEBUG they print whole request bodies and headers. Keep them at WARNING
    whatever level the function's logging is set to (LoggingConfig.ApplicationLogLevel).
    """
    for name in ("botocore", "boto3", "urllib3", "slack_sdk"):
        logging.getLogger(name).setLevel(logging.WARNING)


def approval_key(approval_id: str) -> str:
    return f"APPROVAL#{approval_id}"


@dataclass
class Approval:
    """One approval as stored (without its token)."""

    approval_id: str
    status: str
    model_id: str
    request: ApprovalRequest
    approvers: Approvers
    deadline: datetime
    created_at: datetime
    reminder_at: datetime | None = None
    reminded_at: str | None = None
    slack_channel: str | None = None
    slack_ts: str | None = None
    slack_team: str | None = None
    decided_by: str | None = None
    decided_channel: str | None = None
    decided_at: str | None = None
    reason: str | None = None
    decision_id: str | None = None
    delivered: list[str] = field(default_factory=list)
    delivery: str | None = None  # "pending" while the decision has not reached the workflow
    task_result: str | None = None  # delivered, pending (why), or why the task was gone

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> Approval:
        return cls(
            approval_id=item["approval_id"],
            status=item["status"],
            model_id=item["model_id"],
            request=ApprovalRequest.model_validate_json(item["request"]),
            approvers=Approvers.model_validate_json(item["approvers"]),
            deadline=_moment(item["deadline"]),
            created_at=_moment(item["created_at"]),
            reminder_at=_moment(item["reminder_at"]) if item.get("reminder_at") else None,
            reminded_at=item.get("reminded_at"),
            slack_channel=item.get("slack_channel"),
            slack_ts=item.get("slack_ts"),
            slack_team=item.get("slack_team"),
            decided_by=item.get("decided_by"),
            decided_channel=item.get("decided_channel"),
            decided_at=item.get("decided_at"),
            reason=item.get("reason"),
            decision_id=item.get("decision_id"),
            delivered=list(item.get("delivered") or []),
            delivery=item.get("delivery"),
            task_result=item.get("task_result"),
        )

    def summary(self) -> dict[str, Any]:
        """What `mlopscp approvals list` and the ledger show: never the token."""
        return {
            "approval_id": self.approval_id,
            "status": self.status,
            "model_id": self.model_id,
            "kind": self.request.kind,
            "subject": self.request.subject,
            "deadline": iso(self.deadline),
            "created_at": iso(self.created_at),
            "approvers": self.approvers.model_dump(),
            "delivered": self.delivered,
            "decided_by": self.decided_by,
            "channel": self.decided_channel,
            "decided_at": self.decided_at,
            "reason": self.reason,
            "delivery": self.delivery,
            "task_result": self.task_result,
        }


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


class ApprovalStore:
    def __init__(self, table_name: str, key_id: str | None = None) -> None:
        self.table_name = table_name
        self.key_id = key_id

    # -- writing --------------------------------------------------------------------------

    def create(
        self,
        approval: Approval,
        task_token: str,
        execution: str | None,
    ) -> None:
        """Store a new approval with its token encrypted under the approval's own context."""
        if not self.key_id:
            raise ValueError("an ApprovalStore without a KMS key id cannot store task tokens")
        with translated_errors():
            ciphertext = client("kms").encrypt(
                KeyId=self.key_id,
                Plaintext=task_token.encode(),
                EncryptionContext=_context(approval.approval_id),
            )["CiphertextBlob"]
            item = {
                "pk": approval_key(approval.approval_id),
                "approval_id": approval.approval_id,
                "status": Status.PENDING.value,
                "model_id": approval.model_id,
                "kind": approval.request.kind,
                "subject": approval.request.subject,
                "request": approval.request.model_dump_json(),
                "approvers": approval.approvers.model_dump_json(),
                "deadline": iso(approval.deadline),
                "reminder_at": iso(approval.reminder_at) if approval.reminder_at else None,
                "created_at": iso(approval.created_at),
                "execution": execution,
                "token": ciphertext,
                "expires_at": int((approval.deadline + RETAIN_AFTER_DEADLINE).timestamp()),
            }
            client("dynamodb").put_item(
                TableName=self.table_name,
                Item=to_attributes(item),
                ConditionExpression="attribute_not_exists(pk)",
            )

    def announced_operation(
        self, approval_id: str, delivered: list[str], slack: tuple[str, str, str] | None
    ) -> dict[str, Any]:
        """Where the request went; for Slack the channel, message ts and team it was posted in
        (a click counts only from that message)."""
        changes: dict[str, Any] = {"delivered": delivered}
        if slack:
            changes |= {"slack_channel": slack[0], "slack_ts": slack[1], "slack_team": slack[2]}
        return self._update(approval_id, changes, "attribute_exists(pk)")

    def decide_operation(
        self,
        approval_id: str,
        outcome: Outcome,
        decided_by: str,
        channel: Channel,
        reason: str,
        decided_at: datetime,
        decision_id: str,
    ) -> dict[str, Any]:
        """Pending -> outcome, once: the condition makes a second decision fail. The decision
        starts as a pending delivery (index by-delivery) until SendTaskSuccess has taken it."""
        changes = {
            "status": outcome.value,
            "decided_by": decided_by,
            "decided_channel": channel.value,
            "reason": reason,
            "decided_at": iso(decided_at),
            "decision_id": decision_id,
            "delivery": PENDING_DELIVERY,
            "task_result": "pending: not sent yet",
        }
        return self._update(
            approval_id, changes, "#status = :pending", **{":pending": Status.PENDING.value}
        )

    def withdraw(self, approval_id: str, why: str) -> None:
        """The request reached nobody: take it out of the pending set (the task fails)."""
        operation = self._update(
            approval_id,
            {"status": Status.WITHDRAWN.value, "task_result": why},
            "#status = :pending",
            **{":pending": Status.PENDING.value},
        )
        self._apply(operation)

    def claim_reminder(self, approval_id: str, now: datetime) -> bool:
        """Mark the reminder sent, once: concurrent sweeps send it once between them."""
        operation = self._update(
            approval_id,
            {"reminded_at": iso(now)},
            "#status = :pending AND attribute_not_exists(reminded_at)",
            **{":pending": Status.PENDING.value},
        )
        return self._apply(operation)

    def note_delivery(self, approval_id: str, result: str, done: bool) -> None:
        """The task took the decision (or is gone): out of the pending deliveries. Not done:
        still pending, with why, for the sweeper's next attempt."""
        update = self._update(approval_id, {"task_result": result}, "attribute_exists(pk)")
        if done:
            update["Update"]["UpdateExpression"] += " REMOVE delivery"
        self._apply(update)

    def undelivered(self) -> list[str]:
        """Ids of decided approvals whose decision has not reached their task yet."""
        items = paginate(
            "dynamodb",
            "query",
            "Items",
            TableName=self.table_name,
            IndexName="by-delivery",
            KeyConditionExpression="delivery = :p",
            ExpressionAttributeValues={":p": {"S": PENDING_DELIVERY}},
        )
        return [item["pk"]["S"].removeprefix("APPROVAL#") for item in items]

    def seen(self, digest: str) -> bool:
        """Was this Slack interaction handed over already (a redelivery or a replay)?"""
        with translated_errors():
            item = client("dynamodb").get_item(
                TableName=self.table_name,
                Key=to_attributes({"pk": f"SEEN#{digest}"}),
                ConsistentRead=True,
            )
        return "Item" in item

    def remember(self, digest: str, now: datetime) -> None:
        """Mark a Slack interaction as handed over (after the hand-off: a failed one stays
        unmarked, so Slack's retry of it is not mistaken for a replay)."""
        item = {"pk": f"SEEN#{digest}", "seen_at": iso(now)}
        item["expires_at"] = int((now + SEEN_TTL).timestamp())
        operation = {
            "Put": {
                "TableName": self.table_name,
                "Item": to_attributes(item),
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }
        self._apply(operation)

    # -- reading --------------------------------------------------------------------------

    def get(self, approval_id: str) -> Approval | None:
        if not is_approval_id(approval_id):
            return None
        with translated_errors():
            item = (
                client("dynamodb")
                .get_item(
                    TableName=self.table_name,
                    Key=to_attributes({"pk": approval_key(approval_id)}),
                    ConsistentRead=True,
                )
                .get("Item")
            )
        return Approval.from_item(from_attributes(item)) if item else None

    def token(self, approval_id: str) -> str:
        """Decrypt the task token: only the decider calls this, right before SendTaskSuccess."""
        with translated_errors():
            item = client("dynamodb").get_item(
                TableName=self.table_name,
                Key=to_attributes({"pk": approval_key(approval_id)}),
                ProjectionExpression="#t",
                ExpressionAttributeNames={"#t": "token"},
                ConsistentRead=True,
            )["Item"]
            plaintext = client("kms").decrypt(
                KeyId=self.key_id,
                CiphertextBlob=item["token"]["B"],
                EncryptionContext=_context(approval_id),
            )["Plaintext"]
        return bytes(plaintext).decode()

    def with_status(self, status: Status) -> list[Approval]:
        """Approvals in one status, soonest deadline first (the by-status index)."""
        pages = (
            client("dynamodb")
            .get_paginator("query")
            .paginate(
                TableName=self.table_name,
                IndexName="by-status",
                KeyConditionExpression="#s = :s",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={":s": {"S": status.value}},
            )
        )
        return [
            Approval.from_item(from_attributes(item))
            for page in pages
            for item in page.get("Items", [])
        ]

    # -- helpers --------------------------------------------------------------------------

    def _update(
        self, approval_id: str, changes: dict[str, Any], condition: str, **values: Any
    ) -> dict[str, Any]:
        names = {f"#{k}": k for k in changes}
        if "#status" in condition:
            names["#status"] = "status"
        return {
            "Update": {
                "TableName": self.table_name,
                "Key": to_attributes({"pk": approval_key(approval_id)}),
                "UpdateExpression": "SET " + ", ".join(f"#{k} = :{k}" for k in changes),
                "ConditionExpression": condition,
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": to_attributes(
                    {f":{k}": v for k, v in changes.items()} | values
                ),
            }
        }

    def _apply(self, operation: dict[str, Any]) -> bool:
        ((kind, params),) = operation.items()
        call = {"Put": "put_item", "Update": "update_item"}[kind]
        try:
            with translated_errors():
                getattr(client("dynamodb"), call)(**params)
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                return False
            raise
        return True


def _context(approval_id: str) -> dict[str, str]:
    return {"approval_id": approval_id, "purpose": ENCRYPTION_PURPOSE}


# ---------------------------------------------------------------- resolving


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
    ) -> None:
        self.store = store
        self.ledger = ledger
        self.group_members = group_members
        self.clock = clock

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
        )
        return self.ledger.record(entry, operation)

    def _send_task_result(self, approval: Approval) -> str:
        output = task_output(
            approval.approval_id,
            Outcome(approval.status),
            approval.decided_by or CONTROL_PLANE,
            Channel(approval.decided_channel or Channel.DEADLINE),
            approval.reason or "",
            _moment(approval.decided_at) if approval.decided_at else self.clock(),
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
    """``approval_rejected_request``: a forged, stale, replayed or unauthorised answer.

    Anyone can send the public callback requests, so what they write is bounded: one entry per
    approval (all approvals that do not exist count as one), channel, reason and hour, the
    first of its kind; repeats are counted by the ApprovalRequestsRefused metric only. An
    identity that was not verified is kept as a claim, marked so and reduced to one printable
    line; a verified person's refusals are kept per person. Returns whether it wrote an entry.
    """
    from mlops_core.approvals import fingerprint
    from mlops_core.untrusted import single_line

    moment = now or datetime.now(UTC)
    shown_id = approval.approval_id if approval else "unknown"
    claimed = single_line(claimed_by, 100)
    reason = single_line(why, 300)
    kind = re.sub(r"[-+]?\d+(\.\d+)?", "#", reason)  # "stale by 301 s" and "by 302 s" alike
    window = moment.strftime("%Y-%m-%dT%H")
    key = fingerprint(channel, kind, window, claimed if verified else "")
    return ledger.record(
        LedgerEntry(
            action=Action.APPROVAL_REJECTED_REQUEST,
            model_id=approval.model_id if approval else UNKNOWN_MODEL,
            subject=f"approval:{shown_id}#refused#{key}",
            summary=f"refused a {channel} answer: {reason}",
            actor=(claimed or "unknown") if verified else "unverified",
            at=moment,
            evidence={
                "approval_id": shown_id,
                "claimed_approval_id": single_line(claimed_id, 64) if not approval else None,
                "channel": channel,
                "why": reason,
                "claimed_by": claimed,
                "identity": "verified" if verified else "unverified",
                "window": f"{window}:00Z, first refusal of this kind in the hour",
                "status": approval.status if approval else None,
            },
        )
    )
