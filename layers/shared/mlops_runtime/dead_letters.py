"""Refused events: kept in the dead-letter queue with the reason, and recorded in the ledger."""

from __future__ import annotations

import json
from typing import Any

from mlops_core.errors import EventRejectedError
from mlops_core.ledger import UNKNOWN_MODEL, Action, LedgerEntry

from mlops_runtime.aws import client, translated_errors
from mlops_runtime.store import Ledger


def reject(
    event: Any,
    error: EventRejectedError,
    queue_url: str,
    ledger: Ledger,
    source: str,
    model_id: str | None = None,
) -> dict[str, Any]:
    """Send the whole event and why to the queue, write ``event_rejected`` (under the model the
    event named, when it named a configured one); never raises the rejection itself (a retry
    would be refused the same way)."""
    fields = event if isinstance(event, dict) else {}
    event_id = str(fields.get("id", ""))
    body = {"reason": error.reason, "errors": error.errors, "event": event}
    with translated_errors():
        client("sqs").send_message(
            QueueUrl=queue_url,
            MessageBody=json.dumps(body, default=str),
            MessageAttributes={
                "errorType": {"DataType": "String", "StringValue": type(error).__name__},
                "reason": {"DataType": "String", "StringValue": error.reason[:256]},
                "source": {"DataType": "String", "StringValue": source},
            },
        )
    ledger.record(
        LedgerEntry(
            action=Action.EVENT_REJECTED,
            model_id=model_id or UNKNOWN_MODEL,
            subject=f"event:{event_id or 'without-id'}",
            summary=error.reason,
            evidence={
                "errors": error.errors,
                "detail_type": fields.get("detail-type"),
                "source": source,
                "account": fields.get("account"),
            },
        )
    )
    return {"status": "rejected", "reason": error.reason}
