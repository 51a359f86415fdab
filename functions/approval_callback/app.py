"""The approvals' public door (a Lambda Function URL): Slack interactions and emailed links.

- ``POST /slack/interactions``: verify Slack's signature (5-minute window), drop redeliveries,
  hand the click to the decider asynchronously and answer 200 at once (Slack allows 3 s).
- ``GET /approvals/{id}/{approve|reject}``: check the link's HMAC and expiry, show a
  confirmation page. A GET decides nothing, so link previews and mail scanners are harmless.
- ``POST /approvals/{id}/{approve|reject}``: the page's form; the decider records the decision.
- ``GET /approvals/{id}/view``: the read-only evidence page (its link can never decide).

Only the decider acts (no KMS, SendTaskSuccess or incident write here); incident buttons too.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from mlops_core import approval_pages as pages
from mlops_core.approvals import VIEW_PURPOSE, Action, LinkClaim
from mlops_runtime import settings
from mlops_runtime.approval_door import ApprovalDoor, Receipt, body_text
from mlops_runtime.approvals import ApprovalStore, silence_sdk_debug_logs
from mlops_runtime.function_url import Request, Response, Router
from mlops_runtime.link_keys import LinkKeys
from mlops_runtime.store import Ledger
from pydantic import Field


class Settings(settings.ApprovalSettings):
    approval_decider_function: str = Field(min_length=1)
    approval_link_key_secret_arn: str = Field("", description="HMAC key of emailed links")
    slack_signing_secret_arn: str = Field("", description="empty: Slack interactions refused")


SETTINGS = settings.load(Settings)
silence_sdk_debug_logs()
logger = Logger()
metrics = Metrics()
door = ApprovalDoor(
    ApprovalStore(SETTINGS.approval_table),
    Ledger(SETTINGS.ledger_table),
    LinkKeys(SETTINGS.approval_link_key_secret_arn),
    SETTINGS.approval_decider_function,
    SETTINGS.slack_signing_secret_arn,
    SETTINGS.state_table,
)
app = Router()
SLACK_METRICS = {
    Receipt.HANDED_OVER: "SlackAnswersAccepted",
    Receipt.IGNORED: "SlackInteractionsIgnored",
    Receipt.REPLAYED: "ApprovalRequestsRefused",
}


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event)


@app.post("/slack/interactions")
def slack_interaction(request: Request) -> Response:
    body = body_text(request.body, request.is_base64_encoded)
    if body is None:
        return _refuse_slack("", "the body is not valid UTF-8", status=400)
    headers = dict(request.headers)
    if problem := door.slack_refusal(body, headers, time.time()):
        return _refuse_slack(body, problem, status=401)
    receipt = door.hand_over(body, headers)
    if receipt is Receipt.NOT_HANDED_OVER:  # Slack shows the error; its retry is processed
        return Response(503, "text/plain", "the answer could not be handed over; try again")
    metrics.add_metric(name=SLACK_METRICS[receipt], unit=MetricUnit.Count, value=1)
    return Response(200, "text/plain", "")


@app.get("/approvals/<approval_id>/<action>")
def link_page(request: Request, approval_id: str, action: str) -> Response:
    fields = dict(request.query)
    claim = LinkClaim.from_fields(approval_id, action, fields)
    if why := door.link_refusal(claim, viewing=action == VIEW_PURPOSE):
        return _refuse_link(claim, why)
    if (view := door.view(approval_id)) is not None:
        metrics.add_metric(name="ApprovalPagesShown", unit=MetricUnit.Count, value=1)
    return _page(*pages.link_page(view, action, claim))


@app.post("/approvals/<approval_id>/<action>")
def link_confirm(request: Request, approval_id: str, action: str) -> Response:
    body = body_text(request.body, request.is_base64_encoded)
    form = {k: v[0] for k, v in parse_qs(body or "").items()}
    claim = LinkClaim.from_fields(approval_id, action, form)
    if body is None:
        return _refuse_link(claim, "the body is not valid UTF-8", 400)
    if why := door.link_refusal(claim):
        return _refuse_link(claim, why)
    if form.get("confirm") != action:
        return _page(400, pages.result_page("Not confirmed", "Use the button on the page."))
    result = door.decide(claim, form.get("reason", ""))
    return _page(*pages.decision_page(result, Action(action), claim.approver, datetime.now(UTC)))


def _refuse_slack(body: str, why: str, status: int = 200) -> Response:
    door.refuse_slack(body, why)
    metrics.add_metric(name="ApprovalRequestsRefused", unit=MetricUnit.Count, value=1)
    return Response(status, "text/plain", "" if status == 200 else "refused")


def _refuse_link(claim: LinkClaim, why: str, status: int = 403) -> Response:
    door.refuse_link(claim, why)
    metrics.add_metric(name="ApprovalRequestsRefused", unit=MetricUnit.Count, value=1)
    return _page(status, pages.refused_link_page(why))


def _page(status: int, html: str) -> Response:
    return Response(status, "text/html; charset=utf-8", html, headers=pages.PAGE_HEADERS)
