"""Where the extension keeps what moto's SageMaker classes do not: collections on moto's backend
(per account and region, so ``/moto-api/reset`` clears them) and attributes on moto's objects,
which moto serialises by name."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from moto.sagemaker.exceptions import ResourceNotFound
from moto.sagemaker.models import SageMakerModelBackend, sagemaker_backends

DEFAULT_REGION = "us-east-1"
Params = dict[str, Any]  # a request's parameters, as moto parsed them


def collection(backend: SageMakerModelBackend, name: str) -> dict[str, Any]:
    """A per-backend store moto does not have (reset with the backend)."""
    return backend.__dict__.setdefault(f"mlopscp_{name}", {})


def member(backend: SageMakerModelBackend, name: str, key: str, missing: str) -> Any:
    """``collection(backend, name)[key]``, or AWS's ResourceNotFound saying `missing`."""
    found = collection(backend, name).get(key)
    if found is None:
        raise ResourceNotFound(missing)
    return found


def backend_for(account_id: str, region: str) -> SageMakerModelBackend:
    return sagemaker_backends[account_id][region]


def put(resource: Any, **attributes: Any) -> None:
    """Set attributes moto's classes do not declare; moto serialises them by name. A time is
    kept as moto keeps its own, naive UTC: an aware one breaks moto's sorts and filters (its
    ListEndpoints compares creation times)."""
    vars(resource).update(
        {
            name: value.astimezone(UTC).replace(tzinfo=None)
            if isinstance(value, datetime) and value.tzinfo is not None
            else value
            for name, value in attributes.items()
        }
    )


def without_none(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


def utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
