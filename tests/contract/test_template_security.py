"""Security properties of the templates that cfn-lint and checkov do not check.

- every function logs into a log group the stack declares, with the ``LogRetentionDays``
  retention (an implicit ``/aws/lambda/<name>`` group keeps logs forever), and so does every
  other log group of the stack;
- roles are handed out only by exact ARN: ``sts:AssumeRole`` on the configured deployer roles,
  ``iam:PassRole`` on the SageMaker roles in use and only to SageMaker, in every template.
"""

from __future__ import annotations

import fnmatch
import importlib.util
import re
import sys
from collections.abc import Iterator
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
PLACEHOLDER = re.compile(r"\$\{([^}!][^}]*)\}")


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


# ---------------------------------------------------------------- IAM scoping

# Actions that hand a role to someone: each statement allowing one names exact roles.
ROLE_HANDING = ("sts:AssumeRole", "iam:PassRole")
# Values a parameter must refuse: whole ARNs for a Ref, names for a ${...} inside an ARN.
WILDCARD_VALUES = (
    "arn:aws:iam::*:role/mlopscp-deployer",
    "arn:aws:iam::123456789012:role/*",
    "*",
    "mlopscp-*",
)
ACCOUNT_TEMPLATES = sorted((ROOT / "accounts").glob("*.yaml"))


@cache
def deployed_templates() -> dict[str, dict[str, Any]]:
    """What CloudFormation receives: the control plane translated, the account templates."""
    templates = {"template.yaml": translated()}
    for path in ACCOUNT_TEMPLATES:
        templates[str(path.relative_to(ROOT))] = yaml_parse(path.read_text())
    return templates


def policy_statements(node: object) -> Iterator[dict[str, Any]]:
    """Every statement under a resource's policies, in either branch of an Fn::If; trust
    policies (AssumeRolePolicyDocument) say who may assume a role, not what it may do."""
    if isinstance(node, dict):
        if "Effect" in node and ("Action" in node or "NotAction" in node):
            yield node
            return
        for key, value in node.items():
            if key != "AssumeRolePolicyDocument":
                yield from policy_statements(value)
    elif isinstance(node, list):
        for item in node:
            yield from policy_statements(item)


def _as_list(value: object) -> list[Any]:
    return value if isinstance(value, list) else [value]


def hands_roles(statement: dict[str, Any]) -> list[str]:
    """The role-handing actions an Allow statement grants (wildcard actions included)."""
    if statement.get("Effect") != "Allow" or "NotAction" in statement:
        return ["NotAction"] if "NotAction" in statement else []
    granted = [str(a) for a in _as_list(statement["Action"])]
    return [r for r in ROLE_HANDING if any(fnmatch.fnmatchcase(r, a) for a in granted)]


def wildcards(value: object, parameters: dict[str, Any]) -> list[str]:
    """Why a Resource value may name roles by wildcard: a `*` in it, or a parameter in it
    whose AllowedPattern lets a wildcard ARN through."""
    if isinstance(value, list):
        return [w for item in value for w in wildcards(item, parameters)]
    if isinstance(value, str):
        return [value] if "*" in value else []
    if not isinstance(value, dict) or len(value) != 1:
        return [f"unrecognised {value!r}"]
    ((function, argument),) = value.items()
    if function == "Fn::If":
        return wildcards(argument[1:], parameters)
    if function == "Fn::GetAtt":
        return []  # a role of the same template
    if function == "Ref":
        return _open_parameter(argument, parameters)
    if function == "Fn::Sub":
        text = argument if isinstance(argument, str) else argument[0]
        found = [text] if "*" in text else []
        for name in PLACEHOLDER.findall(text):
            found += _open_parameter(name, parameters)
        return found
    return [f"unrecognised {value!r}"]


def _open_parameter(name: str, parameters: dict[str, Any]) -> list[str]:
    if name.startswith("AWS::") or name not in parameters:
        return []  # pseudo parameters (partition, account, region) and resources
    declared = parameters[name]
    pattern = declared.get("AllowedPattern")
    if pattern is None:
        return [f"parameter {name} has no AllowedPattern"]
    let_through = [value for value in WILDCARD_VALUES if re.fullmatch(pattern, value)]
    if "*" in str(declared.get("Default", "")):
        let_through.append(f"default {declared['Default']}")
    return [f"parameter {name} allows {w}" for w in let_through]


def role_handing_statements() -> list[tuple[str, dict[str, Any], list[str]]]:
    found = []
    for where, template in deployed_templates().items():
        for name, resource in template["Resources"].items():
            if resource["Type"] not in IAM_POLICY_TYPES:
                continue
            for statement in policy_statements(resource.get("Properties", {})):
                if actions := hands_roles(statement):
                    found.append((f"{where}: {name}", statement, actions))
    return found


IAM_POLICY_TYPES = {"AWS::IAM::Role", "AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"}


def test_roles_are_handed_only_by_exact_arn() -> None:
    """sts:AssumeRole only on the configured deployer roles, iam:PassRole only on the SageMaker
    roles in use: never a `*` account, a `*` role name or a parameter that lets one in."""
    statements = role_handing_statements()
    assert {a for _, _, actions in statements for a in actions} >= set(ROLE_HANDING)
    problems = [
        f"{where} {actions}: {reason}"
        for where, statement, actions in statements
        for reason in wildcards(statement.get("Resource", "*"), _parameters(where))
    ]
    assert not problems, "roles handed out by wildcard:\n  " + "\n  ".join(problems)


def test_roles_are_passed_to_sagemaker_only() -> None:
    passing = [(w, s) for w, s, actions in role_handing_statements() if "iam:PassRole" in actions]
    assert passing
    for where, statement in passing:
        condition = statement.get("Condition", {}).get("StringEquals", {})
        assert _as_list(condition.get("iam:PassedToService")) == ["sagemaker.amazonaws.com"], (
            f"{where}: iam:PassRole without StringEquals iam:PassedToService "
            "sagemaker.amazonaws.com"
        )


def test_role_parameters_accept_the_exact_arns_of_real_roles() -> None:
    """Exact ARNs go through (paths, GovCloud, several in a list), and empty is allowed."""
    exact = (
        "",
        "arn:aws:iam::222222222222:role/mlopscp-deployer",
        "arn:aws-us-gov:iam::123456789012:role/service-role/AmazonSageMaker-ExecutionRole-2025",
    )
    names = {
        name
        for where, statement, _ in role_handing_statements()
        for value in _as_list(statement.get("Resource"))
        if isinstance(value, dict) and isinstance(name := value.get("Ref"), str)
        if name in _parameters(where)
    }
    assert names == {"PromotionDeployerRoleArns", "TrainingRoleArns", "WorkloadReaderRoleArns"}
    for name in names:
        declared = translated()["Parameters"][name]
        assert declared["Type"] == "CommaDelimitedList", f"{name}: a list of exact ARNs"
        refused = [arn for arn in exact if not re.fullmatch(declared["AllowedPattern"], arn)]
        assert not refused, f"{name} refuses {refused}"


def _parameters(where: str) -> dict[str, Any]:
    template = where.split(":", 1)[0]
    return dict(deployed_templates()[template].get("Parameters", {}))


# ---------------------------------------------------------------- the helpers can fail


def test_wildcard_resources_are_found() -> None:
    parameters = {
        "Open": {"Type": "String", "AllowedPattern": "^arn:aws:iam::([0-9]{12}|\\*):role/.+$"},
        "Exact": {"Type": "String", "AllowedPattern": "^arn:aws:iam::[0-9]{12}:role/[a-z-]+$"},
        "Loose": {"Type": "String", "AllowedPattern": "^[a-z*]+$", "Default": "*"},
    }
    assert wildcards({"Ref": "Exact"}, parameters) == []
    assert wildcards({"Fn::GetAtt": ["Role", "Arn"]}, parameters) == []
    assert wildcards({"Ref": "Open"}, parameters) == [
        "parameter Open allows arn:aws:iam::*:role/mlopscp-deployer",
        "parameter Open allows arn:aws:iam::123456789012:role/*",
    ]
    assert wildcards({"Fn::Sub": "arn:aws:iam::${AWS::AccountId}:role/${Loose}"}, parameters) == [
        "parameter Loose allows *",
        "parameter Loose allows default *",
    ]
    assert wildcards({"Fn::If": ["C", "arn:aws:iam::1:role/a", "arn:aws:iam::1:role/*"]}, {}) == [
        "arn:aws:iam::1:role/*"
    ]


def test_role_handing_actions_are_found_behind_wildcards() -> None:
    assert hands_roles({"Effect": "Allow", "Action": "sts:Assume*"}) == ["sts:AssumeRole"]
    assert hands_roles({"Effect": "Allow", "Action": ["*"]}) == list(ROLE_HANDING)
    assert hands_roles({"Effect": "Allow", "Action": "iam:GetRole"}) == []
    assert hands_roles({"Effect": "Deny", "Action": "iam:PassRole"}) == []
