"""An incident as stored, and the vocabulary it is described in (kind, status, severity,
fingerprint). The lifecycle rules that change it live in :mod:`mlops_core.incidents`."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from datetime import datetime
from enum import StrEnum
from typing import Any

from mlops_core.triage_findings import INVESTIGATE_KINDS, FindingKind


class IncidentKind(StrEnum):
    INVESTIGATE = "investigate"
    RETRAIN = "retrain"


class Status(StrEnum):
    OPEN = "OPEN"
    ACKNOWLEDGED = "ACKNOWLEDGED"
    SNOOZED = "SNOOZED"
    RESOLVED = "RESOLVED"


class Severity(StrEnum):
    WARNING = "warning"
    CRITICAL = "critical"


RANK = {Severity.WARNING: 0, Severity.CRITICAL: 1}
_CRITICAL_KINDS = frozenset({FindingKind.INTEGRITY_VIOLATION, FindingKind.QUALITY_CLIFF})
# What an investigate incident is about: the findings that make triage investigate, and the
# incomplete output that makes it investigate instead of retraining.
PROBLEM_KINDS = INVESTIGATE_KINDS | {FindingKind.INCOMPLETE_OUTPUT}
# What a retrain incident is about: the slow drift that made triage decide to retrain.
RETRAIN_KINDS = frozenset({FindingKind.SUSTAINED_DRIFT, FindingKind.QUALITY_DECLINE})


def fingerprint(
    summary: Mapping[str, Any], kinds: Iterable[str] = PROBLEM_KINDS
) -> tuple[str, ...]:
    """The problem a triage summary shows: sorted ``"<finding kind>:<subject>"`` of its findings
    whose kind is one of ``kinds`` (by default those that make triage decide to investigate:
    integrity violations, bias drift, sudden drift, quality cliffs, incomplete output)."""
    wanted = {str(k) for k in kinds}
    items = {
        f"{f.get('kind')}:{f.get('subject')}"
        for f in summary.get("findings", [])
        if str(f.get("kind")) in wanted
    }
    return tuple(sorted(items))


def severity(items: Iterable[str]) -> Severity:
    """``critical`` when the problem holds an integrity violation or a quality cliff."""
    kinds = {item.split(":", 1)[0] for item in items}
    return Severity.CRITICAL if kinds & {str(k) for k in _CRITICAL_KINDS} else Severity.WARNING


def new_incident_id(
    model_id: str, kind: IncidentKind | str, run: str, after: str | None = None
) -> str:
    """``inc-<model>-<12 hex>`` from the model, the kind, the run that opened it and the
    incident it follows (the same run can open an incident again after a newer one)."""
    seed = f"{model_id}|{kind}|{run}" + (f"|{after}" if after else "")
    digest = hashlib.sha256(seed.encode()).hexdigest()[:12]
    return f"inc-{model_id[:40]}-{digest}"


@dataclass(frozen=True, slots=True)
class IncidentState:
    """One incident as stored (``version`` counts its writes; 0 = never stored)."""

    incident_id: str
    model_id: str
    kind: IncidentKind
    status: Status
    fingerprint: tuple[str, ...]
    severity: Severity
    opened_at: datetime
    last_seen_at: datetime
    last_run: str
    runs: int = 1
    clean_runs: int = 0
    updates: int = 0
    pages: int = 0
    acknowledged_by: str | None = None
    acknowledged_at: datetime | None = None
    snoozed_until: datetime | None = None
    snoozed_by: str | None = None
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    resolved_reason: str | None = None
    reopened: int = 0
    slack: dict[str, str] | None = None
    summary: str = ""
    report_uri: str | None = None
    version: int = 0

    @property
    def is_open(self) -> bool:
        return self.status != Status.RESOLVED

    def snoozed_at(self, now: datetime) -> bool:
        return (
            self.status == Status.SNOOZED
            and self.snoozed_until is not None
            and now < self.snoozed_until
        )

    def to_item(self) -> dict[str, Any]:
        """The state-table item (pk ``INCIDENT#<id>``, sk ``INCIDENT``); None values left out."""
        item: dict[str, Any] = {"pk": f"INCIDENT#{self.incident_id}", "sk": "INCIDENT"}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, datetime):
                value = value.isoformat()
            elif isinstance(value, tuple):
                value = list(value)
            elif isinstance(value, StrEnum):
                value = str(value)
            if value is not None:
                item[f.name] = value
        return item

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> IncidentState:
        values: dict[str, Any] = {}
        for f in fields(cls):
            if f.name not in item:
                continue
            value = item[f.name]
            if f.name.endswith(("_at", "_until")) and value is not None:
                value = datetime.fromisoformat(value)
            values[f.name] = value
        values["kind"] = IncidentKind(values["kind"])
        values["status"] = Status(values["status"])
        values["severity"] = Severity(values["severity"])
        values["fingerprint"] = tuple(values.get("fingerprint", ()))
        if values.get("slack") is not None:
            values["slack"] = {k: str(v) for k, v in values["slack"].items()}
        for name in ("runs", "clean_runs", "updates", "pages", "reopened", "version"):
            if name in values:
                values[name] = int(values[name])
        return cls(**values)
