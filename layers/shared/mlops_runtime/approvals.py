"""Approvals in DynamoDB and their task tokens under KMS.

The approval table holds one item per approval (``pk = APPROVAL#<id>``) and one per Slack
interaction already received (``pk = SEEN#<digest>``, with a TTL: replay protection). The task
token is stored only as KMS ciphertext whose encryption context names the approval id, so a
ciphertext copied onto another approval does not decrypt, and IAM can require that context.
It is decrypted in exactly one place, right before ``SendTaskSuccess``
(:meth:`mlops_runtime.approval_service.ApprovalService.deliver`), and is never logged, returned
or put in a message. Deciding an approval is :mod:`mlops_runtime.approval_service`'s.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError
from mlops_core.approvals import (
    ApprovalRequest,
    Approvers,
    Channel,
    Outcome,
    Status,
    is_approval_id,
    iso,
)

from mlops_runtime.aws import client, error_code, paginate, translated_errors
from mlops_runtime.store import from_attributes, to_attributes

ENCRYPTION_PURPOSE = "mlopscp-approval-task-token"
SEEN_TTL = timedelta(minutes=15)  # longer than Slack's 5-minute signature window
RETAIN_AFTER_DEADLINE = timedelta(days=400)
PENDING_DELIVERY = "pending"


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
    slack_details_url: str | None = None  # the Slack message's View details (evidence) link
    decided_by: str | None = None
    decided_by_name: str | None = None  # a Slack decider's name (users.info) at the time
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
            deadline=from_iso(item["deadline"]),
            created_at=from_iso(item["created_at"]),
            reminder_at=from_iso(item["reminder_at"]) if item.get("reminder_at") else None,
            reminded_at=item.get("reminded_at"),
            slack_channel=item.get("slack_channel"),
            slack_ts=item.get("slack_ts"),
            slack_team=item.get("slack_team"),
            slack_details_url=item.get("slack_details_url"),
            decided_by=item.get("decided_by"),
            decided_by_name=item.get("decided_by_name"),
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
            "decided_by_name": self.decided_by_name,
            "channel": self.decided_channel,
            "decided_at": self.decided_at,
            "reason": self.reason,
            "delivery": self.delivery,
            "task_result": self.task_result,
        }


def from_iso(text: str) -> datetime:
    """A stored ISO 8601 moment (``Z`` or an offset)."""
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
        self,
        approval_id: str,
        delivered: list[str],
        slack: tuple[str, str, str] | None,
        slack_details_url: str = "",
    ) -> dict[str, Any]:
        """Where the request went; for Slack the channel, message ts and team it was posted in
        (a click counts only from that message), and its View details link (read-only: the
        decider shows it again when it rewrites the message, and cannot sign one itself)."""
        changes: dict[str, Any] = {"delivered": delivered}
        if slack:
            changes |= {"slack_channel": slack[0], "slack_ts": slack[1], "slack_team": slack[2]}
        if slack and slack_details_url:
            changes["slack_details_url"] = slack_details_url
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
        decided_by_name: str = "",
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
        if decided_by_name and decided_by_name != decided_by:
            changes["decided_by_name"] = decided_by_name
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
