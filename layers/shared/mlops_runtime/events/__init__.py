"""EventBridge events the control plane accepts, as Powertools ``EventBridgeModel`` subclasses.

Models accept what AWS really sends (epoch-ms or ISO times, extra fields) and reject what cannot
be acted on with a message naming the field. ``events/`` (at the top of the repository) holds
one example of each, and the contract tests parse every real sample in ../shared/samples too.

One family per module, so a handler loads only the models it parses (docs/cold-start.md):

- :mod:`.envelope`: the envelope, open details, ``parse_event`` and ``parse_one_of``.
- :mod:`.monitoring`: Model Monitor executions, CloudWatch alarms, the Model Drift Signal.
- :mod:`.pipeline`: pipeline execution and step status changes.
- :mod:`.training`: training job state changes, and the union Spot recovery takes.
- :mod:`.endpoint`: endpoint state changes, and the union the guardrails take.
- :mod:`.package`: model package state changes (a promotion's start).

Product code imports from the family's module. The names are also re-exported here, each loaded
with its module on first use, for tooling and tests that look across families.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlops_runtime.events.endpoint import EndpointDetail, EndpointStateChange, GuardrailEvent
    from mlops_runtime.events.envelope import (
        DRIFT_SIGNAL_DETAIL_TYPE,
        DRIFT_SIGNAL_SOURCE,
        GUARDRAIL_DETAIL_TYPES,
        MONITORING_DETAIL_TYPES,
        TRAINING_DETAIL_TYPES,
        Envelope,
        OpenDetail,
        parse_event,
        parse_one_of,
    )
    from mlops_runtime.events.monitoring import (
        AlarmConfiguration,
        AlarmDetail,
        AlarmStateChange,
        DriftSignal,
        DriftSignalDetail,
        MonitoringEvent,
        ProcessingJobDetail,
        ProcessingJobStateChange,
        parse_monitoring_event,
    )
    from mlops_runtime.events.package import ModelPackageDetail, ModelPackageStateChange
    from mlops_runtime.events.pipeline import (
        PipelineExecutionDetail,
        PipelineExecutionStatusChange,
        PipelineStepDetail,
        PipelineStepStatusChange,
    )
    from mlops_runtime.events.training import (
        TrainingEvent,
        TrainingJobDetail,
        TrainingJobStateChange,
    )

_FAMILIES = ("endpoint", "envelope", "monitoring", "package", "pipeline", "training")


def __getattr__(name: str) -> Any:
    for family in _FAMILIES:
        module = import_module(f"{__name__}.{family}")
        if name in vars(module) and not name.startswith("_"):
            value = vars(module)[name]
            globals()[name] = value  # later lookups skip __getattr__
            return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "DRIFT_SIGNAL_DETAIL_TYPE",
    "DRIFT_SIGNAL_SOURCE",
    "GUARDRAIL_DETAIL_TYPES",
    "MONITORING_DETAIL_TYPES",
    "TRAINING_DETAIL_TYPES",
    "AlarmConfiguration",
    "AlarmDetail",
    "AlarmStateChange",
    "DriftSignal",
    "DriftSignalDetail",
    "EndpointDetail",
    "EndpointStateChange",
    "Envelope",
    "GuardrailEvent",
    "ModelPackageDetail",
    "ModelPackageStateChange",
    "MonitoringEvent",
    "OpenDetail",
    "PipelineExecutionDetail",
    "PipelineExecutionStatusChange",
    "PipelineStepDetail",
    "PipelineStepStatusChange",
    "ProcessingJobDetail",
    "ProcessingJobStateChange",
    "TrainingEvent",
    "TrainingJobDetail",
    "TrainingJobStateChange",
    "parse_event",
    "parse_monitoring_event",
    "parse_one_of",
]
