"""Observe-only mode applied (mlops_core.observe decides what an observed action is called).

Every path that acts asks :meth:`Observer.by` once whether the model acts, and where it does not
records the ``would_*`` entry through :meth:`Observer.record`: the ledger entry and a digest item
in one transaction, so the daily digest lists what the control plane would have done.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from mlops_core import observe
from mlops_core.guardrails import Finding
from mlops_core.ledger import Action, LedgerEntry
from mlops_core.notification import Notification

from mlops_runtime.findings import FindingStore
from mlops_runtime.model_config import ModelConfig
from mlops_runtime.store import Ledger, StateStore


@dataclass(frozen=True)
class Observer:
    stack_observe_only: bool  # the function's OBSERVE_ONLY setting (template: ObserveOnly)
    ledger: Ledger
    state: StateStore

    def by(self, model: ModelConfig | None) -> str | None:
        """Who keeps ``model`` from acting (``"stack"``/``"model"``), None if it acts."""
        return observe.observed_by(self.stack_observe_only, model.mode if model else None)

    def record(
        self, entry: LedgerEntry, by: str, *operations: dict[str, Any], kind: Action | None = None
    ) -> bool:
        """The would_* entry for ``entry`` (the action not taken), with its digest item;
        False when it was recorded before (a redelivered event)."""
        return FindingStore(self.ledger, self.state).would(
            observe.would(entry, by, kind), *operations
        )

    def message(self, message: Notification, by: str) -> bool:
        """A notification not sent: ``would_page`` for a warning or worse, else ``would_notify``."""
        entry = LedgerEntry(
            Action.NOTIFICATION_SENT,
            message.model_id,
            message.subject_id,
            message.title,
            {"kind": message.kind, "severity": message.severity, "lines": message.lines[:8]},
            key=message.kind,
        )
        page = message.severity in {"warning", "critical"}
        return self.record(entry, by, kind=Action.WOULD_PAGE if page else Action.WOULD_NOTIFY)

    def unenforced(
        self, found: list[Finding], model: ModelConfig | None, model_id: str
    ) -> list[Finding]:
        """An observed model's enforced findings become flags (they still reach the digest) and
        a ``would_stop_training`` entry each; the findings as they are for a model that acts."""
        by = self.by(model)
        if by is None:
            return found
        for finding in (f for f in found if f.enforced):
            entry = LedgerEntry(
                Action.GUARDRAIL_ENFORCED,
                model_id,
                f"{finding.resource}#{finding.rule}",
                f"{finding.rule}: {finding.message}",
                finding.to_dict(),
            )
            self.record(entry, by)
        return [replace(f, enforced=False) for f in found]
