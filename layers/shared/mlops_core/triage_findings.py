"""The vocabulary of triage: its decisions and the findings they rest on, whichever source
(Model Monitor schedule or Evidently report stream) the evidence came from."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Decision(StrEnum):
    RETRAIN = "retrain"
    INVESTIGATE = "investigate"
    WATCH = "watch"


class FindingKind(StrEnum):
    INTEGRITY_VIOLATION = "integrity_violation"
    BIAS_DRIFT = "bias_drift"
    SUDDEN_DRIFT = "sudden_drift"
    QUALITY_CLIFF = "quality_cliff"
    INCOMPLETE_OUTPUT = "incomplete_output"
    SUSTAINED_DRIFT = "sustained_drift"
    QUALITY_DECLINE = "quality_decline"
    EMERGING_DRIFT = "emerging_drift"
    RECOVERED_DRIFT = "recovered_drift"


INVESTIGATE_KINDS = frozenset(
    {
        FindingKind.INTEGRITY_VIOLATION,
        FindingKind.BIAS_DRIFT,
        FindingKind.SUDDEN_DRIFT,
        FindingKind.QUALITY_CLIFF,
    }
)


@dataclass(frozen=True, slots=True)
class Finding:
    """One observation about one stream (``schedule``: a Model Monitor schedule or an Evidently
    report stream); ``source`` says which wrote it."""

    kind: FindingKind
    schedule: str
    monitor_type: str
    subject: str
    summary: str
    evidence: dict[str, Any] = field(default_factory=dict)
    source: str = field(init=False)

    def __post_init__(self) -> None:
        # Imported here, not at the top: incidents (and every handler that records one) import
        # this module for its finding kinds, and should not load the two report readers.
        from mlops_core.evidently import SOURCE as EVIDENTLY
        from mlops_core.monitoring import MODEL_MONITOR, MonitorType

        source = EVIDENTLY if self.monitor_type == MonitorType.EVIDENTLY_REPORT else MODEL_MONITOR
        object.__setattr__(self, "source", source)
