"""Registry intake: what a Model Package State Change asks of the control plane, and when a
model's promotion lock may be taken over."""

from __future__ import annotations

from enum import StrEnum


class IntakeAction(StrEnum):
    START = "start"
    NOTIFY_PENDING = "notify_pending"
    RECORD_REJECTED = "record_rejected"
    IGNORE = "ignore"


def intake_action(approval_status: str, notify_pending: bool) -> IntakeAction:
    """What a Model Package State Change asks of the control plane."""
    if approval_status == "Approved":
        return IntakeAction.START
    if approval_status == "Rejected":
        return IntakeAction.RECORD_REJECTED
    if approval_status == "PendingManualApproval" and notify_pending:
        return IntakeAction.NOTIFY_PENDING
    return IntakeAction.IGNORE


def lock_is_stale(execution_status: str | None) -> bool:
    """A model's promotion lock held by an execution that no longer runs can be taken over."""
    return execution_status not in ("RUNNING", "PENDING_REDRIVE")
