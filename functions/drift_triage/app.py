"""Triage step of the drift response: read the endpoint's monitoring history and decide.

The history is read in the model's account (its reader role for a workload account) and only
under the model's configured location.
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from mlops_core import errors
from mlops_core.approvals import backstop_seconds
from mlops_core.monitoring import load_history
from mlops_core.observe import observed_by
from mlops_core.signals import run_id
from mlops_core.triage import triage
from mlops_core.trust import is_under
from mlops_runtime import settings
from mlops_runtime.accounts import AccountReader
from mlops_runtime.aws import client, translated_errors
from mlops_runtime.model_config import ModelConfig, ModelConfigStore
from mlops_runtime.monitoring_store import read_monitoring_output
from pydantic import BaseModel, Field


class Settings(settings.AccountSettings):
    artifacts_bucket: str = Field(min_length=3)


class TriageRequest(BaseModel):
    event_id: str
    model_id: str
    output_uri: str | None = None
    signal: dict[str, Any] = {}


SETTINGS = settings.load(Settings)
logger = Logger()
metrics = Metrics()
models = ModelConfigStore(SETTINGS.model_config_table)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = TriageRequest.model_validate(event)
    model = models.get(request.model_id)
    if model is None:
        raise errors.ModelNotConfiguredError(f"model {request.model_id} has no configuration")
    uri = _location(model, request.output_uri)
    reader = AccountReader(model.access(), "mlopscp-drift-triage")
    files = read_monitoring_output(
        uri, model.triage.history_window, model.monitoring_schedules or None, reader.client("s3")
    )
    history = load_history(files)
    if not history.schedules:
        raise errors.MonitoringOutputMissingError(f"no monitoring output under {uri}")

    failure = request.signal.get("execution_failed")
    schedule = request.signal.get("schedule_name")
    failed = {schedule: failure} if failure and schedule else None
    result = triage(history, model.triage, failed)
    run = run_id(model.model_id, result.signal_key)
    read = {"account_id": model.account_id(SETTINGS.tooling_account_id), "uri": uri}
    report_uri = _store_report(model.model_id, run, result.to_dict() | {"read": read})

    metrics.add_dimension(name="Decision", value=str(result.decision))
    metrics.add_metric(name="TriageDecisions", unit=MetricUnit.Count, value=1)
    logger.info(
        "triage decided",
        extra={"decision": result.decision, "run_id": run, "reasons": result.reasons[:5]},
    )
    return {
        "model_id": model.model_id,
        "run_id": run,
        "decision": str(result.decision),
        "summary": result.summary(),
        "report_uri": report_uri,
        "data_window": result.data_window,
        "approval": _approval_gate(model),
    }


def _location(model: ModelConfig, requested: str | None) -> str:
    """What the intake chose, re-checked: never outside the model's configured location."""
    configured = model.monitoring_output_uri
    if requested and configured and not is_under(requested, configured):
        raise errors.MonitoringLocationError(f"{requested} is outside {configured}")
    uri = requested or configured
    if not uri:
        raise errors.MonitoringOutputMissingError(
            f"model {model.model_id}: set monitoring_output_uri; no monitoring execution of "
            f"{model.endpoint_name} says where its output is"
        )
    return uri


def _approval_gate(model: ModelConfig) -> dict[str, Any]:
    """Whether a retrain waits for a human (never for an observe-only model: no one is asked),
    and the waiting state's timeout backstop."""
    observed = observed_by(SETTINGS.observe_only, model.mode)
    required = bool(model.retrain and model.retrain.require_approval) and not observed
    hours = model.approvals.deadline_hours if model.approvals else 24.0
    return {"required": required, "timeout_seconds": backstop_seconds(hours)}


def _store_report(model_id: str, run: str, report: dict[str, Any]) -> str:
    key = f"triage/{model_id}/{run}.json"
    with translated_errors():
        client("s3").put_object(
            Bucket=SETTINGS.artifacts_bucket,
            Key=key,
            Body=json.dumps(report, default=str).encode(),
            ContentType="application/json",
        )
    return f"s3://{SETTINGS.artifacts_bucket}/{key}"
