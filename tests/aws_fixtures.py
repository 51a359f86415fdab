"""Test fixtures shared by tiers: the template's own tables, handlers loaded like Lambda does."""

from __future__ import annotations

import importlib.util
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def template() -> dict[str, Any]:
    from samtranslator.yaml_helper import yaml_parse

    return yaml_parse((ROOT / "template.yaml").read_text())  # type: ignore[no-any-return]


def create_template_tables(dynamodb: Any, names: dict[str, str]) -> None:
    """Create the template's DynamoDB tables (logical id -> table name) exactly as declared."""
    resources = template()["Resources"]
    for logical_id, table_name in names.items():
        props = dict(resources[logical_id]["Properties"])
        kwargs = {
            k: props[k]
            for k in (
                "AttributeDefinitions",
                "KeySchema",
                "BillingMode",
                "LocalSecondaryIndexes",
                "GlobalSecondaryIndexes",
            )
            if k in props
        }
        dynamodb.create_table(TableName=table_name, **kwargs)


@dataclass
class LambdaContext:
    """What Lambda passes handlers; Powertools reads these attributes."""

    function_name: str = "test-function"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:test-function"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = "/aws/lambda/test-function"
    log_stream_name: str = "2026/11/25/[$LATEST]test"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def load_handler(name: str) -> ModuleType:
    """Import functions/<name>/app.py fresh, as a cold start does (reads settings again).

    Lambda imports every handler as module ``app``; Powertools idempotency keys include the
    module name, so tests must use the same one.
    """
    path = ROOT / "functions" / name / "app.py"
    spec = importlib.util.spec_from_file_location("app", path)
    assert spec
    assert spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["app"] = module
    spec.loader.exec_module(module)
    return module
