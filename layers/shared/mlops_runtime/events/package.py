"""SageMaker Model Package State Change: a registry approval starts a promotion."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Literal

from pydantic import Field

from mlops_runtime.events.envelope import Envelope, OpenDetail

# --- Model promotion (issue 3): SageMaker Model Package State Change ---


# A pipeline execution ARN as SageMaker writes it into a package's MetadataProperties.GeneratedBy.
_PIPELINE_EXECUTION_ARN = re.compile(
    r"^arn:aws[\w-]*:sagemaker:[a-z0-9-]+:\d{12}:pipeline/[^/\s]+/execution/[^/\s]+$"
)


class PackageMetadata(OpenDetail):
    GeneratedBy: str | None = None


class ModelPackageDetail(OpenDetail):
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
