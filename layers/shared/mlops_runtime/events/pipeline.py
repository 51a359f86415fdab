"""SageMaker Model Building Pipeline events: an execution's status, and a step's (Spot recovery
follows a pipeline's training step).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from mlops_runtime.events.envelope import Envelope, OpenDetail

# --- SageMaker Model Building Pipeline Execution Status Change ---


class PipelineExecutionDetail(OpenDetail):
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


class StepJobRef(OpenDetail):
    arn: str = Field(pattern=r"^arn:aws[\w-]*:sagemaker:")


class StepMetadata(OpenDetail):
    trainingJob: StepJobRef | None = None


class PipelineStepDetail(OpenDetail):
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
    metadata: StepMetadata = Field(default_factory=StepMetadata)


class PipelineStepStatusChange(Envelope):
    source: Literal["aws.sagemaker"]
    detail_type: Literal["SageMaker Model Building Pipeline Execution Step Status Change"] = Field(
        alias="detail-type"
    )
    detail: PipelineStepDetail
