"""Close the loop: a retraining pipeline finished; record it on the incident, page on failure."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from mlops_core import messages, retrain
from mlops_core.errors import EventRejectedError
from mlops_core.ledger import Action, LedgerEntry
from mlops_core.trust import account_refusal, resource_refusal
from mlops_runtime import notify, settings, training
from mlops_runtime.dead_letters import reject
from mlops_runtime.events.envelope import parse_event
from mlops_runtime.events.pipeline import PipelineExecutionStatusChange
from mlops_runtime.incident_tracking import end_retrain_incident
from mlops_runtime.incidents import IncidentStore
from mlops_runtime.store import Ledger, StateStore


class Settings(settings.NotifySettings, settings.DeadLetterSettings, settings.AccountSettings):
    pass


SETTINGS = settings.load(Settings)
NAME = "pipeline-status"
logger = Logger()
metrics = Metrics()
ledger = Ledger(SETTINGS.ledger_table)
state = StateStore(SETTINGS.state_table)
incidents = IncidentStore(SETTINGS.state_table, ledger)

_OUTCOMES = {
    "Succeeded": (Action.RETRAIN_SUCCEEDED, retrain.SUCCEEDED),
    "Failed": (Action.RETRAIN_FAILED, retrain.FAILED),
    "Stopped": (Action.RETRAIN_FAILED, retrain.STOPPED),
}


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        parsed: PipelineExecutionStatusChange = parse_event(event, PipelineExecutionStatusChange)
    except EventRejectedError as error:
        # The rule only matches SageMaker's own events: a malformed one is a bug to look at.
        metrics.add_metric(name="EventsRejected", unit=MetricUnit.Count, value=1)
        logger.error("malformed pipeline status event", extra={"reason": error.reason})
        return reject(event, error, SETTINGS.dead_letter_queue_url, ledger, NAME)
    detail = parsed.detail
    # Retrains run in this account: another account's event may not close or page an incident.
    arn, tooling = detail.pipelineExecutionArn, SETTINGS.tooling_account_id
    why = account_refusal(parsed.account, arn, tooling, "pipeline execution") or resource_refusal(
        parsed.account, arn, "pipeline execution"
    )
    if why:
        return reject(event, EventRejectedError(why), SETTINGS.dead_letter_queue_url, ledger, NAME)
    outcome = _OUTCOMES.get(detail.currentPipelineExecutionStatus)
    link = state.get(f"PIPELINE_EXECUTION#{detail.pipelineExecutionArn}", "INCIDENT")
    if outcome is None:
        return {"status": "ignored", "reason": f"{detail.currentPipelineExecutionStatus}: running"}
    if link is None:
        why = f"{detail.pipelineExecutionArn} is not a retrain this control plane started"
        return {"status": "ignored", "reason": why}

    action, lock_status = outcome
    model_id, incident = link["model_id"], link["incident_id"]
    ended = (detail.executionEndTime or datetime.now(UTC)).isoformat()
    reason = detail.failureReason
    summary = f"retraining pipeline {detail.currentPipelineExecutionStatus.lower()}" + (
        f": {reason}" if reason else ""
    )
    recorded = ledger.record(
        LedgerEntry(
            action=action,
            model_id=model_id,
            subject=incident,
            summary=summary,
            evidence={
                "pipeline_execution_arn": detail.pipelineExecutionArn,
                "ended_at": ended,
                "status": detail.currentPipelineExecutionStatus,
            },
        ),
        state.update_operation(
            f"MODEL#{model_id}",
            "RETRAIN",
            {"status": lock_status, "ended_at": ended},
            "pipeline_execution_arn = :arn",
            **{":arn": detail.pipelineExecutionArn},
        ),
    )
    # Spot recovery retries a capacity failure and pages itself if it gives up; a Succeeded
    # event then ends the incident. Otherwise the retrain incident ends here (also on a
    # redelivery: ending it is idempotent, and an earlier attempt may have stopped before it).
    spot = action == Action.RETRAIN_FAILED and training.failed_for_capacity(arn)
    if not spot:
        end_retrain_incident(incidents, incident, summary)
    if not recorded:
        return {"status": "duplicate", "incident_id": incident}
    metrics.add_metric(
        name=f"Retrain{detail.currentPipelineExecutionStatus}", unit=MetricUnit.Count, value=1
    )
    if spot:
        logger.info("retrain failure left to spot recovery", extra={"incident_id": incident})
    elif action == Action.RETRAIN_FAILED:
        _page(model_id, incident, arn, detail.currentPipelineExecutionStatus, reason)
    return {"status": "recorded", "incident_id": incident, "outcome": str(action)}


def _page(model_id: str, incident: str, arn: str, status: str, reason: str | None) -> None:
    notify.send_and_record(
        messages.retrain_failed(model_id, incident, arn, status, reason),
        ledger,
        SETTINGS.notification_topic_arn,
        SETTINGS.slack_webhook_secret_arn or None,
    )
