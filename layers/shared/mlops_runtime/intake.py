"""From an accepted EventBridge event to a monitoring signal about one endpoint or model."""

from __future__ import annotations

from mlops_core.errors import EventRejectedError
from mlops_core.monitoring import MonitorType
from mlops_core.signals import MonitoringSignal, SignalKind, monitor_type_of_namespace

from mlops_runtime.aws import client, retried
from mlops_runtime.events import AlarmStateChange, DriftSignal, ProcessingJobStateChange

_MONITORING_TYPES = {
    "DataQuality": MonitorType.DATA_QUALITY,
    "ModelQuality": MonitorType.MODEL_QUALITY,
    "ModelBias": MonitorType.BIAS_DRIFT,
    "ModelExplainability": MonitorType.FEATURE_ATTRIBUTION_DRIFT,
}


class NotRelevant(Exception):  # noqa: N818 - control flow, never leaves this package
    """A well-formed event that is not about a Model Monitor output (logged, not rejected)."""


def to_signal(
    event: ProcessingJobStateChange | AlarmStateChange | DriftSignal,
) -> MonitoringSignal:
    if isinstance(event, ProcessingJobStateChange):
        return _from_processing_job(event)
    if isinstance(event, AlarmStateChange):
        return _from_alarm(event)
    return _from_drift_signal(event)


def _from_processing_job(event: ProcessingJobStateChange) -> MonitoringSignal:
    detail = event.detail
    if detail.ProcessingJobStatus not in ("Completed", "Failed", "Stopped"):
        raise NotRelevant(
            f"processing job {detail.ProcessingJobName} is {detail.ProcessingJobStatus}"
        )
    schedule_arn, outputs = detail.MonitoringScheduleArn, detail.ProcessingOutputConfig
    if not schedule_arn or not outputs:
        # The event mirrors DescribeProcessingJob, but do not rely on optional fields.
        job = retried(
            lambda: client("sagemaker").describe_processing_job(
                ProcessingJobName=detail.ProcessingJobName
            )
        )
        schedule_arn = schedule_arn or job.get("MonitoringScheduleArn")
        output_uris = [
            o["S3Output"]["S3Uri"]
            for o in job.get("ProcessingOutputConfig", {}).get("Outputs", [])
            if "S3Output" in o
        ]
    else:
        output_uris = [o.S3Output.S3Uri for o in outputs.Outputs if o.S3Output]
    if not schedule_arn:
        raise NotRelevant(f"processing job {detail.ProcessingJobName} is not a Model Monitor run")
    schedule_name = schedule_arn.rsplit("/", 1)[-1]
    schedule = retried(
        lambda: client("sagemaker").describe_monitoring_schedule(
            MonitoringScheduleName=schedule_name
        )
    )
    failed = None
    if detail.ProcessingJobStatus != "Completed":
        failed = detail.FailureReason or detail.ExitMessage or detail.ProcessingJobStatus
    return MonitoringSignal(
        event_id=event.id,
        kind=SignalKind.MONITORING_EXECUTION,
        observed_at=detail.ProcessingEndTime or event.time,
        description=f"monitoring execution {detail.ProcessingJobName} of {schedule_name} "
        f"{detail.ProcessingJobStatus.lower()}"
        + (f": {detail.ExitMessage}" if detail.ExitMessage else ""),
        endpoint_name=schedule.get("EndpointName"),
        schedule_name=schedule_name,
        monitor_type=_MONITORING_TYPES.get(str(schedule.get("MonitoringType", ""))),
        output_uri=output_uris[0] if output_uris else None,
        execution_failed=failed,
    )


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
