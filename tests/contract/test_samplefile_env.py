"""samplefile.env lists exactly the variables the functions read.

Two sources of truth: what template.yaml hands each function (Globals + its own Environment)
and the fields of the settings classes (mlops_runtime.settings) the handlers validate at cold
start. Both must be in samplefile.env, and samplefile.env must list nothing neither of them
knows.
"""

from __future__ import annotations

import json
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

from samtranslator.yaml_helper import yaml_parse

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT / "layers" / "shared"

# Finds each handler's settings class without needing a complete environment (the thing under
# test): settings.load is replaced by one that raises with the class it was given, so importing
# app.py stops right there. Then reports the environment variable of every field of that class
# and of every settings class in mlops_runtime.settings.
_INTROSPECT = """
import importlib.util, inspect, json, sys
sys.path.insert(0, sys.argv[1])
from mlops_runtime.settings import EnvSettings
from mlops_runtime import settings


class Found(Exception):
    pass


def capture(settings_class):
    raise Found(settings_class)


def variables(cls):
    config = cls.model_config
    names = []
    for name, field in cls.model_fields.items():
        alias = field.validation_alias if isinstance(field.validation_alias, str) else field.alias
        env = alias or config.get("env_prefix", "") + name
        names.append(env if config.get("case_sensitive") else env.upper())
    return names


settings.load = capture
report = {}
for path in sys.argv[2:]:
    spec = importlib.util.spec_from_file_location("app_" + path.split("/")[-2], path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Found as found:
        cls = found.args[0]
        report[path] = {"class": cls.__qualname__, "variables": variables(cls)}
    else:
        report[path] = None
for name, cls in inspect.getmembers(settings, inspect.isclass):
    if issubclass(cls, EnvSettings) and cls.__module__ == settings.__name__:
        report["mlops_runtime.settings." + name] = {"class": name, "variables": variables(cls)}
print(json.dumps(report))
"""


def _handlers() -> list[Path]:
    return sorted((ROOT / "functions").glob("*/app.py"))


@cache
def settings_variables() -> dict[str, dict[str, Any] | None]:
    """{handler path or settings class: {"class": name, "variables": [ENV, ...]}}."""
    result = subprocess.run(
        [sys.executable, "-c", _INTROSPECT, str(SHARED), *map(str, _handlers())],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={"PATH": "/usr/bin:/bin", "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1"},
    )
    assert result.returncode == 0, f"could not read the handlers' settings:\n{result.stderr}"
    report: dict[str, dict[str, Any] | None] = json.loads(result.stdout)
    return report


def template_variables() -> dict[str, set[str]]:
    """{variable: functions the template gives it to} (Globals count for every function)."""
    template = yaml_parse((ROOT / "template.yaml").read_text())
    global_env = template.get("Globals", {}).get("Function", {}).get("Environment", {})
    where: dict[str, set[str]] = {
        name: {"Globals"} for name in global_env.get("Variables", {}) or {}
    }
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        env = resource.get("Properties", {}).get("Environment", {}).get("Variables", {}) or {}
        for name in env:
            where.setdefault(name, set()).add(logical_id)
    return where


def test_every_handler_validates_its_settings_at_cold_start() -> None:
    missing = [
        str(Path(path).relative_to(ROOT))
        for path, found in settings_variables().items()
        if found is None
    ]
    assert not missing, (
        f"these handlers never call mlops_runtime.settings.load at import time, so a missing "
        f"variable would only fail mid-incident: {missing}"
    )


def test_template_variables_are_in_samplefile(sample_env: dict[str, str]) -> None:
    absent = {
        name: sorted(functions)
        for name, functions in template_variables().items()
        if name not in sample_env
    }
    assert not absent, f"template.yaml sets variables samplefile.env does not list: {absent}"


def test_settings_fields_are_in_samplefile(sample_env: dict[str, str]) -> None:
    absent = {
        f"{Path(where).parent.name if where.endswith('.py') else where} ({found['class']})": [
            name for name in found["variables"] if name not in sample_env
        ]
        for where, found in settings_variables().items()
        if found
    }
    absent = {where: names for where, names in absent.items() if names}
    assert not absent, f"settings fields samplefile.env does not list: {absent}"


def test_samplefile_lists_nothing_stale(sample_env: dict[str, str]) -> None:
    known = set(template_variables())
    for found in settings_variables().values():
        known.update(found["variables"] if found else [])
    stale = sorted(set(sample_env) - known)
    assert not stale, (
        f"samplefile.env lists variables neither template.yaml nor any settings class uses: {stale}"
    )
