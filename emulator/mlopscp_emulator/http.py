"""An HTTP front for the stack's Lambda Function URLs, on loopback.

moto has no HTTP front door for Function URLs (nor for API Gateway HTTP APIs). This module
gives each ``AWS::Lambda::Url`` of a deployed stack its own server on ``127.0.0.1:<free port>``
(a Function URL is the root of its own host) and turns each request into what Lambda hands the
function, the payload format 2.0 event, then invokes the real handler through the Lambda API,
so the emulator's router runs it like any other invoke (trace, logs, workers):

- ``version`` 2.0, ``routeKey`` ``$default``, ``rawPath``, ``rawQueryString``,
  ``queryStringParameters`` (repeated keys joined with commas), ``headers`` (names lower-case,
  repeated values joined with commas), ``cookies``, ``requestContext`` (``accountId``
  ``anonymous`` as for AuthType NONE, ``apiId``/``domainPrefix`` the URL id, ``domainName``,
  ``http`` {method, path, protocol, sourceIp, userAgent}, ``requestId``, ``time``,
  ``timeEpoch``), ``body`` and ``isBase64Encoded``. Bodies whose content type is not text
  (``text/*``, JSON, XML, JavaScript) arrive base64-encoded, as Lambda sends them (a form post
  arrives base64-encoded).
- The response follows Lambda's rules: a dict with ``statusCode`` gives the status, headers,
  ``cookies`` (Set-Cookie) and the body (decoded when ``isBase64Encoded``); any other result
  is returned as JSON with status 200; a function error is a 502.

The URL reaches the stack through CloudFormation (``!GetAtt <Url>.FunctionUrl``, see
:mod:`mlopscp_emulator.cfn_ext`) and through ``emu.http_url(logical_id)``. Only Function URLs
with ``InvokeMode: BUFFERED`` are served; IAM auth (``AWS_IAM``) is not checked.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

Invoke = Callable[[str, dict[str, Any]], tuple[Any, bool]]  # (function ARN, event) -> result, error
TEXT_TYPES = ("text/", "application/json", "application/xml", "application/javascript")
TEXT_SUFFIXES = ("+json", "+xml")


@dataclass
class _Served:
    function_arn: str
    url_id: str
    server: ThreadingHTTPServer

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/"


class HttpFront:
    """One loopback server per Function URL; ``invoke`` runs the function synchronously."""

    def __init__(self, invoke: Invoke, account: str, region: str) -> None:
        self._invoke = invoke
        self._account = account
        self._region = region
        self._served: dict[str, _Served] = {}
        self._lock = threading.Lock()

    def serve(self, function_arn: str) -> str:
        """Start (once) the server of a function's URL; return the URL (ends with ``/``)."""
        with self._lock:
            if function_arn not in self._served:
                url_id = uuid.uuid4().hex[:32]
                server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler(function_arn, url_id))
                server.daemon_threads = True
                threading.Thread(
                    target=server.serve_forever, daemon=True, name=f"function-url-{url_id[:8]}"
                ).start()
                self._served[function_arn] = _Served(function_arn, url_id, server)
            return self._served[function_arn].url

    def url(self, function_arn: str) -> str | None:
        served = self._served.get(function_arn)
        return served.url if served else None

    def stop(self, function_arn: str) -> None:
        with self._lock:
            served = self._served.pop(function_arn, None)
        if served:
            served.server.shutdown()
            served.server.server_close()

    def close(self) -> None:
        for arn in list(self._served):
            self.stop(arn)

    def _handler(self, function_arn: str, url_id: str) -> type[BaseHTTPRequestHandler]:
        front = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                event = front.event(self, body, url_id)
                result, failed = front._invoke(function_arn, event)
                status, headers, payload = response_of(result, failed)
                self.send_response(status)
                for name, value in headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)

            # http.server dispatches on these names.
            do_GET = do_POST = do_PUT = do_PATCH = _serve  # noqa: N815
            do_DELETE = do_HEAD = do_OPTIONS = _serve  # noqa: N815

            def log_message(self, format: str, *args: Any) -> None:
                pass  # the function's own logs say what happened

        return Handler

    def event(self, request: BaseHTTPRequestHandler, body: bytes, url_id: str) -> dict[str, Any]:
        """The payload format 2.0 event Lambda builds for a Function URL request."""
        parts = urlsplit(request.path)
        headers: dict[str, str] = {}
        for name, value in request.headers.items():
            key = name.lower()
            headers[key] = f"{headers[key]},{value}" if key in headers else value
        cookies = [c.strip() for c in headers.pop("cookie", "").split(";") if c.strip()]
        now = datetime.now(UTC)
        content_type = headers.get("content-type", "").lower()
        is_text = content_type.startswith(TEXT_TYPES) or content_type.split(";")[0].endswith(
            TEXT_SUFFIXES
        )
        event: dict[str, Any] = {
            "version": "2.0",
            "routeKey": "$default",
            "rawPath": parts.path or "/",
            "rawQueryString": parts.query,
            "headers": headers,
            "requestContext": {
                "accountId": "anonymous",
                "apiId": url_id,
                "domainName": f"{url_id}.lambda-url.{self._region}.on.aws",
                "domainPrefix": url_id,
                "http": {
                    "method": request.command,
                    "path": parts.path or "/",
                    "protocol": request.request_version,
                    "sourceIp": request.client_address[0],
                    "userAgent": headers.get("user-agent", ""),
                },
                "requestId": str(uuid.uuid4()),
                "routeKey": "$default",
                "stage": "$default",
                "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
                "timeEpoch": int(time.time() * 1000),
            },
            "isBase64Encoded": False,
        }
        if parts.query:
            query = parse_qs(parts.query, keep_blank_values=True)
            event["queryStringParameters"] = {k: ",".join(v) for k, v in query.items()}
        if cookies:
            event["cookies"] = cookies
        if body:
            if is_text:
                event["body"] = body.decode("utf-8", errors="replace")
            else:
                event["body"] = base64.b64encode(body).decode()
                event["isBase64Encoded"] = True
        return event


def response_of(result: Any, failed: bool) -> tuple[int, list[tuple[str, str]], bytes]:
    """Lambda's Function URL response rules, from the handler's result."""
    if failed:
        return 502, [("Content-Type", "application/json")], b'{"Message":"Internal Server Error"}'
    if not (isinstance(result, dict) and "statusCode" in result):
        return 200, [("Content-Type", "application/json")], json.dumps(result).encode()
    headers = [(str(k), str(v)) for k, v in (result.get("headers") or {}).items()]
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers += [(str(name), str(v)) for v in values]
    headers += [("Set-Cookie", str(c)) for c in result.get("cookies") or []]
    body = result.get("body") or ""
    payload = base64.b64decode(body) if result.get("isBase64Encoded") else str(body).encode()
    if not any(k.lower() == "content-type" for k, _ in headers):
        headers.append(("Content-Type", "application/json"))
    return int(result["statusCode"]), headers, payload
