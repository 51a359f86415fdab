"""The serving sweep: every InService endpoint of this account checked against the serving
guardrails (mlops_core.serving), each new finding in the ledger and the digest queue.

The guardrail digest runs it before it sends, so the digest carries what the endpoints cost.
A finding is recorded once per endpoint config, rule and ISO week: an endpoint still idle next
week is listed again (a reminder), never twice in one week however often the digest runs.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from mlops_core import serving
from mlops_core.guardrails import GuardrailPolicy
from mlops_core.ledger import UNKNOWN_MODEL

from mlops_runtime import serving_usage
from mlops_runtime.findings import FindingStore
from mlops_runtime.model_config import ModelConfigStore


def sweep(
    sagemaker: Any,
    cloudwatch: Any,
    findings: FindingStore,
    models: ModelConfigStore,
    now: datetime,
    default: GuardrailPolicy | None = None,
    act: Callable[..., str | None] | None = None,
) -> dict[str, Any]:
    """Check every endpoint; returns how many were checked and the findings newly recorded.
    ``act(finding, model, endpoint, region)`` (mlops_runtime.serving_actions) proposes what a
    model opted in to; what it answers is counted under ``actions``."""
    skipped: list[str] = []
    found = list(serving_usage.endpoints(sagemaker, skipped))
    owners = {e.name: models.by_endpoint(e.name) for e in found}
    policies = {
        name: (m.guardrails if m is not None and m.guardrails else default or GuardrailPolicy())
        for name, m in owners.items()
    }
    days = max((p.serving.idle_days for p in policies.values()), default=7)
    region = cloudwatch.meta.region_name
    week = "{}-W{:02d}".format(*now.isocalendar()[:2])
    config_of = {e.name: e.config for e in found}
    by_name = {e.name: e for e in found}
    recorded: list[dict[str, Any]] = []
    actions: dict[str, int] = {}
    for usage in serving_usage.usage(cloudwatch, found, region, days, now):
        policy = policies[usage.name]
        model = owners[usage.name]
        for finding in serving.check_usage(usage, policy.serving, now):
            if finding.rule in policy.ignore:
                continue
            model_id = model.model_id if model is not None else UNKNOWN_MODEL
            if findings.record(finding, model_id, f"{config_of[usage.name]}@{week}"):
                recorded.append(finding.to_dict())
            if act and (done := act(finding, model, by_name[usage.name], region)):
                actions[done] = actions.get(done, 0) + 1
    return {"endpoints": len(found), "recorded": recorded, "skipped": skipped, "actions": actions}
