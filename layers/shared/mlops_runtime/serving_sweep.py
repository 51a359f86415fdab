"""The serving sweep: every InService endpoint of the tooling account and of every workload
account the model configurations name, checked against the serving guardrails
(mlops_core.serving), each new finding in the ledger and the digest queue.

The guardrail digest runs it before it sends, so the digest carries what the endpoints cost.
A workload account is read through its reader role (mlops_runtime.accounts); the accounts come
from the model configurations only (mlops_core.serving_accounts). An account that cannot be
read (role not assumable, secret missing, a call denied) is reported as not swept, with the
reason, and the others are swept. A finding names its account and is recorded once per account,
endpoint config, rule and ISO week: an endpoint still idle next week is listed again (a
reminder), never twice in one week however often the digest runs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError
from mlops_core import serving
from mlops_core.errors import ControlPlaneError
from mlops_core.guardrails import GuardrailPolicy
from mlops_core.ledger import UNKNOWN_MODEL
from mlops_core.serving_accounts import AccountSweep, Claim, plan

from mlops_runtime import serving_usage
from mlops_runtime.accounts import AccountReader
from mlops_runtime.findings import FindingStore
from mlops_runtime.model_config import AccountAccess, ModelConfig

SESSION = "mlopscp-serving-sweep"


def claim(model: ModelConfig) -> Claim:
    access = model.access()
    if access is None:
        return Claim(model.model_id, model.endpoint_name)
    return Claim(
        model.model_id,
        model.endpoint_name,
        access.account_id,
        access.reader_role_arn,
        access.external_id_secret_arn,
    )


def sweep_accounts(
    models: list[ModelConfig],
    tooling_account: str,
    findings: FindingStore,
    now: datetime,
    default: GuardrailPolicy | None = None,
    act: Callable[..., str | None] | None = None,
) -> dict[str, Any]:
    """Sweep every account; returns per-account counts, the findings newly recorded, the
    actions proposed, the endpoints left out, and the accounts not swept with the reason."""
    configs = {m.model_id: m for m in models}
    result: dict[str, Any] = {
        "accounts": {},
        "recorded": [],
        "actions": {},
        "skipped": [],
        "not_swept": [],
    }
    for account in plan((claim(m) for m in models), tooling_account):
        reader = AccountReader(_access(account), SESSION)
        try:
            swept = sweep(
                reader.client("sagemaker"),
                reader.client("cloudwatch"),
                findings,
                account,
                configs,
                now,
                default,
                act,
            )
        except (ClientError, ControlPlaneError) as error:
            result["not_swept"].append(f"{account.label}: {error}")
            continue
        result["accounts"][account.account_id] = swept["endpoints"]
        result["recorded"] += swept["recorded"]
        for done, count in swept["actions"].items():
            result["actions"][done] = result["actions"].get(done, 0) + count
        result["skipped"] += [f"{account.account_id}/{s}" for s in swept["skipped"]]
        result["skipped"] += list(account.notes)
    return result


def _access(account: AccountSweep) -> AccountAccess | None:
    if account.tooling:
        return None
    return AccountAccess(
        account_id=account.account_id,
        reader_role_arn=str(account.reader_role_arn),
        external_id_secret_arn=str(account.external_id_secret_arn),
    )


def sweep(
    sagemaker: Any,
    cloudwatch: Any,
    findings: FindingStore,
    account: AccountSweep,
    models: Mapping[str, ModelConfig],
    now: datetime,
    default: GuardrailPolicy | None = None,
    act: Callable[..., str | None] | None = None,
) -> dict[str, Any]:
    """Check every endpoint of one account; returns how many were checked and the findings
    newly recorded. An endpoint no model claims is checked with ``default`` (unowned).
    ``act(finding, model, endpoint, region, account_id)`` (mlops_runtime.serving_actions)
    proposes what a model opted in to; what it answers is counted under ``actions``."""
    skipped: list[str] = []
    found = list(serving_usage.endpoints(sagemaker, skipped))
    owners = {e.name: models.get(account.owners.get(e.name, "")) for e in found}
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
            finding = replace(finding, account_id=account.account_id)
            model_id = model.model_id if model is not None else UNKNOWN_MODEL
            version = f"{account.account_id}:{config_of[usage.name]}@{week}"
            if findings.record(finding, model_id, version):
                recorded.append(finding.to_dict())
            if act and (
                done := act(finding, model, by_name[usage.name], region, account.account_id)
            ):
                actions[done] = actions.get(done, 0) + 1
    return {"endpoints": len(found), "recorded": recorded, "skipped": skipped, "actions": actions}
