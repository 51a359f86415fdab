"""The approvals' public door (functions/approval_callback): what anyone on the internet can send is
checked here before the decider sees it, and every refusal is recorded.

- Slack: the request's timestamp (Slack's 5-minute window) and signature (slack_sdk's, in
  mlops_runtime.slack_signature); a click (an approval's buttons, or an incident's Acknowledge
  / Snooze) is handed to the decider asynchronously (Slack wants its answer within 3 s) and
  marked as seen only once handed over, so a redelivery is refused as a replay while the retry
  of a failed hand-off is processed.
- Emailed links: the HMAC and expiry against the accepted link keys; the confirmation form's
  POST goes to the decider synchronously, which checks the link again and records the decision.

A refusal is recorded as ``approval_rejected_request`` (``incident_rejected_request`` for an
incident's buttons) with what the request claimed (never trusted: kept as evidence only).
Nothing here resolves a task or changes an incident: only the decider can.
"""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from aws_lambda_powertools import Logger
from mlops_core.approval_pages import ApprovalView
from mlops_core.approvals import (
    VIEW_PURPOSE,
    Action,
    InteractionError,
    LinkClaim,
    SlackClick,
    iso,
    link_refusal,
    parse_slack_click,
    slack_timestamp_problem,
)
from mlops_core.incident_controls import (
    IncidentClick,
    is_incident_click,
    is_incident_id,
    parse_incident_click,
)

from mlops_runtime.approval_channels import decider, secret_text
from mlops_runtime.approval_service import ask_decider, record_refusal
from mlops_runtime.approvals import ApprovalStore
from mlops_runtime.aws import client, translated_errors
from mlops_runtime.link_keys import LinkKeys
from mlops_runtime.slack_signature import slack_signature_matches
from mlops_runtime.store import Ledger

logger = Logger(child=True)
DECISIONS: frozenset[str] = frozenset(Action)
VIEWING = frozenset({VIEW_PURPOSE})


def body_text(raw: str, base64_encoded: bool) -> str | None:
    """A Function URL request's body as text; None when it is not UTF-8 (a refusal, never a
    crash)."""
    try:
        data = base64.b64decode(raw, validate=True) if base64_encoded else raw.encode()
        return data.decode("utf-8")
    except (ValueError, UnicodeError):
        return None


class Receipt(StrEnum):
    """What became of a signed Slack request."""

    HANDED_OVER = "handed_over"
    IGNORED = "ignored"  # not a click on one of our buttons
    REPLAYED = "replayed"  # refused: this click was handed over already
    NOT_HANDED_OVER = "not_handed_over"  # the decider could not be reached: Slack retries


@dataclass
class ApprovalDoor:
    store: ApprovalStore
    ledger: Ledger
    link_keys: LinkKeys
    decider_function: str
    slack_signing_secret_arn: str
    state_table: str  # incidents, read only: a refused incident click is filed under its model

    # -- Slack ----------------------------------------------------------------------------

    def slack_refusal(self, body: str, headers: dict[str, str], now: float) -> str | None:
        """Why a request is not Slack's, or not fresh (None: Slack signed it just now)."""
        problem = slack_timestamp_problem(headers.get("x-slack-request-timestamp"), now)
        if not problem and not self.slack_signing_secret_arn:
            problem = "Slack interactivity is not configured (no signing secret)"
        if not problem and not self._slack_signature_valid(body, headers):
            problem = "signature does not match (forged or altered request)"
        return problem

    def _slack_signature_valid(self, body: str, headers: dict[str, str]) -> bool:
        # The timestamp is judged above, against ``now``: the signature check takes no clock
        # of its own, so a stale request is named stale, not forged.
        return slack_signature_matches(
            secret_text(self.slack_signing_secret_arn),
            headers.get("x-slack-request-timestamp") or "",
            body,
            headers.get("x-slack-signature") or "",
        )

    def hand_over(self, body: str, headers: dict[str, str]) -> Receipt:
        """A signed click to the decider, asynchronously, as Slack signed it (the decider checks
        the signature itself); then marked as seen. A click already seen is refused as a replay;
        a failed hand-off is not marked, so Slack's retry of it is processed."""
        try:
            click: SlackClick | IncidentClick = (
                parse_incident_click(body) if is_incident_click(body) else parse_slack_click(body)
            )
        except InteractionError as error:
            logger.info("interaction ignored", extra={"reason": str(error)})
            return Receipt.IGNORED
        if self.store.seen(click.key):
            self.refuse_slack(body, "replayed: this interaction was already received")
            return Receipt.REPLAYED
        request = {
            "channel": "slack",
            "body": body,
            "timestamp": headers.get("x-slack-request-timestamp", ""),
            "signature": headers.get("x-slack-signature", ""),
        }
        try:
            with translated_errors():
                client("lambda").invoke(
                    FunctionName=self.decider_function,
                    InvocationType="Event",  # Slack wants its answer in 3 s; the decider may not
                    Payload=json.dumps(request).encode(),
                )
        except Exception as error:
            logger.error("hand-off to the decider failed", extra={"error": type(error).__name__})
            return Receipt.NOT_HANDED_OVER
        self.store.remember(click.key, datetime.now(UTC))
        return Receipt.HANDED_OVER

    def refuse_slack(self, body: str, why: str) -> None:
        """Record what the request claimed (unverified: never trusted, only kept as evidence)."""
        if is_incident_click(body):
            self._refuse_incident_click(body, why)
            return
        try:
            claimed = parse_slack_click(body)
            claimed_id, claimed_by = claimed.approval_id, claimed.user_id
        except InteractionError:
            claimed_id, claimed_by = "", ""
        approval = self.store.get(claimed_id) if claimed_id else None
        record_refusal(self.ledger, approval, claimed_id, "slack", why, claimed_by)
        logger.warning("Slack request refused", extra={"why": why, "claimed_by": claimed_by[:100]})

    def _refuse_incident_click(self, body: str, why: str) -> None:
        # Imported here: the incident modules cost a click's cold start ~45 ms, refusals only.
        from mlops_runtime.incident_controls import record_incident_refusal
        from mlops_runtime.incidents import IncidentStore

        try:
            claimed = parse_incident_click(body)
            claimed_id, claimed_by = claimed.incident_id, claimed.user_id
        except InteractionError:
            claimed_id, claimed_by = "", ""
        incidents = IncidentStore(self.state_table, self.ledger)
        state = incidents.get(claimed_id) if is_incident_id(claimed_id) else None
        record_incident_refusal(self.ledger, state, claimed_id, "slack", why, claimed_by)
        logger.warning("Slack request refused", extra={"why": why, "claimed_by": claimed_by[:100]})

    # -- emailed links --------------------------------------------------------------------

    def link_refusal(self, claim: LinkClaim, viewing: bool = False) -> str | None:
        """Why a link is not honoured (None: genuine, unexpired, signed with an accepted key,
        for approve/reject, or with ``viewing`` for the read-only evidence page only)."""
        if not self.link_keys.configured:
            return "emailed links are not configured"
        now = datetime.now(UTC)
        purposes = VIEWING if viewing else DECISIONS
        return link_refusal(self.link_keys.accepted(now, claim.key_id), claim, now, purposes)

    def refuse_link(self, claim: LinkClaim, why: str) -> None:
        approval = self.store.get(claim.approval_id)
        record_refusal(self.ledger, approval, claim.approval_id, "email", why, claim.approver)
        logger.warning("link refused", extra={"why": why})

    def view(self, approval_id: str) -> ApprovalView | None:
        """What a link's page shows about its approval (None: there is no such approval)."""
        approval = self.store.get(approval_id)
        if approval is None:
            return None
        who = decider(approval) if approval.decided_by else ""
        decided = {"decided_by": who, "decided_at": approval.decided_at or ""}
        return ApprovalView(
            approval_id=approval.approval_id,
            request=approval.request,
            deadline=iso(approval.deadline),
            status=approval.status,
            decided=decided,
        )

    def decide(self, claim: LinkClaim, reason: str) -> dict[str, Any]:
        """The confirmed link to the decider (which checks its HMAC again); its answer, or, if it
        failed, what the approval says happened to this attempt."""
        attempt_id = f"email:{uuid.uuid4()}"  # each POST is a new attempt: reuse is refused
        request = {
            "channel": "email",
            "approval_id": claim.approval_id,
            "action": claim.action,
            "approver": claim.approver,
            "expires": claim.expires,
            "sig": claim.signature,
            "kid": claim.key_id,
            "reason": reason.strip()[:500],
            "attempt_id": attempt_id,
        }
        try:
            answer = ask_decider(self.decider_function, request)
            if answer is not None:
                approval = self.store.get(claim.approval_id)  # for "what happens next"
                return answer | ({"kind": approval.request.kind} if approval else {})
        except Exception as error:
            logger.error("decider unreachable", extra={"error": type(error).__name__})
        approval = self.store.get(claim.approval_id)
        if approval is not None and approval.decision_id == attempt_id:
            delivery = "pending" if approval.delivery else "delivered"
            return {"status": "recorded", "delivery": delivery}
        return {"status": "refused", "why": "the decision could not be recorded; try again"}
