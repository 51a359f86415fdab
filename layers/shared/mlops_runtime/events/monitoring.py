"""Monitoring evidence: a Model Monitor execution (a processing job), a CloudWatch alarm, and the
documented Model Drift Signal for teams with their own monitor (Evidently included).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from mlops_runtime.events.envelope import (
    MONITORING_DETAIL_TYPES,
    Envelope,
    OpenDetail,
    parse_one_of,
)

# --- SageMaker Processing Job State Change (Model Monitor executions are processing jobs) ---


class S3OutputRef(OpenDetail):
    S3Uri: str


class ProcessingOutputItem(OpenDetail):
    OutputName: str | None = None
    S3Output: S3OutputRef | None = None


class OutputConfig(OpenDetail):
    Outputs: list[ProcessingOutputItem] = []


class ProcessingJobDetail(OpenDetail):
    ProcessingJobName: str = Field(min_length=1)
    ProcessingJobStatus: Literal["InProgress", "Completed", "Failed", "Stopping", "Stopped"]
    ProcessingJobArn: str | None = None
    ExitMessage: str | None = None
    FailureReason: str | None = None
    MonitoringScheduleArn: str | None = None
    ProcessingOutputConfig: OutputConfig | None = None
    ProcessingEndTime: datetime | None = None


class ProcessingJobStateChange(Envelope):
    source: Literal["aws.sagemaker"]
    detail_type: Literal["SageMaker Processing Job State Change"] = Field(alias="detail-type")
    detail: ProcessingJobDetail


# --- CloudWatch Alarm State Change ---


class MetricRef(OpenDetail):
    namespace: str
    name: str
    dimensions: dict[str, str] = {}


class MetricStat(OpenDetail):
    metric: MetricRef


class AlarmMetric(OpenDetail):
    id: str | None = None
    metricStat: MetricStat | None = None
    expression: str | None = None


class AlarmConfiguration(OpenDetail):
    metrics: list[AlarmMetric] = []
    description: str | None = None


class AlarmState(OpenDetail):
    value: Literal["OK", "ALARM", "INSUFFICIENT_DATA"]
    reason: str = ""
    timestamp: datetime | None = None


class AlarmDetail(OpenDetail):
    alarmName: str = Field(min_length=1)
    state: AlarmState
    previousState: AlarmState | None = None
    configuration: AlarmConfiguration = Field(default_factory=AlarmConfiguration)


class AlarmStateChange(Envelope):
    source: Literal["aws.cloudwatch"]
    detail_type: Literal["CloudWatch Alarm State Change"] = Field(alias="detail-type")
    detail: AlarmDetail


# --- Model Drift Signal: the documented custom event for teams with their own monitor ---


class DriftSignalDetail(OpenDetail):
    model_id: str | None = Field(None, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")
    endpoint_name: str | None = Field(None, pattern=r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
    monitoring_output_uri: str | None = Field(None, pattern=r"^s3://[^/]+(/.*)?$")
    monitor: str | None = None
    reason: str | None = None

    @model_validator(mode="after")
    def _names_a_model(self) -> DriftSignalDetail:
        if not (self.model_id or self.endpoint_name):
            raise ValueError("a Model Drift Signal names its model_id or its endpoint_name")
        return self


class DriftSignal(Envelope):
    source: Literal["mlopscp.monitoring"]
    detail_type: Literal["Model Drift Signal"] = Field(alias="detail-type")
    detail: DriftSignalDetail


MonitoringEvent = Annotated[
    ProcessingJobStateChange | AlarmStateChange | DriftSignal,
    Field(discriminator="detail_type"),
]


def parse_monitoring_event(event: Any) -> ProcessingJobStateChange | AlarmStateChange | DriftSignal:
    return parse_one_of(event, MonitoringEvent, MONITORING_DETAIL_TYPES)  # type: ignore[no-any-return,unused-ignore]
