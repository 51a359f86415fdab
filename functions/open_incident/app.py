"""Investigate step: open an incident (once per incident id) for a human to look at."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from mlops_core.ledger import Action, LedgerEntry
from mlops_runtime import settings
from mlops_runtime.store import Ledger, StateStore

SETTINGS = settings.load(settings.FunctionSettings)
logger = Logger()
metrics = Metrics()
ledger = Ledger(SETTINGS.ledger_table)
state = StateStore(SETTINGS.state_table)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    model_id, incident = event["model_id"], event["incident_id"]
    summary = event.get("summary", {})
    reasons = summary.get("reasons", [])
    opened = ledger.record(
        LedgerEntry(
            action=Action.INCIDENT_OPENED,
            model_id=model_id,
            subject=incident,
            summary=reasons[0] if reasons else "monitoring needs investigation",
            evidence={"triage": summary, "report_uri": event.get("report_uri")},
        ),
        state.put_operation(
            {
                "pk": f"INCIDENT#{incident}",
                "sk": "INCIDENT",
                "model_id": model_id,
                "decision": "investigate",
                "status": "OPEN",
                "opened_at": datetime.now(UTC).isoformat(),
                "summary": "; ".join(reasons[:3]),
                "report_uri": event.get("report_uri"),
            },
            "attribute_not_exists(pk)",
        ),
    )
    if opened:
        metrics.add_metric(name="IncidentsOpened", unit=MetricUnit.Count, value=1)
    logger.info("incident", extra={"incident_id": incident, "new": opened})
    return {"incident_id": incident, "is_new": opened}
