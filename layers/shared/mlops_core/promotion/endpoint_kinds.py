"""What a promotion onto an existing endpoint does for each pair of endpoint kinds.

An endpoint's production variant is real-time (instances), serverless (``ServerlessConfig``)
or async (instances behind a queue, ``AsyncInferenceConfig``). What SageMaker allows decides
the plan (sources in docs/serving.md):

- **shadow test**: inference experiments take ``RealTimeInference`` variants only, so it runs
  only from real-time to real-time; otherwise it is skipped and the verdict comes from the
  staging test, with the reason in the ledger and the approval request. A serverless endpoint
  has no data capture, so nothing could be replayed either;
- **rollback**: deployment guardrails (blue/green with auto-rollback on alarms) apply to
  real-time and async endpoints; a serverless endpoint, or a change of kind, is updated without
  them, so the rollback is ours: wait InService, watch the rollback alarms for the bake time,
  and on an alarm update back to the previous endpoint config;
- **refused**: SageMaker cannot update a real-time (or async) endpoint to serverless, so from
  serverless to instances there would be no way back: both are refused with the reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any


class Kind(StrEnum):
    REAL_TIME = "real-time"
    SERVERLESS = "serverless"
    ASYNC = "async"


ROLLBACK_SAGEMAKER = "sagemaker"  # blue/green deployment guardrails roll back on the alarms
ROLLBACK_OURS = "ours"  # update, bake while watching the alarms, update back on one


def kind_of(variant: Mapping[str, Any], endpoint_config: Mapping[str, Any]) -> Kind:
    """The kind of a production variant from its endpoint config (DescribeEndpointConfig)."""
    if variant.get("ServerlessConfig"):
        return Kind.SERVERLESS
    if endpoint_config.get("AsyncInferenceConfig"):
        return Kind.ASYNC
    return Kind.REAL_TIME


@dataclass(frozen=True, slots=True)
class UpdatePlan:
    """How a promotion replaces ``current`` with ``candidate`` on an existing endpoint."""

    current: Kind
    candidate: Kind
    refusal: str | None = None
    shadow_skipped: str | None = None  # None: the shadow test runs
    rollback: str = ROLLBACK_SAGEMAKER

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"current": str(self.current), "candidate": str(self.candidate)}


def _refusal(current: Kind, candidate: Kind, endpoint: str, account: str) -> str | None:
    where = f"{endpoint} in account {account}"
    if candidate is Kind.SERVERLESS and current is not Kind.SERVERLESS:
        return (
            f"{where} is a {current} endpoint and production.serverless is set: SageMaker "
            "cannot update an instance-based endpoint to serverless; name a new endpoint "
            "(a first deployment) or remove the serverless section"
        )
    if current is Kind.SERVERLESS and candidate is not Kind.SERVERLESS:
        return (
            f"{where} is serverless and the candidate is {candidate}: SageMaker could update it, "
            "but never back to serverless, so a failed promotion could not be rolled back; "
            "name a new endpoint (a first deployment) or keep the serverless section"
        )
    return None


def _shadow_skipped(current: Kind, candidate: Kind, endpoint: str) -> str | None:
    if current is Kind.REAL_TIME and candidate is Kind.REAL_TIME:
        return None
    pair = f"{current} -> {candidate}"
    if current is Kind.SERVERLESS:
        return (
            f"shadow test skipped ({pair}): {endpoint} is serverless, shadow tests take real-time "
            "instance variants only, and a serverless endpoint has no data capture to replay"
        )
    return (
        f"shadow test skipped ({pair}): shadow tests take real-time instance variants only "
        "(InferenceExperiment RealTimeInference), so the verdict comes from the staging test"
    )


def update_plan(current: Kind, candidate: Kind, endpoint: str, account: str) -> UpdatePlan:
    """The plan for one pair of kinds (see the module's table in docs/serving.md)."""
    refusal = _refusal(current, candidate, endpoint, account)
    same_guarded = current is candidate and current is not Kind.SERVERLESS
    return UpdatePlan(
        current,
        candidate,
        refusal=refusal,
        shadow_skipped=None if refusal else _shadow_skipped(current, candidate, endpoint),
        rollback=ROLLBACK_SAGEMAKER if same_guarded else ROLLBACK_OURS,
    )


def bake_alarm(states: Mapping[str, str], previous_config: str, endpoint: str) -> str | None:
    """While our bake runs: the reason to roll back (an alarm in ALARM), or None."""
    firing = sorted(name for name, state in states.items() if state == "ALARM")
    if not firing:
        return None
    return (
        f"rollback alarm(s) in ALARM during the bake: {', '.join(firing)}; the control plane "
        f"updated {endpoint} back to {previous_config}"
    )
