"""The green fleet of a blue/green promotion starts at the live variant's instance count, and the
variant's autoscaling is there again after it: read back from the production account (moto)."""

from __future__ import annotations

from typing import Any

import pytest
from mlops_core.errors import ThrottlingError
from mlops_runtime import promotion_release as release

from tests.integration.handlers.promotion_world import (
    ENDPOINT,
    PRODUCTION,
    World,
    account_client,
    ledger_entry,
    put_config,
    run,
    until,
    verdict_passed,
    world_fixture,  # noqa: F401 - provides the `world` fixture
)

RESOURCE = f"endpoint/{ENDPOINT}/variant/AllTraffic"
DIMENSION = "sagemaker:variant:DesiredInstanceCount"
THEIRS = {
    "PolicyName": "theirs",
    "PolicyType": "TargetTrackingScaling",
    "TargetTrackingScalingPolicyConfiguration": {
        "TargetValue": 300.0,
        "PredefinedMetricSpecification": {
            "PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"
        },
        "ScaleInCooldown": 600,
        "ScaleOutCooldown": 120,
    },
}


@pytest.fixture(name="autoscaled")
def autoscaled_fixture(world: World) -> World:
    """The team's own autoscaling (2-8 instances, their target tracking) has scaled production's
    variant to 4: what Application Auto Scaling does, through UpdateEndpointWeightsAndCapacities."""
    autoscaling = account_client("application-autoscaling", PRODUCTION)
    autoscaling.register_scalable_target(
        ServiceNamespace="sagemaker",
        ResourceId=RESOURCE,
        ScalableDimension=DIMENSION,
        MinCapacity=2,
        MaxCapacity=8,
    )
    autoscaling.put_scaling_policy(
        ServiceNamespace="sagemaker", ResourceId=RESOURCE, ScalableDimension=DIMENSION, **THEIRS
    )
    sagemaker = account_client("sagemaker", PRODUCTION)
    in_service = sagemaker.get_waiter("endpoint_in_service")
    in_service.wait(EndpointName=ENDPOINT, WaiterConfig={"Delay": 0, "MaxAttempts": 5})
    sagemaker.update_endpoint_weights_and_capacities(
        EndpointName=ENDPOINT,
        DesiredWeightsAndCapacities=[{"VariantName": "AllTraffic", "DesiredInstanceCount": 4}],
    )
    in_service.wait(EndpointName=ENDPOINT, WaiterConfig={"Delay": 0, "MaxAttempts": 5})
    return world


def scaling() -> dict[str, Any]:
    autoscaling = account_client("application-autoscaling", PRODUCTION)
    (target,) = autoscaling.describe_scalable_targets(
        ServiceNamespace="sagemaker", ResourceIds=[RESOURCE]
    )["ScalableTargets"]
    policies = autoscaling.describe_scaling_policies(
        ServiceNamespace="sagemaker", ResourceId=RESOURCE
    )["ScalingPolicies"]
    return {
        "min": target["MinCapacity"],
        "max": target["MaxCapacity"],
        "policies": {
            p["PolicyName"]: p["TargetTrackingScalingPolicyConfiguration"]["TargetValue"]
            for p in policies
        },
    }


def promoted(state: dict[str, Any]) -> dict[str, Any]:
    state["deploy"] = run(release.deploy_production, state)
    until(release.check_deployment, state, "deployed", "deploy")
    state["verified"] = run(release.verify_production, state)
    return state


def green_fleet() -> tuple[int, int]:
    """(the new config's InitialInstanceCount, the live variant's CurrentInstanceCount)."""
    sagemaker = account_client("sagemaker", PRODUCTION)
    config = sagemaker.describe_endpoint_config(EndpointConfigName=f"{ENDPOINT}-v2")
    endpoint = sagemaker.describe_endpoint(EndpointName=ENDPOINT)
    assert endpoint["EndpointConfigName"] == f"{ENDPOINT}-v2"
    return (
        config["ProductionVariants"][0]["InitialInstanceCount"],
        endpoint["ProductionVariants"][0]["CurrentInstanceCount"],
    )


def test_an_autoscaled_4_instance_variant_gets_a_4_instance_green_fleet(autoscaled: World) -> None:
    state = verdict_passed(autoscaled)
    # The shadow test ran against production as it was: 4 instances, not the config's 1.
    experiment = account_client("sagemaker", PRODUCTION).describe_inference_experiment(
        Name="demand-shadow-v2"
    )
    production = next(v for v in experiment["ModelVariants"] if v["VariantName"] == "AllTraffic")
    assert production["InfrastructureConfig"]["RealTimeInferenceConfig"]["InstanceCount"] == 4
    promoted(state)
    assert green_fleet() == (4, 4)
    started = ledger_entry("production_deploy_started")
    assert started["evidence"]["fleet"] == {
        "count": 4,
        "reason": "4 instances: the live variant's current count (4)",
    }
    # No autoscaling section in the model's configuration: the team's own, as it was.
    assert scaling() == {"min": 2, "max": 8, "policies": {"theirs": 300.0}}
    assert state["verified"]["autoscaling"]["min"] == 2


def test_an_instance_type_change_puts_the_configured_autoscaling_and_keeps_theirs(
    autoscaled: World,
) -> None:
    production = autoscaled.config["promotion"]["production"] | {"instance_type": "ml.c5.xlarge"}
    put_config(
        autoscaled,
        production=production,
        autoscaling={"benchmarked_max_rps": 10, "min_instances": 1, "max_instances": 3},
    )
    state = verdict_passed(autoscaled)
    state["deploy"] = run(release.deploy_production, state)
    assert state["deploy"]["deregistered"] is True  # AWS refuses the type change otherwise
    until(release.check_deployment, state, "deployed", "deploy")
    state["verified"] = run(release.verify_production, state)
    # 4 live instances, but the configured autoscaling allows 3 at most right after.
    assert green_fleet() == (3, 3)
    assert state["deploy"]["fleet"]["reason"] == (
        "3 instances: the autoscaling maximum (3); the live variant's current count (4) is above"
    )
    assert scaling() == {
        "min": 1,
        "max": 3,
        "policies": {"mlopscp-target-tracking": 420.0, "theirs": 300.0},
    }


def test_a_retried_deploy_step_still_restores_the_autoscaling_it_removed(
    autoscaled: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    production = autoscaled.config["promotion"]["production"] | {"instance_type": "ml.c5.xlarge"}
    put_config(autoscaled, production=production)
    state = verdict_passed(autoscaled)
    real = release.call_aws
    throttled: list[str] = []

    def throttle_update_once(what: str, call: Any, **kwargs: Any) -> Any:
        if what.startswith("UpdateEndpoint") and not throttled:
            throttled.append(what)
            raise ThrottlingError("Rate exceeded")  # Step Functions retries the task
        return real(what, call, **kwargs)

    monkeypatch.setattr(release, "call_aws", throttle_update_once)
    with pytest.raises(ThrottlingError):
        run(release.deploy_production, state)
    autoscaling = account_client("application-autoscaling", PRODUCTION)
    assert not autoscaling.describe_scalable_targets(ServiceNamespace="sagemaker")[
        "ScalableTargets"
    ]  # deregistered before the update was refused
    promoted(state)
    assert state["deploy"]["saved_autoscaling"]["min"] == 2
    assert green_fleet() == (4, 4)
    assert scaling() == {"min": 2, "max": 8, "policies": {"theirs": 300.0}}
