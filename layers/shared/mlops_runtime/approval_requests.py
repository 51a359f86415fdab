"""Asking the approvers: a new approval stored with its task token encrypted and announced over
Slack and email (functions/request_approval), and the reminder before its deadline
(functions/approval_sweeper). Messages name the approval id only, never the token.

A channel that fails does not stop the others; a request no channel took is withdrawn and its
task fails (:class:`ApprovalDeliveryError`), so the workflow does not wait for an answer nobody
was asked for.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from aws_lambda_powertools import Logger
from mlops_core.approvals import ApprovalRequest, Approvers, Status, iso, new_approval_id, timing
from mlops_core.errors import ApprovalDeliveryError, ApprovalNotConfiguredError
from mlops_core.ledger import Action, LedgerEntry

from mlops_runtime.approval_channels import Email, Slack
from mlops_runtime.approvals import Approval, ApprovalStore
from mlops_runtime.store import Ledger

if TYPE_CHECKING:  # the sweeper never reads model configuration: keep it off its cold start
    from mlops_runtime.model_config import ApprovalsConfig, ModelConfigStore

logger = Logger(child=True)


@dataclass
class ApprovalRequests:
    store: ApprovalStore
    ledger: Ledger
    slack: Slack
    email: Email

    def open(self, request: ApprovalRequest, models: ModelConfigStore, token: str) -> Approval:
        """Store a pending approval, its approvers frozen from the model's configuration."""
        model = models.get(request.model_id)
        if model is None or model.approvals is None:
            raise ApprovalNotConfiguredError(f"model {request.model_id} names no approvers")
        config: ApprovalsConfig = model.approvals
        now = datetime.now(UTC).replace(microsecond=0)
        when = timing(now, config.deadline_hours, config.reminder_before_hours)
        approval = Approval(
            approval_id=new_approval_id(),
            status=Status.PENDING,
            model_id=request.model_id,
            request=request,
            approvers=Approvers(
                slack_channel=config.slack_channel,
                slack_users=config.slack_approvers,
                slack_groups=config.slack_approver_groups,
                emails=config.email_approvers if self.email.can_link else [],
            ),
            deadline=when.deadline,
            reminder_at=when.reminder_at,
            created_at=now,
        )
        self.store.create(approval, token, request.execution)
        return approval

    def announce(self, approval: Approval) -> list[str]:
        """Ask over every configured channel and record ``approval_requested`` with where the
        request went (for Slack, the message a click must come from). Returns the channels."""
        delivered: list[str] = []
        failed: list[str] = []
        slack_ref, details = None, ""
        if self.slack.enabled and approval.approvers.slack_channel:
            try:
                viewer = f"slack:{approval.approvers.slack_channel}"
                details = self.email.view_link(approval, viewer)
                slack_ref = self.slack.post_request(approval, details)
                delivered.append("slack")
            except Exception as error:
                logger.warning("Slack request failed", extra={"error": type(error).__name__})
                failed.append("slack")
        if approval.approvers.emails:
            try:
                delivered += [f"email:{to}" for to in self.email.send_requests(approval)]
            except Exception as error:
                logger.warning("email request failed", extra={"error": type(error).__name__})
                failed.append("email")
        if not delivered:
            self.store.withdraw(approval.approval_id, "no channel took the request")
            raise ApprovalDeliveryError(f"no channel took approval {approval.approval_id}")
        request = approval.request
        self.ledger.record(
            LedgerEntry(
                action=Action.APPROVAL_REQUESTED,
                model_id=approval.model_id,
                subject=f"approval:{approval.approval_id}",
                summary=f"{request.headline} (deadline {approval.deadline:%Y-%m-%d %H:%M}Z)",
                evidence={
                    **approval.summary(),
                    "delivered": delivered,
                    "failed": failed,
                    "reasons": request.reasons,
                },
            ),
            self.store.announced_operation(approval.approval_id, delivered, slack_ref, details),
        )
        return delivered

    def remind(self, approval: Approval) -> None:
        """The reminder (claimed by the caller first, so overlapping sweeps send it once)."""
        delivered = []
        if self.slack.enabled and approval.slack_ts:
            try:
                self.slack.remind(approval)
                delivered.append("slack")
            except Exception as error:
                logger.warning("Slack reminder failed", extra={"error": type(error).__name__})
        try:
            if self.email.send_reminders(approval):
                delivered.append("email")
        except Exception as error:
            logger.warning("email reminder failed", extra={"error": type(error).__name__})
        self.ledger.record(
            LedgerEntry(
                action=Action.NOTIFICATION_SENT,
                model_id=approval.model_id,
                subject=f"approval:{approval.approval_id}#reminder",
                summary=f"reminded the approvers of {approval.approval_id}",
                evidence={"delivered": delivered, "deadline": iso(approval.deadline)},
            )
        )
