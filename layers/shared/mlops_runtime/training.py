"""SageMaker calls of Spot recovery and guardrails: training jobs, pipeline executions, endpoints.

Reads return plain dicts (times as ISO strings) for the pure rules in mlops_core.spot and
mlops_core.guardrails; writes say whether they changed anything, so a handler applying the same
decision twice can tell "done now" from "already done".
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from botocore.exceptions import ClientError
from mlops_core import guardrails, spot
from mlops_core.errors import EventRejectedError
from mlops_core.guardrails import Finding, GuardrailPolicy
from mlops_core.ledger import UNKNOWN_MODEL
from mlops_core.spot import SpotPolicy
from pydantic import Field, model_validator

from mlops_runtime.aws import client, error_code, missing, paginate, translated_errors
from mlops_runtime.settings import AccountSettings

# Statuses after which RetryPipelineExecution is refused or pointless.
PIPELINE_RUNNING = frozenset({"Executing", "Stopping"})


def job_name(arn_or_name: str) -> str:
    return arn_or_name.rsplit("/", 1)[-1]


def _plain(response: dict[str, Any]) -> dict[str, Any]:
    response = dict(response)
    response.pop("ResponseMetadata", None)
    plain: dict[str, Any] = json.loads(json.dumps(response, default=_iso))
    return plain


def _iso(value: Any) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def describe_job(name: str) -> dict[str, Any]:
    """DescribeTrainingJob plus the job's tags (ListTags: Describe does not return them).

    An event named the job: if this account has none of that name, no retry will find one, so
    that is an :class:`EventRejectedError` (the dead-letter queue, once), not a failure."""
    try:
        with translated_errors():
            job = _plain(client("sagemaker").describe_training_job(TrainingJobName=name))
            job["Tags"] = list(
                paginate("sagemaker", "list_tags", "Tags", ResourceArn=job["TrainingJobArn"])
            )
    except ClientError as error:
        if missing(error):
            raise EventRejectedError(
                f"training job {name} does not exist in this account"
            ) from error
        raise
    return job


def as_described(event_job: dict[str, Any], name: str) -> dict[str, Any]:
    """The job as this account describes it (what it is: role, image, data, tags), with the
    event's news about how it ended (status, reasons, transitions): what acting relies on is
    never taken from the event."""
    described = describe_job(name)
    news = {k: event_job[k] for k in EVENT_NEWS if k in event_job}
    return described | news


# What a Training Job State Change event reports about the moment it was sent.
EVENT_NEWS = ("TrainingJobStatus", "SecondaryStatus", "FailureReason", "SecondaryStatusTransitions")


def create_copy(request: dict[str, Any]) -> bool:
    """Start the copy; False when a job of that name exists already (this decision was applied
    before: copy names are deterministic, and SageMaker refuses a name twice)."""
    try:
        with translated_errors():
            client("sagemaker").create_training_job(**request)
    except ClientError as error:
        if error_code(error) == "ResourceInUse":
            return False
        raise
    return True


def pipeline_execution_status(arn: str) -> str:
    with translated_errors():
        described = client("sagemaker").describe_pipeline_execution(PipelineExecutionArn=arn)
    return str(described["PipelineExecutionStatus"])


def retry_pipeline(arn: str, attempt: int) -> None:
    """RetryPipelineExecution, idempotent per (execution, attempt) through its request token."""
    token = hashlib.sha256(f"spot-retry|{arn}|{attempt}".encode()).hexdigest()[:64]
    with translated_errors():
        client("sagemaker").retry_pipeline_execution(
            PipelineExecutionArn=arn, ClientRequestToken=token
        )


def failed_for_capacity(execution_arn: str) -> bool:
    """Did a training step of the pipeline execution end for lack of Spot capacity or wait
    time (spot recovery retries those, and pages itself if it gives up)?"""
    sagemaker = client("sagemaker")
    with translated_errors():
        steps = sagemaker.list_pipeline_execution_steps(PipelineExecutionArn=execution_arn)
        for step in steps.get("PipelineExecutionSteps", []):
            job_arn = step.get("Metadata", {}).get("TrainingJob", {}).get("Arn")
            if step.get("StepStatus") != "Failed" or not job_arn:
                continue
            job = sagemaker.describe_training_job(TrainingJobName=job_name(job_arn))
            ending = spot.classify(
                job["TrainingJobStatus"], job.get("SecondaryStatus"), job.get("FailureReason")
            )
            if ending in (spot.Ending.OUT_OF_WAIT_TIME, spot.Ending.NO_CAPACITY):
                return True
    return False


def stop_job(name: str) -> bool:
    """StopTrainingJob; False when the job is no longer running (nothing to stop)."""
    try:
        with translated_errors():
            client("sagemaker").stop_training_job(TrainingJobName=name)
    except ClientError as error:
        if error_code(error) == "ValidationException":
            return False
        raise
    return True


def endpoint_facts(
    endpoint_name: str, config_name: str | None, sagemaker: Any = None
) -> dict[str, Any]:
    """What the endpoint guardrails look at: data capture, monitoring schedules, model origins;
    read with ``sagemaker`` (a client in the endpoint's account; default: this account's)."""
    sagemaker = sagemaker or client("sagemaker")
    try:
        with translated_errors():
            if not config_name:
                config_name = sagemaker.describe_endpoint(EndpointName=endpoint_name)[
                    "EndpointConfigName"
                ]
            config = sagemaker.describe_endpoint_config(EndpointConfigName=config_name)
            pages = sagemaker.get_paginator("list_monitoring_schedules").paginate(
                EndpointName=endpoint_name
            )
            schedules = [
                s["MonitoringScheduleName"]
                for page in pages
                for s in page.get("MonitoringScheduleSummaries", [])
            ]
            models = [
                _model_origin(sagemaker, variant["ModelName"])
                for variant in config.get("ProductionVariants", [])
                if variant.get("ModelName")
            ]
    except ClientError as error:
        if missing(error):  # an event named it; no retry will find it
            why = f"endpoint {endpoint_name} (or its configuration) does not exist in its account"
            raise EventRejectedError(why) from error
        raise
    return {
        "EndpointName": endpoint_name,
        "EndpointConfigName": config_name,
        "DataCaptureConfig": config.get("DataCaptureConfig"),
        "MonitoringSchedules": schedules,
        "Models": models,
    }


def _model_origin(sagemaker: Any, model_name: str) -> dict[str, Any]:
    model = sagemaker.describe_model(ModelName=model_name)
    containers = [model.get("PrimaryContainer") or {}, *(model.get("Containers") or [])]
    packages = [c["ModelPackageName"] for c in containers if c.get("ModelPackageName")]
    return {"ModelName": model_name, "ModelPackageName": packages[0] if packages else None}


def job_findings(
    job: dict[str, Any], model_of: Any, policies: TrainingPolicySettings
) -> tuple[dict[str, Any], str, list[Finding]]:
    """Guardrail findings about a training job as its event describes it, under its model's
    policy (``model_of(model_id)``: the configuration or None). If one would be enforced, the
    job is described and checked again: what is stopped, and why, is our own read."""
    model_id, found = _job_findings(job, model_of, policies)
    if any(f.enforced for f in found):
        job = describe_job(str(job["TrainingJobName"]))
        model_id, found = _job_findings(job, model_of, policies)
    return job, model_id, found


def _job_findings(
    job: dict[str, Any], model_of: Any, policies: TrainingPolicySettings
) -> tuple[str, list[Finding]]:
    model_id = spot.tags_of(job).get(spot.MODEL_TAG) or UNKNOWN_MODEL
    model = model_of(model_id) if model_id != UNKNOWN_MODEL else None
    ratio = policies.spot_policy_for(model).wait_time_ratio
    return model_id, guardrails.check_training_job(job, policies.guardrail_policy_for(model), ratio)


# Only the Spot recovery and guardrail functions need these settings: they live here, not in
# mlops_runtime.settings, so the other functions' cold starts skip the policy modules.
class TrainingPolicySettings(AccountSettings):
    """Stack-wide defaults of Spot recovery and guardrails; a model's configuration overrides
    them (its ``spot`` / ``guardrails`` sections). Both hold events to the trust boundary."""

    spot_max_attempts: int = Field(3, ge=1, le=10, description="Spot attempts per lineage")
    spot_fallback: str = Field("on_demand", description="on_demand | next_instance_type | give_up")
    spot_fallback_instance_types: str = Field("", description="comma-separated ml.* types")
    spot_without_checkpoint: str = Field("restart", description="restart | notify")
    spot_wait_time_ratio: float = Field(2.0, description="MaxWaitTime per MaxRuntime")
    guardrails_enforce: str = Field("", description="comma-separated training rules to enforce")

    @model_validator(mode="after")
    def _valid_policies(self) -> TrainingPolicySettings:
        self.spot_policy()  # a bad default fails the cold start, naming the field
        self.guardrail_policy()
        return self

    def spot_policy(self) -> SpotPolicy:
        return SpotPolicy(
            max_spot_attempts=self.spot_max_attempts,
            fallback=self.spot_fallback,
            fallback_instance_types=tuple(_items(self.spot_fallback_instance_types)),
            without_checkpoint=self.spot_without_checkpoint,
            wait_time_ratio=self.spot_wait_time_ratio,
        )

    def guardrail_policy(self) -> GuardrailPolicy:
        return GuardrailPolicy(enforce=frozenset(_items(self.guardrails_enforce)))

    def spot_policy_for(self, model: Any) -> SpotPolicy:
        """The model's own ``spot`` section, else the stack's default."""
        return model.spot if model is not None and model.spot else self.spot_policy()

    def guardrail_policy_for(self, model: Any) -> GuardrailPolicy:
        """The model's own ``guardrails`` section, else the stack's default."""
        return (
            model.guardrails if model is not None and model.guardrails else self.guardrail_policy()
        )


def _items(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]
