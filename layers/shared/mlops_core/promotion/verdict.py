"""The shadow verdict: the candidate ran as a shadow of production; its CloudWatch numbers
(invocations, 4xx/5xx rates, p99 ModelLatency) and its agreement with production's predictions in
the data capture decide ``pass``, ``fail`` or ``inconclusive`` (:func:`shadow_verdict`).

The rule is deliberately asymmetric: a breached threshold fails on whatever traffic there was,
but a pass needs enough traffic (and enough compared predictions); too little is
``inconclusive``, never a pass.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from mlops_core.promotion.metrics import MetricRow


class ShadowPolicy(BaseModel):
    """The shadow test and the thresholds of its verdict."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

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
    PASS = "pass"  # noqa: S105  # nosec B105  # a verdict, not a password
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
