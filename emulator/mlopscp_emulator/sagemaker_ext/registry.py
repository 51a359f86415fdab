"""The model registry across accounts: package group policies, tags on model packages, and
CreateModel from another account's package."""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Callable
from typing import Any

from moto.sagemaker.exceptions import ValidationError
from moto.sagemaker.models import SageMakerModelBackend

from mlopscp_emulator.common_errors import CommonError
from mlopscp_emulator.sagemaker_ext.state import Params, backend_for


def _group(backend: SageMakerModelBackend, name: str) -> Any:
    group = backend.model_package_groups.get(name)
    if group is None:
        raise ValidationError(f"ModelPackageGroup {name} does not exist.")
    return group


def put_model_package_group_policy(backend: SageMakerModelBackend, params: Params) -> dict:
    group = _group(backend, params["ModelPackageGroupName"])
    group.mlopscp_policy = params["ResourcePolicy"]
    return {"ModelPackageGroupArn": group.arn}


def get_model_package_group_policy(backend: SageMakerModelBackend, params: Params) -> dict:
    group = _group(backend, params["ModelPackageGroupName"])
    policy = getattr(group, "mlopscp_policy", None)
    if policy is None:
        raise ValidationError(f"Cannot find resource policy for {group.arn}.")
    return {"ResourcePolicy": policy}


def delete_model_package_group_policy(backend: SageMakerModelBackend, params: Params) -> dict:
    group = _group(backend, params["ModelPackageGroupName"])
    group.mlopscp_policy = None
    return {}


def get_resource_from_arn(original: Callable[..., Any]) -> Callable[..., Any]:
    def get(backend: SageMakerModelBackend, arn: str) -> Any:
        if ":model-package/" in arn:
            package = backend.model_packages.get(arn)
            if package is None:
                raise ValidationError(f"Could not find model package {arn}")
            if getattr(package, "tags", None) is None:
                package.tags = []
            return package
        return original(backend, arn)

    return get


class AccessDeniedError(CommonError):
    code = "AccessDeniedException"  # SageMaker's Common Errors: HTTP 400


def create_model(original: Callable[..., Any]) -> Callable[..., Any]:
    """Cross-account models from the registry need the package group's resource policy."""

    def create(backend: SageMakerModelBackend, **kwargs: Any) -> Any:
        containers = [*(kwargs.get("containers") or []), kwargs.get("primary_container") or {}]
        for container in containers:
            arn = str((container or {}).get("ModelPackageName") or "")
            if arn.startswith("arn:") and arn.split(":")[4] != backend.account_id:
                _check_shared_package(backend.account_id, arn)
        return original(backend, **kwargs)

    return create


def _check_shared_package(caller: str, arn: str) -> None:
    owner = backend_for(arn.split(":")[4], arn.split(":")[3])
    package = owner.model_packages.get(arn)
    if package is None:
        raise ValidationError(f"Model package {arn} does not exist.")
    group = owner.model_package_groups.get(package.model_package_group_name or "")
    policy = json.loads(getattr(group, "mlopscp_policy", None) or "{}")
    if not _policy_allows(policy, caller, "sagemaker:DescribeModelPackage", arn):
        raise AccessDeniedError(
            f"User: arn:aws:iam::{caller}:root is not authorized to perform: "
            f"sagemaker:DescribeModelPackage on resource: {arn} because no resource-based "
            "policy allows the sagemaker:DescribeModelPackage action"
        )


def _policy_allows(policy: dict[str, Any], account: str, action: str, resource: str) -> bool:
    statements = policy.get("Statement") or []
    for statement in statements if isinstance(statements, list) else [statements]:
        principals = (statement.get("Principal") or {}).get("AWS", [])
        principals = [principals] if isinstance(principals, str) else principals
        actions = statement.get("Action") or []
        actions = [actions] if isinstance(actions, str) else actions
        resources = statement.get("Resource") or []
        resources = [resources] if isinstance(resources, str) else resources
        if (
            statement.get("Effect") == "Allow"
            and any(p in ("*", account, f"arn:aws:iam::{account}:root") for p in principals)
            and any(fnmatch.fnmatchcase(action, a) for a in actions)
            and any(fnmatch.fnmatchcase(resource, r) for r in resources)
        ):
            return True
    return False


def create_model_package(original: Callable[..., Any]) -> Callable[..., Any]:
    def create(backend: SageMakerModelBackend, *args: Any, **kwargs: Any) -> Any:
        arn = original(backend, *args, **kwargs)  # moto returns the ARN
        backend.model_packages[arn].tags = list(kwargs.get("tags") or [])
        return arn

    return create


def update_model_package(original: Callable[..., Any]) -> Callable[..., Any]:
    """UpdateModelPackage changes only what it names, as SageMaker does: CustomerMetadataProperties
    are merged into the package's, an absent approval status or description is kept (moto
    replaced all three, dropping what an update did not name)."""

    def update(backend: SageMakerModelBackend, **kwargs: Any) -> Any:
        arn = kwargs["model_package_arn"]
        package = backend.model_packages.get(backend.model_package_name_mapping.get(arn, arn))
        if package is not None:
            kept = dict(package.customer_metadata_properties or {})
            kwargs["customer_metadata_properties"] = kept | (
                kwargs.get("customer_metadata_properties") or {}
            )
            if kwargs.get("model_approval_status") is None:
                kwargs["model_approval_status"] = package.model_approval_status
            if kwargs.get("approval_description") is None:
                kwargs["approval_description"] = package.approval_description
        return original(backend, **kwargs)

    return update
