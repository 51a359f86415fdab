"""Put a rendered pipeline definition and its scripts into an account, with plain boto3.

Nothing here imports the SageMaker SDK: the committed definition is all a deployment needs, so
this works from the main venv, in CI and against the embedded emulator (moto).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from mlopscp.pipelines.layout import CODE_DIR, DEFINITION_PATH, EXECUTION_ROLE_ARN

_TRUE, _FALSE = {"true", "1", "yes"}, {"false", "0", "no"}
_ECR_REGION = re.compile(r"\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com")


def load_definition(path: Path = DEFINITION_PATH) -> str:
    return path.read_text(encoding="utf-8")


def declared_parameters(definition: str) -> dict[str, dict[str, Any]]:
    return {p["Name"]: p for p in json.loads(definition).get("Parameters", [])}


def bind_defaults(definition: str, defaults: Mapping[str, str]) -> str:
    """The definition with these parameters' default values replaced (typed as declared).

    Unknown names are an error: a typo would otherwise leave the unbound default in place.
    """
    parsed = json.loads(definition)
    declared = {p["Name"]: p for p in parsed.get("Parameters", [])}
    unknown = sorted(set(defaults) - set(declared))
    if unknown:
        raise ValueError(f"not parameters of this pipeline: {', '.join(unknown)}")
    for name, value in defaults.items():
        declared[name]["DefaultValue"] = _typed(declared[name]["Type"], name, value)
    return json.dumps(parsed, sort_keys=True, separators=(",", ":"))


def _typed(kind: str, name: str, value: str) -> str | int | float | bool:
    try:
        if kind == "Integer":
            return int(value)
        if kind == "Float":
            return float(value)
    except ValueError as error:
        raise ValueError(f"{name} is {kind}: {value!r}") from error
    if kind == "Boolean":
        if value.lower() in _TRUE | _FALSE:
            return value.lower() in _TRUE
        raise ValueError(f"{name} is Boolean: {value!r}")
    return value


def upsert_pipeline(
    sagemaker_client: Any,
    name: str,
    role_arn: str,
    definition: str,
    parameter_defaults: Mapping[str, str] | None = None,
) -> str:
    """Create the pipeline, or update it if it exists; returns its ARN.

    ``role_arn`` is the role SageMaker Pipelines assumes; it also becomes the default of the
    definition's ExecutionRoleArn parameter (the role of its jobs) unless that is given in
    ``parameter_defaults``.
    """
    defaults: dict[str, str] = {}
    if EXECUTION_ROLE_ARN in declared_parameters(definition):
        defaults[EXECUTION_ROLE_ARN] = role_arn
    defaults.update(parameter_defaults or {})
    body = bind_defaults(definition, defaults)
    request = {"PipelineName": name, "PipelineDefinition": body, "RoleArn": role_arn}
    if _pipeline_exists(sagemaker_client, name):
        return str(sagemaker_client.update_pipeline(**request)["PipelineArn"])
    return str(sagemaker_client.create_pipeline(**request)["PipelineArn"])


def _pipeline_exists(sagemaker_client: Any, name: str) -> bool:
    # Listing by prefix answers the same way on AWS and on moto, where describe_pipeline's
    # "not found" errors differ.
    for page in sagemaker_client.get_paginator("list_pipelines").paginate(PipelineNamePrefix=name):
        if any(p["PipelineName"] == name for p in page.get("PipelineSummaries", [])):
            return True
    return False


def code_digest(files: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def upload_code(s3_client: Any, prefix: str, code_dir: Path = CODE_DIR) -> str:
    """Upload the blueprint's scripts under ``prefix/<content digest>/``; returns that URI.

    The digest makes the location change whenever the code does, so step caching (keyed on the
    input URI, not its content) never reuses a result of older code, and a run records exactly
    which code it used.
    """
    location = urlparse(prefix)
    if location.scheme != "s3" or not location.netloc:
        raise ValueError(f"not an s3:// prefix: {prefix}")
    files = sorted(p for p in code_dir.iterdir() if p.is_file() and p.suffix == ".py")
    if not files:
        raise FileNotFoundError(f"no scripts in {code_dir}")
    key = "/".join(part for part in (location.path.strip("/"), code_digest(files)) if part)
    for path in files:
        s3_client.put_object(
            Bucket=location.netloc, Key=f"{key}/{path.name}", Body=path.read_bytes()
        )
    return f"s3://{location.netloc}/{key}"


def definition_region(definition: str) -> str | None:
    """The region the definition's images were rendered for (ECR images are regional)."""
    image = declared_parameters(definition).get("TrainingImageUri", {}).get("DefaultValue", "")
    match = _ECR_REGION.search(str(image))
    return match.group(1) if match else None
