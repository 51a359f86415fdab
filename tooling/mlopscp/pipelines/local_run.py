"""What a pipeline's Processing step would run, resolved from its definition: for local runs.

SageMaker resolves a step's ``ContainerArguments`` (``{"Get": "Parameters.X"}``,
``{"Std:Join": ...}``, ``{"Get": "Execution.StartDateTime"}``) when the execution starts. The
demo and the contract tests do the same with the committed (or deployed) definition, so the job
runs locally with exactly the arguments the definition gives it, and an argument the script
does not accept fails here before it fails in AWS.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any


def parameter_values(definition: str, overrides: Mapping[str, str] | None = None) -> dict[str, str]:
    """Every declared parameter's value for an execution: its default, or the override sent."""
    values = {
        p["Name"]: _text(p.get("DefaultValue", "")) for p in json.loads(definition)["Parameters"]
    }
    unknown = sorted(set(overrides or {}) - set(values))
    if unknown:
        raise ValueError(f"not parameters of this pipeline: {', '.join(unknown)}")
    return values | dict(overrides or {})


def step_command(
    definition: str, step_name: str, values: Mapping[str, str], started: datetime
) -> list[str]:
    """The step's entrypoint and resolved arguments."""
    step = next((s for s in json.loads(definition)["Steps"] if s["Name"] == step_name), None)
    if step is None or step["Type"] != "Processing":
        raise ValueError(f"no Processing step {step_name!r} in the definition")
    app = step["Arguments"]["AppSpecification"]
    context = {f"Parameters.{k}": v for k, v in values.items()}
    context["Execution.StartDateTime"] = started.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return [resolve(part, context) for part in app.get("ContainerArguments", [])]


def resolve(node: Any, context: Mapping[str, str]) -> str:
    if isinstance(node, dict) and "Get" in node:
        if node["Get"] not in context:
            raise ValueError(f"cannot resolve {node['Get']} locally")
        return context[node["Get"]]
    if isinstance(node, dict) and "Std:Join" in node:
        join = node["Std:Join"]
        return str(join["On"]).join(resolve(value, context) for value in join["Values"])
    return _text(node)


def _text(value: Any) -> str:
    # Pipelines renders booleans as JSON does; numbers and strings as they are.
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)
