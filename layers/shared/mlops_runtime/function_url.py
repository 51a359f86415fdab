"""Routing a Lambda Function URL request (payload format 2.0) to the function that answers it.

The approval callback has three routes. Powertools' ``event_handler`` would route them, but
importing it loads every resolver it has (API Gateway, AppSync, Bedrock agents, VPC Lattice)
and asyncio: about 24 ms of CPU on every cold start (docs/cold-start.md). The event and the
response are Lambda's (docs.aws.amazon.com/lambda/latest/dg/urls-invocation.html): the method
and path in ``requestContext.http`` and ``rawPath``, header names lower-case, repeated query
keys joined with commas, a body base64-encoded when ``isBase64Encoded``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

# "<name>" in a route matches one path segment, like Powertools' dynamic routes.
_PARAMETER = re.compile(r"<(\w+)>")


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: Mapping[str, str]  # names lower-case
    query: Mapping[str, str]
    body: str  # as Lambda sent it: base64 when is_base64_encoded
    is_base64_encoded: bool

    @classmethod
    def of(cls, event: Mapping[str, Any]) -> Request:
        http = (event.get("requestContext") or {}).get("http") or {}
        return cls(
            method=str(http.get("method", "")).upper(),
            path=str(event.get("rawPath") or http.get("path") or "/"),
            headers={str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()},
            query=dict(event.get("queryStringParameters") or {}),
            body=str(event.get("body") or ""),
            is_base64_encoded=bool(event.get("isBase64Encoded")),
        )


@dataclass(frozen=True)
class Response:
    status: int
    content_type: str
    body: str
    headers: Mapping[str, str] = field(default_factory=dict)

    def to_result(self) -> dict[str, Any]:
        """The function's result, which Lambda turns into the HTTP response."""
        headers = {"Content-Type": self.content_type, **self.headers}
        return {"statusCode": self.status, "headers": headers, "body": self.body}


Route = Callable[..., Response]


class Router:
    def __init__(self) -> None:
        self._routes: list[tuple[str, re.Pattern[str], Route]] = []

    def get(self, path: str) -> Callable[[Route], Route]:
        return self._add("GET", path)

    def post(self, path: str) -> Callable[[Route], Route]:
        return self._add("POST", path)

    def _add(self, method: str, path: str) -> Callable[[Route], Route]:
        parts = _PARAMETER.split(path)  # literal, name, literal, name, ..., literal
        pattern = re.compile(
            "".join(f"(?P<{p}>[^/]+)" if i % 2 else re.escape(p) for i, p in enumerate(parts))
        )

        def register(function: Route) -> Route:
            self._routes.append((method, pattern, function))
            return function

        return register

    def resolve(self, event: Mapping[str, Any]) -> dict[str, Any]:
        """Calls the route's function with the request and the path's parameters; 404 for an
        unknown path, 405 (with ``Allow``) for a known path asked with another method."""
        request = Request.of(event)
        allowed = []
        for method, pattern, function in self._routes:
            match = pattern.fullmatch(request.path)
            if match and method == request.method:
                return function(request, **match.groupdict()).to_result()
            if match:
                allowed.append(method)
        if allowed:
            message, headers = "Method not allowed", {"Allow": ", ".join(allowed)}
            answer = Response(405, "application/json", json.dumps({"message": message}), headers)
        else:
            answer = Response(404, "application/json", json.dumps({"message": "Not found"}))
        return answer.to_result()
