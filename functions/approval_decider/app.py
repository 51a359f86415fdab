"""ApprovalDecider: the only function that resolves an approval's task.

Invoked by the callback function (Slack, asynchronously; emailed links, synchronously), by the
sweeper (expiry) and by operators through ``mlopscp approvals``. Who answered and how come only
from proof it verifies itself (mlops_runtime.approval_proofs): Slack's signature, the link's
HMAC, STS's answer for the operator's own signed request; its input names no actor. It checks
the approval is pending and in time and that the person may answer, records the decision
(``approval_recorded`` / ``approval_expired``) atomically with the approval's new status,
decrypts the task token and calls SendTaskSuccess; then shows the decision in Slack. A refused
answer is recorded as ``approval_rejected_request`` and changes nothing. Incident controls
(Slack's Acknowledge / Snooze buttons, `mlopscp incidents`) are verified and applied here too.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from mlops_runtime import settings
from mlops_runtime.approval_channels import (
    Email,
    Slack,
    announce_decision,
    best_effort,
    secret_text,
)
from mlops_runtime.approval_proofs import Answer, ProofError, Verifier, claims_of
from mlops_runtime.approval_service import ApprovalService, record_refusal
from mlops_runtime.approvals import ApprovalStore, silence_sdk_debug_logs
from mlops_runtime.incident_buttons import show_control
from mlops_runtime.incident_controls import IncidentControls, is_incident_request
from mlops_runtime.link_keys import LinkKeys
from mlops_runtime.store import Ledger
from pydantic import Field, TypeAdapter, ValidationError


class Settings(settings.ApprovalSettings, settings.SlackApiSettings):
    approval_key_id: str = Field(pattern=r"^arn:aws[\w-]*:kms:")
    approval_topic_arn: str = Field(pattern=r"^arn:aws[\w-]*:sns:")
    approval_link_key_secret_arn: str = Field("", description="HMAC key of emailed links")
    slack_signing_secret_arn: str = Field("", description="empty: Slack answers refused")


SETTINGS = settings.load(Settings)
silence_sdk_debug_logs()
logger = Logger()
metrics = Metrics()
slack = Slack(SETTINGS.slack_bot_token_secret_arn, SETTINGS.slack_api_url)
email = Email(SETTINGS.approval_topic_arn)
ledger = Ledger(SETTINGS.ledger_table)
store = ApprovalStore(SETTINGS.approval_table, SETTINGS.approval_key_id)
service = ApprovalService(
    store, ledger, group_members=slack.group_members, display_name=slack.display_name
)
verifier = Verifier(
    lambda: secret_text(s) if (s := SETTINGS.slack_signing_secret_arn) else "",
    LinkKeys(SETTINGS.approval_link_key_secret_arn),
)
ANSWERS: TypeAdapter[Any] = TypeAdapter(Answer)
incidents = IncidentControls.wired(
    SETTINGS.state_table, SETTINGS.model_config_table, ledger, verifier, slack
)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if isinstance(event, dict) and list(event) == ["redeliver"]:  # the sweeper's retry
        resolution = service.redeliver(str(event["redeliver"]))
        if resolution.delivered and resolution.approval:
            announce_decision(slack, email, resolution.approval)
        return resolution.to_dict()
    if is_incident_request(event):  # an incident's Acknowledge / Snooze, `mlopscp incidents`
        control, result = incidents.answer(event)
        show_control(slack, control, result)
        metrics.add_metric(name=f"IncidentControls{result.status.title()}", unit="Count", value=1)
        return result.to_dict()
    try:
        attempt, click = verifier.attempt(ANSWERS.validate_python(event))
    except ValidationError as error:
        fields = ", ".join(".".join(map(str, e["loc"])) for e in error.errors()[:5])
        return _refuse_unverified(event, f"not an answer the decider accepts ({fields})")
    except ProofError as error:
        return _refuse_unverified(event, str(error))
    try:
        resolution = service.resolve(attempt)
    except Exception as error:  # not recorded: Lambda retries the event; say so meanwhile
        if click is not None and slack.enabled:
            note = f"Your answer could not be recorded yet ({type(error).__name__}); it is retried"
            best_effort(slack.tell, click.channel_id, click.user_id, f"{note} automatically.")
        raise
    logger.info(
        "approval answer",
        extra={"approval_id": attempt.approval_id, "channel": attempt.channel}
        | resolution.to_dict(),
    )
    if resolution.recorded and resolution.approval:
        metrics.add_metric(name="ApprovalsDecided", unit=MetricUnit.Count, value=1)
        # A pending delivery is shown too: everyone is told the truth.
        announce_decision(slack, email, resolution.approval)
        return resolution.to_dict()
    metrics.add_metric(name="ApprovalRequestsRefused", unit=MetricUnit.Count, value=1)
    if click is not None and slack.enabled:
        note = f"Your answer was not recorded: {resolution.why}."
        best_effort(slack.tell, click.channel_id, click.user_id, note)
    return resolution.to_dict()


def _refuse_unverified(event: Any, why: str) -> dict[str, Any]:
    """Record what the request claimed (never trusted: nothing verified it) and refuse."""
    approval_id, channel, actor = claims_of(event)
    record_refusal(ledger, store.get(approval_id), approval_id, channel, why, actor)
    metrics.add_metric(name="ApprovalRequestsRefused", unit=MetricUnit.Count, value=1)
    logger.warning("unverified answer refused", extra={"why": why})
    return {"status": "refused", "why": why}
