"""What `mlopscp discover` proposes from what it read, and what `mlopscp replay` refuses to
start with: pure parts, no AWS."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from mlops_runtime.model_config import ModelConfig
from mlopscp import discover
from mlopscp.output import CliError
from mlopscp.replay import into_local_account, read_event, read_models


def endpoint(**changes: Any) -> discover.Endpoint:
    fields: dict[str, Any] = {
        "name": "fraud-prod",
        "status": "InService",
        "config_name": "fraud-prod-v3",
        "data_capture": {"EnableCapture": True, "DestinationS3Uri": "s3://b/capture"},
        "models": ["fraud-v3"],
        "model_packages": ["arn:aws:sagemaker:us-east-1:111122223333:model-package/fraud/3"],
        "schedules": [discover.Schedule("fraud-dq", "DataQuality", "Scheduled", "s3://b/mon")],
        "package_groups": ["fraud"],
        "pipelines": ["fraud-retrain"],
    }
    made = discover.Endpoint(**(fields | changes))
    made.gaps = discover._gaps(made)
    return made


def test_a_complete_endpoint_becomes_a_complete_configuration() -> None:
    config, todos = discover.proposal(endpoint())
    assert config == {
        "model_id": "fraud",
        "endpoint_name": "fraud-prod",
        "monitoring_output_uri": "s3://b/mon",
        "monitoring_schedules": ["fraud-dq"],
        "retrain": {"pipeline_name": "fraud-retrain"},
    }
    assert ModelConfig.model_validate(config).model_id == "fraud"
    assert any(todo.startswith("owners:") for todo in todos)


def test_what_cannot_be_inferred_is_a_todo_never_a_guess() -> None:
    messy = endpoint(
        data_capture={"EnableCapture": False, "DestinationS3Uri": "s3://b/capture"},
        schedules=[
            discover.Schedule("a", "DataQuality", "Scheduled", "s3://b/one"),
            discover.Schedule("b", "ModelQuality", "Scheduled", "s3://b/two"),
        ],
        pipelines=["fraud-retrain", "fraud-nightly"],
    )
    config, todos = discover.proposal(messy)
    assert "monitoring_output_uri" not in config
    assert "retrain" not in config
    text = discover.render_yaml(messy, config, todos)
    assert "# TODO: monitoring_output_uri: the schedules write to different places" in text
    assert "# TODO: retrain.pipeline_name: several pipelines" in text
    assert "# gap: data capture is off" in text
    assert yaml.safe_load(text) == config  # the comments are comments


def test_gaps_are_named_per_endpoint() -> None:
    assert endpoint().gaps == []
    assert endpoint(schedules=[]).gaps == [discover.NO_MONITORING]
    assert endpoint(model_packages=[], package_groups=[], pipelines=[]).gaps == [
        discover.NOT_FROM_REGISTRY
    ]
    assert endpoint(pipelines=[]).gaps == [discover.NO_PIPELINE]
    assert endpoint(data_capture=None).gaps == [discover.NO_CAPTURE]


def test_a_package_arn_names_its_group() -> None:
    arn = "arn:aws:sagemaker:eu-west-1:111122223333:model-package/churn-model/12"
    assert discover._group_of(arn) == "churn-model"


class FakeSageMaker:
    def __init__(self, definition: dict[str, Any] | str) -> None:
        self.definition = definition

    def describe_pipeline(self, PipelineName: str) -> dict[str, Any]:  # noqa: N803 (AWS's name)
        text = self.definition if isinstance(self.definition, str) else json.dumps(self.definition)
        return {"PipelineName": PipelineName, "PipelineDefinition": text}


def test_a_pipeline_registers_into_the_groups_its_definition_names() -> None:
    definition = {
        "Parameters": [{"Name": "ModelPackageGroupName", "DefaultValue": "churn"}],
        "Steps": [
            {
                "Name": "Register",
                "Type": "RegisterModel",
                "Arguments": {"ModelPackageGroupName": "x"},
            }
        ],
    }
    assert discover._registers_into(FakeSageMaker(definition), "p") == ["churn", "x"]
    assert discover._registers_into(FakeSageMaker("not json"), "p") == []


def test_replay_refuses_what_is_not_an_event_envelope(tmp_path: Path) -> None:
    path = tmp_path / "e.json"
    path.write_text('{"detail": {}}')
    with pytest.raises(CliError, match="not an event envelope"):
        read_event(path)
    path.write_text("{")
    with pytest.raises(CliError, match="is not JSON"):
        read_event(path)
    with pytest.raises(CliError, match="cannot read"):
        read_event(tmp_path / "missing.json")


def test_replay_names_every_problem_of_a_model_file_on_one_line(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text("model_id: a\nendpoint_name: 'bad name'\nmonitoring_output_uri: nope\n")
    with pytest.raises(CliError) as caught:
        read_models([path], None)
    line = caught.value.line()
    assert "\n" not in line
    assert "endpoint_name:" in line
    assert "monitoring_output_uri:" in line


def test_monitoring_output_needs_a_model_with_a_location(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text("model_id: a\nendpoint_name: a-prod\n")
    with pytest.raises(CliError, match="needs a --model whose configuration names"):
        read_models([path], tmp_path)
    with pytest.raises(CliError, match="is not a directory"):
        read_models([path], tmp_path / "nowhere")


def test_an_event_from_the_users_account_is_moved_into_the_local_one() -> None:
    arn = "arn:aws:cloudwatch:eu-west-1:444455556666:alarm:drift"
    event = {"account": "444455556666", "resources": [arn], "detail": {"x": 1}}
    moved, source = into_local_account(event)
    assert source == "444455556666"
    assert moved["account"] == "123456789012"
    assert moved["resources"] == ["arn:aws:cloudwatch:eu-west-1:123456789012:alarm:drift"]
    assert event["account"] == "444455556666"  # the caller's copy is untouched
    # the local account and the demo world's workload accounts stay as sent
    for account in ("123456789012", "333333333333"):
        assert into_local_account({"account": account}) == ({"account": account}, None)
