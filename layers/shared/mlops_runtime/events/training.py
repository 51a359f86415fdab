"""SageMaker Training Job State Change, and the events Spot recovery takes (a training job, or
the pipeline step that ran one).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from mlops_runtime.events.envelope import Envelope, OpenDetail
from mlops_runtime.events.pipeline import PipelineStepStatusChange


class TrainingJobDetail(OpenDetail):
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


TrainingEvent = Annotated[
    TrainingJobStateChange | PipelineStepStatusChange, Field(discriminator="detail_type")
]
