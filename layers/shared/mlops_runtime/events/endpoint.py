"""SageMaker Endpoint State Change, and the events the guardrails take (a training job, or an
endpoint).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from mlops_runtime.events.envelope import Envelope, OpenDetail
from mlops_runtime.events.training import TrainingJobStateChange


class EndpointDetail(OpenDetail):
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


GuardrailEvent = Annotated[
    TrainingJobStateChange | EndpointStateChange, Field(discriminator="detail_type")
]
