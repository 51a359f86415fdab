"""Promotions onto an existing endpoint per pair of endpoint kinds: what is refused, which
step is skipped and why, and who rolls back (mlops_core.promotion.endpoint_kinds)."""

from __future__ import annotations

import pytest
from mlops_core.promotion import first_deployment as first
from mlops_core.promotion.endpoint_kinds import (
    ROLLBACK_OURS,
    ROLLBACK_SAGEMAKER,
    Kind,
    bake_alarm,
    kind_of,
    update_plan,
)
from mlops_core.promotion.fleet import PROVISIONED_CONCURRENCY, Scaling
from mlops_core.promotion.serverless import ServerlessVariant, provisioned_scaling

RT, SL, AS = Kind.REAL_TIME, Kind.SERVERLESS, Kind.ASYNC


@pytest.mark.parametrize(
    ("current", "candidate", "refused", "shadow_runs", "rollback"),
    [
        (RT, RT, False, True, ROLLBACK_SAGEMAKER),
        (AS, AS, False, False, ROLLBACK_SAGEMAKER),  # guardrails cover async
        (SL, SL, False, False, ROLLBACK_OURS),  # guardrails cover real-time and async only
        (RT, AS, False, False, ROLLBACK_OURS),  # a change of kind: ours
        (AS, RT, False, False, ROLLBACK_OURS),
        (RT, SL, True, False, ROLLBACK_OURS),  # SageMaker refuses instance -> serverless
        (AS, SL, True, False, ROLLBACK_OURS),
        (SL, RT, True, False, ROLLBACK_OURS),  # no way back to serverless
        (SL, AS, True, False, ROLLBACK_OURS),
    ],
)
def test_the_plan_for_each_pair_of_kinds(
    current: Kind, candidate: Kind, refused: bool, shadow_runs: bool, rollback: str
) -> None:
    plan = update_plan(current, candidate, "quotes-prod", "333333333333")
    assert (plan.refusal is not None) is refused
    assert plan.rollback == rollback
    if refused:
        assert "quotes-prod in account 333333333333" in str(plan.refusal)
        assert plan.shadow_skipped is None  # nothing runs
    else:
        assert (plan.shadow_skipped is None) is shadow_runs
    assert plan.to_dict()["current"] == str(current)


def test_the_refusals_say_what_sagemaker_does_not_allow() -> None:
    to_serverless = update_plan(RT, SL, "e", "1").refusal
    assert "SageMaker cannot update an instance-based endpoint to serverless" in str(to_serverless)
    from_serverless = update_plan(SL, RT, "e", "1").refusal
    assert "never back to serverless" in str(from_serverless)
    assert "could not be rolled back" in str(from_serverless)


def test_the_skip_reasons_name_the_pair_and_why() -> None:
    serverless = update_plan(SL, SL, "quotes-prod", "1").shadow_skipped
    assert serverless is not None
    assert serverless.startswith("shadow test skipped (serverless -> serverless)")
    assert "no data capture to replay" in serverless
    to_async = update_plan(RT, AS, "scoring", "1").shadow_skipped
    assert to_async is not None
    assert "(real-time -> async)" in to_async
    assert "real-time instance variants only" in to_async


@pytest.mark.parametrize(
    ("variant", "config", "kind"),
    [
        ({"InstanceType": "ml.m5.large"}, {}, RT),
        ({"ServerlessConfig": {"MemorySizeInMB": 2048, "MaxConcurrency": 5}}, {}, SL),
        ({"InstanceType": "ml.m5.large"}, {"AsyncInferenceConfig": {"OutputConfig": {}}}, AS),
    ],
)
def test_the_kind_of_a_live_variant(variant: dict, config: dict, kind: Kind) -> None:
    assert kind_of(variant, config) is kind


def test_the_bake_rolls_back_on_any_alarm_in_alarm() -> None:
    quiet = {"mlopscp-e-5xx": "OK", "mlopscp-e-latency": "INSUFFICIENT_DATA"}
    assert bake_alarm(quiet, "old-config", "e") is None
    reason = bake_alarm(quiet | {"mlopscp-e-5xx": "ALARM"}, "old-config", "e")
    assert reason == (
        "rollback alarm(s) in ALARM during the bake: mlopscp-e-5xx; the control plane "
        "updated e back to old-config"
    )


def test_provisioned_concurrency_scales_on_its_utilization() -> None:
    assert provisioned_scaling(ServerlessVariant(max_concurrency=10)) is None
    scaling = provisioned_scaling(ServerlessVariant(max_concurrency=10, provisioned_concurrency=2))
    assert scaling is not None
    assert (scaling.min, scaling.max, scaling.dimension) == (2, 10, PROVISIONED_CONCURRENCY)
    policy = scaling.policies[0]["TargetTrackingScalingPolicyConfiguration"]
    assert policy["PredefinedMetricSpecification"] == {
        "PredefinedMetricType": "SageMakerVariantProvisionedConcurrencyUtilization"
    }
    # The dimension survives the workflow's state (a real-time variant's stays implicit).
    assert Scaling.from_dict(scaling.to_dict()) == scaling
    assert "dimension" not in Scaling(1, 2).to_dict()


def test_a_skipped_shadow_on_an_existing_endpoint_asks_to_promote_not_to_create() -> None:
    reason = update_plan(SL, SL, "quotes-prod", "333333333333").shadow_skipped
    verdict = first.staging_verdict(
        "quotes",
        4,
        production={"endpoint": "quotes-prod", "account": "333333333333", "instances": "x"},
        staging={"endpoint": "quotes-staging", "account": "222222222222", "config": "c"},
        gate={"reasons": [], "metrics": []},
        package_arn="arn:aws:sagemaker:us-east-1:1:model-package/quotes/4",
        skipped=reason,
        production_version=3,
    )
    assert verdict["proceed"] is True
    assert verdict["reasons"][0] == reason
    assert verdict["headline"].startswith("shadow test skipped (serverless -> serverless)")
    assert "approving updates quotes-prod" in verdict["reasons"][2]
    request = verdict["approval_request"]
    assert request["title"] == "Promote quotes v4 to production (no shadow test)?"
    assert request["versions"] == {"production": "v3", "candidate": "v4"}
    assert request["evidence"]["first_deployment"] is False
