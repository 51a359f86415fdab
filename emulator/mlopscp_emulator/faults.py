"""Fault injection at the server's front: "fail the next N calls of service:Operation with E".

A fault answers a matching request before moto sees it, in the error shape of the service's
protocol (botocore's service model says which: JSON, query XML, REST XML, RPCv2 CBOR), so every
client, a handler, the Step Functions interpreter's SDK tasks or a test, parses it as it would
AWS's own answer, and its retry logic runs as it would against AWS. A request is matched by the
signing name in its SigV4 scope (service) and the operation the model gives for its
``X-Amz-Target``, ``Action`` or method and URI. Kinds:

``throttling``      the service's throttling code (``ThrottlingException`` / ``Throttling`` /
                    S3 ``SlowDown`` 503)
``access_denied``   ``AccessDeniedException`` / ``AccessDenied`` (403 where the service uses it)
``server_error``    500 ``InternalFailure`` (S3 ``InternalError``)
``limit_exceeded``  the quota refusal botocore's model gives the operation (the first of its
                    error shapes named ``*LimitExceeded*`` or ``*QuotaExceeded*``, else the
                    service's), e.g. SageMaker's ``ResourceLimitExceeded`` 400 when an account
                    runs as many pipeline executions as it may
``timeout``         the connection closes with no response (after ``delay`` seconds): what a
                    client sees when a request dies in flight; botocore raises a connection error
                    (a read timeout when its ``read_timeout`` is below ``delay``)

Where the operation's model names its own error for a kind (SNS Publish's ``AuthorizationError``
403, DynamoDB's ``InternalServerError``, Lambda's ``TooManyRequestsException`` 429), that one is
answered, with the model's HTTP status; otherwise AWS's common error for the protocol.
emulator/tests/test_faithful_errors.py checks every answer against botocore's model.
"""

from __future__ import annotations

import io
import json
import re
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cache
from typing import Any
from urllib.parse import parse_qs

import botocore.session

KINDS = ("throttling", "access_denied", "server_error", "timeout", "limit_exceeded")
_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/[^/]+/([^/]+)/aws4_request")
_QUERY_SCOPE = re.compile(
    r"X-Amz-Credential=[^&/]+(?:/|%2F)\d{8}(?:/|%2F)[^&/%]+(?:/|%2F)([^&/%]+)"
)


@dataclass
class Fault:
    """One injected fault; ``hits`` counts the requests it answered (retries included)."""

    service: str
    operation: str
    kind: str
    times: int | None
    code: str
    status: int
    message: str
    delay: float
    account: str | None
    hits: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def spent(self) -> bool:
        return self.times is not None and self.hits >= self.times

    def take(self) -> bool:
        with self._lock:
            if self.spent:
                return False
            self.hits += 1
            return True


@dataclass(frozen=True)
class _Service:
    name: str
    protocol: str
    json_version: str
    routes: tuple[tuple[str, re.Pattern[str], dict[str, str | None], int, str], ...]
    targets: frozenset[str]


@cache
def _service(name: str) -> _Service:
    model = botocore.session.get_session().get_service_model(name)
    routes = []
    for operation in model.operation_names:
        http = model.operation_model(operation).http
        uri = http.get("requestUri", "/")
        path, _, query = uri.partition("?")
        pattern = re.sub(
            r"\\\{[^}]+\\\+\\\}|\\\{[^}]+\\\}",
            lambda m: ".+" if m.group(0).endswith("\\+\\}") else "[^/]+",
            re.escape(path.rstrip("/") or "/"),
        )
        required = {k: (v or None) for k, _, v in (q.partition("=") for q in query.split("&") if q)}
        weight = len(re.sub(r"\{[^}]+\}", "", path)) + 100 * len(required)
        routes.append(
            (http.get("method", "POST"), re.compile(f"^{pattern}/?$"), required, weight, operation)
        )
    return _Service(
        name,
        model.protocol,
        model.metadata.get("jsonVersion", "1.0"),
        tuple(routes),
        frozenset(model.operation_names),
    )


@cache
def _signing_name(service: str) -> str:
    return str(botocore.session.get_session().get_service_model(service).signing_name)


def operation_of(service: str, environ: dict[str, Any], body: bytes) -> str | None:
    """The operation a request calls, read the way the service's protocol encodes it."""
    model = _service(service)
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        return target.rsplit(".", 1)[-1]
    path = environ.get("PATH_INFO", "")
    if model.protocol == "smithy-rpc-v2-cbor" and "/operation/" in path:
        return path.rsplit("/operation/", 1)[1]
    params = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
    if "Action" in params:
        return params["Action"][0]
    if body and "x-www-form-urlencoded" in environ.get("CONTENT_TYPE", ""):
        form = parse_qs(body.decode("utf-8", "replace"))
        if "Action" in form:
            return form["Action"][0]
    method = environ.get("REQUEST_METHOD", "GET")
    best: tuple[int, str] | None = None
    for verb, pattern, required, weight, operation in model.routes:
        if verb != method or not pattern.match(path):
            continue
        if any(
            k not in params or (v is not None and params[k][0] != v) for k, v in required.items()
        ):
            continue
        if best is None or weight > best[0]:
            best = (weight, operation)
    return best[1] if best else None


def _account_of(environ: dict[str, Any], accounts: Callable[[str], str | None]) -> str | None:
    match = re.search(r"Credential=([^/]+)/", environ.get("HTTP_AUTHORIZATION", ""))
    return accounts(match.group(1)) if match else None


def _cbor_text_map(pairs: dict[str, str]) -> bytes:
    def head(major: int, length: int) -> bytes:
        if length < 24:
            return bytes([major << 5 | length])
        if length < 256:
            return bytes([major << 5 | 24, length])
        return bytes([major << 5 | 25]) + length.to_bytes(2, "big")

    out = head(5, len(pairs))
    for key, value in pairs.items():
        for text in (key, value):
            raw = text.encode()
            out += head(3, len(raw)) + raw
    return out


_DEFAULTS: dict[str, dict[str, tuple[str, int]]] = {
    # kind -> protocol family -> (code, status), as the services answer
    "throttling": {"json": ("ThrottlingException", 400), "query": ("Throttling", 400)},
    "access_denied": {"json": ("AccessDeniedException", 400), "query": ("AccessDenied", 403)},
    "server_error": {"json": ("InternalFailure", 500), "query": ("InternalFailure", 500)},
    "timeout": {"json": ("", 0), "query": ("", 0)},
}
_S3 = {
    "throttling": ("SlowDown", 503),
    "access_denied": ("AccessDenied", 403),
    "server_error": ("InternalError", 500),
    "timeout": ("", 0),
}


# kind -> the codes an operation's model may name for it, the first found answered
_MODELLED = {
    "throttling": (
        "ThrottlingException",
        "Throttling",
        "TooManyRequestsException",
        "RequestThrottled",
        "ThrottledException",
    ),
    "access_denied": ("AccessDeniedException", "AccessDenied", "AuthorizationError"),
    "server_error": (
        "InternalServerError",
        "InternalServerException",
        "InternalError",
        "InternalFailure",
        "InternalServiceError",
        "ServiceException",
        "KMSInternalException",
    ),
}


def limit_error(service: str, operation: str) -> tuple[str, int]:
    """The quota error shape of ``operation`` (``*`` for any) in botocore's model."""
    model = botocore.session.get_session().get_service_model(service)
    shapes = model.operation_model(operation).error_shapes if operation != "*" else []
    shapes = shapes or [model.shape_for(n) for n in model.shape_names]
    for shape in shapes:
        if shape.metadata.get("exception") and (
            "LimitExceeded" in shape.name or "QuotaExceeded" in shape.name
        ):
            error = shape.metadata.get("error", {})
            return str(error.get("code", shape.name)), int(error.get("httpStatusCode", 400))
    raise ValueError(f"{service}:{operation} has no quota error in botocore's model")


def default_error(service: str, kind: str, operation: str = "*") -> tuple[str, int]:
    if service == "s3":
        return _S3[kind]
    family = "query" if _service(service).protocol in ("query", "ec2", "rest-xml") else "json"
    code, status = _DEFAULTS[kind][family]
    if service == "lambda" and kind == "throttling":
        code, status = "TooManyRequestsException", 429
    return _modelled(service, operation, kind) or (code, status)


@cache
def _modelled(service: str, operation: str, kind: str) -> tuple[str, int] | None:
    """The operation's own error for ``kind``, as its model names it (code, HTTP status)."""
    if operation == "*" or kind not in _MODELLED:
        return None
    errors = {}
    for shape in (
        botocore.session.get_session()
        .get_service_model(service)
        .operation_model(operation)
        .error_shapes
    ):
        error = shape.metadata.get("error") or {}
        errors[error.get("code") or shape.name] = error.get("httpStatusCode")
    for code in _MODELLED[kind]:
        if code in errors:
            fallback = 500 if kind == "server_error" else 400
            return code, int(errors[code] or fallback)
    return None


class Faults:
    """The registry the emulator's front consults on every request (``emu.faults``)."""

    def __init__(self, accounts: Callable[[str], str | None] = lambda key: None) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self._accounts = accounts

    def inject(
        self,
        target: str,
        kind: str,
        times: int | None = 1,
        *,
        code: str | None = None,
        status: int | None = None,
        message: str | None = None,
        delay: float = 0.0,
        account: str | None = None,
    ) -> Fault:
        """Fail the next ``times`` calls (``None``: every call until cleared) of ``target``,
        ``"service:Operation"`` with the service as boto3 names it (``"sagemaker:UpdateEndpoint"``,
        ``"s3:GetObject"``; ``"sns:*"`` for any operation), with a fault of ``kind``. ``code``,
        ``status`` and ``message`` override the kind's defaults; ``account`` limits it to calls
        signed with that account's credentials."""
        if kind not in KINDS:
            raise ValueError(f"fault kind {kind!r} is not one of {', '.join(KINDS)}")
        service, _, operation = target.partition(":")
        model = _service(service)  # an unknown service raises botocore's UnknownServiceError
        if operation != "*" and operation not in model.targets:
            raise ValueError(f"{service} has no operation {operation!r}")
        default_code, default_status = (
            limit_error(service, operation)
            if kind == "limit_exceeded"
            else default_error(service, kind, operation)
        )
        fault = Fault(
            service=service,
            operation=operation,
            kind=kind,
            times=times,
            code=code or default_code,
            status=status or default_status,
            message=message or f"Injected {kind} fault ({service}:{operation})",
            delay=delay,
            account=account,
        )
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    @property
    def active(self) -> list[Fault]:
        with self._lock:
            return [f for f in self._faults if not f.spent]

    def match(self, environ: dict[str, Any], body: bytes) -> Fault | None:
        faults = self.active
        if not faults:
            return None
        auth = environ.get("HTTP_AUTHORIZATION", "")
        scope = _SCOPE.search(auth) or _QUERY_SCOPE.search(environ.get("QUERY_STRING", ""))
        if scope is None:
            return None
        account = None
        for fault in faults:
            if _signing_name(fault.service) != scope.group(1):
                continue
            if (
                fault.operation != "*"
                and operation_of(fault.service, environ, body) != fault.operation
            ):
                continue
            if fault.account is not None:
                account = account or _account_of(environ, self._accounts)
                if account != fault.account:
                    continue
            if fault.take():
                return fault
        return None


class FaultFront:
    """WSGI middleware in front of moto's dispatcher."""

    def __init__(self, app: Callable[..., Iterable[bytes]], faults: Faults) -> None:
        self.app = app
        self.faults = faults

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        if not self.faults.active or environ.get("PATH_INFO", "").startswith("/moto-api"):
            return self.app(environ, start_response)
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        fault = self.faults.match(environ, body)
        if fault is None:
            return self.app(environ, start_response)
        if fault.delay:
            time.sleep(fault.delay)
        if fault.kind == "timeout":
            connection = environ.get("werkzeug.socket")
            if connection is not None:
                connection.shutdown(socket.SHUT_RDWR)
            raise ConnectionAbortedError(fault.message)  # werkzeug drops the request quietly
        status, headers, payload = error_response(fault, _protocol_of(fault.service, environ))
        start_response(status, headers)
        return [payload]


def _protocol_of(service: str, environ: dict[str, Any]) -> str:
    """The protocol the client spoke (a service may offer several, e.g. CloudWatch)."""
    if environ.get("HTTP_SMITHY_PROTOCOL") == "rpc-v2-cbor":
        return "smithy-rpc-v2-cbor"
    if environ.get("HTTP_X_AMZ_TARGET"):
        return "json"
    if "x-www-form-urlencoded" in environ.get("CONTENT_TYPE", "") or "Action=" in environ.get(
        "QUERY_STRING", ""
    ):
        return "query"
    return _service(service).protocol


def error_response(fault: Fault, protocol: str) -> tuple[str, list[tuple[str, str]], bytes]:
    request_id = str(uuid.uuid4())
    model = _service(fault.service)
    status = f"{fault.status} Injected"
    headers = [("x-amzn-RequestId", request_id), ("x-amz-request-id", request_id)]
    if protocol == "rest-xml":
        body = (
            f"<?xml version='1.0' encoding='UTF-8'?><Error><Code>{fault.code}</Code>"
            f"<Message>{fault.message}</Message><RequestId>{request_id}</RequestId></Error>"
        ).encode()
        return status, [*headers, ("Content-Type", "application/xml")], body
    if protocol in ("query", "ec2"):
        kind = "Receiver" if fault.status >= 500 else "Sender"
        body = (
            f"<ErrorResponse><Error><Type>{kind}</Type><Code>{fault.code}</Code>"
            f"<Message>{fault.message}</Message></Error><RequestId>{request_id}</RequestId>"
            "</ErrorResponse>"
        ).encode()
        return status, [*headers, ("Content-Type", "text/xml")], body
    if protocol == "smithy-rpc-v2-cbor":
        body = _cbor_text_map({"__type": fault.code, "message": fault.message})
        return (
            status,
            [*headers, ("Content-Type", "application/cbor"), ("smithy-protocol", "rpc-v2-cbor")],
            body,
        )
    content_type = (
        f"application/x-amz-json-{model.json_version}" if protocol == "json" else "application/json"
    )
    body = json.dumps({"__type": fault.code, "message": fault.message}).encode()
    return (
        status,
        [*headers, ("Content-Type", content_type), ("x-amzn-ErrorType", fault.code)],
        body,
    )
