"""docs/operations.md stays true to the template: its deployer policy covers every resource type
`sam deploy` creates, the three tables it says `sam delete` keeps are the ones with
DeletionPolicy Retain, and its Slack app manifest asks for the scopes the code calls."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "operations.md").read_text()
# CloudFormation type namespace -> IAM service prefix (where they differ only in spelling).
PREFIX = {"StepFunctions": "states", "CloudWatch": "cloudwatch", "SecretsManager": "secretsmanager"}


def _blocks(fence: str, after: str) -> str:
    match = re.compile(rf"```{fence}\n(.*?)\n```", re.S).search(DOC, DOC.index(after))
    assert match, f"no ```{fence} block after {after!r}"
    return match.group(1)


@pytest.fixture(scope="module")
def translated() -> dict[str, Any]:
    path = ROOT / "tooling" / "checks" / "translate_template.py"
    spec = importlib.util.spec_from_file_location("translate_template", path)
    assert spec
    assert spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.translate(ROOT / "template.yaml")  # type: ignore[no-any-return]


def test_the_service_role_policy_covers_every_resource_type(translated: dict[str, Any]) -> None:
    policy = json.loads(_blocks("json", "The service role's policy"))
    allowed = {
        action.split(":")[0]
        for statement in policy["Statement"]
        for action in ([statement["Action"]] if isinstance(statement["Action"], str) else [])
        + (statement["Action"] if isinstance(statement["Action"], list) else [])
    }
    types = {resource["Type"] for resource in translated["Resources"].values()}
    needed = {PREFIX.get(t.split("::")[1], t.split("::")[1].lower()) for t in types}
    assert needed <= allowed, f"no actions for {sorted(needed - allowed)}"
    for resource_type in types:  # and the table of types names each one
        assert f"`{resource_type}`" in DOC or resource_type.rsplit("::", 1)[1] in DOC


def test_the_deployer_policy_is_valid_json_and_passes_only_the_service_role() -> None:
    policy = json.loads(_blocks("json", "The deployer's own policy"))
    (passing,) = [s for s in policy["Statement"] if s["Action"] == "iam:PassRole"]
    assert passing["Condition"]["StringEquals"]["iam:PassedToService"] == (
        "cloudformation.amazonaws.com"
    )


def test_the_tables_sam_delete_keeps_are_the_retained_ones() -> None:
    template = yaml.load((ROOT / "template.yaml").read_text(), Loader=_CfnLoader)
    retained = sorted(
        name
        for name, resource in template["Resources"].items()
        if resource.get("DeletionPolicy") == "Retain"
    )
    assert retained == ["ApprovalTable", "LedgerTable", "ModelConfigTable"]
    section = DOC[DOC.index("## Uninstalling") : DOC.index("## Dead-letter queue runbook")]
    for name in retained:
        assert f"`{name}` (`{name}Name`)" in section
        assert f"delete-table --table-name <{name}Name>" in section


def test_the_slack_manifest_asks_for_what_the_code_calls() -> None:
    manifest = yaml.safe_load(_blocks("yaml", "The app manifest"))
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    # chat.postMessage/update/postEphemeral, usergroups.users.list, users.info, the webhook
    assert {"chat:write", "usergroups:read", "users:read", "incoming-webhook"} <= scopes
    assert manifest["settings"]["interactivity"]["request_url"].endswith("/slack/interactions")


class _CfnLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short-form tags (!Ref, !Sub, ...) read as plain values."""


def _any_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node)
    return loader.construct_mapping(node)  # type: ignore[arg-type]


_CfnLoader.add_multi_constructor("!", _any_tag)
