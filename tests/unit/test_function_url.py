"""The Function URL router: Lambda's 2.0 event in, its result out (mlops_runtime.function_url)."""

from __future__ import annotations

import json
from typing import Any

from mlops_runtime.function_url import Request, Response, Router


def url_event(method: str, path: str, **extra: Any) -> dict[str, Any]:
    return {
        "version": "2.0",
        "rawPath": path,
        "requestContext": {"http": {"method": method, "path": path}},
        **extra,
    }


def router() -> tuple[Router, list[tuple[str, Request, dict[str, str]]]]:
    app, calls = Router(), []

    @app.get("/approvals/<approval_id>/<action>")
    def page(request: Request, approval_id: str, action: str) -> Response:
        calls.append(("page", request, {"approval_id": approval_id, "action": action}))
        return Response(200, "text/html", "<p>page</p>", {"Cache-Control": "no-store"})

    @app.post("/approvals/<approval_id>/<action>")
    def confirm(request: Request, approval_id: str, action: str) -> Response:
        calls.append(("confirm", request, {"approval_id": approval_id, "action": action}))
        return Response(303, "text/plain", "")

    @app.post("/slack/interactions")
    def slack(request: Request) -> Response:
        calls.append(("slack", request, {}))
        return Response(200, "text/plain", "")

    return app, calls


def test_a_route_gets_the_request_and_its_path_parameters() -> None:
    app, calls = router()
    result = app.resolve(
        url_event(
            "GET",
            "/approvals/ap-1/approve",
            headers={"Content-Type": "text/plain", "x-slack-signature": "v0=1"},
            queryStringParameters={"approver": "ana", "sig": "abc"},
        )
    )
    assert result == {
        "statusCode": 200,
        "headers": {"Content-Type": "text/html", "Cache-Control": "no-store"},
        "body": "<p>page</p>",
    }
    [(name, request, parameters)] = calls
    assert (name, parameters) == ("page", {"approval_id": "ap-1", "action": "approve"})
    assert request.query == {"approver": "ana", "sig": "abc"}
    assert request.headers == {"content-type": "text/plain", "x-slack-signature": "v0=1"}


def test_the_method_chooses_between_routes_of_one_path() -> None:
    app, calls = router()
    result = app.resolve(
        url_event("post", "/approvals/ap-1/reject", body="Y29uZmlybQ==", isBase64Encoded=True)
    )
    assert result["statusCode"] == 303
    [(name, request, _)] = calls
    assert name == "confirm"
    assert (request.body, request.is_base64_encoded) == ("Y29uZmlybQ==", True)


def test_an_unknown_path_is_404_and_calls_nothing() -> None:
    app, calls = router()
    for path in (
        "/nope",
        "/approvals/ap-1",
        "/approvals/ap-1/approve/extra",
        "/slack/interactions/",
    ):
        result = app.resolve(url_event("GET", path))
        assert result["statusCode"] == 404, path
        assert json.loads(result["body"]) == {"message": "Not found"}
    assert calls == []


def test_a_known_path_with_another_method_is_405_naming_the_allowed_ones() -> None:
    app, calls = router()
    result = app.resolve(url_event("DELETE", "/approvals/ap-1/approve"))
    assert result["statusCode"] == 405
    assert result["headers"]["Allow"] == "GET, POST"
    assert app.resolve(url_event("GET", "/slack/interactions"))["headers"]["Allow"] == "POST"
    assert calls == []


def test_a_route_pattern_is_literal_except_its_parameters() -> None:
    app, calls = Router(), []

    @app.get("/a.b/<x>")
    def dotted(request: Request, x: str) -> Response:
        calls.append(x)
        return Response(200, "text/plain", x)

    assert app.resolve(url_event("GET", "/aXb/1"))["statusCode"] == 404
    assert app.resolve(url_event("GET", "/a.b/1"))["body"] == "1"
    assert calls == ["1"]


def test_an_event_without_optional_fields_still_routes() -> None:
    app, calls = router()
    result = app.resolve(
        {"rawPath": "/slack/interactions", "requestContext": {"http": {"method": "POST"}}}
    )
    assert result["statusCode"] == 200
    [(_, request, _)] = calls
    assert (request.body, request.headers, request.query) == ("", {}, {})
