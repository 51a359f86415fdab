"""Inference Recommender jobs (moto has none): CreateInferenceRecommendationsJob,
DescribeInferenceRecommendationsJob, ListInferenceRecommendationsJobs and
StopInferenceRecommendationsJob, with AWS's shapes and statuses.

A job goes PENDING -> IN_PROGRESS -> COMPLETED on Describe calls (:mod:`.lifecycle`); a stopped
one STOPPING -> STOPPED. Nothing is load-tested here: what a job "measures" is what the
:func:`set_recommendation_results` hook said for the model (package ARN or model name): per
instance type, ``MaxInvocations`` (requests per minute one instance sustains), ``ModelLatency``
(ms at that load) and optionally the recommended ``InitialInstanceCount``. A job about a model
without results ends FAILED, with a ``FailureReason`` that says so, as a job whose load test
could not run does on AWS. Costs come from the results (``CostPerHour``); ``CostPerInference``
is derived from them as AWS does (hourly cost / invocations per hour).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from moto.core.utils import utcnow
from moto.sagemaker.exceptions import ResourceInUseException, ValidationError
from moto.sagemaker.models import SageMakerModelBackend
from moto.sagemaker.utils import arn_formatter

from mlopscp_emulator.sagemaker_ext.lifecycle import advance, begin
from mlopscp_emulator.sagemaker_ext.state import Params, collection, member, without_none

# Results per model (package ARN or model name) -> per instance type.
_RESULTS: dict[str, dict[str, dict[str, Any]]] = {}


def set_recommendation_results(model: str, results: dict[str, dict[str, Any]]) -> None:
    """What a recommendation job about ``model`` (a model package version ARN or a model name)
    measures: ``{instance_type: {"MaxInvocations": int, "ModelLatency": int,
    "CostPerHour": float, "InitialInstanceCount": int}}`` (the last two optional)."""
    _RESULTS[model] = {kind: dict(values) for kind, values in results.items()}


def forget_results() -> None:
    _RESULTS.clear()


class FakeRecommendationJob:
    def __init__(self, backend: SageMakerModelBackend, params: Params) -> None:
        self.name: str = params["JobName"]
        self.arn = arn_formatter(
            "inference-recommendations-job", self.name, backend.account_id, backend.region_name
        )
        self.type: str = params["JobType"]
        self.role_arn: str = params["RoleArn"]
        self.input_config: dict[str, Any] = params["InputConfig"]
        self.description: str = params.get("JobDescription") or ""
        self.stopping = params.get("StoppingConditions")
        self.tags = params.get("Tags") or []
        self.status = "PENDING"
        self.failure_reason: str | None = None
        self.recommendations: list[dict[str, Any]] = []
        self.creation_time = self.last_modified_time = utcnow()
        self.completion_time: datetime | None = None

    @property
    def model(self) -> str:
        return str(
            self.input_config.get("ModelPackageVersionArn")
            or self.input_config.get("ModelName")
            or ""
        )

    def set(self, status: str, reason: str | None = None) -> None:
        self.status, self.last_modified_time = status, utcnow()
        self.failure_reason = reason or self.failure_reason
        if status in ("COMPLETED", "FAILED", "STOPPED"):
            self.completion_time = self.last_modified_time

    def finish(self) -> None:
        measured = _RESULTS.get(self.model)
        if not measured:
            self.set(
                "FAILED",
                f"No load test results for {self.model} (emulator: nothing was "
                "set with sagemaker_ext.set_recommendation_results).",
            )
            return
        wanted = [
            c["InstanceType"]
            for c in self.input_config.get("EndpointConfigurations", [])
            if c.get("InstanceType")
        ]
        kinds = [k for k in (wanted or sorted(measured)) if k in measured]
        if not kinds:
            self.set("FAILED", f"None of the instance types {wanted} could be load tested.")
            return
        self.recommendations = [self._recommendation(k, measured[k]) for k in kinds]
        self.set("COMPLETED")

    def _recommendation(self, kind: str, measured: dict[str, Any]) -> dict[str, Any]:
        invocations = int(measured["MaxInvocations"])
        per_hour = float(measured.get("CostPerHour", 0.0))
        short = uuid.uuid4().hex[:8]
        return {
            "RecommendationId": f"{self.name}/{short}",
            "Metrics": without_none(
                {
                    "CostPerHour": per_hour,
                    "CostPerInference": per_hour / (invocations * 60) if invocations else None,
                    "MaxInvocations": invocations,
                    "ModelLatency": int(measured.get("ModelLatency", 0)),
                    "CpuUtilization": float(measured.get("CpuUtilization", 70.0)),
                    "MemoryUtilization": float(measured.get("MemoryUtilization", 40.0)),
                    "ModelSetupTime": int(measured.get("ModelSetupTime", 120)),
                }
            ),
            "EndpointConfiguration": {
                "EndpointName": f"sm-epc-{short}",
                "VariantName": f"sm-vc-{short}",
                "InstanceType": kind,
                "InitialInstanceCount": int(measured.get("InitialInstanceCount", 1)),
            },
            "ModelConfiguration": {},
            "InvocationStartTime": self.creation_time,
            "InvocationEndTime": utcnow(),
        }

    def summary(self) -> dict[str, Any]:
        return without_none(
            {
                "JobName": self.name,
                "JobDescription": self.description,
                "JobType": self.type,
                "JobArn": self.arn,
                "Status": self.status,
                "CreationTime": self.creation_time,
                "CompletionTime": self.completion_time,
                "RoleArn": self.role_arn,
                "LastModifiedTime": self.last_modified_time,
                "FailureReason": self.failure_reason,
                "ModelName": self.input_config.get("ModelName"),
                "ModelPackageVersionArn": self.input_config.get("ModelPackageVersionArn"),
            }
        )

    def describe(self) -> dict[str, Any]:
        described = {
            k: v
            for k, v in self.summary().items()
            if k not in ("ModelName", "ModelPackageVersionArn")
        }
        return without_none(
            described
            | {
                "InputConfig": self.input_config,
                "StoppingConditions": self.stopping,
                "InferenceRecommendations": self.recommendations or None,
            }
        )


def _job(backend: SageMakerModelBackend, name: str) -> FakeRecommendationJob:
    found: FakeRecommendationJob = member(
        backend,
        "recommendation_jobs",
        name,
        f"Inference recommendations job {name} does not exist.",
    )
    return found


def create_inference_recommendations_job(backend: SageMakerModelBackend, params: Params) -> dict:
    jobs = collection(backend, "recommendation_jobs")
    if params["JobName"] in jobs:
        raise ResourceInUseException(f"Job {params['JobName']} already exists.")
    job = FakeRecommendationJob(backend, params)
    jobs[job.name] = job
    begin(job, lambda: job.set("IN_PROGRESS"), job.finish)
    return {"JobArn": job.arn}


def describe_inference_recommendations_job(backend: SageMakerModelBackend, params: Params) -> dict:
    job = _job(backend, params["JobName"])
    advance(job)
    return job.describe()


def list_inference_recommendations_jobs(backend: SageMakerModelBackend, params: Params) -> dict:
    jobs = list(collection(backend, "recommendation_jobs").values())
    for job in jobs:
        advance(job)  # a listed job shows the status a Describe would
    filters = {
        "NameContains": lambda j, v: v in j.name,
        "StatusEquals": lambda j, v: j.status == v,
        "ModelNameEquals": lambda j, v: j.input_config.get("ModelName") == v,
        "ModelPackageVersionArnEquals": lambda j, v: (
            j.input_config.get("ModelPackageVersionArn") == v
        ),
    }
    for key, keep in filters.items():
        if (value := params.get(key)) is not None:
            jobs = [j for j in jobs if keep(j, value)]
    key = {"Name": "name", "Status": "status"}.get(params.get("SortBy", ""), "creation_time")
    jobs.sort(key=lambda j: getattr(j, key), reverse=params.get("SortOrder") != "Ascending")
    start = int(params.get("NextToken") or 0)
    size = int(params.get("MaxResults") or 100)
    page = jobs[start : start + size]
    token = str(start + size) if start + size < len(jobs) else None
    return without_none(
        {"InferenceRecommendationsJobs": [j.summary() for j in page], "NextToken": token}
    )


def stop_inference_recommendations_job(backend: SageMakerModelBackend, params: Params) -> dict:
    job = _job(backend, params["JobName"])
    if job.status not in ("PENDING", "IN_PROGRESS"):
        # ValidationException: the operation's model names no ConflictException
        raise ValidationError(f"Job {job.name} is {job.status}; it cannot be stopped.")
    job.set("STOPPING")
    begin(job, lambda: job.set("STOPPED"))
    return {}
