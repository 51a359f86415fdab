"""Digests: the guardrail findings recorded since the last digest, and the daily fleet digest.

Runs on two schedules (GuardrailDigestSchedule, DailyDigestSchedule with ``{"digest":
"daily"}``) and can be invoked directly at any time with either payload. The guardrail digest
first sweeps this account's endpoints for the serving guardrails (mlops_runtime.serving_sweep:
idle, underused, batch traffic, with their monthly cost; what a model opted in to act on goes to
the ServingAction workflow, mlops_runtime.serving_actions); a sweep that fails is logged and
counted, and the digest still carries every other finding. A finding is deleted from the queue
only after the digest carrying it was published, so a crash in between repeats it in the next
digest rather than losing it. The daily digest reads, it changes nothing.
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
from mlops_runtime.aws import client
from mlops_runtime.findings import FindingStore
from mlops_runtime.fleet import FleetReader
from mlops_runtime.model_config import ModelConfigStore
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
models = ModelConfigStore(SETTINGS.model_config_table)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if isinstance(event, dict) and event.get("digest") == "daily":
        return daily(datetime.now(UTC))
    swept = sweep_endpoints()
    pending = findings.pending()
    if not pending:
        return {"status": "empty", "findings": 0, "serving": swept}
    digest_id = (
        "digest-"
        + hashlib.sha256(
            "|".join(sorted(str(item["sk"]) for item in pending)).encode()
        ).hexdigest()[:16]
    )
    delivery = notify.send_and_record(
        guardrails.digest(digest_id, pending),
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
        sagemaker, cloudwatch, now = client("sagemaker"), client("cloudwatch"), datetime.now(UTC)
        swept = serving_sweep.sweep(
            sagemaker, cloudwatch, findings, models, now, act=actions.propose
        )
    except (ClientError, ControlPlaneError) as error:
        logger.exception("serving sweep failed; the digest goes out without it")
        metrics.add_metric(name="ServingSweepFailed", unit=MetricUnit.Count, value=1)
        return {"status": "failed", "error": str(error)}
    metrics.add_metric(name="ServingFindings", unit=MetricUnit.Count, value=len(swept["recorded"]))
    if swept["skipped"]:
        logger.warning("endpoints not checked", extra={"skipped": swept["skipped"]})
    result = {"status": "swept", "endpoints": swept["endpoints"], "new": len(swept["recorded"])}
    return result | {k: swept[k] for k in ("actions", "skipped") if swept[k]}
