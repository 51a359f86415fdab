"""The approvals' security properties that live in template.yaml, checked on the template as
CloudFormation gets it (translated offline by samtranslator, as `make template-checks` does)."""

from __future__ import annotations

import importlib.util
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
