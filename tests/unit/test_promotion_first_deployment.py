"""A first deployment's rules: the gate's absolute thresholds, the verdict from staging, the
approval request it sends, and how it ends."""

from __future__ import annotations

import pytest
from mlops_core import promotion as p
from mlops_core.approvals import ApprovalRequest
from mlops_core.promotion import first_deployment as first
from pydantic import ValidationError

PRODUCTION = {"endpoint": "demand-prod", "account": "333333333333", "instances": "2 x ml.m5.large"}
STAGING = {"endpoint": "demand-staging", "account": "222222222222", "config": "demand-staging-v1"}
GATE = p.quality_gate(
    {"r2": 0.84, "mse": 3.6},
    None,
    p.QualityPolicy(thresholds={"r2": 0.8, "mse": 4.0}),
    first_deployment=True,
).to_dict()
PACKAGE = "arn:aws:sagemaker:us-east-1:123456789012:model-package/demand/1"


@pytest.mark.parametrize(
    ("candidate", "production", "thresholds", "passed", "mentions"),
    [
        ({"r2": 0.84}, None, {}, True, "and no absolute thresholds (quality.thresholds)"),
        ({"r2": 0.84}, None, {"r2": 0.8}, True, "meets the absolute thresholds on r2"),
        ({"r2": 0.79}, None, {"r2": 0.8}, False, "r2 0.79 is below the floor of 0.8"),
        ({"mse": 4.1}, None, {"mse": 4.0}, False, "mse 4.1 is above the ceiling of 4"),
        ({"mse": 4.0}, None, {"mse": 4.0}, True, "meets the absolute thresholds on mse"),
        ({"r2": 0.9}, None, {"mse": 4.0}, False, "mse: the candidate package does not report"),
        # With a production version the thresholds apply on top of the comparison.
        ({"r2": 0.79}, {"r2": 0.75}, {"r2": 0.8}, False, "below the floor"),
        (
            {"r2": 0.84},
            {"r2": 0.80},
            {"r2": 0.8},
            True,
            "no regression beyond 1.0% on r2; meets the absolute thresholds on r2",
        ),
    ],
)
def test_absolute_thresholds(
    candidate, production, thresholds, passed: bool, mentions: str
) -> None:
    policy = p.QualityPolicy(thresholds=thresholds)
    result = p.quality_gate(candidate, production, policy, first_deployment=production is None)
    assert result.passed is passed, result.reasons
    assert mentions in " ".join(result.reasons)


def test_a_first_deployment_gate_says_there_is_nothing_to_compare_with() -> None:
    assert GATE["passed"] is True
    assert GATE["reasons"] == [
        "first deployment: no production version to compare with; meets the absolute "
        "thresholds on mse, r2"
    ]
    rows = {row["name"]: (row["before"], row["after"]) for row in GATE["metrics"]}
    assert rows == {"mse (threshold)": (4.0, 3.6), "r2 (threshold)": (0.8, 0.84)}


def test_a_threshold_needs_a_direction() -> None:
    with pytest.raises(ValidationError, match="thresholds ndcg: name their direction"):
        p.QualityPolicy(thresholds={"ndcg": 0.7})
    policy = p.QualityPolicy(metrics={"ndcg": "higher_is_better"}, thresholds={"ndcg": 0.7})
    assert p.quality_gate({"ndcg": 0.69}, None, policy).passed is False


def test_the_staging_verdict_says_the_shadow_was_skipped_and_why() -> None:
    verdict = first.staging_verdict("demand", 1, PRODUCTION, STAGING, GATE, PACKAGE)
    assert (verdict["outcome"], verdict["proceed"]) == ("staging_passed", True)
    skipped = (
        "shadow test skipped: demand-prod does not exist yet in production account "
        "333333333333, so there is no production traffic to copy"
    )
    assert verdict["reasons"][0] == skipped
    assert verdict["headline"].startswith(f"first deployment, {skipped}; staging test passed")
    assert verdict["evidence"]["first_deployment"] is True
    assert verdict["evidence"]["staging"] == STAGING


def test_the_first_deployment_request_is_one_the_approvals_accept() -> None:
    verdict = first.staging_verdict("demand", 1, PRODUCTION, STAGING, GATE, PACKAGE)
    request = ApprovalRequest.model_validate(
        verdict["approval_request"] | {"kind": "promotion", "model_id": "demand", "subject": "x"}
    )
    assert request.headline == "Deploy demand v1 to production (first deployment)?"
    assert request.versions == {"production": "none (first deployment)", "candidate": "v1"}
    assert request.reasons[0].startswith("shadow test skipped")
    assert (
        "approving creates demand-prod in account 333333333333 (2 x ml.m5.large)"
        in (request.reasons[2])
    )
    assert [m.name for m in request.metrics] == ["mse (threshold)", "r2 (threshold)"]
    assert request.evidence["package_arn"] == PACKAGE


@pytest.mark.parametrize(
    ("status", "current", "state"),
    [
        ("Creating", "new", p.DeploymentState.IN_PROGRESS),
        ("InService", "new", p.DeploymentState.DEPLOYED),
        ("Failed", "new", p.DeploymentState.FAILED),
        ("InService", "someone-elses", p.DeploymentState.FAILED),
    ],
)
def test_a_created_endpoint_has_no_old_config_to_roll_back_to(
    status: str, current: str, state: p.DeploymentState
) -> None:
    assert p.deployment_state(status, current, "new", None) is state


def test_a_first_deployment_failing_verification_is_not_left_serving() -> None:
    end = p.ending(
        {
            "promotion": {"first_deployment": True},
            "deploy": {"deployed": True},
            "error": {"Error": "PromotionVerificationError", "Cause": "no capture"},
        }
    )
    assert (str(end.outcome), end.stage) == ("failed", "verify")
    assert end.reason == (
        "the new production endpoint failed verification: PromotionVerificationError: no capture"
    )
