"""Inference Recommender jobs through boto3: AWS's shapes, statuses, filters and the hook."""

from __future__ import annotations

import pytest
from botocore.client import BaseClient
from botocore.exceptions import ClientError
from mlopscp_emulator import Emulator
from mlopscp_emulator import sagemaker_ext as sm_ext

pytestmark = pytest.mark.integration
ROLE = "arn:aws:iam::123456789012:role/sagemaker"


@pytest.fixture
def sagemaker(emulator: Emulator) -> BaseClient:
    return emulator.client("sagemaker")


def package(unique: str) -> str:
    return f"arn:aws:sagemaker:us-east-1:123456789012:model-package/{unique}/1"


def settle(sagemaker: BaseClient, name: str) -> tuple[list[str], dict]:
    """Describe until the job ends: the statuses it showed (each once) and its last Describe."""
    seen: list[str] = []
    for _ in range(10):
        job = sagemaker.describe_inference_recommendations_job(JobName=name)
        if not seen or seen[-1] != job["Status"]:
            seen.append(job["Status"])
        if job["Status"] in ("COMPLETED", "FAILED", "STOPPED"):
            break
    return seen, job


def create(sagemaker: BaseClient, name: str, model: str, *types: str) -> str:
    config = {"ModelPackageVersionArn": model}
    if types:
        config["EndpointConfigurations"] = [{"InstanceType": t} for t in types]
    arn: str = sagemaker.create_inference_recommendations_job(
        JobName=name, JobType="Default", RoleArn=ROLE, InputConfig=config
    )["JobArn"]
    return arn


def test_a_job_runs_and_reports_what_the_hook_measured(sagemaker: BaseClient, unique: str) -> None:
    model = package(unique)
    sm_ext.set_recommendation_results(
        model,
        {
            "ml.m5.large": {"MaxInvocations": 1500, "ModelLatency": 40, "CostPerHour": 0.115},
            "ml.c6g.large": {"MaxInvocations": 1800, "ModelLatency": 35, "CostPerHour": 0.082},
        },
    )
    arn = create(sagemaker, f"ir-{unique}", model, "ml.m5.large")
    assert arn.endswith(f":inference-recommendations-job/ir-{unique}")
    seen, job = settle(sagemaker, f"ir-{unique}")
    assert seen == ["PENDING", "IN_PROGRESS", "COMPLETED"]
    assert job["InputConfig"] == {
        "ModelPackageVersionArn": model,
        "EndpointConfigurations": [{"InstanceType": "ml.m5.large"}],
    }
    assert "CompletionTime" in job
    (recommendation,) = job["InferenceRecommendations"]  # only the type asked for
    assert recommendation["EndpointConfiguration"]["InstanceType"] == "ml.m5.large"
    assert recommendation["Metrics"]["MaxInvocations"] == 1500
    assert recommendation["Metrics"]["ModelLatency"] == 40
    assert recommendation["Metrics"]["CostPerInference"] == pytest.approx(0.115 / 90000)


def test_without_instance_types_every_measured_type_is_recommended(
    sagemaker: BaseClient, unique: str
) -> None:
    model = package(unique)
    sm_ext.set_recommendation_results(
        model, {"ml.m5.large": {"MaxInvocations": 10}, "ml.c5.large": {"MaxInvocations": 12}}
    )
    create(sagemaker, f"ir-{unique}", model)
    _, job = settle(sagemaker, f"ir-{unique}")
    kinds = {r["EndpointConfiguration"]["InstanceType"] for r in job["InferenceRecommendations"]}
    assert kinds == {"ml.m5.large", "ml.c5.large"}


def test_a_model_nobody_measured_fails_with_the_reason(sagemaker: BaseClient, unique: str) -> None:
    create(sagemaker, f"ir-{unique}", package(unique))
    _, job = settle(sagemaker, f"ir-{unique}")
    assert job["Status"] == "FAILED"
    assert "No load test results" in job["FailureReason"]
    assert "InferenceRecommendations" not in job


def test_jobs_are_listed_by_package_and_status_newest_first(
    sagemaker: BaseClient, unique: str
) -> None:
    model, other = package(unique), package(f"{unique}x")
    sm_ext.set_recommendation_results(model, {"ml.m5.large": {"MaxInvocations": 10}})
    create(sagemaker, f"ir-{unique}-a", model)
    create(sagemaker, f"ir-{unique}-b", model)
    create(sagemaker, f"ir-{unique}-c", other)
    listed = sagemaker.list_inference_recommendations_jobs(ModelPackageVersionArnEquals=model)
    names = [j["JobName"] for j in listed["InferenceRecommendationsJobs"]]
    assert names == [f"ir-{unique}-b", f"ir-{unique}-a"]
    assert listed["InferenceRecommendationsJobs"][0]["ModelPackageVersionArn"] == model
    settle(sagemaker, f"ir-{unique}-a")
    done = sagemaker.list_inference_recommendations_jobs(
        ModelPackageVersionArnEquals=model, StatusEquals="COMPLETED"
    )["InferenceRecommendationsJobs"]
    assert [j["JobName"] for j in done] == [f"ir-{unique}-a"]
    paged = sagemaker.get_paginator("list_inference_recommendations_jobs").paginate(
        NameContains=unique, PaginationConfig={"PageSize": 2}
    )
    assert sum(len(p["InferenceRecommendationsJobs"]) for p in paged) == 3


def test_a_job_is_stopped_and_a_name_is_refused_twice(sagemaker: BaseClient, unique: str) -> None:
    create(sagemaker, f"ir-{unique}", package(unique))
    with pytest.raises(ClientError, match="already exists"):
        create(sagemaker, f"ir-{unique}", package(unique))
    sagemaker.stop_inference_recommendations_job(JobName=f"ir-{unique}")
    assert settle(sagemaker, f"ir-{unique}")[0] == ["STOPPING", "STOPPED"]
    with pytest.raises(ClientError, match="cannot be stopped"):
        sagemaker.stop_inference_recommendations_job(JobName=f"ir-{unique}")
    with pytest.raises(ClientError, match="does not exist"):
        sagemaker.describe_inference_recommendations_job(JobName=f"nope-{unique}")
