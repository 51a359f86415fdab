"""tooling/checks/checkov_skips.py: a checkov skip that is no longer needed fails the build."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

PATH = Path(__file__).resolve().parents[2] / "tooling" / "checks" / "checkov_skips.py"
_spec = importlib.util.spec_from_file_location("checkov_skips", PATH)
assert _spec is not None
assert _spec.loader is not None
skips = importlib.util.module_from_spec(_spec)
sys.modules["checkov_skips"] = skips
_spec.loader.exec_module(skips)

TEMPLATE = {
    "Resources": {
        "Bucket": {
            "Type": "AWS::S3::Bucket",
            "Metadata": {"checkov": {"skip": [{"id": "CKV_AWS_18", "comment": "why"}]}, "x": 1},
        },
        "Fn": {"Type": "AWS::Lambda::Function", "Properties": {}},
    }
}


def test_resource_skips_are_read_and_stripped_from_a_copy() -> None:
    assert skips.metadata_skips("t.json", TEMPLATE) == {
        ("t.json", "CKV_AWS_18", "AWS::S3::Bucket.Bucket")
    }
    bare = skips.without_metadata_skips(TEMPLATE)
    assert bare["Resources"]["Bucket"]["Metadata"] == {"x": 1}
    assert "checkov" in TEMPLATE["Resources"]["Bucket"]["Metadata"]


def test_every_skip_still_needed_passes() -> None:
    failed = {
        ("t.json", "CKV_AWS_18", "AWS::S3::Bucket.Bucket"),
        ("t.json", "CKV_AWS_117", "AWS::Lambda::Function.Fn"),
    }
    resource = {("t.json", "CKV_AWS_18", "AWS::S3::Bucket.Bucket")}
    assert skips.problems({"CKV_AWS_18", "CKV_AWS_117"}, ["CKV_AWS_117"], resource, failed) == []


def test_stale_and_unknown_skips_are_reported() -> None:
    resource = {
        ("t.json", "CKV_AWS_18", "AWS::S3::Bucket.Bucket"),
        ("t.json", "CKV_AWS_301", "AWS::Lambda::Permission.P"),
    }
    assert skips.problems(
        {"CKV_AWS_18", "CKV_AWS_117"}, ["CKV_AWS_117", "CKV_X"], resource, set()
    ) == [
        ".checkov.yaml skips CKV_AWS_117: no resource fails it any more",
        ".checkov.yaml skips CKV_X: no such CloudFormation check",
        "t.json: AWS::S3::Bucket.Bucket skips CKV_AWS_18, which it passes",
        "t.json: AWS::Lambda::Permission.P skips CKV_AWS_301: no such CloudFormation check",
    ]
