"""Guardrails: check a training job that started, or an endpoint that went InService.

Findings (mlops_core.guardrails) land in the ledger and wait for the digest; a warning pages no
one. An enforced rule stops the job while it starts and pages (observe-only: would_stop_training).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from mlops_core import guardrails
from mlops_core.errors import EventRejectedError
from mlops_core.guardrails import Finding
from mlops_core.ledger import UNKNOWN_MODEL
from mlops_core.trust import account_refusal
from mlops_runtime import notify, observe, settings, training
from mlops_runtime.accounts import AccountReader
from mlops_runtime.dead_letters import reject
from mlops_runtime.events.endpoint import EndpointStateChange, GuardrailEvent
from mlops_runtime.events.envelope import GUARDRAIL_DETAIL_TYPES as DETAIL_TYPES
from mlops_runtime.events.envelope import parse_one_of
from mlops_runtime.findings import FindingStore
from mlops_runtime.idempotency import Idempotency
from mlops_runtime.model_config import ModelConfigStore
from mlops_runtime.store import Ledger, StateStore
from pydantic import Field


class Settings(
    training.TrainingPolicySettings, settings.NotifySettings, settings.IdempotentSettings
):
    dead_letter_queue_url: str = Field(pattern=r"^https?://")


SETTINGS = settings.load(Settings)
SLACK = SETTINGS.slack_webhook_secret_arn or None
NAME, SESSION = "guardrails", "mlopscp-guardrails"
logger, metrics = Logger(), Metrics()
ledger = Ledger(SETTINGS.ledger_table)
findings = FindingStore(ledger, StateStore(SETTINGS.state_table))
models = ModelConfigStore(SETTINGS.model_config_table)
observer = observe.Observer(SETTINGS.observe_only, ledger, findings.state)
idempotency = Idempotency(SETTINGS.idempotency_table, "key", expires_after_seconds=7 * 86400)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    idempotency.register_lambda_context(context)
    try:
        parsed = parse_one_of(event, GuardrailEvent, DETAIL_TYPES)
    except EventRejectedError as error:
        metrics.add_metric(name="EventsRejected", unit=MetricUnit.Count, value=1)
        return reject(event, error, SETTINGS.dead_letter_queue_url, ledger, NAME)
    detail, tooling = parsed.detail, SETTINGS.tooling_account_id
    if isinstance(parsed, EndpointStateChange):
        if not detail.in_service:
            return {"status": "ignored", "reason": f"endpoint is {detail.EndpointStatus}"}
        model = models.by_endpoint(detail.EndpointName)
        if model is None and parsed.account != tooling:
            return {"status": "ignored", "reason": f"no model is configured in {parsed.account}"}
        owner = model.account_id(tooling) if model else tooling
        subject, check = detail.EndpointName, check_endpoint
        request = {"key": f"endpoint/{subject}@{detail.EndpointConfigName}", "endpoint": subject}
    elif detail.TrainingJobStatus != "InProgress":
        return {"status": "ignored", "reason": f"training job is {detail.TrainingJobStatus}"}
    else:  # every secondary status change of a job is an event: the first one checks it
        owner, subject, check = tooling, detail.TrainingJobName, check_training_job
        # The event carries the job's description: checked from that, described only to act.
        request = {"key": f"training-job/{subject}", "job": detail.model_dump(exclude_none=True)}
    try:  # training runs in this account; an endpoint answers to its model's account
        if why := account_refusal(parsed.account, subject, owner, "the resource"):
            raise EventRejectedError(why)
        return check(request=request)
    except EventRejectedError as error:  # refused, or about a resource the account lacks
        return reject(event, error, SETTINGS.dead_letter_queue_url, ledger, NAME)


@idempotency.function
def check_training_job(request: dict[str, Any]) -> dict[str, Any]:
    job, model_id, found = training.job_findings(request["job"], models.get, SETTINGS)
    if job["TrainingJobStatus"] != "InProgress":  # it ended meanwhile: nothing left to stop
        found = [dataclasses.replace(f, enforced=False) for f in found]
    model = models.get(model_id) if model_id != UNKNOWN_MODEL else None
    found = observer.unenforced(found, model, model_id)  # observe-only: would_stop_training
    stopped = any(f.enforced for f in found) and training.stop_job(job["TrainingJobName"])
    new = _record(found, model_id)
    if stopped or (new and any(f.enforced for f in found)):
        resource = f"training-job/{job['TrainingJobName']}"
        notice = guardrails.enforcement_notice(model_id, resource, found)
        notify.send_and_record(notice, ledger, SETTINGS.notification_topic_arn, SLACK)
        metrics.add_metric(name="GuardrailsEnforced", unit=MetricUnit.Count, value=1)
    return {"status": "checked", "findings": [f.to_dict() for f in found], "stopped": stopped}


@idempotency.function
def check_endpoint(request: dict[str, Any]) -> dict[str, Any]:
    model = models.by_endpoint(request["endpoint"])
    reader = AccountReader(model.access() if model else None, SESSION)
    facts = training.endpoint_facts(request["endpoint"], None, reader.client("sagemaker"))
    found = guardrails.check_endpoint(facts, SETTINGS.guardrail_policy_for(model))
    _record(found, model.model_id if model else UNKNOWN_MODEL, version=facts["EndpointConfigName"])
    return {"status": "checked", "findings": [f.to_dict() for f in found]}


def _record(found: list[Finding], model_id: str, version: str = "") -> bool:
    """Ledger + digest queue for each finding; True if any of them is new."""
    new = [findings.record(f, model_id, version) for f in found]
    metrics.add_metric(name="GuardrailFindings", unit=MetricUnit.Count, value=sum(new))
    logger.info("guardrails checked", extra={"findings": [f.to_dict() for f in found]})
    return any(new)
