"""Monitoring schedules and their executions (moto has neither)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from moto.core.utils import utcnow
from moto.sagemaker.exceptions import ResourceInUseException
from moto.sagemaker.models import SageMakerModelBackend
from moto.sagemaker.utils import arn_formatter

from mlopscp_emulator.credentials import DEFAULT_ACCOUNT
from mlopscp_emulator.sagemaker_ext.lifecycle import advance, begin
from mlopscp_emulator.sagemaker_ext.state import (
    DEFAULT_REGION,
    Params,
    backend_for,
    collection,
    member,
    put,
    utc,
    without_none,
)


class FakeMonitoringSchedule:
    def __init__(self, backend: SageMakerModelBackend, params: Params) -> None:
        self.name: str = params["MonitoringScheduleName"]
        self.arn = arn_formatter(
            "monitoring-schedule", self.name, backend.account_id, backend.region_name
        )
        self.config: dict[str, Any] = params["MonitoringScheduleConfig"]
        self.type = self.config.get("MonitoringType", "DataQuality")
        self.endpoint_name = _endpoint_of(backend, self.config)
        self.status = "Pending"
        self.failure_reason: str | None = None
        self.tags = params.get("Tags") or []
        self.creation_time = self.last_modified_time = utcnow()
        self.last_execution: dict[str, Any] | None = None

    def describe(self) -> dict[str, Any]:
        return without_none(
            {
                "MonitoringScheduleArn": self.arn,
                "MonitoringScheduleName": self.name,
                "MonitoringScheduleStatus": self.status,
                "MonitoringType": self.type,
                "FailureReason": self.failure_reason,
                "CreationTime": self.creation_time,
                "LastModifiedTime": self.last_modified_time,
                "MonitoringScheduleConfig": self.config,
                "EndpointName": self.endpoint_name,
                "LastMonitoringExecutionSummary": self.last_execution,
            }
        )

    def summary(self) -> dict[str, Any]:
        return without_none(
            {
                "MonitoringScheduleName": self.name,
                "MonitoringScheduleArn": self.arn,
                "CreationTime": self.creation_time,
                "LastModifiedTime": self.last_modified_time,
                "MonitoringScheduleStatus": self.status,
                "EndpointName": self.endpoint_name,
                "MonitoringJobDefinitionName": self.config.get("MonitoringJobDefinitionName"),
                "MonitoringType": self.type,
            }
        )


def _endpoint_of(backend: SageMakerModelBackend, config: dict[str, Any]) -> str | None:
    """The endpoint a schedule watches: in its inline job definition or the named one."""
    inline = config.get("MonitoringJobDefinition") or {}
    for monitoring_input in inline.get("MonitoringInputs", []):
        if name := (monitoring_input.get("EndpointInput") or {}).get("EndpointName"):
            return str(name)
    definition_name = config.get("MonitoringJobDefinitionName")
    stores = (
        backend.data_quality_job_definitions,
        backend.model_quality_job_definitions,
        backend.model_bias_job_definitions,
        backend.model_explainability_job_definitions,
    )
    for store in stores:
        definition = store.get(definition_name) if definition_name else None
        if definition is None:
            continue
        for value in vars(definition).values():
            if isinstance(value, dict) and (endpoint := value.get("EndpointInput")):
                return str(endpoint.get("EndpointName"))
    return None


def _schedule(backend: SageMakerModelBackend, name: str) -> FakeMonitoringSchedule:
    found: FakeMonitoringSchedule = member(
        backend, "monitoring_schedules", name, f"Monitoring Schedule '{name}' does not exist."
    )
    return found


def create_monitoring_schedule(backend: SageMakerModelBackend, params: Params) -> dict[str, Any]:
    schedules = collection(backend, "monitoring_schedules")
    if params["MonitoringScheduleName"] in schedules:
        raise ResourceInUseException(
            f"Monitoring Schedule '{params['MonitoringScheduleName']}' already exists."
        )
    schedule = FakeMonitoringSchedule(backend, params)
    schedules[schedule.name] = schedule
    begin(schedule, lambda: setattr(schedule, "status", "Scheduled"))
    return {"MonitoringScheduleArn": schedule.arn}


def describe_monitoring_schedule(backend: SageMakerModelBackend, params: Params) -> dict:
    schedule = _schedule(backend, params["MonitoringScheduleName"])
    advance(schedule)
    return schedule.describe()


def list_monitoring_schedules(backend: SageMakerModelBackend, params: Params) -> dict[str, Any]:
    schedules = list(collection(backend, "monitoring_schedules").values())
    wanted = {
        "endpoint_name": params.get("EndpointName"),
        "type": params.get("MonitoringTypeEquals"),
        "status": params.get("StatusEquals"),
    }
    for attribute, value in wanted.items():
        if value:
            schedules = [s for s in schedules if getattr(s, attribute) == value]
    if contains := params.get("NameContains"):
        schedules = [s for s in schedules if contains in s.name]
    key = {"Name": "name", "Status": "status"}.get(params.get("SortBy", ""), "creation_time")
    schedules.sort(
        key=lambda s: getattr(s, key), reverse=params.get("SortOrder", "Descending") == "Descending"
    )
    return {"MonitoringScheduleSummaries": [s.summary() for s in schedules]}


def delete_monitoring_schedule(backend: SageMakerModelBackend, params: Params) -> dict:
    schedule = _schedule(backend, params["MonitoringScheduleName"])
    del collection(backend, "monitoring_schedules")[schedule.name]
    return {}


def stop_monitoring_schedule(backend: SageMakerModelBackend, params: Params) -> dict:
    _schedule(backend, params["MonitoringScheduleName"]).status = "Stopped"
    return {}


def start_monitoring_schedule(backend: SageMakerModelBackend, params: Params) -> dict:
    _schedule(backend, params["MonitoringScheduleName"]).status = "Scheduled"
    return {}


def list_monitoring_executions(backend: SageMakerModelBackend, params: Params) -> dict:
    executions: list[dict[str, Any]] = list(collection(backend, "monitoring_executions").values())
    filters = {
        "MonitoringScheduleName": params.get("MonitoringScheduleName"),
        "EndpointName": params.get("EndpointName"),
        "MonitoringType": params.get("MonitoringTypeEquals"),
        "MonitoringExecutionStatus": params.get("StatusEquals"),
    }
    for key, value in filters.items():
        if value:
            executions = [e for e in executions if e.get(key) == value]
    if before := params.get("ScheduledTimeBefore"):
        executions = [e for e in executions if e["ScheduledTime"] < before]
    if after := params.get("ScheduledTimeAfter"):
        executions = [e for e in executions if e["ScheduledTime"] > after]
    key = {"CreationTime": "CreationTime", "Status": "MonitoringExecutionStatus"}.get(
        params.get("SortBy", ""), "ScheduledTime"
    )
    executions.sort(
        key=lambda e: e[key], reverse=params.get("SortOrder", "Descending") == "Descending"
    )
    return {"MonitoringExecutionSummaries": executions}


def record_monitoring_execution(
    schedule_name: str,
    scheduled_time: datetime,
    status: str = "CompletedWithViolations",
    output_uri: str | None = None,
    failure_reason: str | None = None,
    account_id: str = DEFAULT_ACCOUNT,
    region: str = DEFAULT_REGION,
) -> dict[str, str]:
    """Hook: a monitoring execution of `schedule_name` ran at `scheduled_time` and ended with
    `status` (Completed | CompletedWithViolations | Failed | Stopped ...). Creates the backing
    processing job (with ``MonitoringScheduleArn`` and the report's ``output_uri``) and returns
    its ``ProcessingJobName`` and ``ProcessingJobArn``."""
    backend = backend_for(account_id, region)
    schedule = _schedule(backend, schedule_name)
    scheduled_time = utc(scheduled_time)
    job_name = f"model-monitoring-{scheduled_time:%Y%m%d%H%M}-{uuid.uuid4().hex[:24]}"
    output_uri = output_uri or (
        f"s3://sagemaker-{region}-{account_id}/{schedule.endpoint_name}"
        f"/{schedule_name}/{scheduled_time:%Y/%m/%d/%H}"
    )
    definition = schedule.config.get("MonitoringJobDefinition") or {}
    job = backend.create_processing_job(
        app_specification={
            "ImageUri": (definition.get("MonitoringAppSpecification") or {}).get(
                "ImageUri", "model-monitor-analyzer"
            )
        },
        experiment_config={},
        network_config=definition.get("NetworkConfig") or {},
        processing_inputs=[],
        processing_job_name=job_name,
        processing_output_config={
            "Outputs": [
                {
                    "OutputName": "result",
                    "S3Output": {
                        "S3Uri": output_uri,
                        "LocalPath": "/opt/ml/processing/output",
                        "S3UploadMode": "Continuous",
                    },
                }
            ]
        },
        role_arn=definition.get("RoleArn", f"arn:aws:iam::{account_id}:role/monitoring"),
        tags=[],
        # AWS's default for a monitoring job: one hour.
        stopping_condition=definition.get("StoppingCondition") or {"MaxRuntimeInSeconds": 3600},
    )
    put(
        job,
        # DescribeProcessingJob requires them; a monitoring job runs on the schedule's cluster.
        processing_resources={
            "ClusterConfig": (definition.get("MonitoringResources") or {}).get("ClusterConfig")
            or {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 30}
        },
        monitoring_schedule_arn=schedule.arn,
        failure_reason=failure_reason,
        processing_job_status={"Failed": "Failed", "Stopped": "Stopped"}.get(status, "Completed"),
        exit_message=f"{status}: recorded by the emulator" if status != "Completed" else None,
    )
    now = utcnow()
    summary = without_none(
        {
            "MonitoringScheduleName": schedule_name,
            "ScheduledTime": scheduled_time,
            "CreationTime": now,
            "LastModifiedTime": now,
            "MonitoringExecutionStatus": status,
            "ProcessingJobArn": job.arn,
            "EndpointName": schedule.endpoint_name,
            "FailureReason": failure_reason,
            "MonitoringType": schedule.type,
            "MonitoringJobDefinitionName": schedule.config.get("MonitoringJobDefinitionName"),
        }
    )
    collection(backend, "monitoring_executions")[job.arn] = summary
    schedule.last_execution = summary
    return {"ProcessingJobName": job_name, "ProcessingJobArn": job.arn}
