"""Why an endpoint serves what it serves: the causal chain read back from ledger entries.

evidence -> incident/retrain -> pipeline execution -> package version -> promotion -> verdict
-> approval -> deployment. The reader (``mlops_runtime.fleet``) follows ids from entry to entry
with key lookups (entry ids are stable: :func:`mlops_core.ledger.entry_id`); this module says
which entries to read, which ids to follow next, and orders what was found.
Entries are the ledger's records as plain dicts (``entry_id``, ``at``, ``action``, ``subject``,
``summary``, ``evidence``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from mlops_core.ledger import Action

Entry = Mapping[str, Any]

# Each hop of the chain and the ledger actions that answer it, preferred first. For a hop that
# happens more than once (an incident's updates), the earliest entry is the cause.
HOPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("evidence", ()),  # read from the retrain's or the incident's entry
    ("incident", (Action.INCIDENT_OPENED, Action.INCIDENT_REOPENED)),
    ("retrain", (Action.RETRAIN_STARTED,)),
    ("pipeline_execution", (Action.RETRAIN_SUCCEEDED, Action.RETRAIN_FAILED)),
    ("package_version", (Action.PROMOTION_STARTED,)),
    ("promotion", (Action.STAGING_DEPLOYED, Action.QUALITY_GATE_CHECKED)),
    ("verdict", (Action.SHADOW_VERDICT, Action.SHADOW_TEST_SKIPPED)),
    ("approval", (Action.APPROVAL_RECORDED, Action.APPROVAL_EXPIRED)),
    (
        "deployment",
        (Action.MODEL_PROMOTED, Action.DEPLOYMENT_ROLLED_BACK, Action.PROMOTION_FAILED),
    ),
)


EVIDENCE_KEYS = ("report_uri", "data_window", "fingerprint")


@dataclass(frozen=True, slots=True)
class Hop:
    step: str
    at: str
    entry_id: str
    action: str
    subject: str
    summary: str
    detail: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Chain:
    model_id: str
    hops: tuple[Hop, ...]
    gaps: tuple[str, ...]  # the hops the ledger holds nothing for, and why that may be

    def to_dict(self) -> dict[str, Any]:
        return {
            "model_id": self.model_id,
            "hops": [h.to_dict() for h in self.hops],
            "gaps": list(self.gaps),
        }


# Every entry a promotion writes once (its subject is the promotion id, no key).
PROMOTION_ACTIONS = (
    Action.PROMOTION_STARTED,
    Action.QUALITY_GATE_CHECKED,
    Action.STAGING_DEPLOYED,
    Action.SHADOW_TEST_STARTED,
    Action.SHADOW_VERDICT,
    Action.SHADOW_TEST_SKIPPED,
    Action.PRODUCTION_DEPLOY_STARTED,
    Action.MODEL_PROMOTED,
    Action.DEPLOYMENT_ROLLED_BACK,
    Action.PROMOTION_FAILED,
)
Lookup = tuple[str, str, str]  # (action, subject, key): an entry id (mlops_core.ledger.entry_id)


def promotion_lookups(promotion_id: str) -> list[Lookup]:
    """The entries a promotion may have written: read by key, never searched for."""
    return [(str(a), promotion_id, "") for a in PROMOTION_ACTIONS]


def cause_lookups(incident_id: str | None, approval_id: str | None) -> list[Lookup]:
    """The incident's opening (its first version), its retrain and the pipeline's end; the
    approval's answer."""
    wanted: list[Lookup] = []
    if incident_id:
        wanted.append((str(Action.INCIDENT_OPENED), incident_id, "v1"))
        wanted += [
            (str(a), incident_id, "")
            for a in (Action.RETRAIN_STARTED, Action.RETRAIN_SUCCEEDED, Action.RETRAIN_FAILED)
        ]
    if approval_id:
        wanted += [
            (str(a), f"approval:{approval_id}", "")
            for a in (Action.APPROVAL_RECORDED, Action.APPROVAL_EXPIRED)
        ]
    return wanted


def pipeline_execution_of(promotion_entries: Iterable[Entry]) -> str | None:
    """The pipeline execution that registered the promoted package, if the ledger knows it."""
    for entry in promotion_entries:
        if entry.get("action") == Action.PROMOTION_STARTED:
            arn = _evidence(entry).get("pipeline_execution_arn")
            return str(arn) if arn else None
    return None


def approval_of(promotion_entries: Iterable[Entry]) -> str | None:
    """The approval that let the promotion reach production (its answer is in the state the
    terminal entry keeps)."""
    for entry in _by_time(promotion_entries):
        approval = _evidence(entry).get("approval") or _evidence(entry).get("state", {}).get(
            "approval"
        )
        if isinstance(approval, Mapping) and approval.get("approval_id"):
            return str(approval["approval_id"])
    return None


def build(model_id: str, entries: Iterable[Entry]) -> Chain:
    """Order what the lookups found into hops; one hop per step at most."""
    found = _by_time(entries)
    hops: list[Hop] = []
    gaps: list[str] = []
    for step, actions in HOPS:
        if step == "evidence":
            hop = _evidence_hop(found)
        else:
            hop = next(
                (
                    _hop(step, e)
                    for action in actions
                    for e in found
                    if e.get("action") == str(action)
                ),
                None,
            )
        if hop:
            hops.append(hop)
        else:
            gaps.append(step)
    return Chain(model_id, tuple(hops), tuple(_explained(gaps, hops)))


def _explained(gaps: list[str], hops: list[Hop]) -> list[str]:
    steps = {h.step for h in hops}
    why = {
        "evidence": "no triage evidence recorded",
        "incident": "no incident recorded (a retrain started without one, or none ran)",
        "retrain": "no retrain recorded for this package (registered outside the control plane?)",
        "pipeline_execution": "the pipeline execution's end is not recorded (still running?)",
        "package_version": "no promotion recorded",
        "promotion": "the promotion has not reached staging",
        "verdict": "no verdict yet",
        "approval": "no approval answered yet",
        "deployment": "not deployed (yet)",
    }
    if "package_version" not in steps:
        # Nothing promoted: the chain explains why a retrain started; the later steps did not
        # happen, they are not missing.
        gaps = [g for g in gaps if g not in {"promotion", "verdict", "approval", "deployment"}]
    return [f"{g}: {why[g]}" for g in gaps]


def _evidence_hop(found: list[Entry]) -> Hop | None:
    """What triage saw: the evidence the incident and the retrain entries carry, merged (the
    earliest entry names the hop)."""
    causes = {
        str(a) for a in (Action.INCIDENT_OPENED, Action.INCIDENT_REOPENED, Action.RETRAIN_STARTED)
    }
    first: Entry | None = None
    detail: dict[str, Any] = {}
    for entry in found:
        if entry.get("action") not in causes:
            continue
        evidence = _evidence(entry)
        kept = {k: evidence[k] for k in EVIDENCE_KEYS if evidence.get(k) and k not in detail}
        triage = evidence.get("triage")
        if isinstance(triage, Mapping) and "decision" not in detail:
            # What triage decided and why, not its whole summary (the report has that).
            kept |= {k: triage[k] for k in ("decision", "reasons") if triage.get(k)}
        if kept:
            first = first or entry
            detail |= kept
    return _hop("evidence", first, detail) if first else None


def _hop(step: str, entry: Entry, detail: dict[str, Any] | None = None) -> Hop:
    evidence = _evidence(entry)
    keep = (
        "pipeline_execution_arn",
        "package_arn",
        "execution_arn",
        "endpoint",
        "account",
        "outcome",
        "decided_by",
        "channel",
        "status",
        "reason",
    )
    return Hop(
        step=step,
        at=str(entry.get("at", "")),
        entry_id=str(entry.get("entry_id", "")),
        action=str(entry.get("action", "")),
        subject=str(entry.get("subject", "")),
        summary=str(entry.get("summary", "")),
        detail=detail if detail is not None else {k: evidence[k] for k in keep if evidence.get(k)},
    )


def _evidence(entry: Entry) -> Mapping[str, Any]:
    evidence = entry.get("evidence") or {}
    return evidence if isinstance(evidence, Mapping) else {}


def _by_time(entries: Iterable[Entry]) -> list[Entry]:
    unique = {str(e.get("entry_id")): e for e in entries}
    return sorted(unique.values(), key=lambda e: str(e.get("at", "")))
