"""A model's first deployment against moto in three accounts: no production endpoint yet.

Staging test, no shadow test (said so in the record, the ledger and the approval request),
approval, then the production endpoint is created with data capture, rollback alarms and
autoscaling; a failure removes all of it. Everything is read back from the production account.
"""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from mlops_core.errors import DeploymentError
from mlops_runtime import promotion_candidate as candidate
from mlops_runtime import promotion_first as first
from mlops_runtime import promotion_release as release

from tests.integration.handlers.conftest import drain
from tests.integration.handlers.promotion_world import (
    ENDPOINT,
    PRODUCTION,
    STAGING,
    World,
    account_client,
    approve,
    ledger_actions,
    ledger_entry,
    prepared,
    put_config,
    remove_production,
    run,
    someone_elses_endpoint,
    until,
    world_fixture,  # noqa: F401 - provides the `world` fixture
)

ALARMS = [f"mlopscp-{ENDPOINT}-5xx-rate", f"mlopscp-{ENDPOINT}-p99-latency"]
RESOURCE = f"endpoint/{ENDPOINT}/variant/AllTraffic"


@pytest.fixture(name="fresh")
def fresh_fixture(world: World) -> World:
    """The world with nothing in production: the endpoint, its config and model never existed.
    The model asks for autoscaling (2-4 instances) and has an absolute quality bar."""
    remove_production()
    put_config(
        world,
        autoscaling={"benchmarked_max_rps": 25, "min_instances": 2, "max_instances": 4},
        quality={"thresholds": {"r2": 0.8, "mse": 4.0}},
    )
    return world


def staged(world: World) -> dict[str, Any]:
    state = prepared(world)
    state["gate"] = run(candidate.quality_gate, state)
    state["staging"] = run(candidate.deploy_staging, state)
    return until(candidate.check_staging, state, "ready", "staging")


def approved(world: World) -> dict[str, Any]:
    state = staged(world)
    state["verdict"] = run(first.skip_shadow, state)
    approve(state)
    return state


def created(world: World) -> dict[str, Any]:
    state = approved(world)
    state["deploy"] = run(first.create_production, state)
    return until(release.check_deployment, state, "deployed", "deploy")


def production_endpoints() -> list[str]:
    listed = account_client("sagemaker", PRODUCTION).list_endpoints()["Endpoints"]
    return [e["EndpointName"] for e in listed]


def production_alarms() -> list[str]:
    alarms = account_client("cloudwatch", PRODUCTION).describe_alarms(AlarmNamePrefix="mlopscp-")
    return sorted(a["AlarmName"] for a in alarms["MetricAlarms"])


def scalable_targets() -> list[dict[str, Any]]:
    autoscaling = account_client("application-autoscaling", PRODUCTION)
    return list(
        autoscaling.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"]
    )


def test_prepare_takes_a_missing_endpoint_for_a_first_deployment(fresh: World) -> None:
    info = prepared(fresh)["promotion"]
    assert (info["refusal"], info["first_deployment"], info["production"]) == (None, True, None)
    policy = boto3.client("sagemaker").get_model_package_group_policy(
        ModelPackageGroupName="demand"
    )
    assert f"arn:aws:iam::{STAGING}:root" in policy["ResourcePolicy"]  # shared for staging too
    from mlops_runtime.promotions import PromotionStore

    record = PromotionStore("state").record("demand", 2) or {}
    assert (record.get("step"), record.get("first_deployment")) == ("prepare", True)


@pytest.mark.parametrize(
    ("thresholds", "passed", "says"),
    [
        ({}, True, "first deployment: no production version to compare with, and no absolute"),
        ({"r2": 0.8, "mse": 4.0}, True, "meets the absolute thresholds on mse, r2"),
        ({"r2": 0.85}, False, "r2 0.82 is below the floor of 0.85"),
        ({"mse": 3.5}, False, "mse 3.8 is above the ceiling of 3.5"),
    ],
)
def test_a_first_deployment_is_gated_by_absolute_thresholds_only(
    fresh: World, thresholds: dict[str, float], passed: bool, says: str
) -> None:
    put_config(fresh, quality={"thresholds": thresholds})
    gate = run(candidate.quality_gate, prepared(fresh))
    assert gate["passed"] is passed
    assert says in " ".join(gate["summary"]["reasons"])


def test_the_shadow_test_is_skipped_and_the_approvers_are_told_why(fresh: World) -> None:
    state = staged(fresh)
    verdict = run(first.skip_shadow, state)
    assert (verdict["outcome"], verdict["proceed"]) == ("staging_passed", True)
    skipped = (
        f"shadow test skipped: {ENDPOINT} does not exist yet in production account {PRODUCTION}"
    )
    assert skipped in verdict["headline"]
    assert "staging test passed: v2 went InService on demand-staging" in verdict["headline"]
    request = verdict["approval_request"]
    assert request["title"] == "Deploy demand v2 to production (first deployment)?"
    assert request["versions"] == {"production": "none (first deployment)", "candidate": "v2"}
    assert any(r.startswith(skipped) for r in request["reasons"])
    assert any(
        "approving creates demand-prod" in r and "2 x ml.m5.large" in r for r in request["reasons"]
    )
    assert {"r2 (threshold)", "mse (threshold)"} <= {m["name"] for m in request["metrics"]}
    entry = ledger_entry("shadow_test_skipped")
    assert entry["summary"].startswith(skipped)
    assert "the verdict comes from the staging test" in entry["summary"]
    assert not account_client("sagemaker", PRODUCTION).list_inference_experiments()[
        "InferenceExperiments"
    ]


def test_a_first_deployment_creates_the_endpoint_with_capture_alarms_and_autoscaling(
    fresh: World,
) -> None:
    state = created(fresh)
    state["verified"] = run(release.verify_production, state)
    assert run(release.finish, state)["outcome"] == "promoted"

    sagemaker = account_client("sagemaker", PRODUCTION)
    endpoint = sagemaker.describe_endpoint(EndpointName=ENDPOINT)
    assert (endpoint["EndpointStatus"], endpoint["EndpointConfigName"]) == (
        "InService",
        f"{ENDPOINT}-v2",
    )
    capture = endpoint["DataCaptureConfig"]
    assert (capture["EnableCapture"], capture["CaptureStatus"], capture["DestinationS3Uri"]) == (
        True,
        "Started",
        f"s3://capture-{PRODUCTION}/demand",
    )
    config = sagemaker.describe_endpoint_config(EndpointConfigName=f"{ENDPOINT}-v2")
    (variant,) = config["ProductionVariants"]
    # instance_count 1 is configured, but autoscaling starts at 2: the fleet starts there.
    assert (variant["VariantName"], variant["InitialInstanceCount"]) == ("AllTraffic", 2)
    assert endpoint["ProductionVariants"][0]["CurrentInstanceCount"] == 2
    model = sagemaker.describe_model(ModelName=variant["ModelName"])
    assert model["Containers"][0]["ModelPackageName"].endswith("model-package/demand/2")
    tags = sagemaker.list_tags(ResourceArn=endpoint["EndpointArn"])["Tags"]
    assert {"Key": "mlopscp:promotion", "Value": "demand-v2"} in tags
    assert production_alarms() == ALARMS
    (target,) = scalable_targets()
    assert (target["ResourceId"], target["MinCapacity"], target["MaxCapacity"]) == (RESOURCE, 2, 4)
    (policy,) = account_client("application-autoscaling", PRODUCTION).describe_scaling_policies(
        ServiceNamespace="sagemaker", ResourceId=RESOURCE
    )["ScalingPolicies"]
    assert policy["PolicyName"] == "mlopscp-target-tracking"
    assert policy["TargetTrackingScalingPolicyConfiguration"]["TargetValue"] == 1050.0

    assert not account_client("sagemaker", STAGING).list_endpoints()["Endpoints"]
    promoted = ledger_entry("model_promoted")
    assert "(first deployment: endpoint created)" in promoted["summary"]
    started = ledger_entry("production_deploy_started")
    assert started["summary"].startswith(f"first deployment: creating {ENDPOINT}")
    assert started["evidence"]["fleet"]["reason"].startswith("2 instances: the autoscaling minimum")
    assert ledger_actions().count("production_deploy_started") == 1
    from mlops_runtime.promotions import PromotionStore

    assert (PromotionStore("state").production("demand") or {}).get("version") == 2


def test_a_retried_create_step_creates_one_endpoint(fresh: World) -> None:
    state = approved(fresh)
    first_try = run(first.create_production, state)
    again = run(first.create_production, state)  # Step Functions retried the task
    assert first_try["config"] == again["config"] == f"{ENDPOINT}-v2"
    assert production_endpoints() == [ENDPOINT]
    assert ledger_actions().count("production_deploy_started") == 1


def test_a_failed_first_deployment_removes_what_it_created(fresh: World) -> None:
    from mlopscp_emulator import sagemaker_ext

    state = approved(fresh)
    sagemaker_ext.fail_next_create(
        ENDPOINT, "The primary container did not pass the ping health check", PRODUCTION
    )
    state["deploy"] = run(first.create_production, state)
    assert production_endpoints() == [ENDPOINT]
    assert production_alarms() == ALARMS
    with pytest.raises(DeploymentError, match="creation of the production endpoint ended Failed"):
        until(release.check_deployment, state, "deployed", "deploy")
    state["error"] = {"Error": "DeploymentError", "Cause": "ping health check"}
    ended = run(release.abort, state)
    assert (ended["outcome"], ended["stage"]) == ("failed", "deploy")
    sagemaker = account_client("sagemaker", PRODUCTION)
    assert production_endpoints() == []
    assert not sagemaker.list_endpoint_configs()["EndpointConfigs"]
    assert not sagemaker.list_models()["Models"]
    assert production_alarms() == []
    cleanup = ledger_entry("promotion_failed")["evidence"]["cleanup"]
    assert cleanup["production"] == f"no endpoint {ENDPOINT} (first deployment: removed)"
    assert f"deleted endpoint {ENDPOINT}" in cleanup["cleaned"]
    assert cleanup["left"] == []
    page = drain(fresh.topic_inbox)[-1]
    assert page["attributes"]["kind"] == "promotion_failed"
    assert f"production: no endpoint {ENDPOINT}" in page["body"]


def test_a_create_step_failing_half_way_leaves_nothing_behind(
    fresh: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = approved(fresh)
    real = first.call_aws

    def refuse_create_endpoint(what: str, call: Any, **kwargs: Any) -> Any:
        if what.startswith("CreateEndpoint "):
            raise DeploymentError(f"{what}: ResourceLimitExceeded: account quota for ml.m5.large")
        return real(what, call, **kwargs)

    monkeypatch.setattr(first, "call_aws", refuse_create_endpoint)
    with pytest.raises(DeploymentError, match="ResourceLimitExceeded"):
        run(first.create_production, state)
    assert production_alarms() == ALARMS  # created before the endpoint was refused
    state["error"] = {"Error": "DeploymentError", "Cause": "ResourceLimitExceeded"}
    ended = run(release.abort, state)
    assert (ended["outcome"], ended["stage"]) == ("failed", "approval")
    assert production_alarms() == []
    sagemaker = account_client("sagemaker", PRODUCTION)
    assert production_endpoints() == []
    assert not sagemaker.list_endpoint_configs()["EndpointConfigs"]
    assert not sagemaker.list_models()["Models"]
    cleanup = ledger_entry("promotion_failed")["evidence"]["cleanup"]
    assert cleanup["production"] == f"no endpoint {ENDPOINT} (first deployment: never created)"


def test_a_first_deployment_failing_after_its_autoscaling_is_removed_whole(fresh: World) -> None:
    state = created(fresh)
    run(release.verify_production, state)  # autoscaling registered, then the task timed out
    assert scalable_targets()
    state["error"] = {"Error": "States.Timeout", "Cause": "VerifyProduction timed out"}
    ended = run(release.abort, state)
    assert (ended["outcome"], ended["stage"]) == ("failed", "verify")
    assert ended["reason"].startswith("the new production endpoint failed verification")
    assert production_endpoints() == []
    assert scalable_targets() == []
    assert production_alarms() == []
    cleanup = ledger_entry("promotion_failed")["evidence"]["cleanup"]
    assert f"removed the autoscaling of {ENDPOINT}/AllTraffic" in cleanup["cleaned"]


def test_an_endpoint_someone_else_created_meanwhile_is_neither_used_nor_removed(
    fresh: World,
) -> None:
    state = approved(fresh)
    sagemaker = account_client("sagemaker", PRODUCTION)
    someone_elses_endpoint(PRODUCTION, ENDPOINT)
    with pytest.raises(DeploymentError, match="while the promotion ran, not by demand-v2"):
        run(first.create_production, state)
    state["error"] = {"Error": "DeploymentError", "Cause": "created meanwhile"}
    run(release.abort, state)
    assert sagemaker.describe_endpoint(EndpointName=ENDPOINT)["EndpointConfigName"] == "theirs"
    cleanup = ledger_entry("promotion_failed")["evidence"]["cleanup"]
    assert (
        cleanup["production"] == f"{ENDPOINT} was created by someone else meanwhile: kept as it is"
    )


def test_a_first_deployment_rejected_by_the_approvers_leaves_production_empty(
    fresh: World,
) -> None:
    state = staged(fresh)
    state["verdict"] = run(first.skip_shadow, state)
    state["approval"] = {"outcome": "rejected", "decided_by": "ada", "channel": "slack"}
    ended = run(release.abort, state)
    assert (ended["outcome"], ended["stage"]) == ("not_promoted", "approval")
    assert production_endpoints() == []
    assert not account_client("sagemaker", STAGING).list_endpoints()["Endpoints"]
    cleanup = ledger_entry("promotion_failed")["evidence"]["cleanup"]
    assert cleanup["production"] == f"no endpoint {ENDPOINT} (first deployment: never created)"
