"""Retrain step: start the model's SageMaker Pipeline exactly once per incident.

Three guards stack up: Powertools idempotency on the incident id (a retried invocation returns
the first result), a conditional per-model lock in DynamoDB (never while a retrain runs, never
inside the cooldown), and SageMaker's ClientRequestToken (one execution per incident even if
everything above were retried).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.utilities.typing import LambdaContext
from mlops_runtime import settings
from mlops_runtime.approvals import ApprovalStore
from mlops_runtime.idempotency import Idempotency
from mlops_runtime.model_config import ModelConfigStore
from mlops_runtime.observe import Observer
from mlops_runtime.retrain_start import RetrainStarter
from mlops_runtime.store import Ledger, StateStore
from pydantic import Field


class Settings(settings.IdempotentSettings):
    default_retrain_cooldown_hours: float = Field(24.0, ge=0)
    approval_table: str = Field("", description="approvals, for models that require one")


SETTINGS = settings.load(Settings)
logger = Logger()
metrics = Metrics()
ledger, state = Ledger(SETTINGS.ledger_table), StateStore(SETTINGS.state_table)
starter = RetrainStarter(
    ledger,
    state,
    ModelConfigStore(SETTINGS.model_config_table),
    ApprovalStore(SETTINGS.approval_table) if SETTINGS.approval_table else None,
    SETTINGS.default_retrain_cooldown_hours,
    Observer(SETTINGS.observe_only, ledger, state),
)
idempotency = Idempotency(
    SETTINGS.idempotency_table, "incident_id", expires_after_seconds=30 * 86400
)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    idempotency.register_lambda_context(context)
    return start_retrain(request=event)


@idempotency.function
def start_retrain(request: dict[str, Any]) -> dict[str, Any]:
    return starter.start(request)
