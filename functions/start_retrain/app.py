"""Retrain step: start the model's SageMaker Pipeline exactly once per incident.

Three guards stack up: Powertools idempotency on the incident id (a retried invocation returns
the first result), a conditional per-model lock in DynamoDB (never while a retrain runs, never
inside the cooldown), and SageMaker's ClientRequestToken (one execution per incident even if
everything above were retried).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import ClientError
from mlops_core import retrain
from mlops_core.errors import ModelNotConfiguredError, RetrainPipelineError
from mlops_core.ledger import Action, LedgerEntry
from mlops_runtime import settings
from mlops_runtime.approvals import ApprovalStore
from mlops_runtime.aws import client, idempotency_store, translated_errors
from mlops_runtime.model_config import ModelConfigStore
from mlops_runtime.store import Ledger, StateStore
from pydantic import Field


class Settings(settings.IdempotentSettings):
    default_retrain_cooldown_hours: float = Field(24.0, ge=0)
    approval_table: str = Field("", description="approvals, for models that require one")


SETTINGS = settings.load(Settings)
logger = Logger()
metrics = Metrics()
ledger = Ledger(SETTINGS.ledger_table)
state = StateStore(SETTINGS.state_table)
models = ModelConfigStore(SETTINGS.model_config_table)
approvals = ApprovalStore(SETTINGS.approval_table)
idempotency = IdempotencyConfig(event_key_jmespath="incident_id", expires_after_seconds=30 * 86400)
persistence = idempotency_store(SETTINGS.idempotency_table)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    idempotency.register_lambda_context(context)
    return start_retrain(request=event)


@idempotent_function(
    data_keyword_argument="request", config=idempotency, persistence_store=persistence
)
def start_retrain(request: dict[str, Any]) -> dict[str, Any]:
    model_id, incident = request["model_id"], request["incident_id"]
    summary = request.get("summary", {})
    model = models.get(model_id)
    if model is None:
        raise ModelNotConfiguredError(f"model {model_id} has no configuration")
    if model.retrain is None:
        return _skip(
            model_id, incident, "no retraining pipeline is configured for this model", summary
        )
    if model.retrain.require_approval:
        refused = _not_approved(request.get("approval"), model_id, incident)
        if refused:
            return _skip(model_id, incident, refused, summary)

    now = datetime.now(UTC)
    hours = model.retrain.cooldown_hours
    cooldown = timedelta(hours=SETTINGS.default_retrain_cooldown_hours if hours is None else hours)
    lock_key = (f"MODEL#{model_id}", "RETRAIN")
    lock = state.get(*lock_key)
    gate = retrain.retrain_gate(lock, incident, now, cooldown)
    if not gate.allowed:
        return _skip(model_id, incident, gate.reason, summary)

    # Claim the lock only if it is still what the gate saw: two incidents racing get one start.
    claimed = _claim(lock_key, lock, incident, now)
    if not claimed:
        return _skip(model_id, incident, "another incident claimed the retrain first", summary)

    reason = "; ".join(summary.get("reasons", [])[:2]) or "drift response decided to retrain"
    try:
        with translated_errors():
            arn = client("sagemaker").start_pipeline_execution(
                PipelineName=model.retrain.pipeline_name,
                PipelineExecutionDisplayName=incident[:82],
                PipelineExecutionDescription=reason[:3072],
                PipelineParameters=retrain.pipeline_parameters(
                    incident, reason, request.get("data_window"), model.retrain.parameters
                ),
                ClientRequestToken=retrain.client_request_token(incident),
            )["PipelineExecutionArn"]
    except ClientError as error:
        _release(lock_key, incident)
        raise RetrainPipelineError(
            f"could not start pipeline {model.retrain.pipeline_name}: {error}"
        ) from error

    _record_started(model_id, incident, arn, model.retrain.pipeline_name, reason, request, now)
    metrics.add_metric(name="RetrainsStarted", unit=MetricUnit.Count, value=1)
    return {"status": "started", "pipeline_execution_arn": arn}


def _not_approved(answer: dict[str, Any] | None, model_id: str, incident: str) -> str | None:
    """The retrain gate: the flow's answer must say approved AND the approval record agree.

    The record check means a forged or replayed state machine input cannot start a retrain.
    """
    answer = answer or {}
    if answer.get("outcome") != "approved":
        reason = f": {answer['reason']}" if answer.get("reason") else ""
        return (
            f"retrain not approved: {answer.get('outcome', 'no answer')} by "
            f"{answer.get('decided_by', 'nobody')} via {answer.get('channel', '-')}{reason}"
        )
    record = approvals.get(str(answer.get("approval_id", ""))) if SETTINGS.approval_table else None
    if (
        record is None
        or record.status != "approved"
        or record.model_id != model_id
        or record.request.subject != incident
    ):
        return "the approval record does not confirm an approved retrain of this incident"
    return None


def _claim(key: tuple[str, str], lock: dict[str, Any] | None, incident: str, now: datetime) -> bool:
    """Optimistic lock: the write succeeds only if the lock is still the version the gate saw."""
    version = int((lock or {}).get("version", 0))
    item = {
        "pk": key[0],
        "sk": key[1],
        "status": retrain.STARTING,
        "incident_id": incident,
        "claimed_at": now.isoformat(),
        "version": version + 1,
        "started_at": (lock or {}).get("started_at"),
    }
    if lock is None:
        return state.apply(state.put_operation(item, "attribute_not_exists(pk)"))
    return state.apply(
        state.put_operation(item, "#v = :seen", {"#v": "version"}, **{":seen": version})
    )


def _release(key: tuple[str, str], incident: str) -> None:
    """The start failed before anything began: let a retry of this incident try again."""
    state.apply(
        state.update_operation(
            *key, {"status": retrain.NOT_STARTED}, "incident_id = :i", **{":i": incident}
        )
    )


def _record_started(
    model_id: str,
    incident: str,
    arn: str,
    pipeline: str,
    reason: str,
    request: dict[str, Any],
    now: datetime,
) -> None:
    started = now.isoformat()
    ledger.record(
        LedgerEntry(
            action=Action.RETRAIN_STARTED,
            model_id=model_id,
            subject=incident,
            summary=f"started {pipeline}: {reason}",
            evidence={
                "pipeline_execution_arn": arn,
                "triage": request.get("summary", {}),
                "report_uri": request.get("report_uri"),
                "data_window": request.get("data_window"),
            },
        ),
        state.update_operation(
            f"MODEL#{model_id}",
            "RETRAIN",
            {"status": retrain.RUNNING, "pipeline_execution_arn": arn, "started_at": started},
            "incident_id = :i",
            **{":i": incident},
        ),
        state.put_operation(
            {
                "pk": f"INCIDENT#{incident}",
                "sk": "INCIDENT",
                "model_id": model_id,
                "decision": "retrain",
                "status": "RETRAINING",
                "opened_at": started,
                "pipeline_execution_arn": arn,
                "summary": reason,
            }
        ),
        state.put_operation(
            {
                "pk": f"PIPELINE_EXECUTION#{arn}",
                "sk": "INCIDENT",
                "model_id": model_id,
                "incident_id": incident,
            }
        ),
    )


def _skip(model_id: str, incident: str, reason: str, summary: dict[str, Any]) -> dict[str, Any]:
    ledger.record(
        LedgerEntry(
            action=Action.RETRAIN_SKIPPED,
            model_id=model_id,
            subject=incident,
            summary=reason,
            evidence={"triage": summary},
        )
    )
    metrics.add_metric(name="RetrainsSkipped", unit=MetricUnit.Count, value=1)
    logger.info("retrain skipped", extra={"reason": reason, "incident_id": incident})
    return {"status": "skipped", "reason": reason}
