"""Shadow tests (inference experiments, which moto lacks): their lifecycle and what stopping
one does to the endpoint."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from moto.core.utils import utcnow
from moto.sagemaker.exceptions import (
    ConflictException,
    ResourceInUseException,
    ValidationError,
)
from moto.sagemaker.models import SageMakerModelBackend
from moto.sagemaker.utils import arn_formatter

from mlopscp_emulator.sagemaker_ext.endpoints import apply_config
from mlopscp_emulator.sagemaker_ext.lifecycle import advance, begin
from mlopscp_emulator.sagemaker_ext.state import (
    Params,
    collection,
    member,
    put,
    utc,
    without_none,
)


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
        return without_none(
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
            metadata |= without_none(
                {
                    "EndpointConfigName": endpoint.endpoint_config_name,
                    "EndpointStatus": endpoint.endpoint_status,
                    "FailureReason": endpoint.failure_reason,
                }
            )
        variants = [{**model, "Status": self.variant_status} for model in self.models]
        return without_none(
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
    found: FakeInferenceExperiment = member(
        backend, "inference_experiments", name, f"Inference experiment {name} does not exist."
    )
    return found


def create_inference_experiment(backend: SageMakerModelBackend, params: Params) -> dict:
    experiments = collection(backend, "inference_experiments")
    if params["Name"] in experiments:
        raise ResourceInUseException(f"Inference experiment {params['Name']} already exists.")
    if params["EndpointName"] not in backend.endpoints:
        raise ValidationError(f"Could not find endpoint '{params['EndpointName']}'.")
    for model in params["ModelVariants"]:
        if model["ModelName"] not in backend._models:
            raise ValidationError(f"Could not find model '{model['ModelName']}'.")
    experiment = FakeInferenceExperiment(backend, params)
    experiments[experiment.name] = experiment
    begin(experiment, lambda: experiment.set("Created"))
    return {"InferenceExperimentArn": experiment.arn}


def describe_inference_experiment(backend: SageMakerModelBackend, params: Params) -> dict:
    experiment = _experiment(backend, params["Name"])
    start = (experiment.schedule or {}).get("StartTime")
    # Seen Created on an earlier Describe and the schedule's start time has come: it starts.
    if experiment.status == "Created" and start and utc(start) <= datetime.now(UTC):
        _start(backend, experiment)
    advance(experiment)
    return experiment.describe(backend)


def list_inference_experiments(backend: SageMakerModelBackend, params: Params) -> dict:
    experiments = list(collection(backend, "inference_experiments").values())
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
            put(
                endpoint,
                shadow_production_variants=[
                    {"VariantName": v["ShadowModelVariantName"]}
                    for v in experiment.shadow_mode_config.get("ShadowModelVariants", [])
                ],
            )

    begin(experiment, running)


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

    begin(experiment, stopped)
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
        apply_config(backend, endpoint, config_name, retain=False)
    put(endpoint, shadow_production_variants=None, last_modified_time=utcnow())


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
    begin(experiment, lambda: experiment.set(previous))
    return {"InferenceExperimentArn": experiment.arn}
