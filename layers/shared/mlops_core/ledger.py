"""The ledger's vocabulary: every decision the control plane takes, with its evidence.

Action types are past-tense events. Later capabilities extend the enum; readers must tolerate
types they do not know.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any


class Action(StrEnum):
    EVENT_REJECTED = "event_rejected"
    EVENT_IGNORED = "event_ignored"
    RETRAIN_STARTED = "retrain_started"
    RETRAIN_SKIPPED = "retrain_skipped"
    RETRAIN_SUCCEEDED = "retrain_succeeded"
    RETRAIN_FAILED = "retrain_failed"
    INCIDENT_OPENED = "incident_opened"
    # Incident lifecycle (issue 17); the subject is the incident id
    INCIDENT_UPDATED = "incident_updated"
    INCIDENT_ESCALATED = "incident_escalated"
    INCIDENT_REOPENED = "incident_reopened"
    INCIDENT_RESOLVED = "incident_resolved"
    INCIDENT_ACKNOWLEDGED = "incident_acknowledged"
    INCIDENT_SNOOZED = "incident_snoozed"
    INCIDENT_REJECTED_REQUEST = "incident_rejected_request"  # a refused ack/snooze (issue 17)
    NOTIFICATION_SENT = "notification_sent"
    WATCH_RECORDED = "watch_recorded"
    RESPONSE_FAILED = "response_failed"
    # Spot training recovery and guardrails (issue 5)
    TRAINING_INTERRUPTED = "training_interrupted"
    TRAINING_RESUMED = "training_resumed"
    TRAINING_FALLBACK = "training_fallback"
    TRAINING_GIVEN_UP = "training_given_up"
    GUARDRAIL_FLAGGED = "guardrail_flagged"
    GUARDRAIL_ENFORCED = "guardrail_enforced"
    # Human approvals (issue 4)
    APPROVAL_REQUESTED = "approval_requested"
    APPROVAL_RECORDED = "approval_recorded"
    APPROVAL_EXPIRED = "approval_expired"
    APPROVAL_REJECTED_REQUEST = "approval_rejected_request"
    # Model promotion (issue 3); the subject is the promotion id, "<model>-v<version>"
    PROMOTION_STARTED = "promotion_started"
    PROMOTION_REFUSED = "promotion_refused"  # an approval event that starts nothing, and why
    QUALITY_GATE_CHECKED = "quality_gate_checked"
    STAGING_DEPLOYED = "staging_deployed"
    SHADOW_TEST_STARTED = "shadow_test_started"
    SHADOW_VERDICT = "shadow_verdict"
    SHADOW_TEST_SKIPPED = "shadow_test_skipped"  # no production traffic, or a kind not shadowable
    AUTOSCALING_TARGET_CHOSEN = "autoscaling_target_chosen"  # and where its number came from
    PRODUCTION_DEPLOY_STARTED = "production_deploy_started"
    # ours, where SageMaker's guardrails do not apply: an alarm fired during the bake
    PRODUCTION_ROLLBACK_STARTED = "production_rollback_started"
    MODEL_PROMOTED = "model_promoted"
    DEPLOYMENT_ROLLED_BACK = "deployment_rolled_back"
    PROMOTION_FAILED = "promotion_failed"
    MODEL_PACKAGE_REJECTED = "model_package_rejected"  # rejected in the registry
    # Acting on serving findings after an approval (issue 14; mlops_core.serving_actions)
    SERVING_ACTION_REQUESTED = "serving_action_requested"
    SERVING_ACTION_DECLINED = "serving_action_declined"  # rejected or expired: nothing done
    SERVING_ACTION_SKIPPED = "serving_action_skipped"  # approved, but the re-check said no
    ENDPOINT_DELETED = "endpoint_deleted"
    VARIANT_SCALED_IN = "variant_scaled_in"
    # Observe-only mode (issue 12): what the control plane would have done, with its evidence;
    # mlops_core.observe maps each action to its would_* kind.
    WOULD_START_RETRAIN = "would_start_retrain"
    WOULD_PAGE = "would_page"
    WOULD_NOTIFY = "would_notify"
    WOULD_PROMOTE = "would_promote"
    WOULD_RESTART_TRAINING = "would_restart_training"
    WOULD_RETRY_PIPELINE = "would_retry_pipeline"
    WOULD_STOP_TRAINING = "would_stop_training"
    WOULD_DELETE_ENDPOINT = "would_delete_endpoint"
    WOULD_SCALE_IN = "would_scale_in"


UNKNOWN_MODEL = "_unknown"


def entry_id(action: Action | str, subject: str, key: str = "") -> str:
    """The id of the entry of ``action`` on ``subject`` (and ``key``): a reader that knows what
    it looks for reads it by key (`mlopscp explain`)."""
    base = f"{action}|{subject}" + (f"|{key}" if key else "")
    return hashlib.sha256(base.encode()).hexdigest()[:20]


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """One ledger line. ``subject`` is what the entry is about: an incident, a promotion..."""

    action: Action | str
    model_id: str
    subject: str
    summary: str
    evidence: dict[str, Any] = field(default_factory=dict)
    actor: str = "control-plane"
    at: datetime = field(default_factory=lambda: datetime.now(UTC))
    # Tells apart entries of one action on one subject that may happen more than once (an
    # incident's updates: its version); empty for the once-per-subject actions.
    key: str = ""

    @property
    def entry_id(self) -> str:
        """Stable for the same action on the same subject (and key), so a retried write is a
        no-op."""
        return entry_id(self.action, self.subject, self.key)

    def to_record(self) -> dict[str, Any]:
        return {
            "model_id": self.model_id or UNKNOWN_MODEL,
            "entry_id": self.entry_id,
            "at": self.at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "action": str(self.action),
            "subject": self.subject,
            "summary": self.summary,
            "actor": self.actor,
            "evidence": json.dumps(self.evidence, default=str, sort_keys=True),
        }
