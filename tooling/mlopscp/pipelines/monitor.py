"""The monitor blueprint: a one-step SageMaker Pipeline that runs the Evidently monitor job.

Built with the SageMaker Python SDK (v2), like the retraining blueprint: only tooling imports
this module (``mlopscp monitor render`` and its render test, in ``.venv-sdk``). Rendering is
offline and deterministic for the same reasons (``retrain.pipeline_session``).

Why a pipeline and not a bare processing job: EventBridge Scheduler starts a pipeline with a
templated target (``SageMakerPipelineParameters``) and a role that may do nothing else, while a
processing job has no templated target; the pipeline also gives every run a record, retries on
capacity errors and the execution's start time, from which the job derives its window.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sagemaker.processing import ProcessingInput, Processor
from sagemaker.workflow.execution_variables import ExecutionVariables
from sagemaker.workflow.parameters import ParameterFloat, ParameterInteger, ParameterString
from sagemaker.workflow.pipeline import Pipeline
from sagemaker.workflow.steps import ProcessingStep

from mlopscp.pipelines.layout import (
    BASELINE_URI,
    CAPTURE_URI,
    CODE_PREFIX,
    ENDPOINT_NAME,
    EXECUTION_ROLE_ARN,
    GROUND_TRUTH_URI,
    MODEL_ID,
    MONITOR_IMAGE_URI,
    OUTPUT_URI,
    UNBOUND,
    UNBOUND_ROLE_ARN,
)
from mlopscp.pipelines.retrain import RetrainSettings, capacity_retry, pipeline_session

CODE_DIR = "/opt/ml/processing/code"
UNBOUND_BUCKET = f"s3://{UNBOUND}/mlopscp/monitor"


@dataclass(frozen=True)
class MonitorSettings:
    """Fixed when rendering: what a pipeline parameter cannot express."""

    region: str = "us-east-1"
    pipeline_name: str = "mlopscp-monitor"
    # An hourly window of a busy endpoint takes a minute or two; a backfill of a week, longer.
    max_runtime_seconds: int = 3600
    capacity_retry_attempts: int = 5
    capacity_retry_interval_seconds: int = 60
    volume_size_gb: int = 30


def declare_parameters() -> tuple[dict[str, Any], list[Any]]:
    """The pipeline's parameters: those the script takes, by option, then the job's own (role,
    code, image, instance type)."""
    options = {
        "--model-id": ParameterString(MODEL_ID, default_value=UNBOUND),
        "--endpoint-name": ParameterString(ENDPOINT_NAME, default_value=UNBOUND),
        "--variant": ParameterString("VariantName", default_value="AllTraffic"),
        "--capture": ParameterString(CAPTURE_URI, default_value=f"{UNBOUND_BUCKET}/capture"),
        "--baseline": ParameterString(BASELINE_URI, default_value=f"{UNBOUND_BUCKET}/baseline"),
        "--ground-truth": ParameterString(GROUND_TRUTH_URI, default_value=""),
        "--out": ParameterString(OUTPUT_URI, default_value=f"{UNBOUND_BUCKET}/reports"),
        "--window-end": ParameterString("WindowEnd", default_value=""),
        "--window-hours": ParameterInteger("WindowHours", default_value=1),
        "--window-offset-hours": ParameterInteger("WindowOffsetHours", default_value=0),
        "--windows": ParameterInteger("Windows", default_value=1),
        "--problem-type": ParameterString(
            "ProblemType",
            default_value="classification",
            enum_values=["classification", "regression"],
        ),
        "--target-column": ParameterString("TargetColumn", default_value="label"),
        "--prediction-column": ParameterString("PredictionColumn", default_value="prediction"),
        "--classification-threshold": ParameterFloat("ClassificationThreshold", default_value=0.5),
        "--min-rows": ParameterInteger("MinRows", default_value=30),
        "--event-bus": ParameterString("EventBusName", default_value="default"),
    }
    job = [
        ParameterString(EXECUTION_ROLE_ARN, default_value=UNBOUND_ROLE_ARN),
        ParameterString(CODE_PREFIX, default_value=f"{UNBOUND_BUCKET}/code"),
        ParameterString(
            MONITOR_IMAGE_URI,
            default_value=f"000000000000.dkr.ecr.us-east-1.amazonaws.com/{UNBOUND.lower()}",
        ),
        ParameterString("InstanceType", default_value="ml.m5.large"),
    ]
    return options, job


def container_arguments(options: dict[str, Any]) -> list[Any]:
    arguments: list[Any] = []
    for option, parameter in options.items():
        kind = type(parameter).__name__
        arguments += [option, parameter if kind == "ParameterString" else parameter.to_string()]
    # The window follows the execution's start, so a retried step keeps its window.
    return [*arguments, "--run-time", ExecutionVariables.START_DATETIME]


def build_pipeline(settings: MonitorSettings | None = None) -> Pipeline:
    settings = settings or MonitorSettings()
    session = pipeline_session(RetrainSettings(region=settings.region))
    options, job = declare_parameters()
    role, code, image, instance_type = job
    processor = Processor(
        role=role,
        image_uri=image,
        instance_count=1,
        instance_type=instance_type,
        volume_size_in_gb=settings.volume_size_gb,
        max_runtime_in_seconds=settings.max_runtime_seconds,
        entrypoint=["python3", f"{CODE_DIR}/monitor.py"],
        env={"DO_NOT_TRACK": "1", "PYTHONUNBUFFERED": "1"},
        sagemaker_session=session,
    )
    step_args = processor.run(
        # The scripts come from CodePrefix (content-addressed by upload-code); capture, ground
        # truth and baseline are read by the script itself, only for the hours it needs.
        inputs=[ProcessingInput(input_name="code", source=code, destination=CODE_DIR)],
        arguments=container_arguments(options),
    )
    step = ProcessingStep(
        name="Monitor",
        step_args=step_args,
        # Never cached: the cache key would not see the window move with the execution's start.
        retry_policies=capacity_retry(
            RetrainSettings(
                capacity_retry_attempts=settings.capacity_retry_attempts,
                capacity_retry_interval_seconds=settings.capacity_retry_interval_seconds,
            )
        ),
    )
    return Pipeline(
        name=settings.pipeline_name,
        parameters=[*options.values(), *job],
        steps=[step],
        sagemaker_session=session,
    )


def render_definition(settings: MonitorSettings | None = None) -> str:
    """The definition JSON, normalised (sorted keys, fixed indent) like the retrain blueprint."""
    definition = json.loads(build_pipeline(settings).definition())
    return json.dumps(definition, indent=2, sort_keys=True) + "\n"
