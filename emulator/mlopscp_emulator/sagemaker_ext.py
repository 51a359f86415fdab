"""The SageMaker operations moto lacks or answers too simply, added to moto's own classes.

This is the ONE module that extends moto's SageMaker. Requests and responses keep AWS's shapes:
each operation is a method on moto's ``SageMakerResponse`` returning an ``ActionResult`` that
moto serialises against botocore's service model, and boto3 validates every request. State lives
on moto's backend (``SageMakerModelBackend``), per account and region, so ``/moto-api/reset``
clears it. :func:`install` / :func:`uninstall` apply and remove every patch; the
:class:`~mlopscp_emulator.Emulator` does both, and an in-process ``mock_aws`` test can too.

Operations added or changed, and why:

- Monitoring (moto has none): CreateMonitoringSchedule, DescribeMonitoringSchedule,
  ListMonitoringSchedules (filters EndpointName, MonitoringTypeEquals, NameContains,
  StatusEquals), DeleteMonitoringSchedule, StopMonitoringSchedule, StartMonitoringSchedule,
  ListMonitoringExecutions (filters MonitoringScheduleName, EndpointName, MonitoringTypeEquals,
  StatusEquals; sorted by ScheduledTime, newest first, by default). Executions exist only through
  the :func:`record_monitoring_execution` hook, which also creates the backing processing job:
  DescribeProcessingJob then returns ``MonitoringScheduleArn``, ``ExitMessage`` and the
  ``ProcessingOutputConfig`` with the report's S3 URI, as AWS does.
- Pipelines: StartPipelineExecution honours ``ClientRequestToken`` (the same token returns the same
  execution) and starts in ``Executing`` instead of ``Succeeded``; DescribePipelineExecution and
  ListPipelineExecutions report the real status and ``FailureReason`` (moto hard-codes them);
  RetryPipelineExecution (Failed -> Executing, same ARN, idempotent on ClientRequestToken),
  StopPipelineExecution (-> Stopping -> Stopped), ListPipelineExecutionSteps (steps set by the
  :func:`set_pipeline_execution_steps` hook). :func:`set_pipeline_execution_status` ends one.
- Endpoints: CreateEndpoint goes Creating -> InService (or Failed with ``FailureReason`` after
  :func:`fail_next_create`); UpdateEndpoint (moto has none) goes Updating -> InService on the new
  EndpointConfigName, keeping ``DeploymentConfig`` as ``LastDeploymentConfig`` and honouring
  RetainAllVariantProperties. If :func:`fail_next_update` was called for the endpoint, or one of
  the ``AutoRollbackConfiguration`` alarms is in ALARM in moto's CloudWatch when the update
  settles, it rolls back as AWS does: RollingBack, then InService on the OLD config with
  ``FailureReason`` set. DescribeEndpoint's ``ProductionVariants`` carry Current/Desired
  InstanceCount and weight (the config's initial values, moto's) and its ``DataCaptureConfig``
  is AWS's summary (EnableCapture, CaptureStatus, CurrentSamplingPercentage, DestinationS3Uri).
  UpdateEndpointWeightsAndCapacities (what Application Auto Scaling calls to scale a variant)
  keeps what the request leaves out, refuses an endpoint that is not InService and goes
  Updating -> InService.
- Endpoint configs: CreateEndpointConfig keeps ``ShadowProductionVariants`` (moto drops them);
  DescribeEndpointConfig returns them and ``DataCaptureConfig``.
- Shadow tests (moto has none): CreateInferenceExperiment, DescribeInferenceExperiment,
  ListInferenceExperiments, StartInferenceExperiment, StopInferenceExperiment (ModelVariantActions
  Promote | Remove | Retain applied to the endpoint's variants, DesiredModelVariants, DesiredState),
  UpdateInferenceExperiment. Status: Creating -> Created -> (StartInferenceExperiment, or the
  schedule's StartTime passing) Starting -> Running -> (Stop) Stopping -> Completed | Cancelled;
  Update shows Updating, then the status it had.
- Model registry: Put/Get/DeleteModelPackageGroupPolicy (moto has none); CreateModel from a
  model package of ANOTHER account checks that package exists there and that its group's
  resource policy lets the caller's account ``sagemaker:DescribeModelPackage`` it (else
  AccessDeniedException, as AWS answers); AddTags / ListTags /
  DeleteTags on model-package ARNs (moto cannot parse ``model-package/<group>/<version>``),
  and CreateModelPackage keeps its Tags.
- Training: CreateTrainingJob starts InProgress (Starting) and settles to Completed; moto already
  keeps EnableManagedSpotTraining, CheckpointConfig, StoppingCondition (MaxWaitTimeInSeconds)
  and Tags; the extension keeps what moto drops (Environment, RetryStrategy, profiler, remote
  debug and infra-check settings, the request's own AlgorithmSpecification) and refuses a name
  twice with ResourceInUse, as AWS does (moto would replace the job). StopTrainingJob (moto has
  none): Stopping -> Stopped. :func:`set_training_job_status` sets any status (and cancels the
  automatic lifecycle).

Lifecycles: a transitional status (Creating, Updating, RollingBack, Starting, Stopping, ...) is
shown by :data:`LIFECYCLE` ``.describes`` Describe calls (default 1), then the next Describe shows
the following status; with ``LIFECYCLE.seconds`` set, a status also settles once that long has
passed. ``configure(describes=0)`` makes every transition settle on the first Describe.
Waiters (``endpoint_in_service`` ...) work against it.
"""

from __future__ import annotations

import copy
import fnmatch
import json
import threading
import time
import uuid
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from moto.cloudwatch.models import cloudwatch_backends
from moto.core.exceptions import ServiceException
from moto.core.responses import ActionResult
from moto.core.utils import utcnow
from moto.sagemaker.exceptions import (
    ConflictException,
    ResourceInUseException,
    ResourceNotFound,
    ValidationError,
)
from moto.sagemaker.models import (
    FakeEndpoint,
    FakePipelineExecution,
    FakeProcessingJob,
    FakeTrainingJob,
    SageMakerModelBackend,
    sagemaker_backends,
)
from moto.sagemaker.responses import SageMakerResponse
from moto.sagemaker.utils import (
    arn_formatter,
    get_pipeline_execution_from_arn,
    get_pipeline_from_name,
)

from mlopscp_emulator._patching import Patches
from mlopscp_emulator.credentials import DEFAULT_ACCOUNT

DEFAULT_REGION = "us-east-1"
Params = dict[str, Any]


@dataclass
class Lifecycle:
    describes: int = 1  # Describe calls that still show a transitional status
    seconds: float | None = None  # or: settle once this long has passed


LIFECYCLE = Lifecycle()


def configure(describes: int = 1, seconds: float | None = None) -> None:
    """How long transitional statuses last (in Describe calls, or seconds)."""
    LIFECYCLE.describes, LIFECYCLE.seconds = describes, seconds


# -- lifecycle machinery -----------------------------------------------------------------------


@dataclass
class _Transition:
    steps: list[Callable[[], None]]
    seen: int = 0
    since: float = field(default_factory=time.monotonic)


_pending: weakref.WeakKeyDictionary[Any, _Transition] = weakref.WeakKeyDictionary()
_lock = threading.RLock()


def _begin(resource: Any, *steps: Callable[[], None]) -> None:
    """Show the resource's current (transitional) status, then apply `steps` one per settle."""
    with _lock:
        _pending[resource] = _Transition(list(steps))


def _cancel(resource: Any) -> None:
    with _lock:
        _pending.pop(resource, None)


def _advance(resource: Any) -> None:
    """Called on each Describe: apply the next step once the current status has lasted."""
    with _lock:
        transition = _pending.get(resource)
        if transition is None:
            return
        waited = time.monotonic() - transition.since
        due = transition.seen >= LIFECYCLE.describes or (
            LIFECYCLE.seconds is not None and waited >= LIFECYCLE.seconds
        )
        if not due:
            transition.seen += 1
            return
        step = transition.steps.pop(0)
        if transition.steps:
            transition.seen, transition.since = 0, time.monotonic()
        else:
            del _pending[resource]
        step()
        if (begun := _pending.get(resource)) is not None and begun is not transition:
            begun.seen = 1  # the step began a new status: this Describe already shows it


def _collection(backend: SageMakerModelBackend, name: str) -> dict[str, Any]:
    """A per-backend store moto does not have (reset with the backend)."""
    return backend.__dict__.setdefault(f"mlopscp_{name}", {})


def _backend(account_id: str, region: str) -> SageMakerModelBackend:
    return sagemaker_backends[account_id][region]


def _put(resource: Any, **attributes: Any) -> None:
    """Set attributes moto's classes do not declare; moto serialises them by name."""
    vars(resource).update(attributes)


def _without_none(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


# -- monitoring --------------------------------------------------------------------------------


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
        return _without_none(
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
        return _without_none(
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
    schedule = _collection(backend, "monitoring_schedules").get(name)
    if schedule is None:
        raise ResourceNotFound(f"Monitoring Schedule '{name}' does not exist.")
    return schedule


def create_monitoring_schedule(backend: SageMakerModelBackend, params: Params) -> dict[str, Any]:
    schedules = _collection(backend, "monitoring_schedules")
    if params["MonitoringScheduleName"] in schedules:
        raise ResourceInUseException(
            f"Monitoring Schedule '{params['MonitoringScheduleName']}' already exists."
        )
    schedule = FakeMonitoringSchedule(backend, params)
    schedules[schedule.name] = schedule
    _begin(schedule, lambda: setattr(schedule, "status", "Scheduled"))
    return {"MonitoringScheduleArn": schedule.arn}


def describe_monitoring_schedule(backend: SageMakerModelBackend, params: Params) -> dict:
    schedule = _schedule(backend, params["MonitoringScheduleName"])
    _advance(schedule)
    return schedule.describe()


def list_monitoring_schedules(backend: SageMakerModelBackend, params: Params) -> dict[str, Any]:
    schedules = list(_collection(backend, "monitoring_schedules").values())
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
    del _collection(backend, "monitoring_schedules")[schedule.name]
    return {}


def stop_monitoring_schedule(backend: SageMakerModelBackend, params: Params) -> dict:
    _schedule(backend, params["MonitoringScheduleName"]).status = "Stopped"
    return {}


def start_monitoring_schedule(backend: SageMakerModelBackend, params: Params) -> dict:
    _schedule(backend, params["MonitoringScheduleName"]).status = "Scheduled"
    return {}


def list_monitoring_executions(backend: SageMakerModelBackend, params: Params) -> dict:
    executions: list[dict[str, Any]] = list(_collection(backend, "monitoring_executions").values())
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
    backend = _backend(account_id, region)
    schedule = _schedule(backend, schedule_name)
    scheduled_time = _utc(scheduled_time)
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
        stopping_condition=definition.get("StoppingCondition") or {},
    )
    _put(
        job,
        monitoring_schedule_arn=schedule.arn,
        failure_reason=failure_reason,
        processing_job_status={"Failed": "Failed", "Stopped": "Stopped"}.get(status, "Completed"),
        exit_message=f"{status}: recorded by the emulator" if status != "Completed" else None,
    )
    now = utcnow()
    summary = _without_none(
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
    _collection(backend, "monitoring_executions")[job.arn] = summary
    schedule.last_execution = summary
    return {"ProcessingJobName": job_name, "ProcessingJobArn": job.arn}


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# -- pipelines ---------------------------------------------------------------------------------


def _execution(backend: SageMakerModelBackend, arn: str) -> FakePipelineExecution:
    return get_pipeline_execution_from_arn(backend.pipelines, arn)


def start_pipeline_execution(original: Callable[..., Any]) -> Callable[..., Any]:
    def start(backend: SageMakerModelBackend, pipeline_name: str, *args: Any) -> dict[str, str]:
        token = args[-1]
        pipeline = get_pipeline_from_name(backend.pipelines, pipeline_name)
        for arn, execution in pipeline.pipeline_executions.items():
            if token and execution.client_request_token == token:
                return {"PipelineExecutionArn": arn}  # idempotent, as AWS is on the token
        started = original(backend, pipeline_name, *args)
        execution = pipeline.pipeline_executions[started["PipelineExecutionArn"]]
        execution.pipeline_execution_status = "Executing"
        return started

    return start


def describe_pipeline_execution(original: Callable[..., Any]) -> Callable[..., Any]:
    def describe(backend: SageMakerModelBackend, arn: str) -> dict[str, Any]:
        execution = _execution(backend, arn)
        _advance(execution)
        described = original(backend, arn)
        described["PipelineExecutionStatus"] = execution.pipeline_execution_status
        described["LastModifiedTime"] = execution.last_modified_time
        described.pop("FailureReason", None)
        if execution.pipeline_execution_failure_reason:
            described["FailureReason"] = execution.pipeline_execution_failure_reason
        return described

    return describe


def list_pipeline_executions(original: Callable[..., Any]) -> Callable[..., Any]:
    def list_(backend: SageMakerModelBackend, pipeline_name: str) -> dict[str, Any]:
        listed = original(backend, pipeline_name)
        for summary in listed["PipelineExecutionSummaries"]:
            execution = _execution(backend, summary["PipelineExecutionArn"])
            summary.pop("PipelineExecutionFailureReason", None)  # moto sends the text "None"
            if execution.pipeline_execution_failure_reason:
                summary["PipelineExecutionFailureReason"] = (
                    execution.pipeline_execution_failure_reason
                )
        listed["PipelineExecutionSummaries"].sort(key=lambda s: s["StartTime"], reverse=True)
        return listed

    return list_


def retry_pipeline_execution(backend: SageMakerModelBackend, params: Params) -> dict[str, str]:
    arn = params["PipelineExecutionArn"]
    execution = _execution(backend, arn)
    tokens: set[str] = execution.__dict__.setdefault("mlopscp_retry_tokens", set())
    token = params.get("ClientRequestToken")
    if token and token in tokens:
        return {"PipelineExecutionArn": arn}
    if execution.pipeline_execution_status != "Failed":
        raise ConflictException(
            f"Pipeline execution {arn} is "
            f"{execution.pipeline_execution_status}; only a Failed one can be "
            "retried."
        )
    if token:
        tokens.add(token)
    _set_execution(execution, "Executing", None)
    return {"PipelineExecutionArn": arn}


def stop_pipeline_execution(backend: SageMakerModelBackend, params: Params) -> dict[str, str]:
    arn = params["PipelineExecutionArn"]
    execution = _execution(backend, arn)
    if execution.pipeline_execution_status in ("Executing", "Stopping"):
        _set_execution(execution, "Stopping", None)
        _begin(execution, lambda: _set_execution(execution, "Stopped", None))
    return {"PipelineExecutionArn": arn}


def list_pipeline_execution_steps(backend: SageMakerModelBackend, params: Params) -> dict:
    execution = _execution(backend, params["PipelineExecutionArn"])
    steps = list(execution.__dict__.get("mlopscp_steps", []))
    if params.get("SortOrder") == "Ascending":
        steps.reverse()
    return {"PipelineExecutionSteps": steps}


def _set_execution(execution: FakePipelineExecution, status: str, reason: str | None) -> None:
    _put(
        execution,
        pipeline_execution_status=status,
        pipeline_execution_failure_reason=reason,
        last_modified_time=utcnow(),
    )


def set_pipeline_execution_status(arn: str, status: str, failure_reason: str | None = None) -> None:
    """Hook: the pipeline execution `arn` is now `status` (Succeeded | Failed | Stopped ...)."""
    account_id, region = arn.split(":")[4], arn.split(":")[3]
    execution = _execution(_backend(account_id, region), arn)
    _cancel(execution)
    _set_execution(execution, status, failure_reason)


def set_pipeline_execution_steps(arn: str, steps: list[dict[str, Any]]) -> None:
    """Hook: ListPipelineExecutionSteps returns `steps` (AWS's PipelineExecutionStep shape, e.g.
    ``{"StepName": "Train", "StepStatus": "Failed", "FailureReason": ..., "Metadata":
    {"TrainingJob": {"Arn": ...}}}``), newest first as given."""
    account_id, region = arn.split(":")[4], arn.split(":")[3]
    _put(_execution(_backend(account_id, region), arn), mlopscp_steps=copy.deepcopy(steps))


# -- endpoints and endpoint configs ------------------------------------------------------------


_failures: dict[tuple[str, str, str], str] = {}
_create_failures: dict[tuple[str, str, str], str] = {}


def fail_next_update(
    endpoint_name: str, reason: str, account_id: str = DEFAULT_ACCOUNT, region: str = DEFAULT_REGION
) -> None:
    """Hook: the next UpdateEndpoint of `endpoint_name` rolls back with `reason`."""
    _failures[(account_id, region, endpoint_name)] = reason


def fail_next_create(
    endpoint_name: str, reason: str, account_id: str = DEFAULT_ACCOUNT, region: str = DEFAULT_REGION
) -> None:
    """Hook: the next CreateEndpoint of `endpoint_name` goes Creating -> Failed with `reason`
    (as AWS leaves an endpoint whose instances never became healthy: it must be deleted)."""
    _create_failures[(account_id, region, endpoint_name)] = reason


def create_endpoint_config(original: Callable[..., Any]) -> Callable[..., Any]:
    def create(response: SageMakerResponse) -> ActionResult:
        shadows = response._get_param("ShadowProductionVariants") or []
        response.sagemaker_backend.validate_production_variants(shadows)
        result = original(response)
        name = response._get_param("EndpointConfigName")
        config = response.sagemaker_backend.endpoint_configs[name]
        _put(config, shadow_production_variants=shadows or None)
        return result

    return create


def create_endpoint(original: Callable[..., Any]) -> Callable[..., Any]:
    def create(
        backend: SageMakerModelBackend,
        endpoint_name: str,
        endpoint_config_name: str,
        tags: list[dict[str, str]],
    ) -> FakeEndpoint:
        endpoint = original(backend, endpoint_name, endpoint_config_name, tags)
        _apply_config(backend, endpoint, endpoint_config_name, retain=False)
        endpoint.endpoint_status = "Creating"
        key = (backend.account_id, backend.region_name, endpoint_name)
        reason = _create_failures.pop(key, None)
        if reason is None:
            _begin(endpoint, lambda: _settle(endpoint, "InService"))
        else:
            _begin(endpoint, lambda: _settle(endpoint, "Failed", reason=reason))
        return endpoint

    return create


def describe_endpoint(original: Callable[..., Any]) -> Callable[..., Any]:
    def describe(backend: SageMakerModelBackend, endpoint_name: str) -> dict[str, Any]:
        endpoint = backend.endpoints.get(endpoint_name)
        if endpoint is not None:
            _advance(endpoint)
        return original(backend, endpoint_name)

    return describe


def update_endpoint(backend: SageMakerModelBackend, params: Params) -> dict[str, str]:
    name, config_name = params["EndpointName"], params["EndpointConfigName"]
    endpoint = backend.endpoints.get(name)
    if endpoint is None:
        raise ValidationError(f"Could not find endpoint '{name}'.")
    if endpoint.endpoint_status != "InService":
        raise ValidationError(f'Cannot update in-progress endpoint "{endpoint.arn}".')
    backend.describe_endpoint_config(config_name)  # raises if it does not exist
    deployment = params.get("DeploymentConfig")
    if deployment is None and params.get("RetainDeploymentConfig"):
        deployment = getattr(endpoint, "last_deployment_config", None)
    old_config = endpoint.endpoint_config_name
    forced_failure = _failures.pop((backend.account_id, backend.region_name, name), None)
    now = utcnow()
    _put(
        endpoint,
        endpoint_status="Updating",
        failure_reason=None,
        last_modified_time=now,
        pending_deployment_summary={"EndpointConfigName": config_name, "StartTime": now},
    )

    def settle() -> None:
        _put(endpoint, pending_deployment_summary=None, last_deployment_config=deployment)
        reason = forced_failure or _alarm_in_alarm(backend, deployment)
        if reason is None:
            _apply_config(
                backend,
                endpoint,
                config_name,
                retain=bool(params.get("RetainAllVariantProperties")),
            )
            _settle(endpoint, "InService")
            return
        # AWS shifts traffic back to the blue fleet: the old config stays, the reason is kept.
        _put(endpoint, endpoint_status="RollingBack", failure_reason=reason)
        _begin(endpoint, lambda: _settle(endpoint, "InService", config=old_config))

    _begin(endpoint, settle)
    return {"EndpointArn": endpoint.arn}


def update_endpoint_weights_and_capacities(original: Callable[..., Any]) -> Callable[..., Any]:
    """What Application Auto Scaling calls to scale a variant: moto sets the counts but blanks
    the weight it was not given and stays InService. AWS keeps what the request leaves out,
    refuses an endpoint that is not InService, and goes Updating -> InService."""

    def update(
        backend: SageMakerModelBackend,
        endpoint_name: str,
        desired_weights_and_capacities: list[dict[str, Any]],
    ) -> str:
        endpoint = backend.endpoints.get(endpoint_name)
        if endpoint is None:  # moto answers as AWS does
            return str(original(backend, endpoint_name, desired_weights_and_capacities))
        if endpoint.endpoint_status != "InService":
            raise ValidationError(f'Cannot update in-progress endpoint "{endpoint.arn}".')
        before = {v["VariantName"]: dict(v) for v in endpoint.production_variants}
        arn = original(backend, endpoint_name, desired_weights_and_capacities)
        for variant in endpoint.production_variants:
            kept = before.get(variant["VariantName"], {})
            for current, desired in (
                ("CurrentWeight", "DesiredWeight"),
                ("CurrentInstanceCount", "DesiredInstanceCount"),
            ):
                if variant.get(desired) is None and desired in kept:
                    variant[current], variant[desired] = kept.get(current), kept[desired]
        _put(endpoint, endpoint_status="Updating", last_modified_time=utcnow())
        _begin(endpoint, lambda: _settle(endpoint, "InService"))
        return str(arn)

    return update


def _alarm_in_alarm(
    backend: SageMakerModelBackend, deployment: dict[str, Any] | None
) -> str | None:
    alarms = ((deployment or {}).get("AutoRollbackConfiguration") or {}).get("Alarms") or []
    names = [alarm["AlarmName"] for alarm in alarms]
    if not names:
        return None
    cloudwatch = cloudwatch_backends[backend.account_id][backend.region_name]
    firing = [
        a.name for a in cloudwatch.get_alarms_by_alarm_names(names) if a.state_value == "ALARM"
    ]
    if not firing:
        return None
    return f"Auto-rollback triggered by CloudWatch alarm(s) in ALARM: {', '.join(firing)}"


def _apply_config(
    backend: SageMakerModelBackend, endpoint: FakeEndpoint, config_name: str, retain: bool
) -> None:
    config = backend.endpoint_configs[config_name]
    shadows = getattr(config, "shadow_production_variants", None) or []
    _put(
        endpoint,
        endpoint_config_name=config_name,
        shadow_production_variants=(
            endpoint._process_production_variants(shadows) if shadows else None
        ),
        data_capture_config=_capture_summary(config.data_capture_config),
    )
    if not retain:
        _put(
            endpoint,
            production_variants=endpoint._process_production_variants(config.production_variants),
        )


def _capture_summary(capture: dict[str, Any] | None) -> dict[str, Any] | None:
    """DescribeEndpoint's DataCaptureConfigSummary of an endpoint config's DataCaptureConfig."""
    if not capture:
        return None
    enabled = bool(capture.get("EnableCapture", True))
    return _without_none(
        {
            "EnableCapture": enabled,
            "CaptureStatus": "Started" if enabled else "Stopped",
            "CurrentSamplingPercentage": capture.get("InitialSamplingPercentage", 0),
            "DestinationS3Uri": capture.get("DestinationS3Uri"),
            "KmsKeyId": capture.get("KmsKeyId"),
        }
    )


def _settle(
    endpoint: FakeEndpoint, status: str, config: str | None = None, reason: str | None = None
) -> None:
    endpoint.endpoint_status = status
    if reason is not None:
        _put(endpoint, failure_reason=reason)
    if config is not None:
        endpoint.endpoint_config_name = config
    endpoint.last_modified_time = utcnow()


# -- shadow tests (inference experiments) ------------------------------------------------------


class FakeInferenceExperiment:
    def __init__(self, backend: SageMakerModelBackend, params: Params) -> None:
        self.name: str = params["Name"]
        self.arn = arn_formatter(
            "inference-experiment", self.name, backend.account_id, backend.region_name
        )
        self.type = params["Type"]
        self.schedule = params.get("Schedule")
        self.description = params.get("Description")
        self.role_arn = params["RoleArn"]
        self.endpoint_name = params["EndpointName"]
        self.models: list[dict[str, Any]] = params["ModelVariants"]
        self.shadow_mode_config = params["ShadowModeConfig"]
        self.data_storage_config = params.get("DataStorageConfig")
        self.kms_key = params.get("KmsKey")
        self.tags = params.get("Tags") or []
        self.status = "Creating"
        self.status_reason: str | None = None
        self.variant_status = "Creating"
        self.creation_time = self.last_modified_time = utcnow()
        self.completion_time: datetime | None = None

    def summary(self) -> dict[str, Any]:
        return _without_none(
            {
                "Name": self.name,
                "Type": self.type,
                "Schedule": self.schedule,
                "Status": self.status,
                "StatusReason": self.status_reason,
                "Description": self.description,
                "CreationTime": self.creation_time,
                "CompletionTime": self.completion_time,
                "LastModifiedTime": self.last_modified_time,
                "RoleArn": self.role_arn,
            }
        )

    def describe(self, backend: SageMakerModelBackend) -> dict[str, Any]:
        endpoint = backend.endpoints.get(self.endpoint_name)
        metadata = {"EndpointName": self.endpoint_name}
        if endpoint is not None:
            metadata |= _without_none(
                {
                    "EndpointConfigName": endpoint.endpoint_config_name,
                    "EndpointStatus": endpoint.endpoint_status,
                    "FailureReason": endpoint.failure_reason,
                }
            )
        variants = [{**model, "Status": self.variant_status} for model in self.models]
        return _without_none(
            {
                **self.summary(),
                "Arn": self.arn,
                "EndpointMetadata": metadata,
                "ModelVariants": variants,
                "DataStorageConfig": self.data_storage_config,
                "ShadowModeConfig": self.shadow_mode_config,
                "KmsKey": self.kms_key,
            }
        )

    def set(self, status: str, reason: str | None = None) -> None:
        self.status = status
        self.status_reason = reason or self.status_reason
        self.last_modified_time = utcnow()
        if status in ("Completed", "Cancelled"):
            self.completion_time = self.last_modified_time


def _experiment(backend: SageMakerModelBackend, name: str) -> FakeInferenceExperiment:
    experiment = _collection(backend, "inference_experiments").get(name)
    if experiment is None:
        raise ResourceNotFound(f"Inference experiment {name} does not exist.")
    return experiment


def create_inference_experiment(backend: SageMakerModelBackend, params: Params) -> dict:
    experiments = _collection(backend, "inference_experiments")
    if params["Name"] in experiments:
        raise ResourceInUseException(f"Inference experiment {params['Name']} already exists.")
    if params["EndpointName"] not in backend.endpoints:
        raise ValidationError(f"Could not find endpoint '{params['EndpointName']}'.")
    for model in params["ModelVariants"]:
        if model["ModelName"] not in backend._models:
            raise ValidationError(f"Could not find model '{model['ModelName']}'.")
    experiment = FakeInferenceExperiment(backend, params)
    experiments[experiment.name] = experiment
    _begin(experiment, lambda: experiment.set("Created"))
    return {"InferenceExperimentArn": experiment.arn}


def describe_inference_experiment(backend: SageMakerModelBackend, params: Params) -> dict:
    experiment = _experiment(backend, params["Name"])
    start = (experiment.schedule or {}).get("StartTime")
    # Seen Created on an earlier Describe and the schedule's start time has come: it starts.
    if experiment.status == "Created" and start and _utc(start) <= datetime.now(UTC):
        _start(backend, experiment)
    _advance(experiment)
    return experiment.describe(backend)


def list_inference_experiments(backend: SageMakerModelBackend, params: Params) -> dict:
    experiments = list(_collection(backend, "inference_experiments").values())
    if contains := params.get("NameContains"):
        experiments = [e for e in experiments if contains in e.name]
    if kind := params.get("Type"):
        experiments = [e for e in experiments if e.type == kind]
    if status := params.get("StatusEquals"):
        experiments = [e for e in experiments if e.status == status]
    key = {"Name": "name", "Status": "status"}.get(params.get("SortBy", ""), "creation_time")
    experiments.sort(
        key=lambda e: getattr(e, key), reverse=params.get("SortOrder", "Descending") == "Descending"
    )
    return {"InferenceExperiments": [e.summary() for e in experiments]}


def start_inference_experiment(backend: SageMakerModelBackend, params: Params) -> dict:
    experiment = _experiment(backend, params["Name"])
    if experiment.status != "Created":
        raise ConflictException(
            f"Inference experiment {experiment.name} is "
            f"{experiment.status}; only a Created one can be started."
        )
    _start(backend, experiment)
    return {"InferenceExperimentArn": experiment.arn}


def _start(backend: SageMakerModelBackend, experiment: FakeInferenceExperiment) -> None:
    experiment.set("Starting")

    def running() -> None:
        experiment.set("Running")
        experiment.variant_status = "InService"
        endpoint = backend.endpoints.get(experiment.endpoint_name)
        if endpoint is not None:  # the shadow variants now receive a copy of the traffic
            _put(
                endpoint,
                shadow_production_variants=[
                    {"VariantName": v["ShadowModelVariantName"]}
                    for v in experiment.shadow_mode_config.get("ShadowModelVariants", [])
                ],
            )

    _begin(experiment, running)


def stop_inference_experiment(backend: SageMakerModelBackend, params: Params) -> dict:
    experiment = _experiment(backend, params["Name"])
    if experiment.status not in ("Running", "Starting", "Created"):
        raise ConflictException(
            f"Inference experiment {experiment.name} is {experiment.status}; it cannot be stopped."
        )
    experiment.set("Stopping", params.get("Reason"))
    actions: dict[str, str] = params["ModelVariantActions"]
    desired = params.get("DesiredState", "Completed")

    def stopped() -> None:
        _apply_variant_actions(backend, experiment, actions, params.get("DesiredModelVariants"))
        experiment.variant_status = "Deleted" if "Remove" in actions.values() else "InService"
        experiment.set(desired)

    _begin(experiment, stopped)
    return {"InferenceExperimentArn": experiment.arn}


def _apply_variant_actions(
    backend: SageMakerModelBackend,
    experiment: FakeInferenceExperiment,
    actions: dict[str, str],
    desired: list[dict[str, Any]] | None,
) -> None:
    """Promote: like AWS, a new endpoint config serves the shadow variant's model as the
    production variant and the endpoint moves to it. Remove / Retain keep production as it
    is. Either way the endpoint stops shadowing."""
    endpoint = backend.endpoints.get(experiment.endpoint_name)
    if endpoint is None:
        return
    shadows = {
        v["ShadowModelVariantName"]
        for v in experiment.shadow_mode_config.get("ShadowModelVariants", [])
    }
    promoted = [name for name, action in actions.items() if action == "Promote" and name in shadows]
    if promoted:
        variants = {m["VariantName"]: m for m in (desired or experiment.models)}
        variant = variants.get(promoted[0]) or {}
        infrastructure = (variant.get("InfrastructureConfig") or {}).get(
            "RealTimeInferenceConfig"
        ) or {}
        config_name = f"{endpoint.endpoint_name}-{experiment.name}-promoted"[:63]
        backend.create_endpoint_config(
            endpoint_config_name=config_name,
            production_variants=[
                {
                    "VariantName": promoted[0],
                    "ModelName": variant["ModelName"],
                    "InstanceType": infrastructure.get("InstanceType", "ml.m5.large"),
                    "InitialInstanceCount": infrastructure.get("InstanceCount", 1),
                    "InitialVariantWeight": 1.0,
                }
            ],
            data_capture_config={},
            async_inference_config={},
            tags=[],
            kms_key_id="",
        )
        _apply_config(backend, endpoint, config_name, retain=False)
    _put(endpoint, shadow_production_variants=None, last_modified_time=utcnow())


def update_inference_experiment(backend: SageMakerModelBackend, params: Params) -> dict:
    experiment = _experiment(backend, params["Name"])
    if experiment.status not in ("Created", "Running"):
        raise ConflictException(
            f"Inference experiment {experiment.name} is {experiment.status}; it cannot be updated."
        )
    previous = experiment.status
    updates = {
        "Schedule": "schedule",
        "Description": "description",
        "ModelVariants": "models",
        "DataStorageConfig": "data_storage_config",
        "ShadowModeConfig": "shadow_mode_config",
    }
    for key, attribute in updates.items():
        if key in params:
            setattr(experiment, attribute, params[key])
    experiment.set("Updating")
    _begin(experiment, lambda: experiment.set(previous))
    return {"InferenceExperimentArn": experiment.arn}


# -- model registry ----------------------------------------------------------------------------


def _group(backend: SageMakerModelBackend, name: str) -> Any:
    group = backend.model_package_groups.get(name)
    if group is None:
        raise ValidationError(f"ModelPackageGroup {name} does not exist.")
    return group


def put_model_package_group_policy(backend: SageMakerModelBackend, params: Params) -> dict:
    group = _group(backend, params["ModelPackageGroupName"])
    group.mlopscp_policy = params["ResourcePolicy"]
    return {"ModelPackageGroupArn": group.arn}


def get_model_package_group_policy(backend: SageMakerModelBackend, params: Params) -> dict:
    group = _group(backend, params["ModelPackageGroupName"])
    policy = getattr(group, "mlopscp_policy", None)
    if policy is None:
        raise ValidationError(f"Cannot find resource policy for {group.arn}.")
    return {"ResourcePolicy": policy}


def delete_model_package_group_policy(backend: SageMakerModelBackend, params: Params) -> dict:
    group = _group(backend, params["ModelPackageGroupName"])
    group.mlopscp_policy = None
    return {}


def get_resource_from_arn(original: Callable[..., Any]) -> Callable[..., Any]:
    def get(backend: SageMakerModelBackend, arn: str) -> Any:
        if ":model-package/" in arn:
            package = backend.model_packages.get(arn)
            if package is None:
                raise ValidationError(f"Could not find model package {arn}")
            if getattr(package, "tags", None) is None:
                package.tags = []
            return package
        return original(backend, arn)

    return get


class AccessDeniedException(ServiceException):
    code = "AccessDeniedException"


def create_model(original: Callable[..., Any]) -> Callable[..., Any]:
    """Cross-account models from the registry need the package group's resource policy."""

    def create(backend: SageMakerModelBackend, **kwargs: Any) -> Any:
        containers = [*(kwargs.get("containers") or []), kwargs.get("primary_container") or {}]
        for container in containers:
            arn = str((container or {}).get("ModelPackageName") or "")
            if arn.startswith("arn:") and arn.split(":")[4] != backend.account_id:
                _check_shared_package(backend.account_id, arn)
        return original(backend, **kwargs)

    return create


def _check_shared_package(caller: str, arn: str) -> None:
    owner = _backend(arn.split(":")[4], arn.split(":")[3])
    package = owner.model_packages.get(arn)
    if package is None:
        raise ValidationError(f"Model package {arn} does not exist.")
    group = owner.model_package_groups.get(package.model_package_group_name or "")
    policy = json.loads(getattr(group, "mlopscp_policy", None) or "{}")
    if not _policy_allows(policy, caller, "sagemaker:DescribeModelPackage", arn):
        raise AccessDeniedException(
            f"User: arn:aws:iam::{caller}:root is not authorized to perform: "
            f"sagemaker:DescribeModelPackage on resource: {arn} because no resource-based "
            "policy allows the sagemaker:DescribeModelPackage action"
        )


def _policy_allows(policy: dict[str, Any], account: str, action: str, resource: str) -> bool:
    statements = policy.get("Statement") or []
    for statement in statements if isinstance(statements, list) else [statements]:
        principals = (statement.get("Principal") or {}).get("AWS", [])
        principals = [principals] if isinstance(principals, str) else principals
        actions = statement.get("Action") or []
        actions = [actions] if isinstance(actions, str) else actions
        resources = statement.get("Resource") or []
        resources = [resources] if isinstance(resources, str) else resources
        if (
            statement.get("Effect") == "Allow"
            and any(p in ("*", account, f"arn:aws:iam::{account}:root") for p in principals)
            and any(fnmatch.fnmatchcase(action, a) for a in actions)
            and any(fnmatch.fnmatchcase(resource, r) for r in resources)
        ):
            return True
    return False


def create_model_package(original: Callable[..., Any]) -> Callable[..., Any]:
    def create(backend: SageMakerModelBackend, *args: Any, **kwargs: Any) -> Any:
        arn = original(backend, *args, **kwargs)  # moto returns the ARN
        backend.model_packages[arn].tags = list(kwargs.get("tags") or [])
        return arn

    return create


# -- training jobs -----------------------------------------------------------------------------


# CreateTrainingJob fields moto drops (or, for AlgorithmSpecification, answers with its own
# MetricDefinitions); kept from the request and returned by DescribeTrainingJob as AWS does.
_TRAINING_FIELDS_KEPT = (
    "AlgorithmSpecification",
    "Environment",
    "RetryStrategy",
    "ProfilerConfig",
    "ProfilerRuleConfigurations",
    "RemoteDebugConfig",
    "InfraCheckConfig",
)


def create_training_job(original: Callable[..., Any]) -> Callable[..., Any]:
    def create(backend: SageMakerModelBackend, *args: Any, **kwargs: Any) -> FakeTrainingJob:
        existing = backend.training_jobs.get(kwargs.get("training_job_name", ""))
        if existing is not None:  # moto would silently replace it
            raise ResourceInUseException(
                "Training job names must be unique within an AWS account and region, and a "
                f"training job with this name already exists ({existing.arn})"
            )
        job = original(backend, *args, **kwargs)
        _set_training(job, "InProgress", "Starting", None)
        job.training_end_time = None
        _begin(job, lambda: _set_training(job, "Completed", "Completed", None))
        return job

    return create


def create_training_job_request(original: Callable[..., Any]) -> Callable[..., Any]:
    def create(response: SageMakerResponse) -> ActionResult:
        # Copied before moto runs: it writes its own MetricDefinitions into the request's dict.
        kept = {
            key: copy.deepcopy(response._get_param(key))
            for key in _TRAINING_FIELDS_KEPT
            if response._get_param(key) is not None
        }
        result = original(response)
        job = response.sagemaker_backend.training_jobs[response._get_param("TrainingJobName")]
        _put(job, mlopscp_request=kept)
        return result

    return create


def describe_training_job(original: Callable[..., Any]) -> Callable[..., Any]:
    def describe(backend: SageMakerModelBackend, name: str) -> dict[str, Any]:
        job = backend.training_jobs.get(name)
        if job is not None:
            _advance(job)
        described = original(backend, name)
        if job is not None:
            described.update(copy.deepcopy(vars(job).get("mlopscp_request") or {}))
        return described

    return describe


def stop_training_job(backend: SageMakerModelBackend, params: Params) -> dict:
    name = params["TrainingJobName"]
    job = backend.training_jobs.get(name)
    if job is None:
        raise ValidationError(f"Could not find training job '{name}'.")
    if job.training_job_status != "InProgress":
        raise ValidationError(
            f"The request was rejected because the training job is in status "
            f"{job.training_job_status}."
        )
    _set_training(job, "Stopping", "Stopping", None)
    _begin(job, lambda: _set_training(job, "Stopped", "Stopped", None))
    return {}


def _set_training(
    job: FakeTrainingJob, status: str, secondary: str | None, reason: str | None
) -> None:
    now = utcnow()
    job.training_job_status = status
    if secondary:
        job.secondary_status_transitions.append({"Status": secondary, "StartTime": now})
        job.secondary_status = secondary
    _put(job, failure_reason=reason, last_modified_time=now)
    if status in ("Completed", "Failed", "Stopped"):
        job.training_end_time = now


def set_training_job_status(
    name: str,
    status: str,
    secondary_status: str | None = None,
    failure_reason: str | None = None,
    account_id: str = DEFAULT_ACCOUNT,
    region: str = DEFAULT_REGION,
) -> None:
    """Hook: the training job `name` is now `status` (InProgress | Completed | Failed | Stopping
    | Stopped), with `secondary_status` (e.g. Interrupted, MaxWaitTimeExceeded) and reason."""
    job = _backend(account_id, region).training_jobs.get(name)
    if job is None:
        raise KeyError(f"no training job {name} in {account_id}/{region}")
    _cancel(job)
    _set_training(job, status, secondary_status or status, failure_reason)


# -- install -----------------------------------------------------------------------------------

# Operations moto does not have: backend function taking the request, returning the response.
_NEW_OPERATIONS: dict[str, Callable[[SageMakerModelBackend, Params], dict[str, Any]]] = {
    "create_monitoring_schedule": create_monitoring_schedule,
    "describe_monitoring_schedule": describe_monitoring_schedule,
    "list_monitoring_schedules": list_monitoring_schedules,
    "delete_monitoring_schedule": delete_monitoring_schedule,
    "stop_monitoring_schedule": stop_monitoring_schedule,
    "start_monitoring_schedule": start_monitoring_schedule,
    "list_monitoring_executions": list_monitoring_executions,
    "retry_pipeline_execution": retry_pipeline_execution,
    "stop_pipeline_execution": stop_pipeline_execution,
    "list_pipeline_execution_steps": list_pipeline_execution_steps,
    "update_endpoint": update_endpoint,
    "create_inference_experiment": create_inference_experiment,
    "describe_inference_experiment": describe_inference_experiment,
    "list_inference_experiments": list_inference_experiments,
    "start_inference_experiment": start_inference_experiment,
    "stop_inference_experiment": stop_inference_experiment,
    "update_inference_experiment": update_inference_experiment,
    "put_model_package_group_policy": put_model_package_group_policy,
    "get_model_package_group_policy": get_model_package_group_policy,
    "delete_model_package_group_policy": delete_model_package_group_policy,
    "stop_training_job": stop_training_job,
}
# moto backend methods wrapped to change their behaviour.
_WRAPPED_BACKEND = {
    "start_pipeline_execution": start_pipeline_execution,
    "describe_pipeline_execution": describe_pipeline_execution,
    "list_pipeline_executions": list_pipeline_executions,
    "create_endpoint": create_endpoint,
    "describe_endpoint": describe_endpoint,
    "update_endpoint_weights_and_capacities": update_endpoint_weights_and_capacities,
    "_get_resource_from_arn": get_resource_from_arn,
    "create_model_package": create_model_package,
    "create_model": create_model,
    "create_training_job": create_training_job,
    "describe_training_job": describe_training_job,
}
_patches = Patches()
_installed = False


def _respond(operation: Callable[[SageMakerModelBackend, Params], dict[str, Any]]) -> Any:
    def respond(response: SageMakerResponse) -> ActionResult:
        return ActionResult(operation(response.sagemaker_backend, dict(response.params)))

    return respond


def install() -> None:
    """Apply every patch (idempotent)."""
    global _installed
    if _installed:
        return
    for name, operation in _NEW_OPERATIONS.items():
        _patches.set(SageMakerResponse, name, _respond(operation))
    for name, wrap in _WRAPPED_BACKEND.items():
        original = _patches.set(SageMakerModelBackend, name, None)
        _patches.set(SageMakerModelBackend, name, wrap(original))
    original = _patches.set(SageMakerResponse, "create_endpoint_config", None)
    _patches.set(SageMakerResponse, "create_endpoint_config", create_endpoint_config(original))
    original = _patches.set(SageMakerResponse, "create_training_job", None)
    _patches.set(SageMakerResponse, "create_training_job", create_training_job_request(original))
    _installed = True


def uninstall() -> None:
    global _installed
    _patches.undo()
    _failures.clear()
    _create_failures.clear()
    _installed = False


__all__ = [
    "LIFECYCLE",
    "FakeInferenceExperiment",
    "FakeMonitoringSchedule",
    "FakeProcessingJob",
    "configure",
    "fail_next_create",
    "fail_next_update",
    "install",
    "record_monitoring_execution",
    "set_pipeline_execution_status",
    "set_pipeline_execution_steps",
    "set_training_job_status",
    "uninstall",
]
