"""Watch step: nothing to do but remember what was seen and why it needs no action."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext
from mlops_core.ledger import Action, LedgerEntry
from mlops_runtime import settings
from mlops_runtime.store import Ledger

SETTINGS = settings.load(settings.FunctionSettings)
logger = Logger()
ledger = Ledger(SETTINGS.ledger_table)


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    summary = event.get("summary", {})
    reasons = summary.get("reasons", [])
    recorded = ledger.record(
        LedgerEntry(
            action=Action.WATCH_RECORDED,
            model_id=event["model_id"],
            subject=event["run_id"],
            summary=reasons[0] if reasons else "nothing needs action",
            evidence={"triage": summary, "report_uri": event.get("report_uri")},
        )
    )
    return {"recorded": recorded}
