"""What cfn-lint, sam validate and asl-validator cannot see in template.yaml and the ASL files.

- every ``${...}`` placeholder of a state machine has a DefinitionSubstitutions key, and back;
- every error name a state machine retries or catches is one of our exception classes;
- every EventBridge pattern leaf is a list (a bare string is accepted by CloudFormation and
  then matches nothing);
- every function runs python3.13, the runtime the layers are built for;
- no function or layer ships the SageMaker Python SDK (hundreds of MB, tooling only);
- every state machine has an ``ExecutionsFailed`` alarm (a failed run may not have told anyone).
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from samtranslator.yaml_helper import yaml_parse

ROOT = Path(__file__).resolve().parents[2]
RUNTIME = "python3.13"
PLACEHOLDER = re.compile(r"\$\{([^}]+)\}")
# Error names Step Functions and the Lambda service define themselves.
BUILTIN_ERROR_PREFIXES = ("States.", "Lambda.")
SHARED_PACKAGES = ("mlops_core", "mlops_runtime")
SDK_DISTRIBUTIONS = re.compile(r"^sagemaker($|-)")  # the SDK and its v3 parts (sagemaker-core, ...)

TEMPLATE: dict[str, Any] = yaml_parse((ROOT / "template.yaml").read_text())
RESOURCES: dict[str, dict[str, Any]] = TEMPLATE["Resources"]
FUNCTION_GLOBALS: dict[str, Any] = TEMPLATE.get("Globals", {}).get("Function", {})


def _of_type(*types: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in RESOURCES.items() if r["Type"] in types}


STATE_MACHINES = _of_type("AWS::Serverless::StateMachine")
FUNCTIONS = _of_type("AWS::Serverless::Function", "AWS::Lambda::Function")


# ---------------------------------------------------------------- helpers (tested below)


def placeholders(asl_text: str) -> set[str]:
    return set(PLACEHOLDER.findall(asl_text))


def error_names(node: object) -> Iterator[str]:
    """Every name in every ErrorEquals, however deep (Parallel branches, Map iterators)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "ErrorEquals" and isinstance(value, list):
                yield from (str(name) for name in value)
            else:
                yield from error_names(value)
    elif isinstance(node, list):
        for item in node:
            yield from error_names(item)


def non_list_leaves(pattern: object, path: str = "") -> list[str]:
    """Paths in an EventBridge pattern whose value is neither an object nor a list."""
    if isinstance(pattern, dict):
        return [
            leaf
            for key, value in pattern.items()
            for leaf in non_list_leaves(value, f"{path}.{key}")
        ]
    if isinstance(pattern, list):
        return []
    return [f"{path or '.'} = {pattern!r}"]


def requirement_names(text: str) -> set[str]:
    """Distribution names in a requirements file, normalised (PEP 503)."""
    names = set()
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            name = re.split(r"[\s\[<>=!~;@]", line, maxsplit=1)[0]
            names.add(re.sub(r"[-_.]+", "-", name).lower())
    return names


def shared_exception_classes() -> dict[str, str]:
    """Exception classes defined under layers/shared: class name -> module."""
    found: dict[str, str] = {}
    for package_name in SHARED_PACKAGES:
        package = importlib.import_module(package_name)
        for info in pkgutil.walk_packages(package.__path__, f"{package_name}."):
            module = importlib.import_module(info.name)
            for name, value in vars(module).items():
                if (
                    isinstance(value, type)
                    and issubclass(value, BaseException)
                    and value.__module__ == module.__name__
                ):
                    found[name] = module.__name__
    return found


def event_patterns() -> Iterator[tuple[str, object]]:
    """(where, pattern) for every EventBridge pattern in the template."""
    for name, resource in RESOURCES.items():
        properties = resource.get("Properties", {})
        if resource["Type"] == "AWS::Events::Rule" and "EventPattern" in properties:
            yield name, properties["EventPattern"]
        for event_name, event in (properties.get("Events") or {}).items():
            if event.get("Type") in {"EventBridgeRule", "CloudWatchEvent"}:
                yield f"{name}.Events.{event_name}", event.get("Properties", {}).get("Pattern")


def _asl_path(resource: dict[str, Any]) -> Path:
    return ROOT / resource["Properties"]["DefinitionUri"]


# ---------------------------------------------------------------- the contract


def test_template_has_what_these_checks_look_at() -> None:
    assert STATE_MACHINES, "no AWS::Serverless::StateMachine in template.yaml"
    assert FUNCTIONS, "no Lambda function in template.yaml"
    assert list(event_patterns()), "no EventBridge rule in template.yaml"


def test_every_asl_file_belongs_to_a_state_machine() -> None:
    used = {_asl_path(r).resolve() for r in STATE_MACHINES.values()}
    orphans = sorted(
        str(p.relative_to(ROOT))
        for p in (ROOT / "statemachines").glob("*.asl.json")
        if p.resolve() not in used
    )
    assert not orphans, f"ASL files no state machine in template.yaml uses: {orphans}"


@pytest.mark.parametrize("name", sorted(STATE_MACHINES))
def test_every_state_machine_has_a_failed_executions_alarm(name: str) -> None:
    alarms = [
        r["Properties"]
        for r in _of_type("AWS::CloudWatch::Alarm").values()
        if r["Properties"].get("MetricName") == "ExecutionsFailed"
        and {"Name": "StateMachineArn", "Value": {"Ref": name}} in r["Properties"]["Dimensions"]
    ]
    assert len(alarms) == 1, f"{name} needs one ExecutionsFailed alarm (found {len(alarms)})"
    assert alarms[0].get("AlarmActions"), f"{name}'s ExecutionsFailed alarm tells nobody"


@pytest.mark.parametrize("name", sorted(STATE_MACHINES))
def test_definition_substitutions_match_placeholders(name: str) -> None:
    resource = STATE_MACHINES[name]
    asl = _asl_path(resource)
    used = placeholders(asl.read_text())
    given = set(resource["Properties"].get("DefinitionSubstitutions") or {})
    assert not used - given, (
        f"{asl.relative_to(ROOT)} uses ${{...}} placeholders that {name}.DefinitionSubstitutions "
        f"does not define (deployed as literal text): {sorted(used - given)}"
    )
    assert not given - used, (
        f"{name}.DefinitionSubstitutions defines keys {asl.relative_to(ROOT)} never uses "
        f"(a renamed placeholder?): {sorted(given - used)}"
    )


@pytest.mark.parametrize("name", sorted(STATE_MACHINES))
def test_state_machine_errors_are_our_exception_classes(name: str) -> None:
    asl = _asl_path(STATE_MACHINES[name])
    ours = sorted(
        {
            e
            for e in error_names(json.loads(asl.read_text()))
            if not e.startswith(BUILTIN_ERROR_PREFIXES)
        }
    )
    classes = shared_exception_classes()
    unknown = [e for e in ours if e not in classes]
    badly_named = [e for e in ours if not e.endswith("Error")]
    assert not unknown, (
        f"{asl.relative_to(ROOT)} retries or catches errors no exception class under "
        f"layers/shared defines (Lambda reports errors by class name): {unknown}"
    )
    assert not badly_named, (
        f"{asl.relative_to(ROOT)}: error names must end in 'Error': {badly_named}"
    )


def test_event_pattern_values_are_lists() -> None:
    problems = [f"{where}: {leaf}" for where, p in event_patterns() for leaf in non_list_leaves(p)]
    assert not problems, (
        "EventBridge pattern values must be lists (a bare string matches nothing):\n  "
        + "\n  ".join(problems)
    )


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_function_runtime_is_python313(name: str) -> None:
    runtime = FUNCTIONS[name].get("Properties", {}).get("Runtime", FUNCTION_GLOBALS.get("Runtime"))
    assert runtime == RUNTIME, f"{name} runs {runtime!r}; the layers are built for {RUNTIME}"


@pytest.mark.parametrize("name", sorted(_of_type("AWS::Serverless::LayerVersion")))
def test_layer_is_built_for_python313(name: str) -> None:
    """Layers build with their own Makefile (manylinux wheels + bytecode): the target must
    exist, and pip and compileall must target python3.13, or the .pyc would be ignored."""
    layer = RESOURCES[name]
    assert RUNTIME in layer["Properties"].get("CompatibleRuntimes", []), f"{name}: runtimes"
    method = layer.get("Metadata", {}).get("BuildMethod")
    if method == "makefile":
        makefile = (ROOT / layer["Properties"]["ContentUri"] / "Makefile").read_text()
        assert f"build-{name}:" in makefile, f"{name}: no build-{name} target in its Makefile"
        assert "PYTHON ?= python3.13" in makefile, f"{name}: Makefile must use python3.13"
        assert "compileall" in makefile, f"{name}: the layer should ship bytecode"
    else:
        assert method == RUNTIME, f"{name}: BuildMethod {method!r}"


def _requirements_files() -> list[str]:
    """requirements.txt of every function and layer that sam build installs from."""
    files = []
    for resource in RESOURCES.values():
        properties = resource.get("Properties", {})
        uri = properties.get("CodeUri") or properties.get("ContentUri")
        if isinstance(uri, str) and (ROOT / uri / "requirements.txt").exists():
            files.append(f"{uri}/requirements.txt")
    return sorted(files)


@pytest.mark.parametrize("path", _requirements_files())
def test_no_sagemaker_sdk_in_requirements(path: str) -> None:
    requirements = ROOT / path
    sdk = sorted(
        n for n in requirement_names(requirements.read_text()) if SDK_DISTRIBUTIONS.match(n)
    )
    assert not sdk, (
        f"{requirements.relative_to(ROOT)} ships the SageMaker Python SDK {sdk}: it installs "
        "hundreds of MB (Lambda allows 250 MB unzipped); call SageMaker through boto3"
    )


# ---------------------------------------------------------------- the helpers can fail


def test_placeholders_found() -> None:
    assert placeholders('{"A": "${FnArn}", "B": "$.x", "C": "${Other}"}') == {"FnArn", "Other"}


def test_error_names_found_in_nested_branches() -> None:
    asl = {
        "States": {"P": {"Branches": [{"States": {"T": {"Retry": [{"ErrorEquals": ["XError"]}]}}}]}}
    }
    assert list(error_names(asl)) == ["XError"]


def test_string_pattern_value_is_reported() -> None:
    assert non_list_leaves({"source": "aws.sagemaker", "detail": {"s": ["ok"], "n": 3}}) == [
        ".source = 'aws.sagemaker'",
        ".detail.n = 3",
    ]
    assert non_list_leaves({"detail": {"ns": [{"prefix": "aws/"}]}}) == []


def test_requirement_names_normalised() -> None:
    text = "# c\nSageMaker_Core>=1 ; python_version>'3'\nboto3==1\n-r other.txt\nsagemaker[local]\n"
    assert requirement_names(text) == {"sagemaker-core", "boto3", "sagemaker"}
