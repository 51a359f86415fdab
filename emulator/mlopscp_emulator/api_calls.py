"""Every AWS API request the emulator's server answered, counted by service and operation.

Counted where requests arrive (the WSGI app in front of moto's backends), so calls from the
handlers' workers, from the Step Functions interpreter's tasks and from the caller's own clients
are all seen alike. The service is the one the request was signed for (SigV4's credential
scope); the operation is what the protocol names: ``X-Amz-Target`` (JSON protocols), the
``Action`` form field (query protocols), else the REST route (S3, Lambda, ...) as
``METHOD /first-segment`` or ``Invoke`` for a Lambda invocation.

Requests from the emulator's own clients (``Emulator.client``: the caller's set-up and reading
back, event delivery, ``wait_idle``'s polling) carry :data:`OWN_AGENT` in their User-Agent and
are not counted: what is left is what the application's code and state machines called.
"""

from __future__ import annotations

import io
import re
import threading
from collections import Counter
from typing import Any

OWN_AGENT = "mlopscp-emulator/own"
_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/[^/]+/([^/]+)/aws4_request")
_ACTION = re.compile(r"(?:^|&)Action=([A-Za-z0-9]+)")


class ApiCalls:
    """Thread-safe counts of (service, operation); read them as a copy."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[tuple[str, str]] = Counter()

    def add(self, service: str, operation: str) -> None:
        with self._lock:
            self._counts[(service, operation)] += 1

    def counts(self) -> Counter[tuple[str, str]]:
        with self._lock:
            return Counter(self._counts)

    def since(self, before: Counter[tuple[str, str]]) -> Counter[tuple[str, str]]:
        """What was called after `before` (an earlier :meth:`counts`)."""
        return self.counts() - before


def call_of(environ: dict[str, Any]) -> tuple[str, str] | None:
    """(service, operation) of one WSGI request; None for moto's own API, the emulator's own
    clients and unsigned requests."""
    path = str(environ.get("PATH_INFO", ""))
    if path.startswith("/moto-api") or OWN_AGENT in str(environ.get("HTTP_USER_AGENT", "")):
        return None
    scope = _SCOPE.search(str(environ.get("HTTP_AUTHORIZATION", "")))
    if scope is None:
        return None
    service = scope.group(1)
    target = str(environ.get("HTTP_X_AMZ_TARGET", ""))
    if target:
        return service, target.rsplit(".", 1)[-1]
    action = _form_action(environ)
    if action:
        return service, action
    if service == "lambda" and path.rstrip("/").endswith("/invocations"):
        return service, "Invoke"
    segment = path.strip("/").split("/", 1)[0]
    return service, f"{environ.get('REQUEST_METHOD', 'GET')} /{segment}" if segment else "/"


def _form_action(environ: dict[str, Any]) -> str | None:
    """The query protocol's Action, read from the body and put back for moto to read again."""
    if not str(environ.get("CONTENT_TYPE", "")).startswith("application/x-www-form-urlencoded"):
        match = _ACTION.search(str(environ.get("QUERY_STRING", "")))
        return match.group(1) if match else None
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return None
    body = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(body)
    match = _ACTION.search(body.decode("utf-8", "replace"))
    return match.group(1) if match else None
