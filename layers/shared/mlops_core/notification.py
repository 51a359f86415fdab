"""A notification: what it says, independent of the channel that carries it.

Its own module, apart from the messages built from incidents (:mod:`mlops_core.messages`): the
policy modules (spot, guardrails) that build notices are part of every model configuration,
and importing them should not import the incident and monitoring models too (cold start,
docs/cold-start.md). Everything in it may hold untrusted text: the email rendering
(:meth:`Notification.as_text`) quotes it through :mod:`mlops_core.email_text`, the Slack one
(``mlops_runtime.notify``) through :mod:`mlops_core.slack_text`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from mlops_core import email_text
from mlops_core.links import safe_url


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
    # "View details" first: label -> https URL (mlops_core.links builds or validates them).
    links: dict[str, str] = field(default_factory=dict)
    owners: list[str] = field(default_factory=list)  # the model's, as its configuration says
    times: dict[str, datetime] = field(default_factory=dict)  # label -> when (Slack: a date)

    def as_text(self) -> str:
        """The email body: the title on one line, the links, then every value as a quoted
        field (links are the control plane's own or validated https, percent-encoded)."""
        parts = [email_text.single_line(self.title, 300), ""]
        links = [(k, safe_url(v)) for k, v in self.links.items()]
        if any(url for _, url in links):
            parts += [f"{email_text.label_of(k)}: {url}" for k, url in links if url] + [""]
        parts += [
            f"severity: {email_text.label_of(self.severity)}",
            email_text.field("model", self.model_id),
        ]
        if self.owners:
            parts.append(email_text.field("owners", ", ".join(self.owners)))
        parts += [email_text.field(k, v) for k, v in self.facts.items()]
        parts += [
            f"{email_text.label_of(k)}: {when.isoformat(timespec='minutes')}"
            for k, when in self.times.items()
        ]
        if self.trend:
            parts.append(email_text.field("trend", self.trend))
        if self.lines:
            parts += ["", "details:", *(email_text.bullet(line) for line in self.lines)]
        return "\n".join(parts) + "\n"

    @property
    def short_title(self) -> str:
        return email_text.subject(self.title)
