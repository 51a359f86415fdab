"""Every handler cold-starts with samplefile.env, and refuses to without a variable it needs.

Each handler is imported the way Lambda does it (the function folder first on sys.path, then
the shared layer, module and attribute from the template's Handler) in a fresh interpreter whose
environment is samplefile.env plus what the Lambda runtime itself sets. That proves the settings
validation passes with a complete environment; removing one required variable must then fail
the import with pydantic's error naming it, instead of failing later, mid-incident.

The same import shows what a cold start loads and builds: no AWS client (they are built on
first use, mlops_runtime.aws), and none of the modules deferred to the one code path that needs
them (DEFERRED; why each, with its measured cost, in docs/cold-start.md).
"""

from __future__ import annotations

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from samtranslator.yaml_helper import yaml_parse

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT / "layers" / "shared"
TEMPLATE: dict[str, Any] = yaml_parse((ROOT / "template.yaml").read_text())
GLOBALS: dict[str, Any] = TEMPLATE.get("Globals", {}).get("Function", {})
HANDLER_DIRS = sorted(p.parent.name for p in (ROOT / "functions").glob("*/app.py"))
# Set by the Lambda runtime, never by the template; the metadata endpoint is switched off so a
# stray credential lookup fails at once instead of waiting for a timeout.
RUNTIME_ENV = {
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
    "PATH": "/usr/bin:/bin",
}

_IMPORT = """
import importlib, json, sys
code_dir, shared, module_name, attribute = sys.argv[1:5]
sys.path[:0] = [code_dir, shared]
import botocore.client
clients = []
create_client = botocore.client.ClientCreator.create_client
def spy(self, service_name, *args, **kwargs):
    clients.append(service_name)
    return create_client(self, service_name, *args, **kwargs)
botocore.client.ClientCreator.create_client = spy
from mlops_runtime.settings import EnvSettings
module = importlib.import_module(module_name)
settings = [v for v in vars(module).values() if isinstance(v, EnvSettings)]
print(json.dumps({
    "callable": callable(getattr(module, attribute, None)),
    "settings": [type(s).__qualname__ for s in settings],
    "required": sorted({
        name.upper() for s in settings for name, f in type(s).model_fields.items()
        if f.is_required()
    }),
    "clients": clients,
    "modules": sorted(sys.modules),
}))
"""


# Imported where they are used, never by a handler's module: each cost a measurable share of
# `import boto3` at every cold start, for what one code path at most needs.
DEFERRED = {
    "pydantic_settings": "settings are validated with plain pydantic (mlops_runtime.settings)",
    "aws_lambda_powertools.utilities.idempotency": "made on the first idempotent call "
    "(mlops_runtime.idempotency): ignored and rejected events never need it",
    "aws_lambda_powertools.event_handler": "loads every resolver and asyncio; the approval "
    "callback's three routes use mlops_runtime.function_url",
}


def template_function(handler_dir: str) -> tuple[str, dict[str, Any]]:
    for logical_id, resource in TEMPLATE["Resources"].items():
        properties = resource.get("Properties", {})
        code_uri = str(properties.get("CodeUri", "")).rstrip("/")
        if (
            resource["Type"] == "AWS::Serverless::Function"
            and code_uri == f"functions/{handler_dir}"
        ):
            return logical_id, properties
    pytest.fail(f"functions/{handler_dir}/app.py is not the code of any function in template.yaml")


def template_variables(properties: dict[str, Any]) -> tuple[set[str], set[str]]:
    """(Globals variables, variables set on this function only)."""
    global_vars = set(GLOBALS.get("Environment", {}).get("Variables", {}) or {})
    own = set(properties.get("Environment", {}).get("Variables", {}) or {})
    return global_vars, own - global_vars


def import_handler(handler_dir: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    _, properties = template_function(handler_dir)
    module_name, _, attribute = properties.get("Handler", GLOBALS.get("Handler", "")).rpartition(
        "."
    )
    return subprocess.run(
        [
            sys.executable,
            "-c",
            _IMPORT,
            str(ROOT / "functions" / handler_dir),
            str(SHARED),
            module_name,
            attribute,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**env, **RUNTIME_ENV},
    )


def _in_parallel(jobs: dict[Any, dict[str, str]]) -> dict[Any, subprocess.CompletedProcess[str]]:
    """Run import_handler for {key: env} jobs whose key starts with the handler folder."""
    with ThreadPoolExecutor(max_workers=8) as pool:
        futures = {key: pool.submit(import_handler, key[0], env) for key, env in jobs.items()}
    return {key: future.result() for key, future in futures.items()}


@pytest.fixture(scope="module")
def imports(sample_env: dict[str, str]) -> dict[str, subprocess.CompletedProcess[str]]:
    runs = _in_parallel({(name,): sample_env for name in HANDLER_DIRS})
    return {key[0]: run for key, run in runs.items()}


def _report(run: subprocess.CompletedProcess[str], handler_dir: str) -> dict[str, Any]:
    assert run.returncode == 0, (
        f"functions/{handler_dir} does not import with samplefile.env:\n{run.stderr}"
    )
    report: dict[str, Any] = json.loads(run.stdout)
    return report


def variable_to_remove(handler_dir: str, required: list[str]) -> str | None:
    """A required variable the template sets for this function only, else one from Globals.

    One per handler proves the validation runs at import and names what is missing; which
    variables are required at all is checked against the template and samplefile.env elsewhere.
    """
    _, properties = template_function(handler_dir)
    _, own = template_variables(properties)
    candidates = sorted(v for v in required if v in own) or sorted(required)
    return candidates[0] if candidates else None


@pytest.fixture(scope="module")
def missing_variable_runs(
    imports: dict[str, subprocess.CompletedProcess[str]], sample_env: dict[str, str]
) -> dict[tuple[str, str], subprocess.CompletedProcess[str]]:
    jobs = {}
    for name, run in imports.items():
        if run.returncode != 0:
            continue  # reported by test_handler_imports_with_samplefile_env
        variable = variable_to_remove(name, _report(run, name)["required"])
        if variable:
            jobs[(name, variable)] = {k: v for k, v in sample_env.items() if k != variable}
    return _in_parallel(jobs)


def test_every_handler_is_checked() -> None:
    assert HANDLER_DIRS, "no functions/*/app.py found"


@pytest.mark.parametrize("handler_dir", HANDLER_DIRS)
def test_handler_imports_with_samplefile_env(
    handler_dir: str, imports: dict[str, subprocess.CompletedProcess[str]]
) -> None:
    report = _report(imports[handler_dir], handler_dir)
    logical_id, _ = template_function(handler_dir)
    assert report["callable"], f"{logical_id}: the template's Handler is not a callable in app.py"
    assert report["settings"], (
        f"functions/{handler_dir}/app.py validates no settings at import (cold start)"
    )


@pytest.mark.parametrize("handler_dir", HANDLER_DIRS)
def test_template_sets_every_required_variable(
    handler_dir: str, imports: dict[str, subprocess.CompletedProcess[str]]
) -> None:
    required = set(_report(imports[handler_dir], handler_dir)["required"])
    logical_id, properties = template_function(handler_dir)
    global_vars, own = template_variables(properties)
    unset = sorted(required - global_vars - own)
    assert not unset, (
        f"{logical_id} would fail every cold start: template.yaml does not set {unset}"
    )


@pytest.mark.parametrize("handler_dir", HANDLER_DIRS)
def test_missing_variable_fails_import_naming_it(
    handler_dir: str,
    missing_variable_runs: dict[tuple[str, str], subprocess.CompletedProcess[str]],
) -> None:
    runs = {var: run for (name, var), run in missing_variable_runs.items() if name == handler_dir}
    assert runs, f"functions/{handler_dir}: no required variable to remove, or it did not import"
    for variable, run in runs.items():
        assert run.returncode != 0, (
            f"functions/{handler_dir} imports without {variable}: the settings do not require it"
        )
        last_lines = "\n".join(run.stderr.strip().splitlines()[-8:])
        assert "ValidationError" in run.stderr, (
            f"functions/{handler_dir} without {variable} fails, but not in settings validation:"
            f"\n{last_lines}"
        )
        assert variable.lower() in run.stderr.lower(), (
            f"functions/{handler_dir}: the error does not name {variable}:\n{last_lines}"
        )


@pytest.mark.parametrize("handler_dir", HANDLER_DIRS)
def test_cold_start_builds_no_aws_client(
    handler_dir: str, imports: dict[str, subprocess.CompletedProcess[str]]
) -> None:
    clients = _report(imports[handler_dir], handler_dir)["clients"]
    assert not clients, (
        f"functions/{handler_dir} builds {clients} clients at import: build them on first use "
        "(mlops_runtime.aws.client), each costs about half of `import boto3`"
    )


@pytest.mark.parametrize("handler_dir", HANDLER_DIRS)
def test_cold_start_leaves_deferred_modules_unimported(
    handler_dir: str, imports: dict[str, subprocess.CompletedProcess[str]]
) -> None:
    loaded = _report(imports[handler_dir], handler_dir)["modules"]
    found = {
        module: why
        for module, why in DEFERRED.items()
        if any(name == module or name.startswith(module + ".") for name in loaded)
    }
    assert not found, f"functions/{handler_dir} imports at cold start what it should not: {found}"
