"""The fields a Spot copy carries are exactly what SageMaker's API lets it carry.

mlops_core.spot cannot import botocore (the core is pure), so its field lists are checked here
against botocore's service model of CreateTrainingJob and DescribeTrainingJob: a field AWS adds
to both operations fails this test until the copy decides what to do with it.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

import botocore.session
from mlops_core import spot

# CreateTrainingJob fields a copy does not take from DescribeTrainingJob, and why.
NOT_COPIED = {
    "TrainingJobName": "the copy gets its own name (lineage + attempt)",
    "Tags": "Describe does not return them; they come from ListTags",
}


@cache
def _model() -> Any:
    return botocore.session.get_session().get_service_model("sagemaker")


def _members(operation: str, side: str) -> set[str]:
    model = _model().operation_model(operation)
    shape = model.input_shape if side == "input" else model.output_shape
    return set(shape.members)


def test_every_copied_field_is_accepted_by_create_and_returned_by_describe() -> None:
    create, describe = (
        _members("CreateTrainingJob", "input"),
        _members("DescribeTrainingJob", "output"),
    )
    copied = set(spot.COPIED_FIELDS)
    assert not copied - create, f"CreateTrainingJob does not accept {sorted(copied - create)}"
    assert not copied - describe, f"DescribeTrainingJob does not return {sorted(copied - describe)}"


def test_nothing_describe_returns_and_create_accepts_is_left_behind() -> None:
    both = _members("CreateTrainingJob", "input") & _members("DescribeTrainingJob", "output")
    left = both - set(spot.COPIED_FIELDS) - set(NOT_COPIED)
    assert not left, f"a copy would silently drop {sorted(left)}: copy them or say why not"


def test_read_only_resource_fields_exist_and_are_documented_read_only() -> None:
    resource_config = _model().shape_for("ResourceConfig")
    for name in spot.READ_ONLY_RESOURCE_FIELDS:
        documentation = resource_config.members[name].documentation
        assert "CreateTraining" in documentation, name
        assert "read-only" in documentation or "Returned by" in documentation, name


def test_tag_limit_matches_the_api() -> None:
    assert _model().shape_for("TagList").metadata["max"] == spot.MAX_TAGS


def test_copy_names_follow_the_api_pattern() -> None:
    metadata = _model().shape_for("TrainingJobName").metadata
    assert metadata["max"] == 63
    pattern = re.compile(f"^{metadata['pattern']}$")
    for lineage in ("churn-train", "x" * 63, "a-" * 40):
        assert pattern.match(spot.copy_name(lineage, 3))


def test_secondary_statuses_the_policy_reads_exist() -> None:
    statuses = set(_model().shape_for("SecondaryStatus").enum)
    assert {"Interrupted", "MaxWaitTimeExceeded"} <= statuses


def test_the_documented_example_configuration_is_valid() -> None:
    import yaml
    from mlops_runtime.model_config import ModelConfig

    path = Path(__file__).resolve().parents[2] / "examples" / "models" / "vision.yaml"
    config = ModelConfig.model_validate(yaml.safe_load(path.read_text()))
    assert config.spot is not None
    assert config.spot.fallback_instance_types == ("ml.g5.2xlarge", "ml.g4dn.2xlarge")
    assert config.guardrails is not None
    assert "training.no_spot" in config.guardrails.enforce
