"""Model promotion: the rules that decide whether a registered model version reaches production.

Plain data in, decision values out; the promotion functions fetch and apply. The rules:

- **Version order**: a package version is promoted only if it is newer than the one production
  serves (:func:`order_refusal`).
- **Quality gate**: the candidate's ModelQuality statistics (the JSON its registry entry points
  to) against the production package's, metric by metric, with a per-model relative tolerance,
  and against the model's absolute thresholds, which are all a first deployment is checked
  against (:func:`quality_gate`).
- **Shadow verdict**: the candidate ran as a shadow of production; its CloudWatch numbers
  (invocations, 4xx/5xx rates, p99 ModelLatency) and its agreement with production's predictions
  in the data capture decide ``pass``, ``fail`` or ``inconclusive`` (:func:`shadow_verdict`). The
  rule is deliberately asymmetric: a breached threshold fails on whatever traffic there was, but
  a pass needs enough traffic (and enough compared predictions); too little is
  ``inconclusive``, never a pass.
- **Deployment**: the blue/green ``DeploymentConfig`` (canary or linear traffic shifting, auto
  rollback on the control plane's alarms) and the autoscaling target, from the model's policy.
  The fleet's size and the autoscaling it keeps are :mod:`mlops_core.fleet`'s; a first
  deployment (no production endpoint) is :mod:`mlops_core.first_deployment`'s.
- **How it ended** (:func:`ending`): from what the workflow recorded, which terminal outcome and
  which reason to report.
"""

from __future__ import annotations

import base64
import binascii
import csv
import hashlib
import io
import json
import math
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

# ---------------------------------------------------------------- names and versions

PACKAGE_ARN = re.compile(
    r"^arn:aws[a-z-]*:sagemaker:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):"
    r"model-package/(?P<group>[^/]+)/(?P<version>\d+)$"
)
# Tags the control plane puts on what it creates in the target accounts; cleanup deletes only
# resources that carry this promotion's tag.
PROMOTION_TAG = "mlopscp:promotion"
MODEL_TAG = "mlopscp:model-id"
ALARM_PREFIX = "mlopscp"
SHADOW_VARIANT_PREFIX = "shadow-v"


@dataclass(frozen=True, slots=True)
class PackageRef:
    arn: str
    account: str
    region: str
    group: str
    version: int


def parse_package_arn(arn: str) -> PackageRef:
    """A versioned model package ARN, e.g. ``...:model-package/churn/3``."""
    match = PACKAGE_ARN.match(arn)
    if not match:
        raise ValueError(f"not a versioned model package ARN: {arn!r}")
    return PackageRef(
        arn=arn,
        account=match["account"],
        region=match["region"],
        group=match["group"],
        version=int(match["version"]),
    )


def promotion_id(model_id: str, version: int) -> str:
    """One promotion per package version: the id every record and ledger entry uses."""
    return f"{model_id}-v{version}"


def execution_name(model_id: str, version: int, package_arn: str) -> str:
    """Deterministic, so starting the same version twice asks for the same execution."""
    digest = hashlib.sha256(package_arn.encode()).hexdigest()[:10]
    return re.sub(r"[^A-Za-z0-9_-]", "-", f"{model_id}-v{version}-{digest}")[:80]


@dataclass(frozen=True, slots=True)
class ResourceNames:
    """What a promotion creates in the target accounts (SageMaker names: 63 characters)."""

    staging_model: str
    staging_config: str
    prod_model: str
    prod_config: str
    experiment: str
    shadow_variant: str

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


def resource_names(
    model_id: str, version: int, staging_endpoint: str, prod_endpoint: str
) -> ResourceNames:
    suffix = f"-v{version}"
    return ResourceNames(
        staging_model=_name(f"{model_id}-staging", suffix),
        staging_config=_name(staging_endpoint, suffix),
        prod_model=_name(model_id, suffix),
        prod_config=_name(prod_endpoint, suffix),
        experiment=_name(f"{model_id}-shadow", suffix),
        shadow_variant=f"{SHADOW_VARIANT_PREFIX}{version}",
    )


def _name(base: str, suffix: str) -> str:
    return base[: 63 - len(suffix)].rstrip("-") + suffix


def order_refusal(candidate_version: int, production_version: int | None) -> str | None:
    """Why a version may not be promoted over what production serves (None: it may)."""
    if production_version is None or candidate_version > production_version:
        return None
    if candidate_version == production_version:
        return f"version {candidate_version} is already the version in production"
    return (
        f"version {candidate_version} is older than version {production_version}, which "
        "production already serves; approving an older version does not roll production back"
    )


# ---------------------------------------------------------------- registry events


class IntakeAction(StrEnum):
    START = "start"
    NOTIFY_PENDING = "notify_pending"
    RECORD_REJECTED = "record_rejected"
    IGNORE = "ignore"


def intake_action(approval_status: str, notify_pending: bool) -> IntakeAction:
    """What a Model Package State Change asks of the control plane."""
    if approval_status == "Approved":
        return IntakeAction.START
    if approval_status == "Rejected":
        return IntakeAction.RECORD_REJECTED
    if approval_status == "PendingManualApproval" and notify_pending:
        return IntakeAction.NOTIFY_PENDING
    return IntakeAction.IGNORE


def lock_is_stale(execution_status: str | None) -> bool:
    """A model's promotion lock held by an execution that no longer runs can be taken over."""
    return execution_status not in ("RUNNING", "PENDING_REDRIVE")


# ---------------------------------------------------------------- quality gate

Direction = Literal["higher_is_better", "lower_is_better"]
# Model-quality metrics SageMaker's evaluation reports use, with the direction that is better.
KNOWN_DIRECTIONS: dict[str, Direction] = {
    **dict.fromkeys(
        (
            "auc",
            "pr_auc",
            "accuracy",
            "balanced_accuracy",
            "precision",
            "recall",
            "f0_5",
            "f1",
            "f1_binary",
            "f1_micro",
            "f1_macro",
            "f2",
            "r2",
            "true_positive_rate",
            "true_negative_rate",
            "weighted_precision",
            "weighted_recall",
            "weighted_f1",
        ),
        "higher_is_better",
    ),
    **dict.fromkeys(
        (
            "mse",
            "rmse",
            "mae",
            "mape",
            "log_loss",
            "false_positive_rate",
            "false_negative_rate",
        ),
        "lower_is_better",
    ),
}


class QualityPolicy(BaseModel):
    """The quality gate: how far the candidate's offline metrics may fall behind production's."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tolerance: float = Field(
        0.01,
        ge=0,
        le=1,
        description="relative regression allowed per metric (0.01: 1% of production's value)",
    )
    metrics: dict[str, Direction] = Field(
        default_factory=dict,
        description="metrics to compare and which way is better; empty: every metric of "
        "KNOWN_DIRECTIONS both packages report",
    )
    require_metrics: bool = Field(
        True, description="refuse a candidate whose package points to no ModelQuality statistics"
    )
    thresholds: dict[str, float] = Field(
        default_factory=dict,
        description="absolute bars the candidate must meet (a floor for higher_is_better "
        "metrics, a ceiling for lower_is_better ones), with or without a production version: "
        "on a first deployment they are the whole gate",
    )

    @model_validator(mode="after")
    def _thresholds_have_a_direction(self) -> QualityPolicy:
        unknown = sorted(set(self.thresholds) - set(self.metrics) - set(KNOWN_DIRECTIONS))
        if unknown:
            raise ValueError(f"thresholds {', '.join(unknown)}: name their direction under metrics")
        return self

    def direction(self, name: str) -> Direction:
        return self.metrics.get(name) or KNOWN_DIRECTIONS[name]


def flatten_quality(report: Any) -> dict[str, float]:
    """Metric name -> value from a model-quality report.

    Accepts SageMaker's evaluation format (``{"regression_metrics": {"mse": {"value": 4.2,
    "standard_deviation": 0.1}}}``, also binary/multiclass) and flat ``{"auc": 0.91}`` maps.
    The first occurrence of a name wins.
    """
    found: dict[str, float] = {}

    def walk(node: Any, name: str | None) -> None:
        if isinstance(node, Mapping):
            value = _number(node.get("value"))
            if name and value is not None:
                found.setdefault(name, value)
                return
            for key, child in node.items():
                walk(child, str(key))
        elif name and (value := _number(node)) is not None:
            found.setdefault(name, value)

    walk(report, None)
    return found


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


@dataclass(frozen=True, slots=True)
class MetricRow:
    """One line of a metric diff: production (before) vs candidate or shadow (after)."""

    name: str
    before: float | None
    after: float | None
    higher_is_better: bool = True
    ok: bool = True

    def to_change(self) -> dict[str, Any]:
        """The approvals' MetricChange shape."""
        return {
            "name": self.name,
            "before": self.before,
            "after": self.after,
            "higher_is_better": self.higher_is_better,
        }


@dataclass(frozen=True, slots=True)
class GateResult:
    passed: bool
    reasons: list[str]
    rows: list[MetricRow] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "reasons": self.reasons,
            "metrics": [asdict(row) for row in self.rows],
        }


def quality_gate(
    candidate: Mapping[str, float] | None,
    production: Mapping[str, float] | None,
    policy: QualityPolicy,
    first_deployment: bool = False,
) -> GateResult:
    """Refuse a candidate that regresses beyond the tolerance on any compared metric, or misses
    one of the absolute thresholds. Without production statistics (a first deployment, or a
    production package that points to none) only the thresholds apply."""
    if candidate is None:
        if policy.require_metrics:
            return GateResult(False, ["the candidate package has no ModelQuality statistics"])
        return GateResult(True, ["the candidate package has no ModelQuality statistics (allowed)"])
    absolute = [
        _threshold_row(name, bound, candidate, policy)
        for name, bound in sorted(policy.thresholds.items())
    ]
    if production is None:
        why = (
            "first deployment: no production version to compare with"
            if first_deployment
            else "production has no ModelQuality statistics to compare against"
        )
        if not absolute:
            return GateResult(True, [f"{why}, and no absolute thresholds (quality.thresholds)"])
        return _gate(absolute, policy, f"{why}; ")
    wanted = policy.metrics or {
        name: direction
        for name, direction in KNOWN_DIRECTIONS.items()
        if name in candidate and name in production
    }
    rows = []
    for name, direction in sorted(wanted.items()):
        before, after = production.get(name), candidate.get(name)
        higher = direction == "higher_is_better"
        if after is None or before is None:
            rows.append(MetricRow(name, before, after, higher, ok=False))
            continue
        regression = (before - after) if higher else (after - before)
        ok = regression <= policy.tolerance * abs(before) + 1e-12
        rows.append(MetricRow(name, before, after, higher, ok))
    if not rows and not absolute:
        return GateResult(True, ["no metric both packages report to compare"])
    return _gate(rows + absolute, policy, "")


THRESHOLD_SUFFIX = " (threshold)"


def _threshold_row(
    name: str, bound: float, candidate: Mapping[str, float], policy: QualityPolicy
) -> MetricRow:
    higher = policy.direction(name) == "higher_is_better"
    value = candidate.get(name)
    ok = value is not None and (value >= bound - 1e-12 if higher else value <= bound + 1e-12)
    return MetricRow(name + THRESHOLD_SUFFIX, bound, value, higher, ok)


def _gate(rows: list[MetricRow], policy: QualityPolicy, prefix: str) -> GateResult:
    reasons = [_failure(row, policy) for row in rows if not row.ok]
    if reasons:
        return GateResult(False, reasons, rows)
    compared = [r.name for r in rows if not r.name.endswith(THRESHOLD_SUFFIX)]
    met = [r.name.removesuffix(THRESHOLD_SUFFIX) for r in rows if r.name.endswith(THRESHOLD_SUFFIX)]
    parts = []
    if compared:
        parts.append(f"no regression beyond {policy.tolerance:.1%} on {', '.join(compared)}")
    if met:
        parts.append(f"meets the absolute thresholds on {', '.join(met)}")
    return GateResult(True, [prefix + "; ".join(parts)], rows)


def _failure(row: MetricRow, policy: QualityPolicy) -> str:
    if row.name.endswith(THRESHOLD_SUFFIX):
        name = row.name.removesuffix(THRESHOLD_SUFFIX)
        if row.after is None:
            return f"{name}: the candidate package does not report it (it has a threshold)"
        side = "below the floor" if row.higher_is_better else "above the ceiling"
        return f"{name} {row.after:.4g} is {side} of {row.before:.4g} (quality.thresholds)"
    if row.after is None or row.before is None:
        missing = "candidate" if row.after is None else "production"
        return f"{row.name}: the {missing} package does not report it"
    return (
        f"{row.name} regresses from {row.before:.4g} to {row.after:.4g} "
        f"(more than the {policy.tolerance:.1%} tolerance)"
    )


# ---------------------------------------------------------------- shadow verdict


class ShadowPolicy(BaseModel):
    """The shadow test and the thresholds of its verdict."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    duration_minutes: float = Field(
        1440, ge=0.01, le=43200, description="how long the shadow runs (SageMaker: up to 30 days)"
    )
    sampling_percentage: int = Field(
        20, ge=1, le=100, description="share of production requests copied to the shadow"
    )
    min_invocations: int = Field(
        1000, ge=1, description="shadow invocations below this: the verdict is inconclusive"
    )
    min_compared_predictions: int = Field(
        200, ge=0, description="paired predictions below this: inconclusive (0: no agreement check)"
    )
    max_5xx_rate_increase: float = Field(
        0.001, ge=0, le=1, description="shadow 5xx rate minus production's, at most"
    )
    max_4xx_rate_increase: float = Field(
        0.01, ge=0, le=1, description="shadow 4xx rate minus production's, at most"
    )
    max_p99_latency_increase: float = Field(
        0.2, ge=0, description="relative p99 ModelLatency increase over production, at most"
    )
    min_agreement: float = Field(
        0.95, ge=0, le=1, description="share of paired predictions that must agree"
    )
    agreement_abs_tolerance: float = Field(
        0.01, ge=0, description="two numeric predictions agree within this absolute difference"
    )
    agreement_rel_tolerance: float = Field(
        0.05, ge=0, description="... or within this share of production's prediction"
    )
    on_inconclusive: Literal["not_promoted", "ask_approver"] = Field(
        "not_promoted",
        description="an inconclusive verdict ends the promotion, or goes to the approvers "
        "marked inconclusive",
    )
    max_capture_records: int = Field(
        5000, ge=1, description="data-capture records read per variant (newest files first)"
    )


@dataclass(frozen=True, slots=True)
class VariantStats:
    """One variant's CloudWatch numbers over the shadow window (``None``: no datapoint)."""

    invocations: float
    errors_4xx: float
    errors_5xx: float
    p99_latency_ms: float | None

    def rate(self, errors: float) -> float | None:
        return errors / self.invocations if self.invocations > 0 else None


@dataclass(frozen=True, slots=True)
class AgreementStats:
    compared: int
    agreeing: int
    unpaired_shadow: int = 0
    unreadable: int = 0

    @property
    def share(self) -> float | None:
        return self.agreeing / self.compared if self.compared else None


class VerdictOutcome(StrEnum):
    PASS = "pass"  # noqa: S105 - a verdict, not a password
    FAIL = "fail"
    INCONCLUSIVE = "inconclusive"


@dataclass(frozen=True, slots=True)
class Verdict:
    outcome: VerdictOutcome
    reasons: list[str]
    rows: list[MetricRow]
    proceed: bool  # on to the human approval
    evidence: dict[str, Any]

    @property
    def headline(self) -> str:
        shown = {
            VerdictOutcome.PASS: "passed",
            VerdictOutcome.FAIL: "failed",
            VerdictOutcome.INCONCLUSIVE: "was inconclusive",
        }
        return f"shadow test {shown[self.outcome]}: " + "; ".join(self.reasons[:3])

    def to_dict(self) -> dict[str, Any]:
        return {
            "outcome": str(self.outcome),
            "proceed": self.proceed,
            "headline": self.headline[:500],
            "reasons": self.reasons[:20],
            "metrics": [row.to_change() for row in self.rows],
            "evidence": self.evidence,
        }


def shadow_verdict(
    production: VariantStats,
    shadow: VariantStats,
    agreement: AgreementStats,
    policy: ShadowPolicy,
) -> Verdict:
    """Pass, fail or inconclusive, with the reasons and the metric diff approvers see."""
    checks = [
        _error_rate_check("5xx", production, shadow, policy.max_5xx_rate_increase),
        _error_rate_check("4xx", production, shadow, policy.max_4xx_rate_increase),
        _latency_check(production, shadow, policy),
    ]
    if policy.min_compared_predictions > 0:
        checks.append(_agreement_check(agreement, policy))
    rows = [MetricRow("invocations", production.invocations, shadow.invocations, True)]
    rows += [check.row for check in checks]
    failures = [check.failure for check in checks if check.failure]
    missing = [check.missing for check in checks if check.missing]
    if shadow.invocations < policy.min_invocations:
        missing.insert(
            0,
            f"too little traffic: the shadow served {shadow.invocations:.0f} requests "
            f"(at least {policy.min_invocations} needed)",
        )
    evidence = {
        "production": asdict(production),
        "shadow": asdict(shadow),
        "agreement": asdict(agreement) | {"share": agreement.share},
        "thresholds": policy.model_dump(include=_THRESHOLDS),
    }
    if failures:
        return Verdict(VerdictOutcome.FAIL, failures, rows, False, evidence)
    if missing:
        proceed = policy.on_inconclusive == "ask_approver"
        return Verdict(VerdictOutcome.INCONCLUSIVE, missing, rows, proceed, evidence)
    reasons = [
        f"{shadow.invocations:.0f} shadow requests, 5xx {_pct(shadow.rate(shadow.errors_5xx))} "
        f"vs {_pct(production.rate(production.errors_5xx))}",
        f"p99 ModelLatency {shadow.p99_latency_ms:.1f} ms vs {production.p99_latency_ms:.1f} ms",
    ]
    if policy.min_compared_predictions > 0:
        reasons.append(
            f"predictions agree on {_pct(agreement.share)} of {agreement.compared} pairs"
        )
    return Verdict(VerdictOutcome.PASS, reasons, rows, True, evidence)


_THRESHOLDS = {
    "min_invocations",
    "min_compared_predictions",
    "max_5xx_rate_increase",
    "max_4xx_rate_increase",
    "max_p99_latency_increase",
    "min_agreement",
}


@dataclass(frozen=True, slots=True)
class _Check:
    row: MetricRow
    failure: str | None = None  # a threshold breached (on whatever traffic there was)
    missing: str | None = None  # not enough data to tell


def _error_rate_check(
    label: str, production: VariantStats, shadow: VariantStats, limit: float
) -> _Check:
    attribute = "errors_5xx" if label == "5xx" else "errors_4xx"
    prod_rate = production.rate(getattr(production, attribute))
    shadow_rate = shadow.rate(getattr(shadow, attribute))
    ok = shadow_rate is None or shadow_rate - (prod_rate or 0.0) <= limit + 1e-12
    row = MetricRow(f"{label} error rate", prod_rate, shadow_rate, False, ok)
    if ok:
        return _Check(row)
    return _Check(
        row,
        failure=f"{label} error rate {_pct(shadow_rate)} vs production {_pct(prod_rate)} "
        f"(at most +{limit:.2%} allowed)",
    )


def _latency_check(production: VariantStats, shadow: VariantStats, policy: ShadowPolicy) -> _Check:
    before, after = production.p99_latency_ms, shadow.p99_latency_ms
    if before is None or after is None:
        row = MetricRow("p99 latency (ms)", before, after, False)
        return _Check(row, missing="no p99 ModelLatency datapoint for both variants")
    ceiling = before * (1 + policy.max_p99_latency_increase)
    ok = after <= ceiling + 1e-9
    row = MetricRow("p99 latency (ms)", before, after, False, ok)
    if ok:
        return _Check(row)
    return _Check(
        row,
        failure=f"p99 ModelLatency {after:.1f} ms vs production {before:.1f} ms "
        f"(at most +{policy.max_p99_latency_increase:.0%})",
    )


def _agreement_check(agreement: AgreementStats, policy: ShadowPolicy) -> _Check:
    share = agreement.share
    ok = share is None or share + 1e-12 >= policy.min_agreement
    row = MetricRow("prediction agreement", 1.0, share, True, ok)
    failure = None
    if not ok:
        failure = (
            f"predictions agree on {_pct(share)} of {agreement.compared} paired requests "
            f"(at least {policy.min_agreement:.0%} required)"
        )
    missing = None
    if agreement.compared < policy.min_compared_predictions:
        missing = (
            f"only {agreement.compared} paired predictions in the data capture "
            f"(at least {policy.min_compared_predictions} needed)"
        )
    return _Check(row, failure, missing)


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2%}"


# ---------------------------------------------------------------- data capture


@dataclass(frozen=True, slots=True)
class CapturedPrediction:
    """One data-capture line: the keys it can be paired by and the prediction it returned."""

    keys: tuple[tuple[str, str], ...]  # ("inference", id), ("event", id), ("input", digest)
    prediction: tuple[Any, ...] | None  # None: the output could not be read


def parse_capture_line(line: str) -> CapturedPrediction | None:
    """A SageMaker data-capture JSON line (``captureData.endpointInput/endpointOutput`` with
    ``data`` and ``encoding`` CSV | JSON | BASE64, ``eventMetadata``). None: not a record."""
    try:
        record = json.loads(line)
    except ValueError:
        return None
    if not isinstance(record, dict) or not isinstance(record.get("captureData"), dict):
        return None
    capture = record["captureData"]
    metadata = _mapping(record.get("eventMetadata"))
    keys: list[tuple[str, str]] = []
    if metadata.get("inferenceId"):
        keys.append(("inference", str(metadata["inferenceId"])))
    if metadata.get("eventId"):
        keys.append(("event", str(metadata["eventId"])))
    request = _mapping(capture.get("endpointInput"))
    if request.get("data") is not None:
        digest = hashlib.sha256(
            f"{request.get('observedContentType', '')}|{request['data']}".encode()
        ).hexdigest()
        keys.append(("input", digest))
    output = capture.get("endpointOutput")
    prediction = _prediction(output) if isinstance(output, dict) else None
    return CapturedPrediction(tuple(keys), prediction)


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _prediction(output: Mapping[str, Any]) -> tuple[Any, ...] | None:
    data, encoding = output.get("data"), str(output.get("encoding", "")).upper()
    if not isinstance(data, str):
        return None
    if encoding == "BASE64":
        try:
            data = base64.b64decode(data, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None
        encoding = "JSON" if "json" in str(output.get("observedContentType", "")) else "CSV"
    if encoding == "JSON":
        try:
            return tuple(_values(json.loads(data)))
        except ValueError:
            return None
    rows = list(csv.reader(io.StringIO(data.strip())))
    return tuple(_scalar(cell) for row in rows for cell in row) if rows else None


def _values(payload: Any) -> list[Any]:
    """The prediction values of a JSON response, however the container wraps them."""
    if isinstance(payload, Mapping):
        for key in ("predictions", "prediction", "scores", "score", "outputs", "output", "label"):
            if key in payload:
                return _values(payload[key])
        return [payload[k] for k in sorted(payload) if _number(payload[k]) is not None]
    if isinstance(payload, list):
        return [value for item in payload for value in _values(item)]
    return [payload]


def _scalar(cell: str) -> Any:
    try:
        return float(cell)
    except ValueError:
        return cell.strip()


def predictions_agree(a: tuple[Any, ...], b: tuple[Any, ...], policy: ShadowPolicy) -> bool:
    if len(a) != len(b):
        return False
    for x, y in zip(a, b, strict=True):
        nx, ny = _number(x), _number(y)
        if nx is None or ny is None:
            if x != y:
                return False
            continue
        allowed = max(policy.agreement_abs_tolerance, policy.agreement_rel_tolerance * abs(nx))
        if abs(nx - ny) > allowed + 1e-12:
            return False
    return True


def agreement(
    production: Iterable[CapturedPrediction],
    shadow: Iterable[CapturedPrediction],
    policy: ShadowPolicy,
) -> AgreementStats:
    """Pair each shadow record with the production record of the same request: by inference
    id, else event id, else the identical request payload (the shadow gets a copy of it); a
    payload seen several times pairs in order."""
    index: dict[tuple[str, str], list[CapturedPrediction]] = defaultdict(list)
    for record in production:
        for key in record.keys:
            index[key].append(record)
    used: set[int] = set()
    compared = agreeing = unpaired = unreadable = 0
    for record in shadow:
        partner = None
        for key in record.keys:
            partner = next((p for p in index.get(key, []) if id(p) not in used), None)
            if partner is not None:
                break
        if partner is None:
            unpaired += 1
            continue
        used.add(id(partner))
        if record.prediction is None or partner.prediction is None:
            unreadable += 1
            continue
        compared += 1
        agreeing += predictions_agree(partner.prediction, record.prediction, policy)
    return AgreementStats(compared, agreeing, unpaired, unreadable)


# ---------------------------------------------------------------- deployment


class DeploymentPolicy(BaseModel):
    """The production deployment: blue/green traffic shifting and its rollback alarms."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    strategy: Literal["canary", "linear"] = "canary"
    canary_percent: int = Field(10, ge=1, le=99, description="first traffic share (canary)")
    linear_step_percent: int = Field(
        20, ge=5, le=50, description="traffic share moved per step (linear)"
    )
    wait_interval_seconds: int = Field(
        300, ge=0, le=3600, description="bake time after each traffic shift"
    )
    bake_seconds: int = Field(
        600, ge=0, le=3600, description="after all traffic moved, how long the old fleet stays"
    )
    rollback_5xx_percent: float = Field(
        1.0, gt=0, le=100, description="auto-rollback alarm: 5xx share of invocations, per minute"
    )
    rollback_p99_latency_ms: float = Field(
        1000.0, gt=0, description="auto-rollback alarm: p99 ModelLatency, per minute"
    )
    alarm_evaluation_minutes: int = Field(
        2, ge=1, le=10, description="consecutive breaching minutes before an alarm fires"
    )


class AutoscalingPolicy(BaseModel):
    """Target tracking on SageMakerVariantInvocationsPerInstance after the deployment."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    benchmarked_max_rps: float = Field(
        gt=0, description="requests per second one instance sustains (from a load test)"
    )
    target_utilization: float = Field(0.7, gt=0, le=1, description="share of that to target")
    min_instances: int = Field(1, ge=1)
    max_instances: int = Field(4, ge=1)
    scale_in_cooldown_seconds: int = Field(300, ge=0)
    scale_out_cooldown_seconds: int = Field(60, ge=0)

    @model_validator(mode="after")
    def _bounds(self) -> AutoscalingPolicy:
        if self.min_instances > self.max_instances:
            raise ValueError("min_instances must not exceed max_instances")
        return self


def invocations_per_instance_target(policy: AutoscalingPolicy) -> float:
    """TargetValue of SageMakerVariantInvocationsPerInstance, which counts invocations per
    MINUTE per instance: benchmarked max RPS x utilization x 60."""
    return round(policy.benchmarked_max_rps * policy.target_utilization * 60, 2)


def scalable_resource_id(endpoint: str, variant: str) -> str:
    return f"endpoint/{endpoint}/variant/{variant}"


def scaling_policy(policy: AutoscalingPolicy, name: str) -> dict[str, Any]:
    """PutScalingPolicy's policy part (without the resource id)."""
    return {
        "PolicyName": name,
        "PolicyType": "TargetTrackingScaling",
        "TargetTrackingScalingPolicyConfiguration": {
            "TargetValue": invocations_per_instance_target(policy),
            "PredefinedMetricSpecification": {
                "PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"
            },
            "ScaleInCooldown": policy.scale_in_cooldown_seconds,
            "ScaleOutCooldown": policy.scale_out_cooldown_seconds,
        },
    }


def alarm_names(endpoint: str) -> dict[str, str]:
    """The control plane's rollback alarms of one endpoint (one pair, reused by promotions)."""
    return {
        "5xx": f"{ALARM_PREFIX}-{endpoint}-5xx-rate",
        "latency": f"{ALARM_PREFIX}-{endpoint}-p99-latency",
    }


def rollback_alarms(endpoint: str, variant: str, policy: DeploymentPolicy) -> list[dict[str, Any]]:
    """PutMetricAlarm requests of the two auto-rollback alarms (5xx rate, p99 latency)."""
    names = alarm_names(endpoint)
    dimensions = [
        {"Name": "EndpointName", "Value": endpoint},
        {"Name": "VariantName", "Value": variant},
    ]
    common = {
        "EvaluationPeriods": policy.alarm_evaluation_minutes,
        "DatapointsToAlarm": policy.alarm_evaluation_minutes,
        "ComparisonOperator": "GreaterThanThreshold",
        # No traffic during a shift is not a failure of the new fleet.
        "TreatMissingData": "notBreaching",
    }

    def metric(query_id: str, name: str) -> dict[str, Any]:
        return {
            "Id": query_id,
            "ReturnData": False,
            "MetricStat": {
                "Metric": {
                    "Namespace": "AWS/SageMaker",
                    "MetricName": name,
                    "Dimensions": dimensions,
                },
                "Period": 60,
                "Stat": "Sum",
            },
        }

    return [
        {
            "AlarmName": names["5xx"],
            "AlarmDescription": f"mlops-control-plane: 5xx share of {endpoint}/{variant} "
            "invocations; rolls a blue/green deployment back",
            "Metrics": [
                metric("errors", "Invocation5XXErrors"),
                metric("invocations", "Invocations"),
                {
                    "Id": "rate",
                    "Expression": "IF(invocations > 0, 100 * errors / invocations, 0)",
                    "Label": "5xx percent",
                    "ReturnData": True,
                },
            ],
            "Threshold": policy.rollback_5xx_percent,
            **common,
        },
        {
            "AlarmName": names["latency"],
            "AlarmDescription": f"mlops-control-plane: p99 ModelLatency of {endpoint}/{variant}; "
            "rolls a blue/green deployment back",
            "Namespace": "AWS/SageMaker",
            "MetricName": "ModelLatency",
            "Dimensions": dimensions,
            "ExtendedStatistic": "p99",
            "Period": 60,
            "Unit": "Microseconds",
            "Threshold": policy.rollback_p99_latency_ms * 1000,  # ModelLatency is in µs
            **common,
        },
    ]


def deployment_config(policy: DeploymentPolicy, alarms: Iterable[str]) -> dict[str, Any]:
    """UpdateEndpoint's DeploymentConfig: blue/green with canary or linear traffic shifting,
    auto-rollback on ``alarms``."""
    routing: dict[str, Any] = {
        "Type": policy.strategy.upper(),
        "WaitIntervalInSeconds": policy.wait_interval_seconds,
    }
    if policy.strategy == "canary":
        routing["CanarySize"] = {"Type": "CAPACITY_PERCENT", "Value": policy.canary_percent}
        shifts = 1
    else:
        step = policy.linear_step_percent
        routing["LinearStepSize"] = {"Type": "CAPACITY_PERCENT", "Value": step}
        shifts = math.ceil(100 / policy.linear_step_percent) - 1
    # The whole deployment must fit SageMaker's 600..14400 s limit; fleets take minutes to start.
    needed = 1200 + shifts * policy.wait_interval_seconds + policy.bake_seconds
    return {
        "BlueGreenUpdatePolicy": {
            "TrafficRoutingConfiguration": routing,
            "TerminationWaitInSeconds": policy.bake_seconds,
            "MaximumExecutionTimeoutInSeconds": min(max(needed, 600), 14400),
        },
        "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": name} for name in alarms]},
    }


class DeploymentState(StrEnum):
    IN_PROGRESS = "in_progress"
    DEPLOYED = "deployed"
    ROLLED_BACK = "rolled_back"
    FAILED = "failed"


def deployment_state(
    status: str, current_config: str, new_config: str, old_config: str | None
) -> DeploymentState:
    """Where an UpdateEndpoint (or a first deployment's CreateEndpoint: no ``old_config``)
    stands, from DescribeEndpoint's status and config name."""
    if status in ("Creating", "Updating", "RollingBack", "SystemUpdating"):
        return DeploymentState.IN_PROGRESS
    if status == "InService":
        if current_config == new_config:
            return DeploymentState.DEPLOYED
        if old_config is not None and current_config == old_config:
            return DeploymentState.ROLLED_BACK
    return DeploymentState.FAILED


# ---------------------------------------------------------------- registry access


POLICY_SID_PREFIX = "MlopscpPromotion"


def group_policy(
    existing: str | None, group_arn: str, package_arn_prefix: str, accounts: Iterable[str]
) -> str:
    """The model package group's resource policy with the control plane's statements set to
    let ``accounts`` read the group's packages (and so create models from them); statements
    someone else wrote are kept as they are."""
    document: dict[str, Any] = json.loads(existing) if existing else {}
    statements: Any = document.get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    kept: list[Any] = [
        s for s in statements if not str(s.get("Sid", "")).startswith(POLICY_SID_PREFIX)
    ]
    principals = sorted({f"arn:aws:iam::{account}:root" for account in accounts})
    ours = [
        {
            "Sid": f"{POLICY_SID_PREFIX}Group",
            "Effect": "Allow",
            "Principal": {"AWS": principals},
            "Action": ["sagemaker:DescribeModelPackageGroup"],
            "Resource": group_arn,
        },
        {
            "Sid": f"{POLICY_SID_PREFIX}Packages",
            "Effect": "Allow",
            "Principal": {"AWS": principals},
            "Action": ["sagemaker:DescribeModelPackage", "sagemaker:ListModelPackages"],
            "Resource": f"{package_arn_prefix}/*",
        },
    ]
    document["Statement"] = kept + ours
    document.setdefault("Version", "2012-10-17")
    return json.dumps(document, sort_keys=True)


# ---------------------------------------------------------------- how it ended


class Outcome(StrEnum):
    PROMOTED = "promoted"
    NOT_PROMOTED = "not_promoted"  # refused, quality gate, shadow verdict, approval
    ROLLED_BACK = "rolled_back"  # production went back to the old model
    FAILED = "failed"  # an error; production on the old model unless the reason says otherwise


@dataclass(frozen=True, slots=True)
class Ending:
    outcome: Outcome
    stage: str
    reason: str

    @property
    def severity(self) -> str:
        return {
            Outcome.PROMOTED: "info",
            Outcome.NOT_PROMOTED: "warning",
            Outcome.ROLLED_BACK: "critical",
            Outcome.FAILED: "critical",
        }[self.outcome]

    def to_dict(self) -> dict[str, str]:
        return {"outcome": str(self.outcome), "stage": self.stage, "reason": self.reason}


def ending(state: Mapping[str, Any]) -> Ending:
    """Which terminal outcome a promotion reached, from the workflow's state when it ends."""
    promotion = state.get("promotion") or {}
    gate, verdict = state.get("gate") or {}, state.get("verdict") or {}
    approval, deploy = state.get("approval") or {}, state.get("deploy") or {}
    restore, error = state.get("restore") or {}, state.get("error") or {}
    if restore.get("restored"):
        cause = _error_text(error) or "verification after the deployment failed"
        return Ending(Outcome.ROLLED_BACK, "verify", f"restored the old model: {cause}")
    if deploy.get("rolled_back"):
        why = deploy.get("failure_reason") or "SageMaker rolled the deployment back"
        return Ending(Outcome.ROLLED_BACK, "deploy", why)
    if error:
        stage = "verify" if deploy.get("deployed") else _stage_of(state)
        prefix = ""
        if deploy.get("deployed"):  # a first deployment's new endpoint is removed by the abort
            prefix = (
                "the new production endpoint failed verification: "
                if promotion.get("first_deployment")
                else "production may serve the candidate: "
            )
        return Ending(Outcome.FAILED, stage, prefix + _error_text(error))
    if promotion.get("refusal"):
        return Ending(Outcome.NOT_PROMOTED, "prepare", str(promotion["refusal"]))
    if gate and not gate.get("passed"):
        reasons = "; ".join((gate.get("summary") or {}).get("reasons", [])[:3])
        return Ending(Outcome.NOT_PROMOTED, "quality_gate", f"quality gate: {reasons}")
    if verdict and not verdict.get("proceed"):
        return Ending(Outcome.NOT_PROMOTED, "shadow", str(verdict.get("headline", "shadow test")))
    if approval and approval.get("outcome") != "approved":
        who = approval.get("decided_by", "nobody")
        reason = f": {approval['reason']}" if approval.get("reason") else ""
        return Ending(
            Outcome.NOT_PROMOTED,
            "approval",
            f"{approval.get('outcome', 'no answer')} by {who} via {approval.get('channel', '-')}"
            + reason,
        )
    return Ending(Outcome.FAILED, _stage_of(state), "the promotion ended without a recorded reason")


def _stage_of(state: Mapping[str, Any]) -> str:
    for key in ("deploy", "approval", "verdict", "shadow", "staging", "gate", "promotion"):
        if state.get(key):
            return key
    return "start"


def _error_text(error: Mapping[str, Any]) -> str:
    if not error:
        return ""
    cause = str(error.get("Cause", ""))
    try:
        parsed = json.loads(cause)
        cause = str(parsed.get("errorMessage", cause)) if isinstance(parsed, dict) else cause
    except ValueError:
        pass
    return f"{error.get('Error', 'error')}: {cause}"[:600]
