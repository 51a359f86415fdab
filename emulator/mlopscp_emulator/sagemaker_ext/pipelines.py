"""Pipeline executions: a real status and FailureReason, idempotent starts and retries, stop,
and the steps of an execution."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from moto.core.utils import utcnow
from moto.sagemaker.exceptions import ConflictException
from moto.sagemaker.models import FakePipelineExecution, SageMakerModelBackend
from moto.sagemaker.utils import get_pipeline_execution_from_arn, get_pipeline_from_name

from mlopscp_emulator.sagemaker_ext.lifecycle import advance, begin, cancel
from mlopscp_emulator.sagemaker_ext.state import Params, backend_for, put


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
        advance(execution)
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
        begin(execution, lambda: _set_execution(execution, "Stopped", None))
    return {"PipelineExecutionArn": arn}


def list_pipeline_execution_steps(backend: SageMakerModelBackend, params: Params) -> dict:
    execution = _execution(backend, params["PipelineExecutionArn"])
    steps = list(execution.__dict__.get("mlopscp_steps", []))
    if params.get("SortOrder") == "Ascending":
        steps.reverse()
    return {"PipelineExecutionSteps": steps}


def _set_execution(execution: FakePipelineExecution, status: str, reason: str | None) -> None:
    put(
        execution,
        pipeline_execution_status=status,
        pipeline_execution_failure_reason=reason,
        last_modified_time=utcnow(),
    )


def set_pipeline_execution_status(arn: str, status: str, failure_reason: str | None = None) -> None:
    """Hook: the pipeline execution `arn` is now `status` (Succeeded | Failed | Stopped ...)."""
    account_id, region = arn.split(":")[4], arn.split(":")[3]
    execution = _execution(backend_for(account_id, region), arn)
    cancel(execution)
    _set_execution(execution, status, failure_reason)


def set_pipeline_execution_steps(arn: str, steps: list[dict[str, Any]]) -> None:
    """Hook: ListPipelineExecutionSteps returns `steps` (AWS's PipelineExecutionStep shape, e.g.
    ``{"StepName": "Train", "StepStatus": "Failed", "FailureReason": ..., "Metadata":
    {"TrainingJob": {"Arn": ...}}}``), newest first as given."""
    account_id, region = arn.split(":")[4], arn.split(":")[3]
    put(_execution(backend_for(account_id, region), arn), mlopscp_steps=copy.deepcopy(steps))
