"""Cost and safety guardrails: rules over a training job or an endpoint, as plain data.

Every rule warns by default: a finding lands in the ledger and in the next digest. A model (or
the stack) may opt in to *enforce* the training rules, which stops the non-compliant job while it
is still starting. Endpoint rules never enforce: the only enforcement there would be taking
production traffic away, which no control plane should do on its own.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from mlops_core import spot
from mlops_core.ledger import UNKNOWN_MODEL, Action
from mlops_core.notification import Notification
from mlops_core.observe import is_would
from mlops_core.serving_policy import ServingPolicy

# Pseudo model id of records that span models (the digest).
ALL_MODELS = "_all"


class Rule(StrEnum):
    TRAINING_WITHOUT_SPOT = "training.no_spot"
    TRAINING_WITHOUT_CHECKPOINT = "training.no_checkpoint"
    SPOT_WAIT_TIME = "training.spot_wait_time"
    ENDPOINT_WITHOUT_DATA_CAPTURE = "endpoint.no_data_capture"
    ENDPOINT_WITHOUT_MONITORING = "endpoint.no_monitoring"
    ENDPOINT_MODEL_NOT_REGISTERED = "endpoint.model_not_registered"
    # Serving cost (mlops_core.serving, issue 14): from CloudWatch usage, swept by the digest
    ENDPOINT_IDLE = "endpoint.idle"
    ENDPOINT_UNDERUSED = "endpoint.underused"
    ENDPOINT_BATCH_TRAFFIC = "endpoint.batch_traffic"


ENFORCEABLE = frozenset(
    {Rule.TRAINING_WITHOUT_SPOT, Rule.TRAINING_WITHOUT_CHECKPOINT, Rule.SPOT_WAIT_TIME}
)


class GuardrailPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    enforce: frozenset[Rule] = Field(
        frozenset(),
        description="training rules whose violation stops the job (StopTrainingJob) instead of "
        "only warning",
    )
    ignore: frozenset[Rule] = Field(frozenset(), description="rules not checked at all")
    serving: ServingPolicy = Field(
        default_factory=ServingPolicy, description="thresholds of the serving cost rules"
    )
    wait_time_tolerance: float = Field(
        0.25,
        gt=0.0,
        lt=1.0,
        description="how far (relative) MaxWaitTimeInSeconds may be from wait_time_ratio x "
        "MaxRuntimeInSeconds before it is flagged",
    )

    @model_validator(mode="after")
    def _only_training_rules_enforce(self) -> GuardrailPolicy:
        refused = sorted(str(r) for r in self.enforce - ENFORCEABLE)
        if refused:
            raise ValueError(
                f"{refused} cannot be enforced: enforcing an endpoint rule would mean taking "
                "production traffic away; they only warn"
            )
        return self


@dataclass(frozen=True, slots=True)
class Finding:
    rule: Rule
    resource: str  # "training-job/<name>" or "endpoint/<name>"
    message: str
    enforced: bool = False
    monthly_usd: float | None = None  # what the resource costs per month at list price
    fix: str | None = None  # the suggested fix, when the rule has one
    account_id: str | None = None  # the account the resource is in (the serving sweep says)
    target_count: int | None = None  # endpoint.underused: the instance count its peak needs

    def to_dict(self) -> dict[str, Any]:
        extra = {
            "monthly_usd": self.monthly_usd,
            "fix": self.fix,
            "account_id": self.account_id,
            "target_count": self.target_count,
        }
        return {
            "rule": str(self.rule),
            "resource": self.resource,
            "message": self.message,
            "enforced": self.enforced,
        } | {k: v for k, v in extra.items() if v is not None}


# ---------------------------------------------------------------- training jobs


def check_training_job(
    job: dict[str, Any], policy: GuardrailPolicy, wait_time_ratio: float = 2.0
) -> list[Finding]:
    """Findings for a training job (DescribeTrainingJob + ``Tags``) that just started."""
    tags = spot.tags_of(job)
    resource = f"training-job/{job['TrainingJobName']}"
    own_copy = spot.LINEAGE_TAG in tags
    found: list[tuple[Rule, str]] = []
    uses_spot = bool(job.get("EnableManagedSpotTraining"))
    if not uses_spot and not tags.get(spot.FALLBACK_TAG, "").startswith("on-demand"):
        found.append(
            (
                Rule.TRAINING_WITHOUT_SPOT,
                "started without managed Spot training (EnableManagedSpotTraining false): Spot "
                "costs 60-90% less for jobs that checkpoint",
            )
        )
    if not job.get("CheckpointConfig"):
        found.append(
            (
                Rule.TRAINING_WITHOUT_CHECKPOINT,
                "no CheckpointConfig: an interrupted or stopped job restarts from zero"
                + (" (a Spot job: interruptions are expected)" if uses_spot else ""),
            )
        )
    if uses_spot:
        wait = _wait_time_problem(job.get("StoppingCondition") or {}, policy, wait_time_ratio)
        if wait:
            found.append((Rule.SPOT_WAIT_TIME, wait))
    return [
        Finding(
            rule,
            resource,
            message,
            # The control plane never stops the copies it started itself.
            enforced=rule in policy.enforce and not own_copy,
        )
        for rule, message in found
        if rule not in policy.ignore
    ]


def _wait_time_problem(
    stopping: dict[str, Any], policy: GuardrailPolicy, ratio: float
) -> str | None:
    runtime = int(stopping.get("MaxRuntimeInSeconds") or spot.DEFAULT_MAX_RUNTIME)
    wait = stopping.get("MaxWaitTimeInSeconds")
    target = round(runtime * ratio)
    if not wait:
        return f"no MaxWaitTimeInSeconds; the guide is {ratio:g}x MaxRuntimeInSeconds ({target} s)"
    actual = int(wait) / runtime
    if abs(actual - ratio) <= policy.wait_time_tolerance * ratio:
        return None
    consequence = (
        "little time is left to wait for Spot capacity, so it runs out of wait time easily"
        if actual < ratio
        else "it may wait a long time for capacity before anyone notices"
    )
    return (
        f"MaxWaitTimeInSeconds {wait} is {actual:.1f}x MaxRuntimeInSeconds {runtime}; the guide "
        f"is {ratio:g}x ({target} s): {consequence}"
    )


# ---------------------------------------------------------------- endpoints


def check_endpoint(endpoint: dict[str, Any], policy: GuardrailPolicy) -> list[Finding]:
    """Findings for an endpoint that just went InService.

    ``endpoint``: ``EndpointName``, ``EndpointConfigName``, ``DataCaptureConfig`` (of the
    endpoint config, None when absent), ``MonitoringSchedules`` (names of the schedules on the
    endpoint) and ``Models``: ``[{"ModelName", "ModelPackageName" | None}]`` of the variants.
    """
    resource = f"endpoint/{endpoint['EndpointName']}"
    found: list[tuple[Rule, str]] = []
    capture = endpoint.get("DataCaptureConfig") or {}
    if not capture.get("EnableCapture", bool(capture)):
        found.append(
            (
                Rule.ENDPOINT_WITHOUT_DATA_CAPTURE,
                f"endpoint config {endpoint.get('EndpointConfigName')} captures no data: Model "
                "Monitor has nothing to compare against the baseline",
            )
        )
    if not endpoint.get("MonitoringSchedules"):
        found.append(
            (
                Rule.ENDPOINT_WITHOUT_MONITORING,
                "no monitoring schedule watches this endpoint: drift goes unnoticed",
            )
        )
    unregistered = [
        m["ModelName"] for m in endpoint.get("Models", []) if not m.get("ModelPackageName")
    ]
    if unregistered:
        found.append(
            (
                Rule.ENDPOINT_MODEL_NOT_REGISTERED,
                f"serves {', '.join(unregistered)}, not created from a Model Registry package: "
                "no approval, lineage or metrics on record",
            )
        )
    return [
        Finding(rule, resource, message) for rule, message in found if rule not in policy.ignore
    ]


# ---------------------------------------------------------------- notifications


def enforcement_notice(model_id: str, resource: str, findings: list[Finding]) -> Notification:
    """The page sent at once when a guardrail stopped a job: every finding of that event."""
    return Notification(
        kind="guardrail_enforced",
        model_id=model_id,
        subject_id=resource,
        title=f"[guardrail] {resource} was stopped: it broke an enforced rule",
        lines=[f"{'STOPPED ' if f.enforced else ''}{f.rule}: {f.message}" for f in findings],
        severity="warning",
        facts={"resource": resource, "model": model_id},
    )


def digest(
    digest_id: str, items: list[dict[str, Any]], not_swept: Sequence[str] = ()
) -> Notification:
    """One notification for every finding recorded since the last digest, grouped by resource,
    and what observe-only models would have done (mlops_core.observe) in the same period.

    ``items``: ``{"resource", "rule", "message", "model_id", "enforced"}`` dicts (and the
    ``account_id`` a serving finding names). ``not_swept``: why an account's endpoints could
    not be swept this time (its findings are missing from this digest, not absent).
    """
    by_resource: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for item in items:
        where = f" in account {item['account_id']}" if item.get("account_id") else ""
        by_resource[f"{item['resource']}{where}"].append(item)
    lines = [
        f"{resource} ({_owner(found[0].get('model_id'))}) {_digest_line(f)}"
        for resource, found in sorted(by_resource.items())
        for f in sorted(found, key=lambda f: str(f["rule"]))
    ]
    lines += [f"not swept: {reason}" for reason in not_swept]
    observed = sum(1 for item in items if is_would(str(item["rule"])))
    waiting = sum(1 for item in items if item["rule"] == Action.SERVING_ACTION_REQUESTED)
    found = len(items) - observed - waiting
    counts = ", ".join(
        ([f"{found} finding(s)"] if found or not (observed or waiting) else [])
        + ([f"{observed} observe-only action(s)"] if observed else [])
        + ([f"{waiting} action(s) waiting for approval"] if waiting else [])
    )
    title = f"[guardrails] {counts} on {len(by_resource)} resource(s)"
    costs = [float(f["monthly_usd"]) for f in items if f.get("monthly_usd") is not None]
    facts = {"digest": digest_id}
    if costs:  # serving findings: what the flagged endpoints cost, the number to act on
        title += f", ${sum(costs):,.2f}/month at list price in flagged endpoints"
        facts["flagged_monthly_usd"] = f"{sum(costs):.2f}"
    if not_swept:
        title += f"; {len(not_swept)} account(s) not swept"
        facts["accounts_not_swept"] = str(len(not_swept))
    return Notification(
        kind="guardrail_digest",
        model_id=ALL_MODELS,
        subject_id=digest_id,
        title=title,
        lines=lines,
        severity="warning" if not_swept else "info",
        facts=facts,
    )


def _digest_line(item: dict[str, Any]) -> str:
    if (
        is_would(str(item["rule"])) or item["rule"] == Action.SERVING_ACTION_REQUESTED
    ):  # its message says what would have happened, and why
        return str(item["message"])
    line = f"{'[stopped] ' if item.get('enforced') else ''}{item['rule']}: {item['message']}"
    return line + (f". Fix: {item['fix']}" if item.get("fix") else "")


def _owner(model_id: Any) -> str:
    """Whose resource it is, as the digest says it (a resource of no configured model)."""
    return "no model" if not model_id or model_id == UNKNOWN_MODEL else str(model_id)
