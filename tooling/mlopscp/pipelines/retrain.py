"""The reference retraining pipeline, built with the SageMaker Python SDK (v2).

Only tooling imports this module (``mlopscp pipeline render`` and the render test, in the
``.venv-sdk`` environment); the control plane's functions and layers never do.

Rendering is offline and deterministic: the session gets a fixed region, placeholder
credentials (so a stray AWS call fails instead of silently using yours), an explicit SDK config
(so no user or machine config file changes the output, and telemetry is off), and every S3
location is a pipeline parameter, so the SDK never resolves a default bucket or uploads code.
The scripts reach S3 through ``mlopscp pipeline upsert`` / ``upload-code`` instead.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import boto3
from mlops_core.retrain import (
    DATA_WINDOW_END,
    DATA_WINDOW_START,
    INCIDENT_ID,
    RETRAIN_REASON,
)
from sagemaker import image_uris
from sagemaker.drift_check_baselines import DriftCheckBaselines
from sagemaker.estimator import Estimator
from sagemaker.inputs import TrainingInput
from sagemaker.model import Model
from sagemaker.model_metrics import MetricsSource, ModelMetrics
from sagemaker.model_monitor.dataset_format import DatasetFormat
from sagemaker.processing import ProcessingInput, ProcessingOutput, Processor
from sagemaker.workflow.check_job_config import CheckJobConfig
from sagemaker.workflow.condition_step import ConditionStep
from sagemaker.workflow.conditions import (
    ConditionGreaterThanOrEqualTo,
    ConditionLessThanOrEqualTo,
)
from sagemaker.workflow.execution_variables import ExecutionVariables
from sagemaker.workflow.fail_step import FailStep
from sagemaker.workflow.functions import Join, JsonGet
from sagemaker.workflow.model_step import ModelStep
from sagemaker.workflow.parameters import (
    ParameterBoolean,
    ParameterFloat,
    ParameterInteger,
    ParameterString,
)
from sagemaker.workflow.pipeline import Pipeline
from sagemaker.workflow.pipeline_context import PipelineSession
from sagemaker.workflow.properties import PropertyFile
from sagemaker.workflow.quality_check_step import (
    DataQualityCheckConfig,
    ModelQualityCheckConfig,
    QualityCheckStep,
)
from sagemaker.workflow.retry import (
    RetryPolicy,
    SageMakerJobExceptionTypeEnum,
    SageMakerJobStepRetryPolicy,
)
from sagemaker.workflow.steps import CacheConfig, ProcessingStep, TrainingStep

from mlopscp.pipelines.layout import (
    ARTIFACT_PREFIX,
    CODE_PREFIX,
    EXECUTION_ROLE_ARN,
    INPUT_DATA_URI,
    UNBOUND_ROLE_ARN,
    unbound_s3_uri,
)

CODE_DIR = "/opt/ml/processing/code"
JSON = "application/json"
# Defaults of the control plane's parameters for a manual run: all data, no incident. They must
# be valid Model Registry metadata too (non-empty), which "" would not be.
MANUAL_WINDOW_START = "1970-01-01T00:00Z"
MANUAL_WINDOW_END = "2100-01-01T00:00Z"


@dataclass(frozen=True)
class RetrainSettings:
    """What is fixed when the definition is rendered, not per execution.

    Pipelines expressions have no arithmetic, so MaxWaitTimeInSeconds could not follow a
    MaxRuntime parameter at run time; the 2x rule is kept here, by construction, instead.
    """

    region: str = "us-east-1"
    pipeline_name: str = "mlopscp-retrain"
    max_runtime_seconds: int = 3600
    capacity_retry_attempts: int = 5
    capacity_retry_interval_seconds: int = 120
    cache_expire_after: str = "P30D"
    sklearn_version: str = "1.2-1"
    xgboost_version: str = "1.7-1"
    # The gate's metric: a key of binary_classification_metrics in evaluation.json.
    metric: str = "auc"
    greater_is_better: bool = True
    hyperparameters: dict[str, str] = field(
        default_factory=lambda: {
            "objective": "binary:logistic",
            "eval_metric": "auc",
            "num_round": "200",
            "max_depth": "5",
            "eta": "0.2",
            "subsample": "0.8",
            "early_stopping_rounds": "20",
        }
    )

    @property
    def max_wait_seconds(self) -> int:
        return 2 * self.max_runtime_seconds


@dataclass(frozen=True)
class Parameters:
    """The pipeline's parameters, in the order they are declared."""

    incident_id: Any
    retrain_reason: Any
    window_start: Any
    window_end: Any
    role: Any
    input_data: Any
    artifacts: Any
    code: Any
    processing_image: Any
    training_image: Any
    processing_type: Any
    training_type: Any
    training_count: Any
    baseline_type: Any
    inference_type: Any
    target_column: Any
    timestamp_column: Any
    lookback_days: Any
    group: Any
    production_package: Any
    threshold: Any
    tolerance: Any
    skip_drift_check: Any
    register_new_baseline: Any

    def all(self) -> list[Any]:
        return [getattr(self, name) for name in self.__dataclass_fields__]


def declare_parameters(settings: RetrainSettings) -> Parameters:
    images = {
        "sklearn": image_uris.retrieve("sklearn", settings.region, settings.sklearn_version),
        "xgboost": image_uris.retrieve("xgboost", settings.region, settings.xgboost_version),
    }
    return Parameters(
        incident_id=ParameterString(INCIDENT_ID, default_value="manual"),
        retrain_reason=ParameterString(RETRAIN_REASON, default_value="manual run"),
        window_start=ParameterString(DATA_WINDOW_START, default_value=MANUAL_WINDOW_START),
        window_end=ParameterString(DATA_WINDOW_END, default_value=MANUAL_WINDOW_END),
        role=ParameterString(EXECUTION_ROLE_ARN, default_value=UNBOUND_ROLE_ARN),
        input_data=ParameterString(INPUT_DATA_URI, default_value=unbound_s3_uri("input")),
        artifacts=ParameterString(ARTIFACT_PREFIX, default_value=unbound_s3_uri("artifacts")),
        code=ParameterString(CODE_PREFIX, default_value=unbound_s3_uri("code")),
        processing_image=ParameterString("ProcessingImageUri", default_value=images["sklearn"]),
        training_image=ParameterString("TrainingImageUri", default_value=images["xgboost"]),
        processing_type=ParameterString("ProcessingInstanceType", default_value="ml.m5.large"),
        training_type=ParameterString("TrainingInstanceType", default_value="ml.m5.xlarge"),
        training_count=ParameterInteger("TrainingInstanceCount", default_value=1),
        baseline_type=ParameterString("BaselineInstanceType", default_value="ml.m5.xlarge"),
        inference_type=ParameterString("InferenceInstanceType", default_value="ml.m5.large"),
        target_column=ParameterString("TargetColumn", default_value="label"),
        timestamp_column=ParameterString("TimestampColumn", default_value="event_time"),
        lookback_days=ParameterInteger("TrainingLookbackDays", default_value=90),
        group=ParameterString("ModelPackageGroupName", default_value="mlopscp-retrain"),
        production_package=ParameterString("ProductionModelPackageArn", default_value=""),
        threshold=ParameterFloat("QualityThreshold", default_value=0.75),
        tolerance=ParameterFloat("RegressionTolerance", default_value=0.01),
        skip_drift_check=ParameterBoolean("SkipDriftCheck", default_value=True),
        register_new_baseline=ParameterBoolean("RegisterNewBaseline", default_value=True),
    )


def pipeline_session(settings: RetrainSettings) -> PipelineSession:
    boto_session = boto3.Session(
        aws_access_key_id="offline-render",
        aws_secret_access_key="offline-render",  # noqa: S106 - a placeholder, never a secret
        region_name=settings.region,
    )
    sdk_config = {
        "SchemaVersion": "1.0",
        "SageMaker": {"PythonSDK": {"Modules": {"TelemetryOptOut": True}}},
    }
    # default_bucket is never used (every location is a parameter) but stops any lookup.
    return PipelineSession(
        boto_session=boto_session,
        default_bucket="unused-offline-render",
        sagemaker_config=sdk_config,
    )


def s3_location(params: Parameters, *parts: Any) -> Join:
    """A per-execution location under the artifact prefix."""
    return Join(on="/", values=[params.artifacts, ExecutionVariables.PIPELINE_EXECUTION_ID, *parts])


def capacity_retry(settings: RetrainSettings) -> list[RetryPolicy]:
    return [
        SageMakerJobStepRetryPolicy(
            exception_types=[
                SageMakerJobExceptionTypeEnum.CAPACITY_ERROR,
                SageMakerJobExceptionTypeEnum.RESOURCE_LIMIT,
            ],
            interval_seconds=settings.capacity_retry_interval_seconds,
            backoff_rate=2.0,
            max_attempts=settings.capacity_retry_attempts,
        )
    ]


def script_processor(params: Parameters, session: PipelineSession, **kwargs: Any) -> Processor:
    return Processor(
        role=params.role,
        instance_count=1,  # the scripts read the whole window on one node
        sagemaker_session=session,
        **kwargs,
    )


def code_input(params: Parameters, script: str) -> ProcessingInput:
    # The script comes from CodePrefix (a content-addressed prefix written by upload-code), so
    # the cache key changes whenever the code does and the SDK never uploads at render time.
    return ProcessingInput(
        input_name="code",
        source=Join(on="/", values=[params.code, script]),
        destination=CODE_DIR,
    )


def prepare_step(params: Parameters, settings: RetrainSettings, session: Any) -> ProcessingStep:
    processor = script_processor(
        params,
        session,
        image_uri=params.processing_image,
        instance_type=params.processing_type,
        entrypoint=["python3", f"{CODE_DIR}/preprocess.py"],
    )
    outputs = ["train", "validation", "test", "baseline"]
    step_args = processor.run(
        inputs=[
            code_input(params, "preprocess.py"),
            ProcessingInput(
                input_name="raw",
                source=params.input_data,
                destination="/opt/ml/processing/input/raw",
            ),
        ],
        outputs=[
            ProcessingOutput(
                output_name=name,
                source=f"/opt/ml/processing/{name}",
                destination=s3_location(params, "data", name),
            )
            for name in outputs
        ],
        arguments=[
            "--target-column",
            params.target_column,
            "--timestamp-column",
            params.timestamp_column,
            "--window-start",
            params.window_start,
            "--window-end",
            params.window_end,
            "--lookback-days",
            params.lookback_days.to_string(),
        ],
    )
    return ProcessingStep(
        name="PrepareData",
        step_args=step_args,
        cache_config=CacheConfig(enable_caching=True, expire_after=settings.cache_expire_after),
        retry_policies=capacity_retry(settings),
    )


def output_uri(step: ProcessingStep, name: str) -> Any:
    return step.properties.ProcessingOutputConfig.Outputs[name].S3Output.S3Uri


def train_step(
    params: Parameters, settings: RetrainSettings, session: Any, prepare: ProcessingStep
) -> TrainingStep:
    estimator = Estimator(
        image_uri=params.training_image,
        role=params.role,
        instance_type=params.training_type,
        instance_count=params.training_count,
        use_spot_instances=True,
        max_run=settings.max_runtime_seconds,
        max_wait=settings.max_wait_seconds,
        # Per execution, so a Spot resume (or RetryPipelineExecution) continues this run's
        # model and never another's. The price: training is not reused across executions.
        checkpoint_s3_uri=s3_location(params, "checkpoints"),
        output_path=s3_location(params, "model"),
        hyperparameters=dict(settings.hyperparameters),
        debugger_hook_config=False,
        disable_profiler=True,
        sagemaker_session=session,
    )
    channels = {
        name: TrainingInput(output_uri(prepare, name), content_type="text/csv")
        for name in ("train", "validation")
    }
    return TrainingStep(
        name="Train",
        step_args=estimator.fit(channels),
        cache_config=CacheConfig(enable_caching=True, expire_after=settings.cache_expire_after),
        retry_policies=capacity_retry(settings),
    )


EVALUATION = PropertyFile(name="EvaluationReport", output_name="evaluation", path="evaluation.json")


def evaluate_step(
    params: Parameters,
    settings: RetrainSettings,
    session: Any,
    prepare: ProcessingStep,
    train: TrainingStep,
) -> ProcessingStep:
    processor = script_processor(
        params,
        session,
        # The image that trained the model loads it with the same library version.
        image_uri=params.training_image,
        instance_type=params.processing_type,
        entrypoint=["python3", f"{CODE_DIR}/evaluate.py"],
        # boto3 in the container finds no region by itself; the registry lookup needs one.
        env={"AWS_DEFAULT_REGION": settings.region},
    )
    step_args = processor.run(
        inputs=[
            code_input(params, "evaluate.py"),
            ProcessingInput(
                input_name="model",
                source=train.properties.ModelArtifacts.S3ModelArtifacts,
                destination="/opt/ml/processing/model",
            ),
            ProcessingInput(
                input_name="test",
                source=output_uri(prepare, "test"),
                destination="/opt/ml/processing/test",
            ),
        ],
        outputs=[
            ProcessingOutput(
                output_name=name,
                source=f"/opt/ml/processing/{name}",
                destination=s3_location(params, name),
            )
            for name in ("evaluation", "predictions")
        ],
        arguments=[
            "--metric",
            settings.metric,
            "--greater-is-better",
            str(settings.greater_is_better).lower(),
            "--regression-tolerance",
            params.tolerance.to_string(),
            "--model-package-group",
            params.group,
            "--production-model-package-arn",
            params.production_package,
            "--incident-id",
            params.incident_id,
            "--data-window-start",
            params.window_start,
            "--data-window-end",
            params.window_end,
        ],
    )
    # No cache: the step reads the registry's current production package, which a cached
    # result would silently freeze.
    return ProcessingStep(
        name="Evaluate",
        step_args=step_args,
        property_files=[EVALUATION],
        retry_policies=capacity_retry(settings),
    )


def check_job(params: Parameters, session: Any) -> CheckJobConfig:
    return CheckJobConfig(
        role=params.role,
        instance_count=1,
        instance_type=params.baseline_type,
        sagemaker_session=session,
    )


def data_quality_step(
    params: Parameters, settings: RetrainSettings, session: Any, prepare: ProcessingStep
) -> QualityCheckStep:
    config = DataQualityCheckConfig(
        baseline_dataset=output_uri(prepare, "baseline"),
        dataset_format=DatasetFormat.csv(header=True),
        output_s3_uri=s3_location(params, "baselines", "data-quality"),
    )
    return QualityCheckStep(
        name="DataQualityBaseline",
        quality_check_config=config,
        check_job_config=check_job(params, session),
        skip_check=params.skip_drift_check,
        register_new_baseline=params.register_new_baseline,
        model_package_group_name=params.group,
        cache_config=CacheConfig(enable_caching=True, expire_after=settings.cache_expire_after),
    )


def model_quality_step(
    params: Parameters, settings: RetrainSettings, session: Any, evaluate: ProcessingStep
) -> QualityCheckStep:
    config = ModelQualityCheckConfig(
        baseline_dataset=output_uri(evaluate, "predictions"),
        dataset_format=DatasetFormat.csv(header=True),
        output_s3_uri=s3_location(params, "baselines", "model-quality"),
        problem_type="BinaryClassification",
        inference_attribute="prediction",
        probability_attribute="probability",
        ground_truth_attribute="label",
    )
    return QualityCheckStep(
        name="ModelQualityBaseline",
        quality_check_config=config,
        check_job_config=check_job(params, session),
        skip_check=params.skip_drift_check,
        register_new_baseline=params.register_new_baseline,
        model_package_group_name=params.group,
        cache_config=CacheConfig(enable_caching=True, expire_after=settings.cache_expire_after),
    )


def report(evaluate: ProcessingStep, path: str) -> JsonGet:
    return JsonGet(step_name=evaluate.name, property_file=EVALUATION, json_path=path)


def metrics_source(uri: Any) -> MetricsSource:
    return MetricsSource(s3_uri=uri, content_type=JSON)


def register_step(
    params: Parameters,
    session: Any,
    steps: dict[str, Any],
) -> ModelStep:
    train, evaluate = steps["train"], steps["evaluate"]
    data, quality = steps["data_quality"], steps["model_quality"]
    model = Model(
        image_uri=params.training_image,
        model_data=train.properties.ModelArtifacts.S3ModelArtifacts,
        role=params.role,
        sagemaker_session=session,
    )
    evaluation_json = Join(on="/", values=[output_uri(evaluate, "evaluation"), "evaluation.json"])
    step_args = model.register(
        model_package_group_name=params.group,
        content_types=["text/csv"],
        response_types=["text/csv"],
        inference_instances=[params.inference_type],
        transform_instances=[params.inference_type],
        # Fixed, not a parameter: a human approves every retrained model (the promotion flow
        # starts on Approved), and a parameter would let any caller skip that.
        approval_status="PendingManualApproval",
        # The reason is free text: fine for the description (up to 1024 characters, as many
        # as a pipeline parameter holds) but not for metadata values (256, few characters).
        description=params.retrain_reason,
        customer_metadata_properties={
            INCIDENT_ID: report(evaluate, "registration.incident_id"),
            DATA_WINDOW_START: report(evaluate, "registration.data_window_start"),
            DATA_WINDOW_END: report(evaluate, "registration.data_window_end"),
            "QualityGate": report(evaluate, "quality_gate.summary"),
            "PipelineExecutionArn": ExecutionVariables.PIPELINE_EXECUTION_ARN,
        },
        model_metrics=ModelMetrics(
            model_statistics=metrics_source(evaluation_json),
            model_constraints=metrics_source(quality.properties.CalculatedBaselineConstraints),
            model_data_statistics=metrics_source(data.properties.CalculatedBaselineStatistics),
            model_data_constraints=metrics_source(data.properties.CalculatedBaselineConstraints),
        ),
        drift_check_baselines=DriftCheckBaselines(
            model_statistics=metrics_source(quality.properties.BaselineUsedForDriftCheckStatistics),
            model_constraints=metrics_source(
                quality.properties.BaselineUsedForDriftCheckConstraints
            ),
            model_data_statistics=metrics_source(
                data.properties.BaselineUsedForDriftCheckStatistics
            ),
            model_data_constraints=metrics_source(
                data.properties.BaselineUsedForDriftCheckConstraints
            ),
        ),
    )
    return ModelStep(name="Register", step_args=step_args)


def gate_steps(
    params: Parameters, settings: RetrainSettings, evaluate: ProcessingStep, register: ModelStep
) -> ConditionStep:
    # Any: the SDK's annotations omit JsonGet, which conditions accept (and the docs use).
    candidate: Any = report(evaluate, "quality_gate.candidate")
    bound: Any = report(evaluate, "quality_gate.production_bound")
    compare = (
        ConditionGreaterThanOrEqualTo
        if settings.greater_is_better
        else (ConditionLessThanOrEqualTo)
    )
    relation = ">=" if settings.greater_is_better else "<="
    fail = FailStep(
        name="QualityGateFailed",
        error_message=Join(
            on="",
            values=[
                "Not registered (incident ",
                params.incident_id,
                f"): {settings.metric} ",
                candidate,
                f" must be {relation} QualityThreshold ",
                params.threshold,
                f" and {relation} the production bound ",
                bound,
                ". ",
                report(evaluate, "quality_gate.summary"),
            ],
        ),
    )
    return ConditionStep(
        name="QualityGate",
        # Both must hold (a ConditionStep ANDs its conditions).
        conditions=[
            compare(left=candidate, right=params.threshold),
            compare(left=candidate, right=bound),
        ],
        if_steps=[register],
        else_steps=[fail],
    )


def build_pipeline(settings: RetrainSettings | None = None) -> Pipeline:
    settings = settings or RetrainSettings()
    session = pipeline_session(settings)
    params = declare_parameters(settings)
    prepare = prepare_step(params, settings, session)
    train = train_step(params, settings, session, prepare)
    evaluate = evaluate_step(params, settings, session, prepare, train)
    steps = {
        "train": train,
        "evaluate": evaluate,
        "data_quality": data_quality_step(params, settings, session, prepare),
        "model_quality": model_quality_step(params, settings, session, evaluate),
    }
    register = register_step(params, session, steps)
    gate = gate_steps(params, settings, evaluate, register)
    return Pipeline(
        name=settings.pipeline_name,
        parameters=params.all(),
        steps=[prepare, train, evaluate, steps["data_quality"], steps["model_quality"], gate],
        sagemaker_session=session,
    )


def render_definition(settings: RetrainSettings | None = None) -> str:
    """The definition JSON, normalised (sorted keys, fixed indent) so a re-render of the same
    code is byte-identical to the committed file."""
    definition = json.loads(build_pipeline(settings).definition())
    return json.dumps(definition, indent=2, sort_keys=True) + "\n"
