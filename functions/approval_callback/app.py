"""The approvals' public door (a Lambda Function URL): Slack interactions and emailed links.

- ``POST /slack/interactions``: verify Slack's signature (slack_sdk SignatureVerifier, 5-minute
  window), drop redeliveries, hand the click to the decider asynchronously and answer 200 at
  once, well inside Slack's 3 seconds.
- ``GET /approvals/{id}/{approve|reject}``: check the link's HMAC and expiry, show a
  confirmation page. A GET decides nothing, so link previews and mail scanners are harmless.
- ``POST /approvals/{id}/{approve|reject}``: the page's form; the decider records the decision.

This function cannot resolve a task itself (no KMS Decrypt, no SendTaskSuccess): only the
decider can, after its own checks. Every refused request is recorded as
``approval_rejected_request``.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import LambdaFunctionUrlResolver, Response
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from mlops_core import approval_pages as pages
from mlops_core.approvals import (
    Action,
    InteractionError,
    LinkClaim,
    Status,
    iso,
    link_refusal,
    parse_slack_click,
    slack_timestamp_problem,
)
from mlops_runtime import settings
from mlops_runtime.approval_channels import secret_text
from mlops_runtime.approvals import ApprovalStore, record_refusal, silence_sdk_debug_logs
from mlops_runtime.aws import client, translated_errors
from mlops_runtime.link_keys import LinkKeys
from mlops_runtime.store import Ledger
from pydantic import Field


class Settings(settings.FunctionSettings):
    approval_table: str = Field(min_length=3)
    approval_decider_function: str = Field(min_length=1)
    approval_link_key_secret_arn: str = Field("", description="HMAC key of emailed links")
    slack_signing_secret_arn: str = Field("", description="empty: Slack interactions refused")


SETTINGS = settings.load(Settings)
silence_sdk_debug_logs()
logger = Logger()
metrics = Metrics()
ledger = Ledger(SETTINGS.ledger_table)
store = ApprovalStore(SETTINGS.approval_table)
link_keys = LinkKeys(SETTINGS.approval_link_key_secret_arn)
app = LambdaFunctionUrlResolver()
# Pages carry signed links in their URL: never leak them in a Referer, never cache or frame them.
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)


@app.post("/slack/interactions")
def slack_interaction() -> Response:
    body = _text_body()
    if body is None:
        return _refuse_slack("", "the body is not valid UTF-8", status=400)
    headers = app.current_event.headers
    problem = slack_timestamp_problem(headers.get("x-slack-request-timestamp"), time.time())
    if not problem and not SETTINGS.slack_signing_secret_arn:
        problem = "Slack interactivity is not configured (no signing secret)"
    if not problem and not _slack_signature_valid(body, headers):
        problem = "signature does not match (forged or altered request)"
    if problem:
        return _refuse_slack(body, problem, status=401)
    try:
        click = parse_slack_click(body)
    except InteractionError as error:
        logger.info("interaction ignored", extra={"reason": str(error)})
        metrics.add_metric(name="SlackInteractionsIgnored", unit=MetricUnit.Count, value=1)
        return Response(200, "text/plain", "")
    if store.seen(click.key):
        return _refuse_slack(body, "replayed: this interaction was already received")
    try:
        with translated_errors():
            client("lambda").invoke(
                FunctionName=SETTINGS.approval_decider_function,
                InvocationType="Event",  # Slack wants its answer in 3 s; the decider may take more
                # The request as Slack signed it: the decider checks the signature itself.
                Payload=json.dumps(
                    {
                        "channel": "slack",
                        "body": body,
                        "timestamp": headers.get("x-slack-request-timestamp", ""),
                        "signature": headers.get("x-slack-signature", ""),
                    }
                ).encode(),
            )
    except Exception as error:
        # Not handed over, not marked as seen: Slack shows the error, and its retry (or the
        # person's next click) is processed rather than refused as a replay.
        logger.error("hand-off to the decider failed", extra={"error": type(error).__name__})
        return Response(503, "text/plain", "the answer could not be handed over; try again")
    store.remember(click.key, datetime.now(UTC))
    metrics.add_metric(name="SlackAnswersAccepted", unit=MetricUnit.Count, value=1)
    return Response(200, "text/plain", "")


def _slack_signature_valid(body: str, headers: dict[str, str]) -> bool:
    from slack_sdk.signature import SignatureVerifier

    verifier = SignatureVerifier(secret_text(SETTINGS.slack_signing_secret_arn))
    return verifier.is_valid_request(body, headers)


def _refuse_slack(body: str, why: str, status: int = 200) -> Response:
    """Record what the request claimed (unverified: never trusted, only kept as evidence)."""
    try:
        claimed = parse_slack_click(body)
        claimed_id, claimed_by = claimed.approval_id, claimed.user_id
    except InteractionError:
        claimed_id, claimed_by = "", ""
    approval = store.get(claimed_id) if claimed_id else None
    record_refusal(ledger, approval, claimed_id, "slack", why, claimed_by)
    metrics.add_metric(name="ApprovalRequestsRefused", unit=MetricUnit.Count, value=1)
    logger.warning("Slack request refused", extra={"why": why, "claimed_by": claimed_by[:100]})
    return Response(status, "text/plain", "" if status == 200 else "refused")


@app.get("/approvals/<approval_id>/<action>")
def link_page(approval_id: str, action: str) -> Response:
    query = app.current_event.query_string_parameters or {}
    claim = _claim(approval_id, action, query)
    if refused := _check_link(claim):
        return refused
    approval = store.get(approval_id)
    if approval is None:
        return _page(404, pages.result_page("Not found", "There is no such approval."))
    view = _view(approval)
    metrics.add_metric(name="ApprovalPagesShown", unit=MetricUnit.Count, value=1)
    if approval.status != Status.PENDING:
        return _page(200, pages.status_page(view))
    hidden = {"approver": claim.approver, "expires": claim.expires, "sig": claim.signature}
    if claim.key_id:
        hidden["kid"] = claim.key_id
    return _page(200, pages.confirmation_page(view, Action(action), claim.approver, hidden))


@app.post("/approvals/<approval_id>/<action>")
def link_confirm(approval_id: str, action: str) -> Response:
    body = _text_body()
    if body is None:
        return _refuse_link(_claim(approval_id, action, {}), "the body is not valid UTF-8", 400)
    form = {k: v[0] for k, v in parse_qs(body).items()}
    claim = _claim(approval_id, action, form)
    if refused := _check_link(claim):
        return refused
    if form.get("confirm") != action:
        return _page(400, pages.result_page("Not confirmed", "Use the button on the page."))
    attempt_id = f"email:{uuid.uuid4()}"  # each POST is a new attempt: reuse is refused
    result = _decide(
        {
            "channel": "email",  # the link itself: the decider checks its HMAC again
            "approval_id": approval_id,
            "action": action,
            "approver": claim.approver,
            "expires": claim.expires,
            "sig": claim.signature,
            "kid": claim.key_id,
            "reason": form.get("reason", "").strip()[:500],
            "attempt_id": attempt_id,
        },
        attempt_id,
    )
    if result.get("status") == "recorded":
        verb = str(Action(action).outcome)
        message = f"Recorded: {verb} by {claim.approver} at {iso(datetime.now(UTC))}."
        if result.get("delivery") == "pending":
            message += (
                " The workflow has not received it yet; the control plane delivers it, retrying"
                " every 5 minutes. There is nothing more to do."
            )
        return _page(200, pages.result_page(f"Thank you: {verb}", message))
    why = str(result.get("why", "not recorded"))
    return _page(409, pages.result_page("Not recorded", f"Nothing was changed: {why}."))


def _claim(approval_id: str, action: str, fields: dict[str, str]) -> LinkClaim:
    return LinkClaim(
        approval_id=approval_id,
        action=action,
        approver=fields.get("approver", ""),
        expires=fields.get("expires", ""),
        signature=fields.get("sig", ""),
        key_id=fields.get("kid", ""),
    )


def _check_link(claim: LinkClaim) -> Response | None:
    if not link_keys.configured:
        return _refuse_link(claim, "emailed links are not configured")
    now = datetime.now(UTC)
    why = link_refusal(link_keys.accepted(now, claim.key_id), claim, now)
    return _refuse_link(claim, why) if why else None


def _refuse_link(claim: LinkClaim, why: str, status: int = 403) -> Response:
    approval = store.get(claim.approval_id)
    record_refusal(ledger, approval, claim.approval_id, "email", why, claim.approver)
    metrics.add_metric(name="ApprovalRequestsRefused", unit=MetricUnit.Count, value=1)
    logger.warning("link refused", extra={"why": why})
    return _page(status, pages.result_page("This link cannot be used", f"{why.capitalize()}."))


def _text_body() -> str | None:
    """The request body as text; None when it is not UTF-8 (a refusal, never a crash)."""
    event = app.current_event
    raw = event.get("body") or ""
    try:
        data = base64.b64decode(raw, validate=True) if event.is_base64_encoded else raw.encode()
        return data.decode("utf-8")
    except (ValueError, UnicodeError):
        return None


def _decide(request: dict[str, Any], attempt_id: str) -> dict[str, Any]:
    """The decider's answer; if it failed, what the approval says happened to this attempt."""
    try:
        with translated_errors():
            response = client("lambda").invoke(
                FunctionName=SETTINGS.approval_decider_function,
                Payload=json.dumps(request).encode(),
            )
        payload = json.loads(response["Payload"].read() or b"{}")
        if not response.get("FunctionError"):
            return dict(payload)
        logger.error("decider failed", extra={"error": payload.get("errorType")})
    except Exception as error:
        logger.error("decider unreachable", extra={"error": type(error).__name__})
    approval = store.get(str(request["approval_id"]))
    if approval is not None and approval.decision_id == attempt_id:
        return {"status": "recorded", "delivery": "pending" if approval.delivery else "delivered"}
    return {"status": "refused", "why": "the decision could not be recorded; try again"}


def _view(approval: Any) -> pages.ApprovalView:
    decided = {"decided_by": approval.decided_by or "", "decided_at": approval.decided_at or ""}
    return pages.ApprovalView(
        approval_id=approval.approval_id,
        request=approval.request,
        deadline=iso(approval.deadline),
        status=approval.status,
        decided=decided,
    )


def _page(status: int, html: str) -> Response:
    return Response(status, "text/html; charset=utf-8", html, headers=PAGE_HEADERS)
