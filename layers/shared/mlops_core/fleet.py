"""The fleet at a glance: one status per model, and the daily digest built from the same facts.

Plain data in (ledger entries, incident states, pending approvals, promotion and retrain
records as the stores return them), decisions out: what each model last decided, what runs,
and what waits for a human. ``mlopscp status`` prints it; the daily digest sends it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from mlops_core import retrain
from mlops_core.guardrails import ALL_MODELS
from mlops_core.incident_state import IncidentKind
from mlops_core.ledger import Action
from mlops_core.notification import Notification
from mlops_core.promotion.outcome import Outcome

GUARDRAIL_WINDOW = timedelta(days=7)  # how far back `status` shows guardrail flags
DIGEST_WINDOW = timedelta(hours=24)

# What the ledger records that is not a decision of the control plane about a model.
NOT_DECISIONS = frozenset(
    {
        Action.NOTIFICATION_SENT,
        Action.EVENT_IGNORED,
        Action.APPROVAL_REJECTED_REQUEST,
        Action.INCIDENT_REJECTED_REQUEST,
    }
)
GUARDRAIL_ACTIONS = frozenset({Action.GUARDRAIL_FLAGGED, Action.GUARDRAIL_ENFORCED})
# Incidents in these states wait for someone to look (acknowledged or snoozed ones do not);
# a retrain incident does not: the retrain is the control plane's answer, it pages no one.
NEEDS_A_HUMAN = frozenset({"OPEN"})
PROMOTION_DONE = frozenset(str(o) for o in Outcome)


@dataclass(frozen=True, slots=True)
class ModelStatus:
    model_id: str
    endpoint: str
    last_decision: dict[str, Any] | None
    incidents: list[dict[str, Any]]
    approvals: list[dict[str, Any]]
    promotion: dict[str, Any] | None
    retrain: dict[str, Any] | None
    guardrail_flags: list[dict[str, Any]]
    waiting: list[str] = field(default_factory=list)

    @property
    def needs_a_human(self) -> bool:
        return bool(self.waiting)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"needs_a_human": self.needs_a_human}


def model_status(
    model_id: str,
    endpoint: str,
    *,
    recent: Iterable[Mapping[str, Any]],
    incidents: Iterable[Mapping[str, Any]],
    approvals: Iterable[Mapping[str, Any]],
    promotion: Mapping[str, Any] | None,
    retrain_lock: Mapping[str, Any] | None,
    now: datetime,
) -> ModelStatus:
    """``recent``: the model's ledger entries of the last :data:`GUARDRAIL_WINDOW`, newest
    first; ``incidents``: its open incidents; ``approvals``: its pending approvals;
    ``promotion``: the record of the promotion holding its lock; ``retrain_lock``: its retrain
    lock item."""
    entries = list(recent)
    decision = next((e for e in entries if e.get("action") not in NOT_DECISIONS), None)
    since = _iso(now - GUARDRAIL_WINDOW)
    flags = [
        _brief(e)
        for e in entries
        if e.get("action") in GUARDRAIL_ACTIONS and str(e.get("at", "")) >= since
    ]
    open_incidents = [_incident(i) for i in incidents if i.get("status") != "RESOLVED"]
    waiting_approvals = [_approval(a, now) for a in approvals]
    running = _promotion(promotion)
    retraining = _retrain(retrain_lock)
    waiting = [
        f"approval {a['approval_id']} ({a['kind']} of {a['subject']}) waiting "
        f"{a['waiting_hours']:.1f} h"
        for a in waiting_approvals
    ] + [
        f"incident {i['incident_id']} ({i['kind']}, {i['severity']}) open, not acknowledged"
        for i in open_incidents
        if i["status"] in NEEDS_A_HUMAN and i["kind"] != str(IncidentKind.RETRAIN)
    ]
    return ModelStatus(
        model_id=model_id,
        endpoint=endpoint,
        last_decision=_brief(decision) if decision else None,
        incidents=open_incidents,
        approvals=waiting_approvals,
        promotion=running,
        retrain=retraining,
        guardrail_flags=flags,
        waiting=waiting,
    )


def daily_digest(
    digest_id: str,
    entries: Iterable[Mapping[str, Any]],
    statuses: Iterable[ModelStatus],
    now: datetime,
) -> Notification:
    """The last 24 hours across the fleet and what waits for a human, in one notification.

    ``entries``: every model's ledger entries since ``now - DIGEST_WINDOW``. Untrusted text
    (summaries, model ids) goes into ``lines``, which each channel escapes.
    """
    found = list(entries)
    models = list(statuses)
    decisions = Counter(str(e["action"]) for e in found if e.get("action") not in NOT_DECISIONS)
    counts = {
        "retrains started": decisions[Action.RETRAIN_STARTED],
        "retrains succeeded": decisions[Action.RETRAIN_SUCCEEDED],
        "retrains failed": decisions[Action.RETRAIN_FAILED],
        "incidents opened": decisions[Action.INCIDENT_OPENED] + decisions[Action.INCIDENT_REOPENED],
        "incidents resolved": decisions[Action.INCIDENT_RESOLVED],
        "promotions started": decisions[Action.PROMOTION_STARTED],
        "models promoted": decisions[Action.MODEL_PROMOTED],
        "rollbacks": decisions[Action.DEPLOYMENT_ROLLED_BACK],
        "promotions failed": decisions[Action.PROMOTION_FAILED],
    }
    waits = [f"{m.model_id}: {w}" for m in models for w in m.waiting]
    lines = [f"{name}: {n}" for name, n in counts.items()]
    lines.append(
        "decisions by kind: "
        + (", ".join(f"{k} {n}" for k, n in sorted(decisions.items())) or "none")
    )
    lines += [
        f"in flight: {m.model_id} promotion at {m.promotion['step']}" for m in models if m.promotion
    ]
    lines += [f"in flight: {m.model_id} retrain {m.retrain['status']}" for m in models if m.retrain]
    lines += [f"waits for a human: {w}" for w in waits] or ["nothing waits for a human"]
    return Notification(
        kind="daily_digest",
        model_id=ALL_MODELS,
        subject_id=digest_id,
        title=(
            f"[daily] {len(models)} model(s): {sum(decisions.values())} decision(s) in 24 h, "
            f"{len(waits)} waiting for a human"
        ),
        lines=lines,
        severity="warning" if waits else "info",
        facts={"window": f"{_iso(now - DIGEST_WINDOW)} to {_iso(now)}", "digest": digest_id},
    )


def _brief(entry: Mapping[str, Any]) -> dict[str, Any]:
    return {k: entry.get(k) for k in ("at", "action", "subject", "summary", "entry_id")}


def _incident(state: Mapping[str, Any]) -> dict[str, Any]:
    return {
        k: state.get(k)
        for k in ("incident_id", "kind", "status", "severity", "opened_at", "last_seen_at")
    }


def _approval(approval: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    created = datetime.fromisoformat(str(approval["created_at"]).replace("Z", "+00:00"))
    return {
        "approval_id": approval["approval_id"],
        "kind": approval.get("kind"),
        "subject": approval.get("subject"),
        "created_at": approval["created_at"],
        "deadline": approval.get("deadline"),
        "waiting_hours": round((now - created).total_seconds() / 3600, 2),
    }


def _promotion(record: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if not record or str(record.get("status", "")).lower() in PROMOTION_DONE:
        return None
    return {
        "promotion_id": record.get("promotion_id"),
        "version": record.get("version"),
        "step": record.get("step") or record.get("status"),
        "since": record.get("started_at"),
        "updated_at": record.get("updated_at"),
    }


def _retrain(lock: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if not lock or lock.get("status") not in retrain.ACTIVE:
        return None
    return {
        "status": lock["status"],
        "incident_id": lock.get("incident_id"),
        "pipeline_execution_arn": lock.get("pipeline_execution_arn"),
        "started_at": lock.get("started_at") or lock.get("claimed_at"),
    }


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
