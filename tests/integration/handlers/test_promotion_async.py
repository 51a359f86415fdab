"""An async production variant promoted by a first deployment, against moto in three accounts:
AsyncInferenceConfig, data capture kept, scaling on the queue from zero (target tracking on
ApproximateBacklogSizePerInstance, a step policy and its HasBacklogWithoutCapacity alarm)."""

from __future__ import annotations

from typing import Any

import pytest
from mlops_runtime import promotion_candidate as candidate
from mlops_runtime import promotion_first as first
from mlops_runtime import promotion_release as release
from mlops_runtime.model_config import ModelConfig
from pydantic import ValidationError

from tests.integration.handlers.promotion_world import (
    ENDPOINT,
    PRODUCTION,
    World,
    account_client,
    approve,
    prepared,
    put_config,
    remove_production,
    run,
    until,
    world_fixture,  # noqa: F401 - provides the `world` fixture
)

RESOURCE = f"endpoint/{ENDPOINT}/variant/AllTraffic"
ASYNC = {
    "output_path": f"s3://capture-{PRODUCTION}/async/out",
    "failure_path": f"s3://capture-{PRODUCTION}/async/failed",
    "max_concurrent_invocations_per_instance": 4,
    "max_instances": 3,
}


def async_config(world: World, **extra: Any) -> None:
    put_config(world)
    production = world.config["promotion"]["production"] | {"async_inference": ASYNC | extra}
    put_config(world, production=production)


@pytest.fixture(name="fresh")
def fresh_fixture(world: World) -> World:
    remove_production()
    async_config(world)
    return world


def created(world: World) -> dict[str, Any]:
    state = prepared(world)
    assert state["promotion"]["refusal"] is None
    state["gate"] = run(candidate.quality_gate, state)
    state["staging"] = run(candidate.deploy_staging, state)
    state = until(candidate.check_staging, state, "ready", "staging")
    state["verdict"] = run(first.skip_shadow, state)
    approve(state)
    state["deploy"] = run(first.create_production, state)
    return until(release.check_deployment, state, "deployed", "deploy")


def test_an_async_model_is_created_async_and_scales_on_its_queue_from_zero(fresh: World) -> None:
    state = created(fresh)
    verified = run(release.verify_production, state)

    sagemaker = account_client("sagemaker", PRODUCTION)
    config = sagemaker.describe_endpoint_config(
        EndpointConfigName=state["promotion"]["names"]["prod_config"]
    )
    assert config["AsyncInferenceConfig"]["OutputConfig"] == {
        "S3OutputPath": ASYNC["output_path"],
        "S3FailurePath": ASYNC["failure_path"],
    }
    assert config["AsyncInferenceConfig"]["ClientConfig"] == {
        "MaxConcurrentInvocationsPerInstance": 4
    }
    assert config["DataCaptureConfig"]["EnableCapture"] is True  # async endpoints capture
    autoscaling = account_client("application-autoscaling", PRODUCTION)
    (target,) = autoscaling.describe_scalable_targets(
        ServiceNamespace="sagemaker", ResourceIds=[RESOURCE]
    )["ScalableTargets"]
    assert (target["MinCapacity"], target["MaxCapacity"]) == (0, 3)
    policies = {
        p["PolicyName"]: p
        for p in autoscaling.describe_scaling_policies(
            ServiceNamespace="sagemaker", ResourceId=RESOURCE
        )["ScalingPolicies"]
    }
    tracking = policies["mlopscp-target-tracking"]["TargetTrackingScalingPolicyConfiguration"]
    assert tracking["CustomizedMetricSpecification"]["MetricName"] == (
        "ApproximateBacklogSizePerInstance"
    )
    assert tracking["TargetValue"] == 5.0
    step = policies["mlopscp-scale-out-from-zero"]
    assert verified["backlog_alarm"] == f"mlopscp-{ENDPOINT}-backlog-without-capacity"
    (alarm,) = account_client("cloudwatch", PRODUCTION).describe_alarms(
        AlarmNames=[verified["backlog_alarm"]]
    )["MetricAlarms"]
    assert alarm["MetricName"] == "HasBacklogWithoutCapacity"
    assert alarm["AlarmActions"] == [step["PolicyARN"]]


def test_a_failed_async_deployment_removes_its_backlog_alarm_too(fresh: World) -> None:
    state = created(fresh)
    run(release.verify_production, state)
    state["error"] = {"Error": "PromotionVerificationError", "Cause": "checked later"}
    run(release.abort, state)
    alarms = account_client("cloudwatch", PRODUCTION).describe_alarms(
        AlarmNamePrefix=f"mlopscp-{ENDPOINT}"
    )["MetricAlarms"]
    assert alarms == []


def test_async_and_serverless_are_exclusive_and_autoscaling_is_the_queues(world: World) -> None:
    put_config(world)
    production = world.config["promotion"]["production"] | {"async_inference": ASYNC}
    both = production | {"serverless": {"memory_size_mb": 1024}}
    with pytest.raises(ValidationError, match="serverless or async, not both"):
        ModelConfig.model_validate(
            world.config | {"promotion": world.config["promotion"] | {"production": both}}
        )
    scaled = world.config["promotion"] | {
        "production": production,
        "autoscaling": {"benchmarked_max_rps": 5},
    }
    with pytest.raises(ValidationError, match="scales on its queue"):
        ModelConfig.model_validate(world.config | {"promotion": scaled})
