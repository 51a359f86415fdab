"""The approvals' security properties that live in template.yaml, checked on the template as
CloudFormation gets it (translated offline by samtranslator, as `make template-checks` does)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _translate() -> dict[str, Any]:
    path = ROOT / "tooling" / "checks" / "translate_template.py"
    spec = importlib.util.spec_from_file_location("translate_template", path)
    assert spec
    assert spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.translate(ROOT / "template.yaml")  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def translated() -> dict[str, Any]:
    return _translate()


def test_the_public_callback_has_reserved_concurrency(translated: dict[str, Any]) -> None:
    """A flood on the public URL is throttled there, not across the account's other functions
    (and its unauthenticated writes are bounded per second)."""
    parameter = translated["Parameters"]["ApprovalCallbackConcurrency"]
    assert 1 <= int(parameter["Default"]) <= 50
    reserved = translated["Resources"]["ApprovalCallbackFunction"]["Properties"][
        "ReservedConcurrentExecutions"
    ]
    assert reserved == {
        "Fn::If": [
            "ReserveCallbackConcurrency",
            {"Ref": "ApprovalCallbackConcurrency"},
            {"Ref": "AWS::NoValue"},
        ]
    }


CRYPTO_ACTIONS = ("kms:Decrypt", "kms:Encrypt", "kms:ReEncrypt", "kms:GenerateDataKey")


def _statements(translated: dict[str, Any]) -> list[dict[str, Any]]:
    policy = translated["Resources"]["ApprovalTokenKey"]["Properties"]["KeyPolicy"]
    return list(policy["Statement"])


def _actions(statement: dict[str, Any]) -> list[str]:
    actions = statement["Action"]
    return [actions] if isinstance(actions, str) else list(actions)


def _uses(actions: list[str], wanted: str) -> bool:
    """Does an action list (with wildcards) allow ``wanted``?"""
    import fnmatch

    return any(fnmatch.fnmatchcase(wanted.lower(), a.lower()) for a in actions)


def test_the_token_key_has_no_blanket_grant(translated: dict[str, Any]) -> None:
    for statement in _statements(translated):
        assert statement["Effect"] == "Allow"
        actions = _actions(statement)
        assert "kms:*" not in actions
        assert "*" not in actions


def test_only_the_approval_roles_use_the_token_key(translated: dict[str, Any]) -> None:
    """Encrypt for RequestApproval, Decrypt for the decider, each bound to the approval's
    encryption context; the account (root) administers the key but cannot use it, nor grant
    itself use (no CreateGrant)."""
    users: dict[str, set[str]] = {}
    for statement in _statements(translated):
        actions = _actions(statement)
        for action in (*CRYPTO_ACTIONS, "kms:CreateGrant"):
            if _uses(actions, action):
                principal = statement["Principal"]["AWS"]
                users.setdefault(action, set()).add(json.dumps(principal, sort_keys=True))
                conditions = statement.get("Condition", {})
                assert conditions["StringEquals"]["kms:EncryptionContext:purpose"] == (
                    "mlopscp-approval-task-token"
                )
                assert conditions["Null"]["kms:EncryptionContext:approval_id"] == "false"
    role = lambda name: json.dumps({"Fn::GetAtt": [name, "Arn"]}, sort_keys=True)  # noqa: E731
    assert users == {
        "kms:Encrypt": {role("RequestApprovalFunctionRole")},
        "kms:Decrypt": {role("ApprovalDeciderFunctionRole")},
    }


def _role_statements(translated: dict[str, Any], role: str) -> list[dict[str, Any]]:
    """Every statement of a function role's inline policies (conditional ones included)."""
    found = []
    for policy in translated["Resources"][role]["Properties"].get("Policies", []):
        if "Fn::If" in policy:
            policy = policy["Fn::If"][1]
        found += policy["PolicyDocument"]["Statement"]
    return found


def _on(statement: dict[str, Any], table: str) -> bool:
    return json.dumps({"Fn::GetAtt": [table, "Arn"]}) in json.dumps(statement.get("Resource"))


def test_incident_controls_are_least_privilege(translated: dict[str, Any]) -> None:
    """The public callback may only read incident items (to file a refused click under its
    model); the decider may read and put incident items, never a model's pointer or another
    item of the state table, and only read model configuration."""
    callback = _role_statements(translated, "ApprovalCallbackFunctionRole")
    (read,) = [s for s in callback if _on(s, "StateTable")]
    assert _actions(read) == ["dynamodb:GetItem"]
    assert read["Condition"] == {
        "ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["INCIDENT#*"]}
    }
    assert not any(_on(s, "ModelConfigTable") for s in callback)
    decider = _role_statements(translated, "ApprovalDeciderFunctionRole")
    (write,) = [s for s in decider if _on(s, "StateTable")]
    assert sorted(_actions(write)) == ["dynamodb:GetItem", "dynamodb:PutItem"]
    assert write["Condition"] == {
        "ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["INCIDENT#*"]}
    }
    (config,) = [s for s in decider if _on(s, "ModelConfigTable")]
    assert _actions(config) == ["dynamodb:GetItem"]
    assert all(
        "*" not in a for s in callback + decider for a in _actions(s) if a.startswith("dynamodb")
    )
