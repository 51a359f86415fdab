"""`mlopscp discover` on a seeded estate in the emulator: four endpoints, each missing something
different (or nothing), read through the real SageMaker API shapes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from mlopscp import discover
from mlopscp.cli import main
from mlopscp_emulator import Emulator

BUCKET = "disc-estate"
ROLE = "arn:aws:iam::123456789012:role/disc-sagemaker"
IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
CAPTURE = {
    "EnableCapture": True,
    "InitialSamplingPercentage": 100,
    "DestinationS3Uri": f"s3://{BUCKET}/capture",
    "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
}


def _package(sagemaker: Any, group: str) -> str:
    sagemaker.create_model_package_group(ModelPackageGroupName=group)
    return str(
        sagemaker.create_model_package(
            ModelPackageGroupName=group,
            ModelApprovalStatus="Approved",
            InferenceSpecification={
                "Containers": [{"Image": IMAGE, "ModelDataUrl": f"s3://{BUCKET}/{group}.tar.gz"}],
                "SupportedContentTypes": ["text/csv"],
                "SupportedResponseMIMETypes": ["text/csv"],
            },
        )["ModelPackageArn"]
    )


def _endpoint(sagemaker: Any, name: str, container: dict[str, Any], capture: bool) -> None:
    sagemaker.create_model(ModelName=f"{name}-model", ExecutionRoleArn=ROLE, Containers=[container])
    sagemaker.create_endpoint_config(
        EndpointConfigName=f"{name}-config",
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": f"{name}-model",
                "InitialInstanceCount": 1,
                "InstanceType": "ml.m5.large",
            }
        ],
        **({"DataCaptureConfig": CAPTURE} if capture else {}),
    )
    sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=f"{name}-config")


def _schedule(sagemaker: Any, endpoint: str, output: str) -> None:
    sagemaker.create_monitoring_schedule(
        MonitoringScheduleName=f"{endpoint}-data-quality",
        MonitoringScheduleConfig={
            "ScheduleConfig": {"ScheduleExpression": "cron(0 * ? * * *)"},
            "MonitoringType": "DataQuality",
            "MonitoringJobDefinition": {
                "MonitoringInputs": [
                    {"EndpointInput": {"EndpointName": endpoint, "LocalPath": "/opt/ml/input"}}
                ],
                "MonitoringOutputConfig": {
                    "MonitoringOutputs": [
                        {"S3Output": {"S3Uri": output, "LocalPath": "/opt/ml/output"}}
                    ]
                },
                "MonitoringResources": {
                    "ClusterConfig": {
                        "InstanceCount": 1,
                        "InstanceType": "ml.m5.xlarge",
                        "VolumeSizeInGB": 20,
                    }
                },
                "MonitoringAppSpecification": {"ImageUri": "model-monitor-analyzer"},
                "RoleArn": ROLE,
            },
        },
    )


def _pipeline(sagemaker: Any, name: str, group: str) -> None:
    definition = {
        "Version": "2020-12-01",
        "Parameters": [{"Name": "InputDataUri", "Type": "String", "DefaultValue": "s3://x/y"}],
        "Steps": [
            {"Name": "Train", "Type": "Training", "Arguments": {}},
            {
                "Name": "Register",
                "Type": "RegisterModel",
                "Arguments": {"ModelPackageGroupName": group, "ModelApprovalStatus": "Pending"},
            },
        ],
    }
    sagemaker.create_pipeline(
        PipelineName=name, PipelineDefinition=json.dumps(definition), RoleArn=ROLE
    )


@pytest.fixture(scope="module")
def estate(emulator: Emulator) -> Emulator:
    sagemaker = emulator.client("sagemaker")
    emulator.client("s3").create_bucket(Bucket=BUCKET)
    complete = _package(sagemaker, "disc-churn")
    _endpoint(sagemaker, "disc-complete", {"ModelPackageName": complete}, capture=True)
    _schedule(sagemaker, "disc-complete", f"s3://{BUCKET}/monitoring/disc-complete")
    _pipeline(sagemaker, "disc-churn-retrain", "disc-churn")
    fraud = _package(sagemaker, "disc-fraud")
    _endpoint(sagemaker, "disc-nocapture", {"ModelPackageName": fraud}, capture=False)
    _schedule(sagemaker, "disc-nocapture", f"s3://{BUCKET}/monitoring/disc-nocapture")
    _pipeline(sagemaker, "disc-fraud-retrain", "disc-fraud")
    pricing = _package(sagemaker, "disc-pricing")
    _endpoint(sagemaker, "disc-nomonitor", {"ModelPackageName": pricing}, capture=True)
    _pipeline(sagemaker, "disc-pricing-retrain", "disc-pricing")
    adhoc = {"Image": IMAGE, "ModelDataUrl": f"s3://{BUCKET}/adhoc/model.tar.gz"}
    _endpoint(sagemaker, "disc-adhoc", adhoc, capture=True)
    _schedule(sagemaker, "disc-adhoc", f"s3://{BUCKET}/monitoring/disc-adhoc")
    return emulator


def _ours(estate: discover.Estate) -> dict[str, discover.Endpoint]:
    return {e.name: e for e in estate.endpoints if e.name.startswith("disc-")}


def test_each_endpoint_reports_its_own_gaps(estate: Emulator) -> None:
    found = discover.read_estate(estate.client("sagemaker"))
    endpoints = _ours(found)
    assert {name: e.gaps for name, e in endpoints.items()} == {
        "disc-complete": [],
        "disc-nocapture": [discover.NO_CAPTURE],
        "disc-nomonitor": [discover.NO_MONITORING],
        "disc-adhoc": [discover.NOT_FROM_REGISTRY],
    }
    complete = endpoints["disc-complete"]
    assert complete.capture_uri == f"s3://{BUCKET}/capture"
    assert complete.output_uri == f"s3://{BUCKET}/monitoring/disc-complete"
    assert complete.package_groups == ["disc-churn"]
    assert complete.pipelines == ["disc-churn-retrain"]
    assert {"disc-churn", "disc-fraud", "disc-pricing"} <= set(found.package_groups)
    assert found.pipelines["disc-churn-retrain"] == ["disc-churn"]


def test_written_configurations_pass_models_put_check(estate: Emulator, tmp_path: Path) -> None:
    found = discover.read_estate(estate.client("sagemaker"))
    found.endpoints = list(_ours(found).values())
    written = discover.write_configs(found, tmp_path)
    files = {Path(w["file"]).stem: Path(w["file"]) for w in written}
    assert set(files) == {"disc-complete", "disc-nocapture", "disc-nomonitor", "disc-adhoc"}
    assert main(["models", "put", "--check", *map(str, files.values())]) == 0

    complete = yaml.safe_load(files["disc-complete"].read_text())
    assert complete == {
        "model_id": "disc-churn",
        "endpoint_name": "disc-complete",
        "monitoring_output_uri": f"s3://{BUCKET}/monitoring/disc-complete",
        "monitoring_schedules": ["disc-complete-data-quality"],
        "retrain": {"pipeline_name": "disc-churn-retrain"},
    }
    # What it could not infer is a TODO comment, never a made-up value.
    nomonitor = files["disc-nomonitor"].read_text()
    assert "# TODO: monitoring_output_uri" in nomonitor
    assert "monitoring_output_uri" not in yaml.safe_load(nomonitor)
    adhoc_text = files["disc-adhoc"].read_text()
    assert "# TODO: retrain.pipeline_name" in adhoc_text
    assert "# gap: the model is not from the model registry" in adhoc_text
    assert yaml.safe_load(adhoc_text)["model_id"] == "disc-adhoc"


def test_cli_prints_one_json_document_and_exits_1_on_gaps(
    estate: Emulator,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    argv = ["discover", "--endpoint-url", estate.endpoint_url, "--region", "us-east-1"]
    code = main([*argv, "--json", "--out", str(tmp_path)])
    out, err = capsys.readouterr()
    document = json.loads(out)  # stdout is exactly one JSON document
    assert code == 1
    gaps = {e["name"]: e["gaps"] for e in document["endpoints"] if e["name"].startswith("disc-")}
    assert gaps["disc-nocapture"] == [discover.NO_CAPTURE]
    assert any(w["endpoint"] == "disc-adhoc" for w in document["written"])
    assert "discover: reading endpoint disc-complete" in err  # progress on stderr


def test_cli_says_one_line_when_aws_is_unreachable(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        ["discover", "--endpoint-url", "http://127.0.0.1:9", "--region", "us-east-1", "--json"]
    )
    out, err = capsys.readouterr()
    assert code == 3
    assert out == ""
    assert err.startswith("mlopscp: error: cannot read the account")
    assert len(err.strip().splitlines()) == 1
