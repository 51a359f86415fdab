"""Promotions onto existing serverless and async endpoints, against moto in three accounts
(mlops_core.promotion.endpoint_kinds): serverless -> serverless with the shadow test skipped and
said so, our bake and our rollback on an alarm; real-time -> async scaling to zero; the pairs
SageMaker gives no way back from refused at Prepare."""

from __future__ import annotations

from typing import Any

import pytest
from mlops_runtime import promotion_candidate as candidate
from mlops_runtime import promotion_first as first
from mlops_runtime import promotion_release as release

from tests.integration.handlers.promotion_world import (
    ENDPOINT,
    PRODUCTION,
    World,
    account_client,
    approve,
    ledger_entry,
    prepared,
    put_config,
    register,
    remove_production,
    run,
    serve_version_1,
    until,
    world_fixture,  # noqa: F401 - provides the `world` fixture
)

RESOURCE = f"endpoint/{ENDPOINT}/variant/AllTraffic"
V1_SERVERLESS = {"MemorySizeInMB": 2048, "MaxConcurrency": 10}
SERVERLESS = {"memory_size_mb": 3072, "max_concurrency": 10, "provisioned_concurrency": 2}
ASYNC = {"output_path": f"s3://capture-{PRODUCTION}/async/out", "max_instances": 3}


def configure(world: World, bake_seconds: int = 0, **production: Any) -> None:
    put_config(world)
    promotion = world.config["promotion"]
    changes = {"production": promotion["production"] | production}
    changes["deployment"] = promotion.get("deployment", {}) | {"bake_seconds": bake_seconds}
    put_config(world, **changes)


@pytest.fixture(name="serverless")
def serverless_fixture(world: World) -> World:
    """demand-prod serves v1 serverless; v2 is promoted serverless."""
    remove_production()
    serve_version_1(serverless=V1_SERVERLESS)
    return world


def approved(state: dict[str, Any]) -> dict[str, Any]:
    """Prepare's plan, then gate, staging, the skipped shadow test and the approval."""
    assert state["promotion"]["refusal"] is None
    assert state["promotion"]["first_deployment"] is False
    state["gate"] = run(candidate.quality_gate, state)
    state["staging"] = run(candidate.deploy_staging, state)
    state = until(candidate.check_staging, state, "ready", "staging")
    state["verdict"] = run(first.skip_shadow, state)
    approve(state, subject=state["promotion"]["id"])
    state["deploy"] = run(release.deploy_production, state)
    return state


def endpoint() -> dict[str, Any]:
    described = account_client("sagemaker", PRODUCTION).describe_endpoint(EndpointName=ENDPOINT)
    return dict(described)


def test_a_serverless_endpoint_is_promoted_to_a_new_serverless_version(serverless: World) -> None:
    configure(serverless, serverless=SERVERLESS)
    state = prepared(serverless)
    plan = state["promotion"]["plan"]
    assert (plan["current"], plan["candidate"], plan["rollback"]) == (
        "serverless",
        "serverless",
        "ours",
    )
    state = approved(state)

    skipped = ledger_entry("shadow_test_skipped")
    assert skipped["summary"].startswith("shadow test skipped (serverless -> serverless)")
    request = state["verdict"]["approval_request"]
    assert request["title"] == "Promote demand v2 to production (no shadow test)?"
    assert request["versions"] == {"production": "v1", "candidate": "v2"}
    assert any("rolled back by the control plane" in r for r in request["reasons"])
    started = ledger_entry("production_deploy_started")
    assert "without SageMaker's deployment guardrails" in started["summary"]
    assert started["evidence"]["deployment_config"] is None
    assert started["evidence"]["rollback"] == "ours"

    state = until(release.check_deployment, state, "deployed", "deploy")
    assert state["deploy"]["bake_until"] is not None  # baked (for 0 s) before it counts
    verified = run(release.verify_production, state)
    assert verified["verified"] is True
    live = endpoint()
    assert live["EndpointConfigName"] == state["promotion"]["names"]["prod_config"]
    (variant,) = live["ProductionVariants"]
    assert variant["CurrentServerlessConfig"] == {
        "MemorySizeInMB": 3072,
        "MaxConcurrency": 10,
        "ProvisionedConcurrency": 2,
    }
    autoscaling = account_client("application-autoscaling", PRODUCTION)
    (target,) = autoscaling.describe_scalable_targets(
        ServiceNamespace="sagemaker",
        ResourceIds=[RESOURCE],
        ScalableDimension="sagemaker:variant:DesiredProvisionedConcurrency",
    )["ScalableTargets"]
    assert (target["MinCapacity"], target["MaxCapacity"]) == (2, 10)
    (policy,) = autoscaling.describe_scaling_policies(
        ServiceNamespace="sagemaker", ResourceId=RESOURCE
    )["ScalingPolicies"]
    tracking = policy["TargetTrackingScalingPolicyConfiguration"]
    assert tracking["PredefinedMetricSpecification"]["PredefinedMetricType"] == (
        "SageMakerVariantProvisionedConcurrencyUtilization"
    )


def test_an_alarm_during_the_bake_updates_back_to_the_previous_config(serverless: World) -> None:
    configure(serverless, bake_seconds=600, serverless=SERVERLESS)
    state = approved(prepared(serverless))
    state = until(release.check_deployment, state, "bake_until", "deploy")
    assert state["deploy"]["status"] == "Baking"
    assert not state["deploy"]["deployed"]
    cloudwatch = account_client("cloudwatch", PRODUCTION)
    cloudwatch.set_alarm_state(
        AlarmName=f"mlopscp-{ENDPOINT}-5xx-rate", StateValue="ALARM", StateReason="test"
    )

    state = until(release.check_deployment, state, "rolled_back", "deploy")
    rollback = ledger_entry("production_rollback_started")
    assert rollback["summary"] == (
        f"rollback alarm(s) in ALARM during the bake: mlopscp-{ENDPOINT}-5xx-rate; the control "
        f"plane updated {ENDPOINT} back to {ENDPOINT}-v1"
    )
    live = endpoint()
    assert (live["EndpointStatus"], live["EndpointConfigName"]) == ("InService", f"{ENDPOINT}-v1")
    (variant,) = live["ProductionVariants"]
    assert variant["CurrentServerlessConfig"] == V1_SERVERLESS

    ended = run(release.abort, state)
    assert ended["outcome"] == "rolled_back"
    assert ended["reason"] == rollback["summary"]
    assert ledger_entry("deployment_rolled_back")["summary"].startswith("rolled_back: rollback")


def test_a_real_time_endpoint_is_promoted_to_async_scaling_to_zero(world: World) -> None:
    configure(world, async_inference=ASYNC)  # demand-prod serves v1 on instances
    state = prepared(world)
    plan = state["promotion"]["plan"]
    assert (plan["current"], plan["candidate"], plan["rollback"]) == ("real-time", "async", "ours")
    assert "(real-time -> async)" in state["promotion"]["shadow_skipped"]
    state = until(release.check_deployment, approved(state), "deployed", "deploy")
    verified = run(release.verify_production, state)

    config = account_client("sagemaker", PRODUCTION).describe_endpoint_config(
        EndpointConfigName=state["promotion"]["names"]["prod_config"]
    )
    assert config["AsyncInferenceConfig"]["OutputConfig"] == {"S3OutputPath": ASYNC["output_path"]}
    autoscaling = account_client("application-autoscaling", PRODUCTION)
    (target,) = autoscaling.describe_scalable_targets(
        ServiceNamespace="sagemaker", ResourceIds=[RESOURCE]
    )["ScalableTargets"]
    assert (target["MinCapacity"], target["MaxCapacity"]) == (0, 3)
    assert verified["backlog_alarm"] == f"mlopscp-{ENDPOINT}-backlog-without-capacity"


def test_an_async_endpoint_is_promoted_to_real_time_without_its_queues_scaling(
    world: World,
) -> None:
    configure(world, async_inference=ASYNC)
    state = until(release.check_deployment, approved(prepared(world)), "deployed", "deploy")
    state["verified"] = run(release.verify_production, state)
    assert run(release.finish, state)["outcome"] == "promoted"  # v2 serves async
    register(3, {"mse": 3.7, "r2": 0.83})
    scaling = {"benchmarked_max_rps": 5, "min_instances": 1, "max_instances": 3}
    put_config(world, autoscaling=scaling, deployment={"bake_seconds": 0})

    state = prepared(world, version=3)
    plan = state["promotion"]["plan"]
    assert (plan["current"], plan["candidate"], plan["rollback"]) == ("async", "real-time", "ours")
    state = until(release.check_deployment, approved(state), "deployed", "deploy")
    run(release.verify_production, state)

    config = account_client("sagemaker", PRODUCTION).describe_endpoint_config(
        EndpointConfigName=state["promotion"]["names"]["prod_config"]
    )
    assert "AsyncInferenceConfig" not in config
    autoscaling = account_client("application-autoscaling", PRODUCTION)
    (target,) = autoscaling.describe_scalable_targets(
        ServiceNamespace="sagemaker", ResourceIds=[RESOURCE]
    )["ScalableTargets"]
    assert (target["MinCapacity"], target["MaxCapacity"]) == (1, 3)  # not the queue's 0
    policies = autoscaling.describe_scaling_policies(
        ServiceNamespace="sagemaker", ResourceId=RESOURCE
    )["ScalingPolicies"]
    assert [p["PolicyName"] for p in policies] == ["mlopscp-target-tracking"]
    backlog = account_client("cloudwatch", PRODUCTION).describe_alarms(
        AlarmNames=[f"mlopscp-{ENDPOINT}-backlog-without-capacity"]
    )["MetricAlarms"]
    assert backlog == []  # its scale-out-from-zero policy is gone: so is the alarm


@pytest.mark.parametrize(
    ("v1", "production", "says"),
    [
        (None, {"serverless": SERVERLESS}, "SageMaker cannot update an instance-based endpoint"),
        (V1_SERVERLESS, {"instance_type": "ml.m5.large"}, "never back to serverless"),
    ],
)
def test_updates_with_no_way_back_are_refused_at_prepare(
    world: World, v1: dict[str, int] | None, production: dict[str, Any], says: str
) -> None:
    if v1 is not None:
        remove_production()
        serve_version_1(serverless=v1)
    configure(world, **production)
    refusal = prepared(world)["promotion"]["refusal"]
    assert refusal is not None
    assert refusal.startswith(f"{ENDPOINT} in account {PRODUCTION} is ")
    assert says in refusal
