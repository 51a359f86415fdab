"""Upserting the committed retraining pipeline with plain boto3, then starting it as the
control plane does (moto, in process)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from mlops_core.retrain import PIPELINE_PARAMETERS, pipeline_parameters
from mlopscp.cli import main
from mlopscp.pipelines import load_definition, upload_code, upsert_pipeline
from moto import mock_aws

pytestmark = pytest.mark.integration

REGION = "us-east-1"
ROLE = "arn:aws:iam::123456789012:role/pipelines"
BUCKET = "retrain-artifacts"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET)
        yield {"sagemaker": boto3.client("sagemaker", region_name=REGION), "s3": s3}


def defaults_of(sagemaker: Any, name: str) -> dict[str, Any]:
    described = sagemaker.describe_pipeline(PipelineName=name)
    definition = json.loads(described["PipelineDefinition"])
    return {p["Name"]: p.get("DefaultValue") for p in definition["Parameters"]}


def test_upsert_creates_then_updates_and_an_execution_keeps_the_control_plane_parameters(
    aws: dict[str, Any],
) -> None:
    sagemaker, definition = aws["sagemaker"], load_definition()
    created = upsert_pipeline(sagemaker, "retrain", ROLE, definition)
    updated = upsert_pipeline(
        sagemaker, "retrain", ROLE, definition, {"QualityThreshold": "0.8", "SkipDriftCheck": "no"}
    )

    assert updated == created
    names = [p["PipelineName"] for p in sagemaker.list_pipelines()["PipelineSummaries"]]
    assert names == ["retrain"]
    defaults = defaults_of(sagemaker, "retrain")
    assert defaults["QualityThreshold"] == 0.8
    assert defaults["SkipDriftCheck"] is False
    assert defaults["ExecutionRoleArn"] == ROLE  # the jobs' role defaults to the given one
    assert sagemaker.describe_pipeline(PipelineName="retrain")["RoleArn"] == ROLE

    sent = pipeline_parameters(
        "inc-churn-abc123",
        "sustained drift on feature_3 with model quality down",
        {"start": "2026-07-20T00:00Z", "end": "2026-07-23T00:00Z"},
        {},
    )
    assert {p["Name"] for p in sent} >= set(PIPELINE_PARAMETERS)
    # AWS rejects undeclared parameters; moto does not, so check against the stored definition.
    assert {p["Name"] for p in sent} <= set(defaults)
    execution = sagemaker.start_pipeline_execution(
        PipelineName="retrain", PipelineParameters=sent, ClientRequestToken="t" * 32
    )
    kept = sagemaker.list_pipeline_parameters_for_execution(
        PipelineExecutionArn=execution["PipelineExecutionArn"]
    )["PipelineParameters"]
    assert kept == sent


def test_unknown_or_mistyped_defaults_are_refused(aws: dict[str, Any]) -> None:
    definition = load_definition()
    with pytest.raises(ValueError, match="QualityTreshold"):
        upsert_pipeline(aws["sagemaker"], "p", ROLE, definition, {"QualityTreshold": "0.8"})
    with pytest.raises(ValueError, match="TrainingInstanceCount is Integer"):
        upsert_pipeline(aws["sagemaker"], "p", ROLE, definition, {"TrainingInstanceCount": "two"})
    assert aws["sagemaker"].list_pipelines()["PipelineSummaries"] == []


def test_code_is_uploaded_under_a_digest_of_its_content(aws: dict[str, Any]) -> None:
    first = upload_code(aws["s3"], f"s3://{BUCKET}/code/")
    again = upload_code(aws["s3"], f"s3://{BUCKET}/code")

    assert first == again
    assert first.startswith(f"s3://{BUCKET}/code/")
    assert len(first.rsplit("/", 1)[1]) == 16
    prefix = first.removeprefix(f"s3://{BUCKET}/")
    listed = aws["s3"].list_objects_v2(Bucket=BUCKET, Prefix=prefix)["Contents"]
    assert sorted(o["Key"].rsplit("/", 1)[1] for o in listed) == ["evaluate.py", "preprocess.py"]


def test_cli_upsert_binds_the_bucket_and_uploads_the_code(
    aws: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [
        "pipeline",
        "upsert",
        "--name",
        "retrain",
        "--role-arn",
        ROLE,
        "--bucket",
        BUCKET,
        "--region",
        REGION,
        "--parameter",
        "ModelPackageGroupName=churn",
    ]

    assert main(argv) == 0

    arn = capsys.readouterr().out.strip().splitlines()[-1]
    assert arn.endswith(":pipeline/retrain")
    defaults = defaults_of(aws["sagemaker"], "retrain")
    assert defaults["InputDataUri"] == f"s3://{BUCKET}/mlopscp/retrain/input"
    assert defaults["ArtifactPrefix"] == f"s3://{BUCKET}/mlopscp/retrain/artifacts"
    assert defaults["ModelPackageGroupName"] == "churn"
    code = defaults["CodePrefix"].removeprefix(f"s3://{BUCKET}/")
    keys = [o["Key"] for o in aws["s3"].list_objects_v2(Bucket=BUCKET, Prefix=code)["Contents"]]
    assert f"{code}/preprocess.py" in keys
    assert not any("UNBOUND" in str(v) for v in defaults.values())
