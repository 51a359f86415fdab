"""What the control plane passes to a model's retraining pipeline, and when it may start one."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

# Parameter names every retraining pipeline must declare; the control plane sends exactly these
# on StartPipelineExecution (plus any static parameters in the model's configuration).
INCIDENT_ID = "IncidentId"
RETRAIN_REASON = "RetrainReason"
DATA_WINDOW_START = "DataWindowStart"
DATA_WINDOW_END = "DataWindowEnd"
PIPELINE_PARAMETERS = (INCIDENT_ID, RETRAIN_REASON, DATA_WINDOW_START, DATA_WINDOW_END)

# Retrain lock states kept per model in the state table; OBSERVED: an observe-only model's
# retrain that would have started (its own lock, mlops_core.observe).
STARTING, RUNNING, SUCCEEDED, FAILED, STOPPED, NOT_STARTED, OBSERVED = (
    "STARTING",
    "RUNNING",
    "SUCCEEDED",
    "FAILED",
    "STOPPED",
    "NOT_STARTED",
    "OBSERVED",
)
ACTIVE = frozenset({STARTING, RUNNING})


def cooldown(configured_hours: float | None, default_hours: float) -> timedelta:
    """The model's own cooldown, else the stack's default."""
    return timedelta(hours=default_hours if configured_hours is None else configured_hours)


def lock_key(model_id: str, observed: bool = False) -> tuple[str, str]:
    """The state-table key of a model's retrain lock. Observed retrains keep their own, with
    the same cooldown: the trial shows the retrains that would really have started, and none of
    them holds back a real retrain once the model acts."""
    return f"MODEL#{model_id}", "RETRAIN_OBSERVED" if observed else "RETRAIN"


def execution_link_key(pipeline_execution_arn: str) -> tuple[str, str]:
    """The state-table key linking a retrain's pipeline execution to its incident."""
    return f"PIPELINE_EXECUTION#{pipeline_execution_arn}", "INCIDENT"


@dataclass(frozen=True, slots=True)
class RetrainGate:
    allowed: bool
    reason: str


def retrain_gate(
    lock: dict[str, object] | None, incident_id: str, now: datetime, cooldown: timedelta
) -> RetrainGate:
    """May this incident start a retrain? Never twice per incident, never while one runs,
    never within the cooldown of the previous start."""
    if not lock:
        return RetrainGate(True, "no retrain on record for this model")
    if lock.get("incident_id") == incident_id:
        if lock.get("status") == NOT_STARTED:
            return RetrainGate(True, "retrying a start that failed before it began")
        return RetrainGate(False, f"incident {incident_id} already started a retrain")
    status = str(lock.get("status"))
    if status in ACTIVE:
        return RetrainGate(
            False, f"a retrain of this model is still running (incident {lock.get('incident_id')})"
        )
    started = lock.get("started_at")  # of the last retrain that really (or observed) began
    if isinstance(started, str):
        ready = datetime.fromisoformat(started) + cooldown
        if now < ready:
            return RetrainGate(
                False,
                f"cooldown: the last retrain started at {started}; next allowed after "
                f"{ready.isoformat(timespec='minutes')}",
            )
    return RetrainGate(True, f"previous retrain {status.lower().replace('_', ' ')}, cooldown over")


def observed_gate(
    real: dict[str, object] | None,
    observed: dict[str, object] | None,
    incident_id: str,
    now: datetime,
    cooldown: timedelta,
) -> RetrainGate:
    """An observe-only model's gate: the real lock first (a retrain started before the trial
    still runs, or cools down), then its observed retrains' own cooldown."""
    acting = retrain_gate(real, incident_id, now, cooldown)
    return retrain_gate(observed, incident_id, now, cooldown) if acting.allowed else acting


def pipeline_parameters(
    incident_id: str, reason: str, window: dict[str, str] | None, static: dict[str, str]
) -> list[dict[str, str]]:
    """StartPipelineExecution parameters: the model's static ones, then the control plane's."""
    window = window or {}
    values = dict(static) | {
        INCIDENT_ID: incident_id,
        RETRAIN_REASON: one_line(reason, 1000),
        DATA_WINDOW_START: window.get("start", ""),
        DATA_WINDOW_END: window.get("end", ""),
    }
    return [{"Name": k, "Value": v} for k, v in values.items()]


def one_line(text: str, limit: int) -> str:
    """Pipelines copy the reason into registry fields that refuse control characters and
    newlines; trend glyphs are noise there too."""
    cleaned = "".join(
        c if c.isprintable() and not 0x2580 <= ord(c) <= 0x259F else " " for c in text
    )
    return " ".join(cleaned.split())[:limit]


def client_request_token(incident_id: str) -> str:
    """SageMaker's own idempotency token: one pipeline execution per incident, even on retry."""
    return hashlib.sha256(f"retrain|{incident_id}".encode()).hexdigest()[:64]
