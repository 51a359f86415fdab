"""Digests: the guardrail findings recorded since the last digest, and the daily fleet digest.

Runs on two schedules (GuardrailDigestSchedule, DailyDigestSchedule with ``{"digest":
"daily"}``) and can be invoked directly at any time with either payload. The guardrail digest
first sweeps the endpoints of this and every workload account the models name
(mlops_runtime.serving_sweep; opted-in actions go to the ServingAction workflow); an account that
cannot be swept is named in the digest with the reason, a failed sweep is logged and counted, and
the digest still carries every other finding. A finding leaves the queue only after the digest
carrying it was published, so a crash in between repeats it. The daily digest reads.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import ClientError
from mlops_core import fleet, guardrails
from mlops_core.errors import ControlPlaneError
from mlops_runtime import notify, serving_sweep, settings
from mlops_runtime.findings import FindingStore
from mlops_runtime.fleet import FleetReader
from mlops_runtime.serving_actions import ServingActions
from mlops_runtime.store import Ledger, StateStore


class Settings(settings.NotifySettings, settings.ApprovalSettings, settings.ServingSweepSettings):
    pass


SETTINGS = settings.load(Settings)
logger = Logger()
metrics = Metrics()
ledger = Ledger(SETTINGS.ledger_table)
findings = FindingStore(ledger, StateStore(SETTINGS.state_table))
actions = ServingActions.of(findings, SETTINGS)
tables = (SETTINGS.ledger_table, SETTINGS.state_table, SETTINGS.model_config_table)
reader = FleetReader(*tables, SETTINGS.approval_table)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if isinstance(event, dict) and event.get("digest") == "daily":
        return daily(datetime.now(UTC))
    swept = sweep_endpoints()
    pending, not_swept = findings.pending(), swept.get("not_swept", [])
    if not pending and not not_swept:
        return {"status": "empty", "findings": 0, "serving": swept}
    keys = sorted(str(item["sk"]) for item in pending) + not_swept
    digest_id = "digest-" + hashlib.sha256("|".join(keys).encode()).hexdigest()[:16]
    delivery = notify.send_and_record(
        guardrails.digest(digest_id, pending, not_swept),
        ledger,
        SETTINGS.notification_topic_arn,
        SETTINGS.slack_webhook_secret_arn or None,
    )
    findings.remove(pending)
    metrics.add_metric(name="GuardrailDigestFindings", unit=MetricUnit.Count, value=len(pending))
    logger.info("digest sent", extra={"digest_id": digest_id, "findings": len(pending)})
    return {
        "status": "sent",
        "digest_id": digest_id,
        "findings": len(pending),
        "delivered": delivery.delivered,
        "serving": swept,
    }


def daily(now: datetime) -> dict[str, Any]:
    """The last 24 hours of every configured model and what waits for a human."""
    models = reader.models()
    statuses = reader.statuses(now, models)
    entries = [e for m in models for e in reader.since(m.model_id, now - fleet.DIGEST_WINDOW)]
    digest_id = f"daily-{now:%Y-%m-%dT%H%M}"
    note = fleet.daily_digest(digest_id, entries, statuses, now)
    delivery = notify.send_and_record(
        note, ledger, SETTINGS.notification_topic_arn, SETTINGS.slack_webhook_secret_arn or None
    )
    waiting = sum(len(s.waiting) for s in statuses)
    logger.info("daily digest sent", extra={"digest_id": digest_id, "waiting": waiting})
    return {
        "status": "sent",
        "digest_id": digest_id,
        "models": len(models),
        "entries": len(entries),
        "waiting": waiting,
        "delivered": delivery.delivered,
    }


def sweep_endpoints() -> dict[str, Any]:
    try:
        swept = serving_sweep.sweep_accounts(
            reader.models(),
            SETTINGS.tooling_account_id,
            findings,
            datetime.now(UTC),
            act=actions.propose,
        )
    except (ClientError, ControlPlaneError) as error:
        logger.exception("serving sweep failed; the digest goes out without it")
        metrics.add_metric(name="ServingSweepFailed", unit=MetricUnit.Count, value=1)
        return {"status": "failed", "error": str(error)}
    metrics.add_metric(name="ServingFindings", unit=MetricUnit.Count, value=len(swept["recorded"]))
    if swept["not_swept"]:  # one account each: its role, its secret or its calls were refused
        logger.warning("accounts not swept", extra={"not_swept": swept["not_swept"]})
        metrics.add_metric(
            name="ServingSweepFailed", unit=MetricUnit.Count, value=len(swept["not_swept"])
        )
    if swept["skipped"]:
        logger.warning("endpoints not checked", extra={"skipped": swept["skipped"]})
    counts = swept["accounts"]
    result = {"status": "swept", "accounts": counts, "endpoints": sum(counts.values())}
    result["new"] = len(swept["recorded"])
    return result | {k: swept[k] for k in ("actions", "skipped", "not_swept") if swept[k]}
