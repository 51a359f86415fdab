"""Monitoring signal intake: parse the event, find the model, start its drift response.

Malformed events, and events outside the trust boundary (from another account than the model's,
or naming a location the model's configuration does not), go to the dead-letter queue with the
reason and an ``event_rejected`` ledger entry; a redelivered event (EventBridge delivers at least
once) starts nothing new.
"""

from __future__ import annotations

import json
import re
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import ClientError
from mlops_core.errors import EventRejectedError
from mlops_runtime import settings
from mlops_runtime.accounts import AccountReader
from mlops_runtime.aws import client, error_code, translated_errors
from mlops_runtime.dead_letters import reject
from mlops_runtime.events.monitoring import parse_monitoring_event
from mlops_runtime.idempotency import Idempotency
from mlops_runtime.intake import NotRelevant, admit, model_of, reader_in, to_signal
from mlops_runtime.model_config import ModelConfig, ModelConfigStore
from mlops_runtime.store import Ledger
from pydantic import Field


class Settings(settings.IdempotentSettings, settings.AccountSettings):
    drift_state_machine_arn: str = Field(pattern=r"^arn:aws[\w-]*:states:")
    dead_letter_queue_url: str = Field(pattern=r"^https?://")


SETTINGS = settings.load(Settings)
logger = Logger()
metrics = Metrics()
ledger = Ledger(SETTINGS.ledger_table)
models = ModelConfigStore(SETTINGS.model_config_table)
idempotency = Idempotency(SETTINGS.idempotency_table, "event_id", expires_after_seconds=7 * 86400)
SESSION = "mlopscp-drift-intake"


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    idempotency.register_lambda_context(context)
    model: ModelConfig | None = None
    try:
        parsed = parse_monitoring_event(event)
        events_account = reader_in(parsed.account, SETTINGS.tooling_account_id, models, SESSION)
        signal = to_signal(parsed, lambda: events_account().client("sagemaker"))
        model = model_of(signal, models)
        reader = AccountReader(model.access(), SESSION)
        request = admit(
            signal,
            parsed.account,
            model,
            SETTINGS.tooling_account_id,
            lambda: reader.client("sagemaker"),
        )
    except EventRejectedError as error:
        metrics.add_metric(name="EventsRejected", unit=MetricUnit.Count, value=1)
        logger.warning("event rejected", extra={"reason": error.reason})
        model_id = model.model_id if model else None
        return reject(
            event, error, SETTINGS.dead_letter_queue_url, ledger, "drift-intake", model_id
        )
    except NotRelevant as why:
        logger.info("event ignored", extra={"reason": str(why), "event_id": event.get("id")})
        metrics.add_metric(name="EventsIgnored", unit=MetricUnit.Count, value=1)
        return {"status": "ignored", "reason": str(why)}
    return start_drift_response(request=request)


@idempotency.function
def start_drift_response(request: dict[str, Any]) -> dict[str, Any]:
    name = _execution_name(request["model_id"], request["event_id"])
    try:
        with translated_errors():
            arn = client("stepfunctions").start_execution(
                stateMachineArn=SETTINGS.drift_state_machine_arn,
                name=name,
                input=json.dumps(request),
            )["executionArn"]
    except ClientError as error:
        if error_code(error) != "ExecutionAlreadyExists":
            raise
        logger.info("drift response already started for this event", extra={"name": name})
        return {"status": "duplicate", "execution_name": name}
    metrics.add_metric(name="DriftResponsesStarted", unit=MetricUnit.Count, value=1)
    logger.info("drift response started", extra={"execution_arn": arn, **request})
    return {"status": "started", "execution_arn": arn}


def _execution_name(model_id: str, event_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "-", f"{model_id}-{event_id}")[:80]
