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


def investigation(model_id: str, incident_id: str, summary: dict[str, Any]) -> Notification:
    return Notification(
        kind="investigate",
        model_id=model_id,
        subject_id=incident_id,
        title=f"[investigate] {model_id}: monitoring shows a data problem, no retrain started",
        lines=list(summary.get("reasons", []))[:8],
        severity="critical",
        facts={
            "incident": incident_id,
            "latest executions": ", ".join(
                f"{k} {v}" for k, v in sorted(summary.get("latest", {}).items())
            ),
        },
        trend=str(summary.get("sparkline", "")),
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
