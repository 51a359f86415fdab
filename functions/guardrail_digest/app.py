"""Guardrail digest: every finding recorded since the last digest, in one notification.

Runs on a schedule (daily by default) and can be invoked directly at any time (any payload).
First it sweeps this account's endpoints for the serving guardrails (mlops_runtime.serving_sweep:
idle, underused, batch traffic, with their monthly cost); a sweep that fails is logged and
counted, and the digest still carries every other finding.
A finding is deleted from the queue only after the digest carrying it was published, so a crash
in between repeats it in the next digest rather than losing it.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import ClientError
from mlops_core import guardrails
from mlops_core.errors import ControlPlaneError
from mlops_runtime import notify, serving_sweep, settings
from mlops_runtime.aws import client
from mlops_runtime.findings import FindingStore
from mlops_runtime.model_config import ModelConfigStore
from mlops_runtime.store import Ledger, StateStore

SETTINGS = settings.load(settings.NotifySettings)
logger = Logger()
metrics = Metrics()
ledger = Ledger(SETTINGS.ledger_table)
findings = FindingStore(ledger, StateStore(SETTINGS.state_table))
models = ModelConfigStore(SETTINGS.model_config_table)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
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


def sweep_endpoints() -> dict[str, Any]:
    try:
        swept = serving_sweep.sweep(
            client("sagemaker"), client("cloudwatch"), findings, models, datetime.now(UTC)
        )
    except (ClientError, ControlPlaneError) as error:
        logger.exception("serving sweep failed; the digest goes out without it")
        metrics.add_metric(name="ServingSweepFailed", unit=MetricUnit.Count, value=1)
        return {"status": "failed", "error": str(error)}
    metrics.add_metric(name="ServingFindings", unit=MetricUnit.Count, value=len(swept["recorded"]))
    if swept["skipped"]:
        logger.warning("endpoints not checked", extra={"skipped": swept["skipped"]})
    result = {"status": "swept", "endpoints": swept["endpoints"], "new": len(swept["recorded"])}
    return result | ({"skipped": swept["skipped"]} if swept["skipped"] else {})
