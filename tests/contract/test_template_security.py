"""Security properties of the templates that cfn-lint and checkov do not check.

- every function logs into a log group the stack declares, with the ``LogRetentionDays``
  retention (an implicit ``/aws/lambda/<name>`` group keeps logs forever), and so does every
  other log group of the stack;
"""

from __future__ import annotations

import importlib.util
import sys
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from samtranslator.yaml_helper import yaml_parse

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE: dict[str, Any] = yaml_parse((ROOT / "template.yaml").read_text())
RESOURCES: dict[str, dict[str, Any]] = TEMPLATE["Resources"]
FUNCTION_GLOBALS: dict[str, Any] = TEMPLATE.get("Globals", {}).get("Function", {})
RETENTION = {"Ref": "LogRetentionDays"}


def _of_type(resources: dict[str, dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in resources.items() if r["Type"] == kind}


@cache
def translated() -> dict[str, Any]:
    """template.yaml as CloudFormation (what `make checkov` scans), translated offline."""
    path = ROOT / "tooling" / "checks" / "translate_template.py"
    spec = importlib.util.spec_from_file_location("translate_template", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("translate_template", module)
    spec.loader.exec_module(module)
    result: dict[str, Any] = module.translate(ROOT / "template.yaml")
    return result


def logging_config(function: dict[str, Any]) -> dict[str, Any]:
    """The function's LoggingConfig as SAM builds it: the Globals' keys, the function's win."""
    merged = dict(FUNCTION_GLOBALS.get("LoggingConfig") or {})
    merged.update(function.get("Properties", {}).get("LoggingConfig") or {})
    return merged


# ---------------------------------------------------------------- log retention


@pytest.mark.parametrize("name", sorted(_of_type(RESOURCES, "AWS::Serverless::Function")), ids=str)
def test_every_function_logs_into_its_own_declared_group(name: str) -> None:
    group = logging_config(RESOURCES[name]).get("LogGroup")
    assert isinstance(group, dict), (
        f"{name}: LoggingConfig.LogGroup must be a !Ref to a log group this template declares; "
        f"without it Lambda creates /aws/lambda/<name> itself, and keeps its logs forever"
    )
    assert set(group) == {"Ref"}, f"{name}: LoggingConfig.LogGroup {group} is not a !Ref"
    declared = RESOURCES.get(group["Ref"], {})
    assert declared.get("Type") == "AWS::Logs::LogGroup", f"{name}: {group['Ref']} is no log group"
    assert declared["Properties"].get("LogGroupName") == {
        "Fn::Sub": f"/aws/lambda/${{AWS::StackName}}/{name}"
    }, f"{group['Ref']}: name it /aws/lambda/${{AWS::StackName}}/{name} (found per stack)"


def test_no_two_functions_share_a_log_group() -> None:
    groups = [
        str(logging_config(r).get("LogGroup"))
        for r in _of_type(RESOURCES, "AWS::Serverless::Function").values()
    ]
    assert len(groups) == len(set(groups)), "functions share a log group"


@pytest.mark.parametrize("name", sorted(_of_type(RESOURCES, "AWS::Logs::LogGroup")), ids=str)
def test_every_log_group_keeps_logs_for_the_retention_parameter(name: str) -> None:
    retention = RESOURCES[name]["Properties"].get("RetentionInDays")
    assert retention == RETENTION, f"{name}: RetentionInDays must be !Ref LogRetentionDays"


def test_every_translated_function_names_a_declared_log_group() -> None:
    """Also functions SAM or a plain AWS::Lambda::Function resource would add."""
    resources = translated()["Resources"]
    groups = _of_type(resources, "AWS::Logs::LogGroup")
    functions = _of_type(resources, "AWS::Lambda::Function")
    assert functions
    undeclared = sorted(
        name
        for name, function in functions.items()
        if (function["Properties"].get("LoggingConfig") or {}).get("LogGroup", {}).get("Ref")
        not in groups
    )
    assert not undeclared, f"functions logging into an undeclared group: {undeclared}"
