"""Right-sizing in the promotion against moto in three accounts: the staging account's
Inference Recommender job sets production's autoscaling target, or a stated fallback does."""

from __future__ import annotations

import time
from typing import Any

import pytest
from mlops_runtime import promotion_candidate as candidate
from mlops_runtime import promotion_first as first
from mlops_runtime import promotion_release as release
from mlops_runtime import promotion_rightsizing as rightsizing
from mlops_runtime.promotions import PromotionStore
from mlopscp_emulator import sagemaker_ext

from tests.integration.handlers.promotion_world import (
    ENDPOINT,
    PRODUCTION,
    STAGING,
    World,
    account_client,
    approve,
    ledger_entry,
    package_arn,
    prepared,
    put_config,
    remove_production,
    run,
    until,
    world_fixture,  # noqa: F401 - provides the `world` fixture
)

RESOURCE = f"endpoint/{ENDPOINT}/variant/AllTraffic"
JOB = "demand-v2-rightsizing"
MEASURED = {
    "ml.m5.large": {"MaxInvocations": 1500, "ModelLatency": 40, "CostPerHour": 0.115},
    "ml.c6g.large": {"MaxInvocations": 1600, "ModelLatency": 38, "CostPerHour": 0.082},
}


@pytest.fixture(name="fresh")
def fresh_fixture(world: World) -> World:
    """No production endpoint yet (a first deployment); autoscaling without an override."""
    remove_production()
    configure(world)
    return world


def configure(world: World, **autoscaling: Any) -> None:
    put_config(
        world,
        autoscaling={
            "default_max_rps": 10,
            "min_instances": 1,
            "max_instances": 3,
            "compare_instance_types": ["ml.c6g.large"],
        }
        | autoscaling,
    )


def started(world: World) -> dict[str, Any]:
    state = prepared(world)
    state["gate"] = run(candidate.quality_gate, state)
    state["rightsizing"] = run(rightsizing.start_rightsizing, state)
    return state


def jobs() -> list[dict[str, Any]]:
    listed = account_client("sagemaker", STAGING).list_inference_recommendations_jobs()
    return list(listed["InferenceRecommendationsJobs"])


def record() -> dict[str, Any]:
    return PromotionStore("state").record("demand", 2) or {}


def test_the_recommendation_job_sets_the_production_target(fresh: World) -> None:
    sagemaker_ext.set_recommendation_results(package_arn(2), MEASURED)
    state = started(fresh)
    assert state["rightsizing"]["done"] is False
    (job,) = jobs()  # in the staging account, for the candidate's package
    assert (job["JobName"], job["ModelPackageVersionArn"]) == (JOB, package_arn(2))
    described = account_client("sagemaker", STAGING).describe_inference_recommendations_job(
        JobName=JOB
    )
    assert described["RoleArn"].startswith(f"arn:aws:iam::{STAGING}:role/")
    assert [c["InstanceType"] for c in described["InputConfig"]["EndpointConfigurations"]] == [
        "ml.m5.large",
        "ml.c6g.large",
    ]

    state = until(rightsizing.check_rightsizing, state, "done", "rightsizing")

    target = state["rightsizing"]["target"]
    assert (target["value"], target["source"]) == (1050.0, "inference_recommender")
    assert target["alternatives"][0]["instance_type"] == "ml.c6g.large"
    chosen = ledger_entry("autoscaling_target_chosen")
    assert chosen["summary"].startswith(
        "autoscaling target 1050 invocations/minute/instance from inference_recommender"
    )
    assert chosen["evidence"]["job"] == JOB
    assert record()["scaling_target"]["source"] == "inference_recommender"

    # the approval, the endpoint and its autoscaling: target tracking at the recommended value
    state["staging"] = run(candidate.deploy_staging, state)
    state = until(candidate.check_staging, state, "ready", "staging")
    state["verdict"] = run(first.skip_shadow, state)
    approve(state)
    state["deploy"] = run(first.create_production, state)
    state = until(release.check_deployment, state, "deployed", "deploy")
    run(release.verify_production, state)
    (policy,) = account_client("application-autoscaling", PRODUCTION).describe_scaling_policies(
        ServiceNamespace="sagemaker", ResourceId=RESOURCE
    )["ScalingPolicies"]
    assert policy["TargetTrackingScalingPolicyConfiguration"]["TargetValue"] == 1050.0


def test_a_finished_job_for_the_same_package_is_reused(fresh: World) -> None:
    sagemaker_ext.set_recommendation_results(package_arn(2), MEASURED)
    staging = account_client("sagemaker", STAGING)
    staging.create_inference_recommendations_job(
        JobName="demand-load-test",
        JobType="Default",
        RoleArn=f"arn:aws:iam::{STAGING}:role/mlopscp-sagemaker-execution",
        InputConfig={"ModelPackageVersionArn": package_arn(2)},
    )
    for _ in range(5):
        staging.describe_inference_recommendations_job(JobName="demand-load-test")

    state = started(fresh)

    assert state["rightsizing"]["done"] is True
    assert state["rightsizing"]["job"] == "demand-load-test"
    assert "reused" in state["rightsizing"]["target"]["reason"]
    assert [j["JobName"] for j in jobs()] == ["demand-load-test"]  # no second job


def test_a_failed_job_falls_back_to_the_default_and_says_why(fresh: World) -> None:
    state = started(fresh)  # nobody measured this package: the job fails
    state = until(rightsizing.check_rightsizing, state, "done", "rightsizing")
    target = state["rightsizing"]["target"]
    assert (target["value"], target["source"]) == (420.0, "default_max_rps")  # 10 x 60 x 0.7
    assert target["reason"].startswith(f"recommendation job {JOB} ended FAILED: No load test")
    assert "default_max_rps" in ledger_entry("autoscaling_target_chosen")["summary"]


def test_a_job_past_its_timeout_is_stopped_and_the_default_used(fresh: World) -> None:
    configure(fresh, recommendation_timeout_minutes=0.001)
    sagemaker_ext.set_recommendation_results(package_arn(2), MEASURED)
    state = started(fresh)
    time.sleep(0.1)
    state["rightsizing"] = run(rightsizing.check_rightsizing, state)
    assert state["rightsizing"]["done"] is True
    assert (
        "was still PENDING after 0.001 minutes (stopped)"
        in (state["rightsizing"]["target"]["reason"])
    )
    assert jobs()[0]["Status"] in ("STOPPING", "STOPPED")


def test_the_override_runs_no_job(fresh: World) -> None:
    configure(fresh, benchmarked_max_rps=25)
    state = started(fresh)
    assert state["rightsizing"]["done"] is True
    assert state["rightsizing"]["target"]["source"] == "benchmarked_max_rps"
    assert jobs() == []


def test_an_abort_stops_a_job_still_running(fresh: World) -> None:
    sagemaker_ext.set_recommendation_results(package_arn(2), MEASURED)
    state = started(fresh)
    state["error"] = {"Error": "DeploymentError", "Cause": "staging failed"}
    run(release.abort, state)
    assert jobs()[0]["Status"] in ("STOPPING", "STOPPED")
