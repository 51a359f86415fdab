"""What a notification says, independent of the channel that carries it.

Everything in a notification may hold untrusted text (names, reasons from monitoring files,
failure reasons): the email rendering (:meth:`Notification.as_text`) quotes it through
:mod:`mlops_core.email_text`, the Slack rendering (``mlops_runtime.notify``) through
:mod:`mlops_core.slack_text`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mlops_core import email_text
from mlops_core.incidents import IncidentState, Status, Transition


@dataclass(frozen=True, slots=True)
class Notification:
    kind: str
    model_id: str
    subject_id: str
    title: str
    lines: list[str]
    severity: str = "info"  # info | warning | critical
    facts: dict[str, str] = field(default_factory=dict)
    trend: str = ""

    def as_text(self) -> str:
        """The email body: the title on one line, then every value as a quoted field."""
        parts = [
            email_text.single_line(self.title, 300),
            "",
            f"severity: {email_text.label_of(self.severity)}",
            email_text.field("model", self.model_id),
            *(email_text.field(k, v) for k, v in self.facts.items()),
        ]
        if self.trend:
            parts.append(email_text.field("trend", self.trend))
        if self.lines:
            parts += ["", "details:", *(email_text.bullet(line) for line in self.lines)]
        return "\n".join(parts) + "\n"

    @property
    def short_title(self) -> str:
        return email_text.subject(self.title)


# What an incident message says, per transition: (kind, title after "<model>: ").
_INCIDENT_TEXT = {
    Transition.OPENED: ("investigate", "monitoring shows a data problem, no retrain started"),
    Transition.ESCALATED: ("investigate_escalated", "the data problem got worse"),
    Transition.REOPENED: ("investigate_reopened", "the data problem is back"),
    Transition.UPDATED: ("investigate_persists", "the data problem persists"),
    Transition.RESOLVED: ("investigate_resolved", "the data problem is resolved"),
}
_TAGS = {
    Transition.OPENED: "investigate",
    Transition.ESCALATED: "escalated",
    Transition.REOPENED: "reopened",
    Transition.UPDATED: "still open",
    Transition.RESOLVED: "resolved",
}


def incident(
    transition: Transition | str,
    state: IncidentState,
    reason: str,
    details: list[str] | None = None,
    new_items: list[str] | None = None,
    summary: dict[str, Any] | None = None,
) -> Notification:
    """An investigate incident's message: its first page, an escalation, a reopening, the page
    after a snooze, or its resolution (kinds ``investigate``, ``investigate_<what>``)."""
    transition = Transition(transition)
    kind, what = _INCIDENT_TEXT.get(transition, _INCIDENT_TEXT[Transition.UPDATED])
    summary = summary or {}
    resolved = state.status == Status.RESOLVED
    facts = {
        "incident": state.incident_id,
        "status": state.status.lower(),
        "problem": ", ".join(state.fingerprint) or "-",
        "new": "" if transition == Transition.OPENED else ", ".join(new_items or []),
        "why": reason,
        "runs": f"{state.runs} showing the problem"
        + (f", {state.updates} updates" if state.updates else ""),
        "opened": state.opened_at.isoformat(timespec="minutes"),
        "last seen": state.last_seen_at.isoformat(timespec="minutes"),
        "acknowledged by": state.acknowledged_by or "",
        "snoozed until": state.snoozed_until.isoformat(timespec="minutes")
        if state.snoozed_until
        else "",
        "resolved by": state.resolved_by if resolved else "",
        "latest executions": ", ".join(
            f"{k} {v}" for k, v in sorted(summary.get("latest", {}).items())
        ),
    }
    return Notification(
        kind=kind,
        model_id=state.model_id,
        subject_id=state.incident_id,
        title=f"[{_TAGS.get(transition, 'investigate')}] {state.model_id}: {what}",
        lines=list(details or [])[:8],
        severity="info" if resolved else str(state.severity),
        facts={k: v for k, v in facts.items() if v},
        trend="" if resolved else str(summary.get("sparkline", "")),
    )


def retrain_failed(
    model_id: str, incident_id: str, execution_arn: str, status: str, reason: str | None
) -> Notification:
    return Notification(
        kind="retrain_failed",
        model_id=model_id,
        subject_id=incident_id,
        title=f"[retrain {status.lower()}] {model_id}: the retraining pipeline did not succeed",
        lines=[reason or "the pipeline execution gave no failure reason"],
        severity="warning",
        facts={"incident": incident_id, "pipeline execution": execution_arn},
    )


def response_failed(model_id: str, subject_id: str, error: dict[str, Any]) -> Notification:
    cause = str(error.get("Cause", ""))[:500]
    return Notification(
        kind="response_failed",
        model_id=model_id or "unknown model",
        subject_id=subject_id,
        title=f"[control plane error] {model_id or 'unknown model'}: drift response failed",
        lines=[f"{error.get('Error', 'error')}: {cause}"],
        severity="critical",
        facts={"subject": subject_id},
    )
