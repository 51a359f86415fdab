"""How a promotion ended (:func:`ending`): from what the workflow recorded, which terminal outcome
and which reason to report."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Outcome(StrEnum):
    PROMOTED = "promoted"
    NOT_PROMOTED = "not_promoted"  # refused, quality gate, shadow verdict, approval
    ROLLED_BACK = "rolled_back"  # production went back to the old model
    FAILED = "failed"  # an error; production on the old model unless the reason says otherwise


@dataclass(frozen=True, slots=True)
class Ending:
    outcome: Outcome
    stage: str
    reason: str

    @property
    def severity(self) -> str:
        return {
            Outcome.PROMOTED: "info",
            Outcome.NOT_PROMOTED: "warning",
            Outcome.ROLLED_BACK: "critical",
            Outcome.FAILED: "critical",
        }[self.outcome]

    def to_dict(self) -> dict[str, str]:
        return {"outcome": str(self.outcome), "stage": self.stage, "reason": self.reason}


def ending(state: Mapping[str, Any]) -> Ending:
    """Which terminal outcome a promotion reached, from the workflow's state when it ends."""
    promotion = state.get("promotion") or {}
    gate, verdict = state.get("gate") or {}, state.get("verdict") or {}
    approval, deploy = state.get("approval") or {}, state.get("deploy") or {}
    restore, error = state.get("restore") or {}, state.get("error") or {}
    if restore.get("restored"):
        cause = _error_text(error) or "verification after the deployment failed"
        return Ending(Outcome.ROLLED_BACK, "verify", f"restored the old model: {cause}")
    if deploy.get("rolled_back"):
        why = deploy.get("failure_reason") or "SageMaker rolled the deployment back"
        return Ending(Outcome.ROLLED_BACK, "deploy", why)
    if error:
        stage = "verify" if deploy.get("deployed") else _stage_of(state)
        prefix = ""
        if deploy.get("deployed"):  # a first deployment's new endpoint is removed by the abort
            prefix = (
                "the new production endpoint failed verification: "
                if promotion.get("first_deployment")
                else "production may serve the candidate: "
            )
        return Ending(Outcome.FAILED, stage, prefix + _error_text(error))
    if promotion.get("refusal"):
        return Ending(Outcome.NOT_PROMOTED, "prepare", str(promotion["refusal"]))
    if gate and not gate.get("passed"):
        reasons = "; ".join((gate.get("summary") or {}).get("reasons", [])[:3])
        return Ending(Outcome.NOT_PROMOTED, "quality_gate", f"quality gate: {reasons}")
    if verdict and not verdict.get("proceed"):
        return Ending(Outcome.NOT_PROMOTED, "shadow", str(verdict.get("headline", "shadow test")))
    if approval and approval.get("outcome") != "approved":
        who = approval.get("decided_by", "nobody")
        reason = f": {approval['reason']}" if approval.get("reason") else ""
        return Ending(
            Outcome.NOT_PROMOTED,
            "approval",
            f"{approval.get('outcome', 'no answer')} by {who} via {approval.get('channel', '-')}"
            + reason,
        )
    return Ending(Outcome.FAILED, _stage_of(state), "the promotion ended without a recorded reason")


def _stage_of(state: Mapping[str, Any]) -> str:
    for key in ("deploy", "approval", "verdict", "shadow", "staging", "gate", "promotion"):
        if state.get(key):
            return key
    return "start"


def _error_text(error: Mapping[str, Any]) -> str:
    if not error:
        return ""
    cause = str(error.get("Cause", ""))
    try:
        parsed = json.loads(cause)
        cause = str(parsed.get("errorMessage", cause)) if isinstance(parsed, dict) else cause
    except ValueError:
        pass
    return f"{error.get('Error', 'error')}: {cause}"[:600]
