"""Guardrails: check a training job that started, or an endpoint that went InService.

Findings (mlops_core.guardrails) land in the ledger and wait for the digest; nothing pages for a
warning. Where the model or the stack enforces a training rule, the job is stopped while it is
still starting and the owner is paged at once, with every finding of that job in one message.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
from aws_lambda_powertools.utilities.typing import LambdaContext
from mlops_core import guardrails, spot
from mlops_core.errors import EventRejectedError
from mlops_core.guardrails import Finding, GuardrailPolicy
from mlops_core.ledger import UNKNOWN_MODEL
from mlops_runtime import notify, settings, training
from mlops_runtime.aws import idempotency_store
from mlops_runtime.dead_letters import reject
from mlops_runtime.events import (
    GUARDRAIL_DETAIL_TYPES,
    EndpointStateChange,
    GuardrailEvent,
    parse_one_of,
)
from mlops_runtime.findings import FindingStore
from mlops_runtime.model_config import ModelConfig, ModelConfigStore
from mlops_runtime.store import Ledger, StateStore
from pydantic import Field


class Settings(
    training.TrainingPolicySettings, settings.NotifySettings, settings.IdempotentSettings
):
    dead_letter_queue_url: str = Field(pattern=r"^https?://")


SETTINGS = settings.load(Settings)
logger = Logger()
metrics = Metrics()
ledger = Ledger(SETTINGS.ledger_table)
findings = FindingStore(ledger, StateStore(SETTINGS.state_table))
models = ModelConfigStore(SETTINGS.model_config_table)
idempotency = IdempotencyConfig(event_key_jmespath="key", expires_after_seconds=7 * 86400)
persistence = idempotency_store(SETTINGS.idempotency_table)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    idempotency.register_lambda_context(context)
    try:
        parsed = parse_one_of(event, GuardrailEvent, GUARDRAIL_DETAIL_TYPES)
    except EventRejectedError as error:
        metrics.add_metric(name="EventsRejected", unit=MetricUnit.Count, value=1)
        return reject(event, error, SETTINGS.dead_letter_queue_url, ledger, "guardrails")
    detail = parsed.detail
    if isinstance(parsed, EndpointStateChange):
        if not detail.in_service:
            return {"status": "ignored", "reason": f"endpoint is {detail.EndpointStatus}"}
        key = f"endpoint/{detail.EndpointName}@{detail.EndpointConfigName}"
        return check_endpoint(request={"key": key, "endpoint": detail.EndpointName})
    if detail.TrainingJobStatus != "InProgress":
        return {"status": "ignored", "reason": f"training job is {detail.TrainingJobStatus}"}
    # Every secondary status change of a job is an event: the first one checks it.
    key = f"training-job/{detail.TrainingJobName}"
    return check_training_job(request={"key": key, "job_name": detail.TrainingJobName})


@idempotent_function(
    data_keyword_argument="request", config=idempotency, persistence_store=persistence
)
def check_training_job(request: dict[str, Any]) -> dict[str, Any]:
    job = training.describe_job(request["job_name"])
    model_id = spot.tags_of(job).get(spot.MODEL_TAG) or UNKNOWN_MODEL
    model = models.get(model_id) if model_id != UNKNOWN_MODEL else None
    spot_policy = model.spot if model and model.spot else SETTINGS.spot_policy()
    found = guardrails.check_training_job(job, _policy(model), spot_policy.wait_time_ratio)
    if job["TrainingJobStatus"] != "InProgress":  # it ended meanwhile: nothing left to stop
        found = [dataclasses.replace(f, enforced=False) for f in found]
    stopped = any(f.enforced for f in found) and training.stop_job(job["TrainingJobName"])
    new = _record(found, model_id)
    if stopped or (new and any(f.enforced for f in found)):
        resource = f"training-job/{job['TrainingJobName']}"
        notify.send_and_record(
            guardrails.enforcement_notice(model_id, resource, found),
            ledger,
            SETTINGS.notification_topic_arn,
            SETTINGS.slack_webhook_secret_arn or None,
        )
        metrics.add_metric(name="GuardrailsEnforced", unit=MetricUnit.Count, value=1)
    return {"status": "checked", "findings": [f.to_dict() for f in found], "stopped": stopped}


@idempotent_function(
    data_keyword_argument="request", config=idempotency, persistence_store=persistence
)
def check_endpoint(request: dict[str, Any]) -> dict[str, Any]:
    facts = training.endpoint_facts(request["endpoint"], None)
    model = models.by_endpoint(request["endpoint"])
    found = guardrails.check_endpoint(facts, _policy(model))
    _record(found, model.model_id if model else UNKNOWN_MODEL, version=facts["EndpointConfigName"])
    return {"status": "checked", "findings": [f.to_dict() for f in found]}


def _policy(model: ModelConfig | None) -> GuardrailPolicy:
    return model.guardrails if model and model.guardrails else SETTINGS.guardrail_policy()


def _record(found: list[Finding], model_id: str, version: str = "") -> bool:
    """Ledger + digest queue for each finding; True if any of them is new."""
    new = [findings.record(f, model_id, version) for f in found]
    metrics.add_metric(name="GuardrailFindings", unit=MetricUnit.Count, value=sum(new))
    logger.info("guardrails checked", extra={"findings": [f.to_dict() for f in found]})
    return any(new)
