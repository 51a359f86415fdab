"""From an accepted EventBridge event to a monitoring signal about one endpoint or model, and
from a signal about a configured model to the drift response's request, or a refusal.

What the intake takes from an event and what it looks up (the trust boundary, mlops_core.trust):

- a Model Monitor execution names only its processing job: the job, its schedule and where it
  wrote are described through the API of the account the event came from, never read from the
  event's own fields;
- an event acts only on a model configured in the account it came from;
- triage reads the model's configured location; a custom signal may name it or a prefix
  under it (a stream, a run, a report), nothing else; when the model configures none, the
  location is the newest monitoring execution's output in the model's account (the API
  again), never a location an event names.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError
from mlops_core.errors import EventRejectedError
from mlops_core.monitoring import MonitorType
from mlops_core.signals import (
    MonitoringSignal,
    SignalKind,
    endpoint_root,
    monitor_type_of_namespace,
)
from mlops_core.trust import account_refusal, is_under, location_refusal

from mlops_runtime.accounts import AccountReader
from mlops_runtime.aws import error_code, retried
from mlops_runtime.events.monitoring import AlarmStateChange, DriftSignal, ProcessingJobStateChange
from mlops_runtime.model_config import ModelConfig, ModelConfigStore

_MONITORING_TYPES = {
    "DataQuality": MonitorType.DATA_QUALITY,
    "ModelQuality": MonitorType.MODEL_QUALITY,
    "ModelBias": MonitorType.BIAS_DRIFT,
    "ModelExplainability": MonitorType.FEATURE_ATTRIBUTION_DRIFT,
}
SageMakerIn = Callable[[], Any]  # a SageMaker client in the account the event came from


class NotRelevant(Exception):  # noqa: N818 - control flow, never leaves this package
    """A well-formed event that is not about a Model Monitor output (logged, not rejected)."""


def to_signal(
    event: ProcessingJobStateChange | AlarmStateChange | DriftSignal, sagemaker_in: SageMakerIn
) -> MonitoringSignal:
    if isinstance(event, ProcessingJobStateChange):
        return _from_processing_job(event, sagemaker_in)
    if isinstance(event, AlarmStateChange):
        return _from_alarm(event)
    return _from_drift_signal(event)


def _from_processing_job(
    event: ProcessingJobStateChange, sagemaker_in: SageMakerIn
) -> MonitoringSignal:
    detail = event.detail
    if detail.ProcessingJobStatus not in ("Completed", "Failed", "Stopped"):
        raise NotRelevant(
            f"processing job {detail.ProcessingJobName} is {detail.ProcessingJobStatus}"
        )
    sagemaker = sagemaker_in()
    job = _described(
        lambda: sagemaker.describe_processing_job(ProcessingJobName=detail.ProcessingJobName),
        f"processing job {detail.ProcessingJobName} does not exist in account {event.account}",
    )
    schedule_arn = job.get("MonitoringScheduleArn")
    if not schedule_arn:
        raise NotRelevant(f"processing job {detail.ProcessingJobName} is not a Model Monitor run")
    schedule_name = schedule_arn.rsplit("/", 1)[-1]
    schedule = retried(
        lambda: sagemaker.describe_monitoring_schedule(MonitoringScheduleName=schedule_name)
    )
    outputs = [
        o["S3Output"]["S3Uri"]
        for o in job.get("ProcessingOutputConfig", {}).get("Outputs", [])
        if "S3Output" in o
    ]
    status = str(job.get("ProcessingJobStatus", detail.ProcessingJobStatus))
    exit_message = job.get("ExitMessage")
    failed = None
    if status != "Completed":
        failed = job.get("FailureReason") or exit_message or status
    return MonitoringSignal(
        event_id=event.id,
        kind=SignalKind.MONITORING_EXECUTION,
        observed_at=detail.ProcessingEndTime or event.time,
        description=f"monitoring execution {detail.ProcessingJobName} of {schedule_name} "
        f"{status.lower()}" + (f": {exit_message}" if exit_message else ""),
        endpoint_name=schedule.get("EndpointName"),
        schedule_name=schedule_name,
        monitor_type=_MONITORING_TYPES.get(str(schedule.get("MonitoringType", ""))),
        output_uri=outputs[0] if outputs else None,
        execution_failed=failed,
    )


def _described(call: Callable[[], Any], missing: str) -> dict[str, Any]:
    try:
        return dict(retried(call))
    except ClientError as error:
        if error_code(error) in ("ValidationException", "ResourceNotFound"):
            raise EventRejectedError(missing) from error
        raise


def _from_alarm(event: AlarmStateChange) -> MonitoringSignal:
    detail = event.detail
    if detail.state.value != "ALARM":
        raise NotRelevant(f"alarm {detail.alarmName} is {detail.state.value}")
    for metric in detail.configuration.metrics:
        if not metric.metricStat:
            continue
        ref = metric.metricStat.metric
        monitor_type = monitor_type_of_namespace(ref.namespace)
        if monitor_type is None:
            continue
        dims = ref.dimensions
        endpoint = dims.get("Endpoint") or dims.get("EndpointName")
        if not endpoint:
            raise EventRejectedError(
                f"alarm {detail.alarmName} watches {ref.namespace}/{ref.name} without an "
                "Endpoint dimension: cannot tell which endpoint drifted"
            )
        return MonitoringSignal(
            event_id=event.id,
            kind=SignalKind.ALARM,
            observed_at=detail.state.timestamp or event.time,
            description=f"alarm {detail.alarmName} on {ref.name}: {detail.state.reason[:300]}",
            endpoint_name=endpoint,
            schedule_name=dims.get("MonitoringSchedule") or dims.get("ScheduleName"),
            monitor_type=monitor_type,
        )
    raise NotRelevant(f"alarm {detail.alarmName} watches no Model Monitor metric")


def _from_drift_signal(event: DriftSignal) -> MonitoringSignal:
    detail = event.detail
    return MonitoringSignal(
        event_id=event.id,
        kind=SignalKind.CUSTOM,
        observed_at=event.time,
        description=f"drift signal from {detail.monitor or event.source}"
        + (f": {detail.reason}" if detail.reason else ""),
        endpoint_name=detail.endpoint_name,
        model_id=detail.model_id,
        output_uri=detail.monitoring_output_uri,
    )


# ---------------------------------------------------------------- the trust boundary


def model_of(signal: MonitoringSignal, models: ModelConfigStore) -> ModelConfig:
    """The configured model a signal names (by id or endpoint); NotRelevant if none."""
    if signal.model_id:
        model = models.get(signal.model_id)
    else:
        model = models.by_endpoint(signal.endpoint_name) if signal.endpoint_name else None
    if model is None:
        raise NotRelevant(
            f"no model is configured for endpoint {signal.endpoint_name or signal.model_id}"
        )
    return model


def reader_in(
    account: str, tooling_account: str, models: ModelConfigStore, session: str
) -> Callable[[], AccountReader]:
    """Clients in the account an event came from, to look up what it names (lazily: only a
    monitoring execution needs them); NotRelevant for an account no model is configured in."""

    def reader() -> AccountReader:
        if account == tooling_account:
            return AccountReader(None, session)
        access = models.account_access(account)
        if access is None:
            raise NotRelevant(f"no model is configured in account {account}")
        return AccountReader(access, session)

    return reader


def admit(
    signal: MonitoringSignal,
    event_account: str,
    model: ModelConfig,
    tooling_account: str,
    sagemaker_in: SageMakerIn,
) -> dict[str, Any]:
    """The drift response's request for ``model``, or EventRejectedError saying why not.
    ``sagemaker_in`` reaches the model's account (for a location the configuration lacks)."""
    refusal = account_refusal(event_account, model.model_id, model.account_id(tooling_account))
    if refusal:
        raise EventRejectedError(refusal)
    return {
        "event_id": signal.event_id,
        "event_account": event_account,
        "model_id": model.model_id,
        "endpoint_name": model.endpoint_name,
        "output_uri": _location(signal, model, sagemaker_in),
        "signal": signal.to_dict(),
    }


def _location(
    signal: MonitoringSignal, model: ModelConfig, sagemaker_in: SageMakerIn
) -> str | None:
    configured = model.monitoring_output_uri
    if signal.kind == SignalKind.CUSTOM and signal.output_uri:
        # A root, one stream, one run or one report of the model's: triage reads the whole
        # configured root (every stream of the model), never more.
        if refusal := location_refusal(signal.output_uri, configured, model.model_id):
            raise EventRejectedError(refusal)
        return configured
    execution = signal.output_uri if signal.kind == SignalKind.MONITORING_EXECUTION else None
    if execution is None and configured is None:
        execution = latest_execution_output(sagemaker_in(), model.endpoint_name)
    if configured and execution and not is_under(execution, configured):
        raise EventRejectedError(
            f"the monitoring execution wrote to {execution}, outside model {model.model_id}'s "
            f"configured monitoring location {configured}"
        )
    return configured or (endpoint_root(execution) if execution else None)


def latest_execution_output(sagemaker: Any, endpoint: str) -> str | None:
    """Where the endpoint's newest monitoring execution wrote, from the API (None: no run)."""
    summaries = retried(
        lambda: sagemaker.list_monitoring_executions(
            EndpointName=endpoint, SortBy="ScheduledTime", SortOrder="Descending", MaxResults=10
        )
    ).get("MonitoringExecutionSummaries", [])
    for summary in summaries:
        if not summary.get("ProcessingJobArn"):
            continue
        name = summary["ProcessingJobArn"].rsplit("/", 1)[-1]
        job = retried(lambda n=name: sagemaker.describe_processing_job(ProcessingJobName=n))
        for output in job.get("ProcessingOutputConfig", {}).get("Outputs", []):
            if "S3Output" in output:
                return str(output["S3Output"]["S3Uri"])
    return None
