"""The one place AWS clients are built: lazily, once per execution environment.

Endpoints come from the environment (``AWS_ENDPOINT_URL`` locally, nothing in AWS), so handlers
never know whether they run in Lambda or on the embedded emulator.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any, TypeVar

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectionError, HTTPClientError
from mlops_core.errors import ThrottlingError, TransientAwsError

# Standard retry mode: exponential backoff with jitter and a client-side retry quota.
_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 4}, connect_timeout=5, read_timeout=20
)
_THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "ProvisionedThroughputExceededException",
        "RequestThrottled",
        "SlowDown",
        "LimitExceededException",
    }
)
_ASSUMED: dict[tuple[str, str, str], tuple[float, dict[str, str]]] = {}
_ASSUMED_CLIENTS: dict[tuple[str, str, str, str], tuple[float, Any]] = {}
_LOCK = threading.Lock()
T = TypeVar("T")


@cache
def client(service: str) -> Any:
    return boto3.client(service, config=_CONFIG)  # type: ignore[call-overload]


@cache
def resource(service: str) -> Any:
    return boto3.resource(service, config=_CONFIG)  # type: ignore[call-overload]


def assumed_client(service: str, role_arn: str, external_id: str, session_name: str) -> Any:
    """A client acting in another account through an assumed role. The credentials, and the
    clients built on them, are kept until five minutes before the credentials expire."""
    key = (role_arn, external_id, session_name)
    with _LOCK:
        expires, credentials = _ASSUMED.get(key, (0.0, {}))
        if expires - time.time() < 300:
            response = client("sts").assume_role(
                RoleArn=role_arn,
                RoleSessionName=session_name[:64],
                ExternalId=external_id,
                DurationSeconds=3600,
            )
            raw = response["Credentials"]
            credentials = {
                "aws_access_key_id": raw["AccessKeyId"],
                "aws_secret_access_key": raw["SecretAccessKey"],
                "aws_session_token": raw["SessionToken"],
            }
            expires = raw["Expiration"].timestamp()
            _ASSUMED[key] = (expires, credentials)
        built_at, built = _ASSUMED_CLIENTS.get((service, *key), (None, None))
        if built_at != expires:
            built = boto3.client(service, config=_CONFIG, **credentials)  # type: ignore[call-overload]
            _ASSUMED_CLIENTS[(service, *key)] = (expires, built)
    return built


def clear_cached_clients() -> None:
    """Forget every client and assumed credential (tests start each fake AWS afresh)."""
    client.cache_clear()
    resource.cache_clear()
    with _LOCK:
        _ASSUMED.clear()
        _ASSUMED_CLIENTS.clear()


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def missing(error: ClientError) -> bool:
    """SageMaker says "does not exist" with ValidationException, ResourceNotFound, ..."""
    message = str(error.response.get("Error", {}).get("Message", "")).lower()
    return error_code(error) in ("ResourceNotFound", "ResourceNotFoundException") or (
        error_code(error) == "ValidationException"
        and ("could not find" in message or "does not exist" in message)
    )


@contextmanager
def translated_errors() -> Iterator[None]:
    """Turn retryable AWS failures into the exception names the state machines retry on."""
    try:
        yield
    except ClientError as error:
        code = error_code(error)
        if code in _THROTTLING_CODES:
            raise ThrottlingError(f"AWS throttled the call: {code}") from error
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        if status >= 500:
            raise TransientAwsError(f"AWS failed with {status} {code}") from error
        raise
    except (ConnectionError, HTTPClientError) as error:
        # HTTPClientError: a read timeout, or a connection closed before any answer came.
        raise TransientAwsError(f"AWS unreachable: {error}") from error


def paginate(service: str, operation: str, key: str, **kwargs: Any) -> Iterator[Any]:
    for page in client(service).get_paginator(operation).paginate(**kwargs):
        yield from page.get(key, [])


def retried[T](call: Callable[[], T]) -> T:
    with translated_errors():
        return call()
