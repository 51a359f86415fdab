"""What ties the promotion's pieces together, checked without running them.

- every step the state machine names is a step of the handler, and back;
- the approval task sends only fields the approvals' ApprovalRequest accepts (it refuses others);
- the deployer role of accounts/target-account.yaml allows every API call the promotion makes in
  a target account, and nothing it never calls (least privilege, both ways);
- the catalogue's approval event parses, and a missing approval status is named.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import Any

import pytest
from mlops_core.approvals import ApprovalRequest
from mlops_core.errors import EventRejectedError
from mlops_runtime import events
from samtranslator.yaml_helper import yaml_parse

from tests.contract.test_accounts_contract import actions_of, statements

ROOT = Path(__file__).resolve().parents[2]
ASL = json.loads((ROOT / "statemachines" / "promotion.asl.json").read_text())
STEP_HANDLER = ROOT / "functions" / "promotion_step" / "app.py"
TARGET = yaml_parse((ROOT / "accounts" / "target-account.yaml").read_text())
# Modules whose calls on these client variables go to a staging or production account.
TARGET_CALLERS = [
    ROOT / "layers" / "shared" / "mlops_runtime" / name
    for name in (
        "promotion_workflow.py",
        "promotion_candidate.py",
        "promotion_shadow.py",
        "promotion_first.py",
        "promotion_release.py",
        "promotion_bake.py",
        "promotion_rightsizing.py",
        "target_accounts.py",
        "variant_scaling.py",
        "serving_actions.py",  # an approved serving action, through the deployer role
    )
]
CLIENT_VARIABLES = {
    "sagemaker": "sagemaker",
    "cloudwatch": "cloudwatch",
    "autoscaling": "application-autoscaling",
    "s3": "s3",
}
# Calls made on a `sagemaker` client of THIS account (the registry), not a target account's.
REGISTRY_CALLS = {
    "describe_model_package",
    "describe_model_package_group",
    "get_model_package_group_policy",
    "put_model_package_group_policy",
}
IAM_ACTION_OF = {"list_objects_v2": "ListBucket"}  # where the IAM action is not the operation
# Permissions the calls need without naming them: Create* with Tags needs AddTags; CreateModel
# from another account's package needs DescribeModelPackage there; passing the execution role;
# Application Auto Scaling's service-linked role on first use.
IMPLIED = {
    "sagemaker:AddTags",
    "sagemaker:DescribeModelPackage",
    "iam:PassRole",
    "iam:CreateServiceLinkedRole",
}


def asl_steps() -> set[str]:
    return {
        state["Parameters"]["Payload"]["step"]
        for state in ASL["States"].values()
        if state["Type"] == "Task" and "step" in state.get("Parameters", {}).get("Payload", {})
    }


def handler_steps() -> set[str]:
    tree = ast.parse(STEP_HANDLER.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.AnnAssign) and getattr(node.target, "id", "") == "STEPS":
            assert isinstance(node.value, ast.Dict)
            return {k.value for k in node.value.keys if isinstance(k, ast.Constant)}
    raise AssertionError("no STEPS table in the promotion step handler")


def target_actions_called() -> set[str]:
    """IAM actions of the operations used on target-account clients: called, passed to a
    helper (``call_aws(..., sagemaker.create_model, ...)``), or named in a dispatch table
    (``getattr(sagemaker, "delete_endpoint")``)."""
    operations: set[tuple[str, str]] = set()
    for path in TARGET_CALLERS:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
                if node.value.id in CLIENT_VARIABLES:
                    operations.add((node.value.id, node.attr))
            elif isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "get_paginator":
                owner = node.func.value  # type: ignore[attr-defined]
                if isinstance(owner, ast.Name) and owner.id in CLIENT_VARIABLES:
                    operations.add((owner.id, node.args[0].value))  # type: ignore[attr-defined]
            elif isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "_DESCRIBE":
                operations |= {
                    ("sagemaker", c.value)
                    for c in ast.walk(node.value)
                    if isinstance(c, ast.Constant)
                    and re.match(r"^(describe|delete)_", str(c.value))
                }
    actions = set()
    for variable, operation in operations:
        if operation == "get_paginator" or (
            variable == "sagemaker" and operation in REGISTRY_CALLS
        ):
            continue
        name = IAM_ACTION_OF.get(operation) or "".join(p.capitalize() for p in operation.split("_"))
        actions.add(f"{CLIENT_VARIABLES[variable]}:{name}")
    return actions


def deployer_actions() -> set[str]:
    policies = TARGET["Resources"]["DeployerRole"]["Properties"]["Policies"]
    return {action for statement in statements(policies) for action in actions_of(statement)}


def test_the_state_machine_and_the_handler_know_the_same_steps() -> None:
    assert asl_steps() == handler_steps()


def test_the_approval_request_sends_only_fields_approvals_accept() -> None:
    request = ASL["States"]["RequestPromotionApproval"]["Parameters"]["Payload"]["request"]
    fields = {key.removesuffix(".$") for key in request}
    assert fields <= set(ApprovalRequest.model_fields), fields - set(ApprovalRequest.model_fields)
    assert request["kind"] == "promotion"


def test_the_deployer_role_allows_every_call_made_in_a_target_account() -> None:
    called = target_actions_called()
    assert {
        "sagemaker:CreateInferenceExperiment",
        "sagemaker:UpdateEndpoint",
        "sagemaker:CreateEndpoint",  # staging, and production on a first deployment
        "cloudwatch:GetMetricData",
        "sagemaker:CreateInferenceRecommendationsJob",  # right-sizing in staging
        "sagemaker:ListInferenceRecommendationsJobs",  # reusing a finished job
        "cloudwatch:DeleteAlarms",  # a failed first deployment removes its alarms
        "application-autoscaling:PutScalingPolicy",
        "application-autoscaling:DescribeScalableTargets",  # the live variant's, before
        "application-autoscaling:DescribeScalingPolicies",
    } <= called
    missing = called - deployer_actions()
    assert not missing, f"the promotion calls what the deployer role does not allow: {missing}"


def test_the_deployer_role_allows_nothing_the_promotion_does_not_call() -> None:
    unused = deployer_actions() - target_actions_called() - IMPLIED
    assert not unused, f"the deployer role allows what no promotion step calls: {unused}"


def test_the_approval_event_of_the_catalogue_parses() -> None:
    event = json.loads((ROOT / "events" / "model-package-approved.json").read_text())
    parsed = events.parse_event(event, events.ModelPackageStateChange)
    assert (parsed.detail.ModelPackageVersion, parsed.detail.ModelApprovalStatus) == (2, "Approved")


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda d: d.pop("ModelApprovalStatus"), "ModelApprovalStatus"),
        (lambda d: d.update(ModelApprovalStatus="Maybe"), "ModelApprovalStatus"),
        (
            lambda d: d.update(ModelPackageArn="arn:aws:sagemaker:us-east-1:1:model/x"),
            "ModelPackageArn",
        ),
    ],
)
def test_a_malformed_approval_event_names_the_field(mutate: Any, field: str) -> None:
    event = json.loads((ROOT / "events" / "model-package-approved.json").read_text())
    mutate(event["detail"])
    with pytest.raises(EventRejectedError, match=re.escape(field)):
        events.parse_event(event, events.ModelPackageStateChange)


def test_the_example_configuration_of_a_promoted_model_is_valid() -> None:
    from mlopscp.commands.models import load_config_file

    config = load_config_file(ROOT / "examples" / "models" / "demand.yaml")
    assert config.promotion is not None
    assert config.promotion.production.deployer_role_arn.endswith(":role/mlopscp-deployer")
    role = TARGET["Resources"]["DeployerRole"]["Properties"]["RoleName"]
    assert role == "mlopscp-deployer"
