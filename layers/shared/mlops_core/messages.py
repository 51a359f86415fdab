"""The notifications sent about incidents and failed runs, independent of the channel.

Everything in a notification may hold untrusted text (names, reasons from monitoring files,
failure reasons): the email rendering (:meth:`Notification.as_text`) quotes it through
:mod:`mlops_core.email_text`, the Slack rendering (``mlops_runtime.notify``) through
:mod:`mlops_core.slack_text`. The notification itself is :mod:`mlops_core.notification`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mlops_core.incidents import IncidentState, Status, Transition
from mlops_core.links import execution_console_url, s3_console_url, safe_url
from mlops_core.notification import Notification


@dataclass(frozen=True, slots=True)
class Context:
    """What a message links to and whom it names: the model's configuration (owners, runbook)
    and the run behind it (its Step Functions execution, its monitoring report)."""

    owners: list[str] = field(default_factory=list)
    runbook_url: str = ""
    execution_arn: str = ""
    report_uri: str = ""

    def links(self) -> dict[str, str]:
        region = self.execution_arn.split(":")[3] if self.execution_arn.count(":") > 3 else ""
        links = {
            "View details": execution_console_url(self.execution_arn),
            "Monitoring report": s3_console_url(self.report_uri, region),
            "Runbook": safe_url(self.runbook_url),
        }
        return {label: url for label, url in links.items() if url}


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
    context: Context | None = None,
) -> Notification:
    """An investigate incident's message: its first page, an escalation, a reopening, the page
    after a snooze, or its resolution (kinds ``investigate``, ``investigate_<what>``)."""
    transition = Transition(transition)
    context = context or Context()
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
        "acknowledged by": state.acknowledged_by or "",
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
        trend="" if resolved else _labelled_trend(summary),
        links=context.links(),
        owners=list(context.owners),
        times={
            "opened": state.opened_at,
            "last seen": state.last_seen_at,
            **({"snoozed until": state.snoozed_until} if state.snoozed_until else {}),
        },
    )


def _labelled_trend(summary: dict[str, Any]) -> str:
    """The sparkline with what it measures (the triage says which series it drew)."""
    line = str(summary.get("sparkline") or "")
    what = summary.get("sparkline_of")
    return f"{line} ({what})" if line and what else line


def retrain_failed(
    model_id: str,
    incident_id: str,
    execution_arn: str,
    status: str,
    reason: str | None,
    context: Context | None = None,
) -> Notification:
    context = context or Context()
    return Notification(
        kind="retrain_failed",
        model_id=model_id,
        subject_id=incident_id,
        title=f"[retrain {status.lower()}] {model_id}: the retraining pipeline did not succeed",
        lines=[reason or "the pipeline execution gave no failure reason"],
        severity="warning",
        facts={"incident": incident_id, "pipeline execution": execution_arn},
        links=context.links(),
        owners=list(context.owners),
    )


def response_failed(
    model_id: str, subject_id: str, error: dict[str, Any], context: Context | None = None
) -> Notification:
    cause = str(error.get("Cause", ""))[:500]
    context = context or Context()
    return Notification(
        kind="response_failed",
        model_id=model_id or "unknown model",
        subject_id=subject_id,
        title=f"[control plane error] {model_id or 'unknown model'}: drift response failed",
        lines=[f"{error.get('Error', 'error')}: {cause}"],
        severity="critical",
        facts={"subject": subject_id},
        links=context.links(),
        owners=list(context.owners),
    )
