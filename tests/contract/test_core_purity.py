"""The decision core stays pure, and no Lambda code pulls in the SageMaker Python SDK.

mlops_core must never reach AWS: checked twice, on the source (every import statement, so the
failure names the line) and by importing every module in a fresh interpreter (so an indirect
import through another package is caught too). The SageMaker SDK is tooling only: it installs
hundreds of MB and the functions call SageMaker through boto3.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT / "layers" / "shared"
CORE = SHARED / "mlops_core"
AWS_SDK = {"boto3", "botocore"}
# The core sits below the adapters: importing them would bring boto3 back in.
CORE_FORBIDDEN = AWS_SDK | {"mlops_runtime"}
SAGEMAKER_SDK = {"sagemaker", "sagemaker_core"}


def imported_modules(source: str) -> Iterator[tuple[int, str]]:
    """(line, top-level module) of every import, including importlib/__import__ with a literal."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name.split(".")[0]) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.lineno, node.module.split(".")[0]
        elif (
            isinstance(node, ast.Call)
            and _called_name(node.func) in {"import_module", "__import__"}
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            yield node.lineno, node.args[0].value.split(".")[0]


def _called_name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    return func.attr if isinstance(func, ast.Attribute) else None


def offending_imports(paths: list[Path], forbidden: set[str]) -> list[str]:
    return [
        f"{path.relative_to(ROOT)}:{line}: imports {module}"
        for path in paths
        for line, module in imported_modules(path.read_text())
        if module in forbidden
    ]


def _python_files(*roots: Path) -> list[Path]:
    return sorted(p for root in roots for p in root.rglob("*.py") if "__pycache__" not in p.parts)


def test_core_source_imports_no_aws_sdk() -> None:
    files = _python_files(CORE)
    assert files, f"no modules under {CORE}"
    problems = offending_imports(files, CORE_FORBIDDEN)
    assert not problems, "mlops_core must stay pure (no AWS SDK, no adapters):\n  " + "\n  ".join(
        problems
    )


# Imports each core module in turn in a fresh interpreter and reports which one first brings
# boto3/botocore into sys.modules (mlops_core is loaded from the layer folder, like in Lambda).
_PROBE = """
import importlib, json, pkgutil, sys
sys.path.insert(0, sys.argv[1])
import mlops_core
offenders = {}
for info in pkgutil.walk_packages(mlops_core.__path__, "mlops_core."):
    importlib.import_module(info.name)
    loaded = sorted(m for m in ("boto3", "botocore") if m in sys.modules)
    if loaded:
        offenders[info.name] = loaded
        break
print(json.dumps({"file": mlops_core.__file__, "offenders": offenders}))
"""


def test_core_runs_without_loading_aws_sdk() -> None:
    result = subprocess.run(
        [sys.executable, "-c", _PROBE, str(SHARED)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, f"importing mlops_core failed:\n{result.stderr}"
    report = json.loads(result.stdout)
    assert Path(report["file"]).resolve().is_relative_to(CORE.resolve()), report["file"]
    assert not report["offenders"], (
        f"importing these mlops_core modules loads the AWS SDK: {report['offenders']}"
    )


def test_no_lambda_code_imports_sagemaker_sdk() -> None:
    files = _python_files(ROOT / "functions", ROOT / "layers")
    assert files, "no Python files under functions/ or layers/"
    problems = offending_imports(files, SAGEMAKER_SDK)
    assert not problems, (
        "Lambda code must call SageMaker through boto3, not the SageMaker Python SDK:\n  "
        + "\n  ".join(problems)
    )


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("import boto3", ["boto3"]),
        ("import botocore.exceptions as e", ["botocore"]),
        ("from botocore.exceptions import ClientError", ["botocore"]),
        ("def f():\n    import boto3", ["boto3"]),
        ("import importlib\nimportlib.import_module('sagemaker.core')", ["importlib", "sagemaker"]),
        ("from . import sibling", []),
        ("x = 'import boto3'", []),
    ],
)
def test_imports_are_detected(source: str, expected: list[str]) -> None:
    assert [module for _, module in imported_modules(source)] == expected
