"""Incident step of the drift response: one incident per problem, not one per monitoring run.

Observes the triaged run against the model's incidents (mlops_core.incidents decides; the
store writes each step with its ledger entry) and says where the response goes next: messages
to send (pages, resolutions, edits of the bot's message), the retrain gate, the watch record, or
done. The retrain path calls it again to end a retrain incident whose retrain did not start.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from mlops_runtime import settings
from mlops_runtime.incident_tracking import IncidentTracker
from mlops_runtime.incidents import IncidentStore
from mlops_runtime.model_config import ModelConfigStore
from mlops_runtime.observe import Observer
from mlops_runtime.store import Ledger, StateStore
from pydantic import BaseModel, Field


class TrackRequest(BaseModel):
    """The drift triage's output (the fields incident tracking reads)."""

    model_id: str
    run_id: str = ""
    decision: str
    summary: dict[str, Any] = {}
    report_uri: str | None = None


class EndRetrainRequest(BaseModel):
    """The retrain path's ending: its incident, and why (or start_retrain's answer)."""

    incident_id: str = Field(min_length=1)
    reason: str | None = Field(None, max_length=2000)
    retrain: dict[str, Any] = {}

    @property
    def why(self) -> str:
        said = self.reason or str(self.retrain.get("reason") or "")
        return f"retrain not started: {said}" if said else "the retrain was not started"


class Settings(settings.FunctionSettings):
    default_retrain_cooldown_hours: float = Field(24.0, ge=0)


SETTINGS = settings.load(Settings)
logger = Logger()
metrics = Metrics()
ledger, state = Ledger(SETTINGS.ledger_table), StateStore(SETTINGS.state_table)
tracker = IncidentTracker(
    IncidentStore(SETTINGS.state_table, ledger),
    ModelConfigStore(SETTINGS.model_config_table),
    state,
    SETTINGS.default_retrain_cooldown_hours,
    Observer(SETTINGS.observe_only, ledger, state),
)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if "end_retrain" in event:
        request = EndRetrainRequest.model_validate(event["end_retrain"])
        ended = tracker.end_retrain(request.incident_id, request.why)
        return {"incident_id": request.incident_id, "ended": ended}
    run = TrackRequest.model_validate(event)
    result = tracker.track(run.model_dump())
    metrics.add_dimension(name="Transition", value=result["transition"])
    metrics.add_metric(name="IncidentRuns", unit=MetricUnit.Count, value=1)
    pages = sum(1 for notice in result["notices"] if notice["page"])
    if pages:
        metrics.add_metric(name="IncidentPages", unit=MetricUnit.Count, value=pages)
    return result
