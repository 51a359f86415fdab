"""A monitoring signal: what any of the intake events says, in one shape.

Three kinds of event mean "look at this endpoint's monitoring now": a Model Monitor execution
(a processing job) finishing, a CloudWatch alarm on a Model Monitor metric, and a custom
"Model Drift Signal" event from a team's own monitor. Triage never depends on which one it was.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from mlops_core.monitoring import MonitorType


class SignalKind(StrEnum):
    MONITORING_EXECUTION = "monitoring_execution"
    ALARM = "alarm"
    CUSTOM = "custom"


@dataclass(frozen=True, slots=True)
class MonitoringSignal:
    event_id: str
    kind: SignalKind
    observed_at: datetime
    description: str
    endpoint_name: str | None = None
    model_id: str | None = None
    schedule_name: str | None = None
    monitor_type: MonitorType | None = None
    output_uri: str | None = None
    execution_failed: str | None = None  # why the monitoring execution itself failed

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["observed_at"] = self.observed_at.isoformat()
        return data


# <root>/<schedule>/<yyyy>/<mm>/<dd>/<hh>: where Model Monitor writes one execution
_EXECUTION_SUFFIX = re.compile(r"/[^/]+/\d{4}/\d{2}/\d{2}/\d{2}/?$")


def endpoint_root(execution_output_uri: str) -> str:
    """The prefix holding all schedules of the endpoint, from one execution's output URI."""
    return _EXECUTION_SUFFIX.sub("", execution_output_uri.rstrip("/"))


# CloudWatch namespaces Model Monitor publishes to: AWS documents several spellings
# (aws/sagemaker/Endpoints/data-metrics, /aws/sagemaker/Endpoints/data-metric,
# /aws/sagemaker/Endpoint/data-metrics, .../ModelMonitoring/... for batch transform).
_NAMESPACE_TYPES = (
    ("data-metric", MonitorType.DATA_QUALITY),
    ("model-metric", MonitorType.MODEL_QUALITY),
    ("bias-metric", MonitorType.BIAS_DRIFT),
    ("explainability-metric", MonitorType.FEATURE_ATTRIBUTION_DRIFT),
)
MODEL_MONITOR_NAMESPACE = re.compile(r"^/?aws/sagemaker/(Endpoints?|ModelMonitoring)/", re.I)


def monitor_type_of_namespace(namespace: str) -> MonitorType | None:
    if not MODEL_MONITOR_NAMESPACE.match(namespace):
        return None
    lowered = namespace.lower()
    return next((kind for marker, kind in _NAMESPACE_TYPES if marker in lowered), None)


def run_id(model_id: str, signal_key: str) -> str:
    """One triaged run: a model's monitoring state, whichever event revealed it first (its
    incident is mlops_core.incidents' to say: one incident spans many runs)."""
    digest = hashlib.sha256(f"{model_id}|{signal_key}".encode()).hexdigest()[:12]
    return f"run-{model_id[:40]}-{digest}"
