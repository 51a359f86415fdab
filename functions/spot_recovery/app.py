"""Spot recovery: a training job ran out of Spot wait time or capacity; get it finished anyway.

A Training Job State Change or a pipeline's training Step Status Change becomes one decision
(mlops_core.spot.decide), applied by mlops_runtime.spot_recovery: resume a copy from the last
checkpoint, fall back, retry the pipeline execution, or give up and page. Three guards keep it
to one action per failure: Powertools idempotency on (lineage, job, ending, trigger); copy names
derived from the lineage and attempt, which SageMaker refuses twice; and the lineage record's
conditional write, made in one transaction with the ledger entry.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from mlops_core.errors import EventRejectedError
from mlops_core.trust import account_refusal
from mlops_runtime import observe, settings, training
from mlops_runtime.dead_letters import reject
from mlops_runtime.events.envelope import TRAINING_DETAIL_TYPES, parse_one_of
from mlops_runtime.events.training import TrainingEvent
from mlops_runtime.idempotency import Idempotency
from mlops_runtime.model_config import ModelConfigStore
from mlops_runtime.spot_recovery import SpotRecovery
from mlops_runtime.store import Ledger, StateStore
from pydantic import Field


class Settings(
    training.TrainingPolicySettings, settings.NotifySettings, settings.IdempotentSettings
):
    dead_letter_queue_url: str = Field(pattern=r"^https?://")


SETTINGS = settings.load(Settings)
logger = Logger()
metrics = Metrics()
ledger, state = Ledger(SETTINGS.ledger_table), StateStore(SETTINGS.state_table)
recovery = SpotRecovery(
    ledger,
    state,
    ModelConfigStore(SETTINGS.model_config_table),
    SETTINGS.spot_policy_for,
    SETTINGS.notification_topic_arn,
    SETTINGS.slack_webhook_secret_arn or None,
    observe.Observer(SETTINGS.observe_only, ledger, state),
)
idempotency = Idempotency(SETTINGS.idempotency_table, "key", expires_after_seconds=7 * 86400)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    idempotency.register_lambda_context(context)
    try:
        parsed = parse_one_of(event, TrainingEvent, TRAINING_DETAIL_TYPES)
    except EventRejectedError as error:
        metrics.add_metric(name="EventsRejected", unit=MetricUnit.Count, value=1)
        return reject(event, error, SETTINGS.dead_letter_queue_url, ledger, "spot-recovery")
    # Training runs (and is recovered) in this account only.
    subject = getattr(parsed.detail, "TrainingJobName", None) or parsed.detail.pipelineExecutionArn
    if why := account_refusal(parsed.account, subject, SETTINGS.tooling_account_id, "training"):
        rejected = EventRejectedError(why)
        return reject(event, rejected, SETTINGS.dead_letter_queue_url, ledger, "spot-recovery")
    try:
        request = recovery.request_of(parsed)
        if isinstance(request, str):
            return {"status": "ignored", "reason": request}
        return recover(request=request)
    except EventRejectedError as error:  # about a job this account does not have
        metrics.add_metric(name="EventsRejected", unit=MetricUnit.Count, value=1)
        return reject(event, error, SETTINGS.dead_letter_queue_url, ledger, "spot-recovery")


@idempotency.function
def recover(request: dict[str, Any]) -> dict[str, Any]:
    return recovery.recover(request)
