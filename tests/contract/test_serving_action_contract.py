"""The serving-action workflow as the template, the ASL and the handler agree on it, and its
permissions: exactly what acting on an approved idle endpoint calls, nothing that could delete
an endpoint config or a model."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import Any

from mlops_core.approvals import ApprovalRequest
from mlops_core.serving_actions import Proposal, approval_request
from samtranslator.yaml_helper import yaml_parse

from tests.contract.test_accounts_contract import actions_of, statements
from tests.contract.test_promotion_contract import deployer_actions

ROOT = Path(__file__).resolve().parents[2]
ASL = json.loads((ROOT / "statemachines" / "serving_action.asl.json").read_text())
TEMPLATE = yaml_parse((ROOT / "template.yaml").read_text())
RESOURCES = TEMPLATE["Resources"]
TARGET = yaml_parse((ROOT / "accounts" / "target-account.yaml").read_text())


def _policies(function: str) -> list[dict[str, Any]]:
    found = []
    for policy in RESOURCES[function]["Properties"]["Policies"]:
        if "Fn::If" in policy:
            policy = policy["Fn::If"][1]
        if isinstance(policy, dict) and "Statement" in policy:
            found.append(policy)
    return found


def _allowed(function: str) -> dict[str, list[Any]]:
    """IAM action -> the resources it is allowed on, over the function's own statements."""
    allowed: dict[str, list[Any]] = {}
    for statement in statements(_policies(function)):
        resources = statement["Resource"]
        for action in actions_of(statement):
            allowed.setdefault(action, []).extend(
                resources if isinstance(resources, list) else [resources]
            )
    return allowed


def test_the_asl_placeholders_are_the_substitutions() -> None:
    machine = RESOURCES["ServingActionStateMachine"]["Properties"]
    placeholders = set(re.findall(r"\$\{(\w+)\}", (ROOT / machine["DefinitionUri"]).read_text()))
    assert placeholders == set(machine["DefinitionSubstitutions"])
    # the decider may resolve its approvals: SendTaskSuccess on ${AWS::StackName}-* only
    assert machine["Name"] == {"Fn::Sub": "${AWS::StackName}-serving-action"}


def test_the_state_machine_and_the_handler_know_the_same_steps() -> None:
    tree = ast.parse((ROOT / "functions" / "serving_action" / "app.py").read_text())
    (table,) = [
        n.value
        for n in ast.walk(tree)
        if isinstance(n, ast.Assign) and getattr(n.targets[0], "id", "") == "STEPS"
    ]
    assert isinstance(table, ast.Dict)
    handled = {k.value for k in table.keys if isinstance(k, ast.Constant)}
    steps = {
        state["Parameters"]["Payload"]["step"]
        for state in ASL["States"].values()
        if state.get("Parameters", {}).get("FunctionName") == "${ServingActionFunctionArn}"
    }
    assert steps == handled == {"act", "declined"}


def test_the_approval_request_is_one_the_approvals_accept() -> None:
    proposal = Proposal(
        "delete_endpoint", "endpoint.idle", "churn", "e" * 63, "c" * 63, "production",
        "123456789012", "us-east-1", "no invocations for 7 days; " + "x" * 400, 1.0,
    )  # fmt: skip
    request = ApprovalRequest.model_validate(approval_request(proposal))  # longest names fit
    assert request.kind == "endpoint_deletion"
    task = ASL["States"]["RequestActionApproval"]
    assert task["Resource"] == "arn:aws:states:::lambda:invoke.waitForTaskToken"
    assert task["Parameters"]["Payload"]["request.$"] == "$.approval_request"
    assert task["TimeoutSecondsPath"] == "$.approval_timeout_seconds"
    assert ASL["States"]["IsActionApproved"]["Choices"][0]["Next"] == "RecheckAndAct"


def test_the_action_function_may_delete_or_scale_endpoints_never_configs_or_models() -> None:
    allowed = _allowed("ServingActionFunction")
    sagemaker = {a for a in allowed if a.startswith("sagemaker:")}
    assert sagemaker == {
        "sagemaker:DescribeEndpoint",
        "sagemaker:DescribeEndpointConfig",
        "sagemaker:DeleteEndpoint",
        "sagemaker:UpdateEndpointWeightsAndCapacities",  # an approved scale-in
    }
    for changing in ("sagemaker:DeleteEndpoint", "sagemaker:UpdateEndpointWeightsAndCapacities"):
        (resource,) = allowed[changing]
        assert resource["Fn::Sub"].endswith(":${AWS::AccountId}:endpoint/*")
    assert allowed["cloudwatch:GetMetricData"] == ["*"]  # no resource-level permission
    (target,) = allowed["application-autoscaling:RegisterScalableTarget"]
    assert target["Fn::Sub"].endswith(":scalable-target/*")
    assert {a for a in allowed if a.startswith("application-autoscaling:")} == {
        "application-autoscaling:RegisterScalableTarget",  # lowering the minimum only
        "application-autoscaling:DescribeScalableTargets",
        "application-autoscaling:DescribeScalingPolicies",
    }
    assert {a.split(":")[0] for a in allowed} <= {
        "sagemaker", "cloudwatch", "dynamodb", "secretsmanager", "sts", "application-autoscaling",
    }  # fmt: skip
    readable = sorted(r["Fn::GetAtt"][0] for r in allowed["dynamodb:GetItem"])
    assert readable == ["ApprovalTable", "StateTable"]  # the approval record, promotion locks
    assert allowed["dynamodb:PutItem"] == [{"Fn::GetAtt": ["LedgerTable", "Arn"]}]


def test_the_digest_may_start_the_serving_action_workflow_and_no_other() -> None:
    policies = RESOURCES["GuardrailDigestFunction"]["Properties"]["Policies"]
    started = [
        p["StepFunctionsExecutionPolicy"] for p in policies if "StepFunctionsExecutionPolicy" in p
    ]
    assert started == [{"StateMachineName": {"Fn::GetAtt": ["ServingActionStateMachine", "Name"]}}]
    variables = RESOURCES["GuardrailDigestFunction"]["Properties"]["Environment"]["Variables"]
    assert variables["SERVING_ACTION_MACHINE"] == {"Ref": "ServingActionStateMachine"}


def test_in_a_workload_account_the_deployer_role_allows_what_the_action_calls() -> None:
    called = {
        "sagemaker:DescribeEndpoint",
        "sagemaker:DescribeEndpointConfig",
        "sagemaker:DeleteEndpoint",
        "sagemaker:UpdateEndpointWeightsAndCapacities",
        "cloudwatch:GetMetricData",
        "application-autoscaling:RegisterScalableTarget",
        "application-autoscaling:DescribeScalableTargets",
    }
    assert called <= deployer_actions()  # test_promotion_contract walks serving_actions.py too
    trust = TARGET["Resources"]["DeployerRole"]["Properties"]["AssumeRolePolicyDocument"]
    (statement,) = trust["Statement"]
    principals = json.dumps(statement["Condition"]["ArnLike"]["aws:PrincipalArn"])
    assert "${ServingActionRoleNamePattern}" in principals
    default = TARGET["Parameters"]["ServingActionRoleNamePattern"]["Default"]
    assert default.endswith("-ServingActionFunctionRol*")
