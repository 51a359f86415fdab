"""Application Auto Scaling's scalable dimensions as AWS accepts them.

moto validates ``ScalableDimension`` against its own list, which lacks dimensions AWS has, among
them ``sagemaker:variant:DesiredProvisionedConcurrency`` (a serverless variant's provisioned
concurrency, scaled on ``SageMakerVariantProvisionedConcurrencyUtilization``). moto answers
RegisterScalableTarget and the other calls with a ValidationException for those. Here the list
is botocore's service model's ``ScalableDimension`` enum (what AWS's API documents), so moto
keeps its own checks (namespace, resource id) for every dimension AWS has and refuses the ones
it does not, as before.

A SageMaker scalable target registered without ``RoleARN`` gets AWS's service-linked role
(``AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint``, which Application Auto Scaling
creates and uses), as AWS answers: moto left the member out, and DescribeScalableTargets'
model requires it.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum
from typing import Any

import botocore.session
from botocore.model import StringShape
from moto.applicationautoscaling import models, responses

from mlopscp_emulator._patching import Patches

_patches = Patches()
_installed = False


def aws_dimensions() -> list[str]:
    """botocore's ``ScalableDimension`` enum for application-autoscaling."""
    model = botocore.session.get_session().get_service_model("application-autoscaling")
    shape: StringShape = model.shape_for("ScalableDimension")  # type: ignore[assignment]
    return list(shape.enum)


SAGEMAKER_ROLE = (
    "arn:aws:iam::{account}:role/aws-service-role/sagemaker.application-autoscaling.amazonaws.com/"
    "AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint"
)


def _with_service_linked_role(original: Callable[..., Any]) -> Callable[..., Any]:
    def register(
        backend: models.ApplicationAutoscalingBackend,
        namespace: str,
        r_id: str,
        dimension: str,
        min_capacity: int | None,
        max_capacity: int | None,
        role_arn: str | None,
        suspended_state: str,
    ) -> Any:
        if not role_arn and namespace == "sagemaker":
            role_arn = SAGEMAKER_ROLE.format(account=backend.account_id)
        return original(
            backend,
            namespace,
            r_id,
            dimension,
            min_capacity,
            max_capacity,
            role_arn,
            suspended_state,
        )

    return register


def install() -> None:
    """Apply the patch (idempotent)."""
    global _installed
    if not _installed:
        dimensions = Enum(  # type: ignore[misc]
            "ScalableDimensionValueSet", {value: value for value in aws_dimensions()}
        )
        for module in (models, responses):  # both look the name up when they validate
            _patches.set(module, "ScalableDimensionValueSet", dimensions)
        backend = models.ApplicationAutoscalingBackend
        original = _patches.set(backend, "register_scalable_target", None)
        _patches.set(backend, "register_scalable_target", _with_service_linked_role(original))
        _installed = True


def uninstall() -> None:
    global _installed
    _patches.undo()
    _installed = False
