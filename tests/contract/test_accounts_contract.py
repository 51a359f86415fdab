"""What ties the tooling template and the workload-account template together (issue 10).

- every rule of the control plane that listens on the workload event bus has a forwarding rule
  in accounts/target-account.yaml with the same pattern, and nothing else is forwarded;
- each such rule listens on the tooling account's default bus too, with the same pattern;
- every S3 read of monitoring output is limited to buckets of the reading account
  (``s3:ResourceAccount``), in the tooling template and in the workload reader role;
- the forwarding role may put events on the control plane's bus and do nothing else; the bus
  admits only the organization or the listed accounts;
- the reader role allows exactly the calls the control plane makes through it, and only the
  functions that make them may assume it.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

from samtranslator.yaml_helper import yaml_parse

ROOT = Path(__file__).resolve().parents[2]
TOOLING: dict[str, Any] = yaml_parse((ROOT / "template.yaml").read_text())
WORKLOAD: dict[str, Any] = yaml_parse((ROOT / "accounts" / "target-account.yaml").read_text())


def statements(policies: Any) -> list[dict[str, Any]]:
    """Every IAM statement under a Policies property, whatever wraps it (!If, policy docs)."""
    found: list[dict[str, Any]] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if "Effect" in node and "Action" in node:
                found.append(node)
                return
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(policies)
    return found


def actions_of(statement: dict[str, Any]) -> set[str]:
    action = statement["Action"]
    return {action} if isinstance(action, str) else set(action)


def s3_reads(policies: Any) -> list[dict[str, Any]]:
    return [s for s in statements(policies) if actions_of(s) & {"s3:GetObject", "s3:ListBucket"}]


def test_the_control_plane_reads_s3_only_from_buckets_of_its_own_account() -> None:
    """Monitoring output (triage), evaluation reports (promotions): a bucket name proves
    nothing about whose bucket it is. Other accounts' buckets are read through their roles."""
    readers = set()
    for name, resource in TOOLING["Resources"].items():
        policies = resource.get("Properties", {}).get("Policies") or []
        assert not any(isinstance(p, dict) and "S3ReadPolicy" in p for p in policies), (
            f"{name}: SAM's S3ReadPolicy cannot carry the s3:ResourceAccount condition"
        )
        for statement in s3_reads(policies):
            readers.add(name)
            condition = statement.get("Condition", {}).get("StringEquals", {})
            assert condition.get("s3:ResourceAccount") == {"Ref": "AWS::AccountId"}, name
    assert {"DriftTriageFunction", "PromotionStepFunction"} <= readers


def test_the_reader_role_reads_only_buckets_of_its_own_account() -> None:
    reader = WORKLOAD["Resources"]["ReaderRole"]["Properties"]["Policies"]
    reads = s3_reads(reader)
    assert reads, "the reader role reads monitoring output"
    for statement in reads:
        condition = statement.get("Condition", {}).get("StringEquals", {})
        assert condition.get("s3:ResourceAccount") == {"Ref": "AWS::AccountId"}, statement


# ---------------------------------------------------------------- forwarding


def tooling_rules() -> list[tuple[str, str | None, Any]]:
    """(function.event, bus logical id or None for the default bus, pattern) of every rule."""
    found = []
    for name, resource in TOOLING["Resources"].items():
        for event_name, event in (resource.get("Properties", {}).get("Events") or {}).items():
            if event.get("Type") != "EventBridgeRule":
                continue
            bus = event["Properties"].get("EventBusName")
            found.append(
                (f"{name}.{event_name}", bus and bus["Ref"], event["Properties"]["Pattern"])
            )
    return found


def forwarding_rules() -> dict[str, dict[str, Any]]:
    return {
        name: resource["Properties"]
        for name, resource in WORKLOAD["Resources"].items()
        if resource["Type"] == "AWS::Events::Rule"
        and any(
            t["Arn"] == {"Ref": "ControlPlaneEventBusArn"}
            for t in resource["Properties"]["Targets"]
        )
    }


def canonical(pattern: Any) -> str:
    return json.dumps(pattern, sort_keys=True)


def test_the_workload_accounts_forward_exactly_what_the_workload_bus_rules_consume() -> None:
    consumed = sorted(canonical(p) for _, bus, p in tooling_rules() if bus == "WorkloadEventBus")
    forwarded = sorted(canonical(r["EventPattern"]) for r in forwarding_rules().values())
    assert len(consumed) == 4, "monitoring executions, drift alarms, drift signals, endpoints"
    assert forwarded == consumed


def test_every_workload_bus_rule_listens_on_the_default_bus_too_with_the_same_pattern() -> None:
    rules = tooling_rules()
    default = {(where.split(".")[0], canonical(p)) for where, bus, p in rules if bus is None}
    for where, bus, pattern in rules:
        if bus == "WorkloadEventBus":
            assert (where.split(".")[0], canonical(pattern)) in default, where


def test_training_pipeline_and_registry_events_are_not_taken_from_workload_accounts() -> None:
    """Retraining, its recovery and the registry live in the tooling account (docs)."""
    for where, bus, pattern in tooling_rules():
        kinds = set(pattern.get("detail-type", []))
        if kinds & {
            "SageMaker Training Job State Change",
            "SageMaker Model Building Pipeline Execution Status Change",
            "SageMaker Model Building Pipeline Execution Step Status Change",
            "SageMaker Model Package State Change",
        }:
            assert bus is None, where


def test_forwarding_goes_through_the_forwarding_role_with_a_dead_letter_queue() -> None:
    for name, rule in forwarding_rules().items():
        (target,) = rule["Targets"]
        assert target["RoleArn"] == {"Fn::GetAtt": ["EventForwardingRole", "Arn"]}, name
        assert target["DeadLetterConfig"]["Arn"] == {
            "Fn::GetAtt": ["ForwardingDeadLetterQueue", "Arn"]
        }, name


def test_the_forwarding_role_may_only_put_events_on_the_control_planes_bus() -> None:
    role = WORKLOAD["Resources"]["EventForwardingRole"]["Properties"]
    assert statements(role["Policies"]) == [
        {
            "Effect": "Allow",
            "Action": "events:PutEvents",
            "Resource": {"Ref": "ControlPlaneEventBusArn"},
        }
    ]
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "events.amazonaws.com"}


def test_the_workload_bus_admits_only_the_organization_or_the_listed_accounts() -> None:
    policy = TOOLING["Resources"]["WorkloadEventBus"]["Properties"]["Policy"]["Fn::If"][1]
    admitted = [s["Fn::If"][1] for s in policy["Statement"]]
    assert len(admitted) == 2
    for statement in admitted:
        assert statement["Action"] == "events:PutEvents"
        org = statement.get("Condition", {}).get("StringEquals", {}).get("aws:PrincipalOrgID")
        if statement["Principal"] == "*":
            assert org == {"Ref": "WorkloadOrganizationId"}, statement
        else:
            assert statement["Principal"] == {"AWS": {"Ref": "WorkloadAccountIds"}}, statement


# ---------------------------------------------------------------- the reader role

# Where the control plane calls a workload account through the reader role: function -> the
# variable holding that account's client.
READER_CALLERS = {
    ROOT / "layers/shared/mlops_runtime/intake.py": (
        "_from_processing_job",
        "latest_execution_output",
    ),
    ROOT / "layers/shared/mlops_runtime/training.py": ("endpoint_facts", "_model_origin"),
    ROOT / "layers/shared/mlops_runtime/monitoring_store.py": ("_children", "_files", "_get"),
    # the serving sweep of each workload account (issue 14)
    ROOT / "layers/shared/mlops_runtime/serving_usage.py": ("endpoints", "_described", "_read"),
}
CLIENTS = {"sagemaker": "sagemaker", "s3": "s3", "cloudwatch": "cloudwatch"}
IAM_ACTION_OF = {"list_objects_v2": "ListBucket"}


def reader_actions_called() -> set[str]:
    called = set()
    for path, functions in READER_CALLERS.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.FunctionDef) and node.name in functions):
                continue
            for call in ast.walk(node):
                if not (isinstance(call, ast.Attribute) and isinstance(call.value, ast.Name)):
                    continue
                if call.value.id not in CLIENTS:
                    continue
                operation = call.attr
                if operation == "get_paginator":
                    continue
                called.add((CLIENTS[call.value.id], operation))
            for call in ast.walk(node):
                if isinstance(call, ast.Call) and getattr(call.func, "attr", "") == "get_paginator":
                    owner = call.func.value  # type: ignore[attr-defined]
                    if isinstance(owner, ast.Name) and owner.id in CLIENTS:
                        called.add((CLIENTS[owner.id], call.args[0].value))  # type: ignore[attr-defined]
    return {
        f"{service}:{IAM_ACTION_OF.get(op) or ''.join(p.capitalize() for p in op.split('_'))}"
        for service, op in called
    }


def reader_actions_allowed() -> set[str]:
    reader = WORKLOAD["Resources"]["ReaderRole"]["Properties"]["Policies"]
    return {action for statement in statements(reader) for action in actions_of(statement)}


def test_the_reader_role_allows_every_call_made_through_it_and_nothing_more() -> None:
    called = reader_actions_called()
    assert {
        "sagemaker:DescribeProcessingJob",
        "sagemaker:ListMonitoringExecutions",
        "s3:GetObject",
        "sagemaker:ListEndpoints",
        "cloudwatch:GetMetricData",
    } <= called
    assert reader_actions_allowed() == called


def test_only_the_drift_guardrail_and_digest_functions_may_assume_the_reader_role() -> None:
    (trust,) = WORKLOAD["Resources"]["ReaderRole"]["Properties"]["AssumeRolePolicyDocument"][
        "Statement"
    ]
    assert trust["Condition"]["StringEquals"] == {"sts:ExternalId": {"Ref": "ExternalId"}}
    principals = trust["Condition"]["ArnLike"]["aws:PrincipalArn"]
    assumers = {
        name
        for name, resource in TOOLING["Resources"].items()
        for statement in statements(resource.get("Properties", {}).get("Policies"))
        if statement.get("Resource") == {"Ref": "WorkloadReaderRoleArns"}
    }
    assert assumers == {
        "DriftIntakeFunction",
        "DriftTriageFunction",
        "GuardrailsFunction",
        "GuardrailDigestFunction",
    }
    for name in assumers:
        assert any(f"-{name}Rol*" in p["Fn::Sub"] for p in principals), name
