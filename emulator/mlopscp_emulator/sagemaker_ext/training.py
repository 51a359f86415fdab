"""Training jobs: a lifecycle, what moto drops from the request, unique names, StopTrainingJob."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from moto.core.responses import ActionResult
from moto.core.utils import utcnow
from moto.sagemaker.exceptions import ResourceInUseException, ValidationError
from moto.sagemaker.models import FakeTrainingJob, SageMakerModelBackend
from moto.sagemaker.responses import SageMakerResponse

from mlopscp_emulator.credentials import DEFAULT_ACCOUNT
from mlopscp_emulator.sagemaker_ext.lifecycle import advance, begin, cancel
from mlopscp_emulator.sagemaker_ext.state import DEFAULT_REGION, Params, backend_for, put

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
        begin(job, lambda: _set_training(job, "Completed", "Completed", None))
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
        put(job, mlopscp_request=kept)
        return result

    return create


def describe_training_job(original: Callable[..., Any]) -> Callable[..., Any]:
    def describe(backend: SageMakerModelBackend, name: str) -> dict[str, Any]:
        job = backend.training_jobs.get(name)
        if job is not None:
            advance(job)
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
    begin(job, lambda: _set_training(job, "Stopped", "Stopped", None))
    return {}


def _set_training(
    job: FakeTrainingJob, status: str, secondary: str | None, reason: str | None
) -> None:
    now = utcnow()
    job.training_job_status = status
    if secondary:
        job.secondary_status_transitions.append({"Status": secondary, "StartTime": now})
        job.secondary_status = secondary
    put(job, failure_reason=reason, last_modified_time=now)
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
    job = backend_for(account_id, region).training_jobs.get(name)
    if job is None:
        raise KeyError(f"no training job {name} in {account_id}/{region}")
    cancel(job)
    _set_training(job, status, secondary_status or status, failure_reason)
