"""EventBridge events the control plane accepts, as Powertools ``EventBridgeModel`` subclasses.

Models accept what AWS really sends (epoch-ms or ISO times, extra fields) and reject what cannot
be acted on with a message naming the field. ``events/`` holds one example of each, and the
contract tests parse every real sample in ../shared/samples as well.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from mlops_core.errors import EventRejectedError
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

DRIFT_SIGNAL_SOURCE = "mlopscp.monitoring"
DRIFT_SIGNAL_DETAIL_TYPE = "Model Drift Signal"


class _Open(BaseModel):
    """AWS adds fields over time: keep them, never fail on them."""

    model_config = ConfigDict(extra="allow", populate_by_name=True, defer_build=True)


class Envelope(EventBridgeModel):
    # Validators are built on first use: a handler imports every event model and parses one or
    # two kinds (building all of them at import was most of this module's cold-start cost).
    model_config = ConfigDict(defer_build=True)

    @field_validator("source", mode="before")
    @classmethod
    def _single_source(cls, value: Any) -> Any:
        # Some published samples repeat "source" as a one-element list; EventBridge never does.
        if isinstance(value, list) and len(value) == 1:
            return value[0]
        return value


# --- SageMaker Processing Job State Change (Model Monitor executions are processing jobs) ---


class S3OutputRef(_Open):
    S3Uri: str


class ProcessingOutputItem(_Open):
    OutputName: str | None = None
    S3Output: S3OutputRef | None = None


class OutputConfig(_Open):
    Outputs: list[ProcessingOutputItem] = []


class ProcessingJobDetail(_Open):
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


class MetricRef(_Open):
    namespace: str
    name: str
    dimensions: dict[str, str] = {}


class MetricStat(_Open):
    metric: MetricRef


class AlarmMetric(_Open):
    id: str | None = None
    metricStat: MetricStat | None = None
    expression: str | None = None


class AlarmConfiguration(_Open):
    metrics: list[AlarmMetric] = []
    description: str | None = None


class AlarmState(_Open):
    value: Literal["OK", "ALARM", "INSUFFICIENT_DATA"]
    reason: str = ""
    timestamp: datetime | None = None


class AlarmDetail(_Open):
    alarmName: str = Field(min_length=1)
    state: AlarmState
    previousState: AlarmState | None = None
    configuration: AlarmConfiguration = AlarmConfiguration()


class AlarmStateChange(Envelope):
    source: Literal["aws.cloudwatch"]
    detail_type: Literal["CloudWatch Alarm State Change"] = Field(alias="detail-type")
    detail: AlarmDetail


# --- Model Drift Signal: the documented custom event for teams with their own monitor ---


class DriftSignalDetail(_Open):
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


# --- SageMaker Model Building Pipeline Execution Status Change ---


class PipelineExecutionDetail(_Open):
    pipelineArn: str
    pipelineExecutionArn: str
    currentPipelineExecutionStatus: Literal[
        "Executing", "Stopping", "Stopped", "Failed", "Succeeded"
    ]
    previousPipelineExecutionStatus: str | None = None
    executionStartTime: datetime | None = None
    executionEndTime: datetime | None = None
    pipelineExecutionDisplayName: str | None = None
    failureReason: str | None = None


class PipelineExecutionStatusChange(Envelope):
    source: Literal["aws.sagemaker"]
    detail_type: Literal["SageMaker Model Building Pipeline Execution Status Change"] = Field(
        alias="detail-type"
    )
    detail: PipelineExecutionDetail


# --- Spot recovery and guardrails (issue 5): training jobs, pipeline steps, endpoints ---


class TrainingJobDetail(_Open):
    """Mirrors DescribeTrainingJob (times as epoch-ms strings, Tags as a map); only what routing
    needs is declared: handlers describe the job again rather than trust optional fields."""

    TrainingJobName: str = Field(min_length=1, max_length=63)
    TrainingJobStatus: Literal[
        "InProgress", "Completed", "Failed", "Stopping", "Stopped", "Deleting"
    ]
    TrainingJobArn: str | None = None
    SecondaryStatus: str | None = None  # AWS: "valid values are subject to change"
    FailureReason: str | None = None
    Tags: dict[str, str] | list[dict[str, str]] = {}


class TrainingJobStateChange(Envelope):
    source: Literal["aws.sagemaker"]
    detail_type: Literal["SageMaker Training Job State Change"] = Field(alias="detail-type")
    detail: TrainingJobDetail


class StepJobRef(_Open):
    arn: str = Field(pattern=r"^arn:aws[\w-]*:sagemaker:")


class StepMetadata(_Open):
    trainingJob: StepJobRef | None = None


class PipelineStepDetail(_Open):
    pipelineArn: str
    pipelineExecutionArn: str
    stepName: str = Field(min_length=1)
    stepType: str | None = None
    currentStepStatus: Literal[
        "Starting", "Executing", "Stopping", "Stopped", "Failed", "Succeeded"
    ]
    previousStepStatus: str | None = None
    failureReason: str | None = None
    stepStartTime: datetime | None = None
    stepEndTime: datetime | None = None
    metadata: StepMetadata = StepMetadata()


class PipelineStepStatusChange(Envelope):
    source: Literal["aws.sagemaker"]
    detail_type: Literal["SageMaker Model Building Pipeline Execution Step Status Change"] = Field(
        alias="detail-type"
    )
    detail: PipelineStepDetail


class EndpointDetail(_Open):
    EndpointName: str = Field(min_length=1, max_length=63)
    # Events spell it IN_SERVICE (the API says InService): kept as sent, compared loosely.
    EndpointStatus: str = Field(min_length=1)
    EndpointConfigName: str | None = None
    EndpointArn: str | None = None

    @property
    def in_service(self) -> bool:
        return self.EndpointStatus.replace("_", "").lower() == "inservice"


class EndpointStateChange(Envelope):
    source: Literal["aws.sagemaker"]
    detail_type: Literal["SageMaker Endpoint State Change"] = Field(alias="detail-type")
    detail: EndpointDetail


TrainingEvent = Annotated[
    TrainingJobStateChange | PipelineStepStatusChange, Field(discriminator="detail_type")
]
# --- Model promotion (issue 3): SageMaker Model Package State Change ---


# A pipeline execution ARN as SageMaker writes it into a package's MetadataProperties.GeneratedBy.
_PIPELINE_EXECUTION_ARN = re.compile(
    r"^arn:aws[\w-]*:sagemaker:[a-z0-9-]+:\d{12}:pipeline/[^/\s]+/execution/[^/\s]+$"
)


class PackageMetadata(_Open):
    GeneratedBy: str | None = None


class ModelPackageDetail(_Open):
    """Mirrors DescribeModelPackage; AWS also sends it for lifecycle or metadata updates
    (``UpdatedModelPackageFields``), so the approval status is read, not assumed changed."""

    ModelPackageGroupName: str = Field(min_length=1, max_length=63)
    ModelPackageVersion: int = Field(ge=1)
    ModelPackageArn: str = Field(
        pattern=r"^arn:aws[\w-]*:sagemaker:[a-z0-9-]+:\d{12}:model-package/[^/]+/\d+$"
    )
    ModelApprovalStatus: Literal["Approved", "Rejected", "PendingManualApproval"]
    ModelPackageStatus: str | None = None
    ApprovalDescription: str | None = None
    UpdatedModelPackageFields: list[str] = []
    CreationTime: datetime | None = None
    LastModifiedTime: datetime | None = None
    MetadataProperties: PackageMetadata | None = None
    CustomerMetadataProperties: dict[str, str] = {}

    @property
    def pipeline_execution_arn(self) -> str:
        """The pipeline execution that registered the package: the retrain blueprint writes it
        into CustomerMetadataProperties (docs/retrain-pipeline.md), SageMaker Pipelines' own
        register step into MetadataProperties.GeneratedBy. Empty when the package came from
        elsewhere or the value does not look like one."""
        candidates = (
            self.CustomerMetadataProperties.get("PipelineExecutionArn") or "",
            (self.MetadataProperties.GeneratedBy or "") if self.MetadataProperties else "",
        )
        return next((c for c in candidates if _PIPELINE_EXECUTION_ARN.match(c)), "")


class ModelPackageStateChange(Envelope):
    source: Literal["aws.sagemaker"]
    detail_type: Literal["SageMaker Model Package State Change"] = Field(alias="detail-type")
    detail: ModelPackageDetail


GuardrailEvent = Annotated[
    TrainingJobStateChange | EndpointStateChange, Field(discriminator="detail_type")
]


MonitoringEvent = Annotated[
    ProcessingJobStateChange | AlarmStateChange | DriftSignal,
    Field(discriminator="detail_type"),
]


def parse_event(event: Any, model: Any) -> Any:
    """Validate an event; a malformed one raises EventRejectedError with a readable reason."""
    if not isinstance(event, dict):
        raise EventRejectedError("malformed event: not a JSON object")
    try:
        return parse(event=event, model=model)
    except ValidationError as error:
        problems = [
            {"field": _field(e["loc"]), "problem": e["msg"]}
            for e in error.errors(include_url=False, include_input=False)
        ]
        reason = "; ".join(f"{p['field']}: {p['problem']}" for p in problems[:5])
        raise EventRejectedError(f"malformed event: {reason}", problems) from None


def _field(location: tuple[Any, ...]) -> str:
    # A discriminated union puts the matched detail-type first: not a field of the event.
    parts = [str(p) for p in location if str(p) not in _UNION_TAGS]
    return ".".join(parts) or "<event>"


MONITORING_DETAIL_TYPES = (
    "SageMaker Processing Job State Change",
    "CloudWatch Alarm State Change",
    DRIFT_SIGNAL_DETAIL_TYPE,
)
TRAINING_DETAIL_TYPES = (
    "SageMaker Training Job State Change",
    "SageMaker Model Building Pipeline Execution Step Status Change",
)
GUARDRAIL_DETAIL_TYPES = ("SageMaker Training Job State Change", "SageMaker Endpoint State Change")
_UNION_TAGS = frozenset(MONITORING_DETAIL_TYPES + TRAINING_DETAIL_TYPES + GUARDRAIL_DETAIL_TYPES)


def parse_monitoring_event(event: Any) -> ProcessingJobStateChange | AlarmStateChange | DriftSignal:
    if not isinstance(event, dict):
        raise EventRejectedError("malformed event: not a JSON object")
    if event.get("detail-type") not in MONITORING_DETAIL_TYPES:
        raise EventRejectedError(
            f"unsupported detail-type {event.get('detail-type')!r}: expected one of "
            f"{', '.join(MONITORING_DETAIL_TYPES)}"
        )
    return parse_event(event, MonitoringEvent)  # type: ignore[no-any-return,unused-ignore]


def parse_one_of(event: Any, model: Any, detail_types: tuple[str, ...]) -> Any:
    """Parse an event that must be one of ``detail_types`` (a discriminated union ``model``)."""
    if not isinstance(event, dict):
        raise EventRejectedError("malformed event: not a JSON object")
    if event.get("detail-type") not in detail_types:
        raise EventRejectedError(
            f"unsupported detail-type {event.get('detail-type')!r}: expected one of "
            f"{', '.join(detail_types)}"
        )
    return parse_event(event, model)
