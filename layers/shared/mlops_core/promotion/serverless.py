"""Serverless production and staging variants (``ServerlessConfig``) in a promotion.

What SageMaker allows shapes what a serverless promotion does:

- no shadow test: inference experiments take real-time instance variants only;
- no data capture (so no Model Monitor, no capture-based verdict): the endpoint config carries
  none, and the verdict comes from the staging test, the path a first deployment takes;
- no instance autoscaling: SageMaker scales a serverless variant up to ``max_concurrency`` and
  down to zero (``provisioned_concurrency`` keeps that many warm);
- an instance-based endpoint cannot be updated to serverless (SageMaker refuses the update).

So a serverless production variant is promoted by a first deployment: quality gate, staging
test (serverless too when staging says so), approval, then CreateEndpoint with the serverless
config and the rollback alarms. Updating an existing endpoint to a serverless version is refused
at ``Prepare`` with the reason (see :func:`update_refusal`).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

MemorySize = Literal[1024, 2048, 3072, 4096, 5120, 6144]


class ServerlessVariant(BaseModel):
    """A target's ``serverless`` section: the variant's ``ServerlessConfig``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    memory_size_mb: MemorySize = Field(2048, description="1024-6144, in 1 GB steps")
    max_concurrency: int = Field(20, ge=1, le=200, description="concurrent invocations at most")
    provisioned_concurrency: int | None = Field(
        None, ge=1, le=200, description="kept warm (billed while idle); none: scales to zero"
    )

    @model_validator(mode="after")
    def _provisioned_within_max(self) -> ServerlessVariant:
        if (self.provisioned_concurrency or 0) > self.max_concurrency:
            raise ValueError("provisioned_concurrency must not exceed max_concurrency")
        return self

    def describe(self) -> str:
        warm = (
            f", {self.provisioned_concurrency} provisioned"
            if self.provisioned_concurrency
            else ", scales to zero"
        )
        return (
            f"serverless, {self.memory_size_mb} MB, up to {self.max_concurrency} concurrent{warm}"
        )


def serverless_config(variant: ServerlessVariant) -> dict[str, Any]:
    """The production variant's ``ServerlessConfig`` (CreateEndpointConfig)."""
    config: dict[str, Any] = {
        "MemorySizeInMB": variant.memory_size_mb,
        "MaxConcurrency": variant.max_concurrency,
    }
    if variant.provisioned_concurrency:
        config["ProvisionedConcurrency"] = variant.provisioned_concurrency
    return config


def update_refusal(endpoint: str, account: str) -> str:
    """Why a serverless version does not replace an existing endpoint."""
    return (
        f"production.serverless is set but {endpoint} already exists in account {account}: a "
        "serverless variant is promoted by a first deployment only (SageMaker cannot update an "
        "instance-based endpoint to serverless, shadow tests take instance variants only, and "
        "updating a serverless endpoint is not built yet); delete the endpoint or name a new one"
    )
