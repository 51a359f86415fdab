"""`mlopscp discover`: onboard an existing SageMaker estate.

Reads the account with paginators (endpoints, their configurations and models, monitoring
schedules, model package groups, pipelines), proposes one model configuration per endpoint and
names the gaps that keep the control plane from doing its job there: no data capture (nothing
for monitors to read), no monitoring schedule (no evidence for triage), a model not from the
registry (no promotion), no retraining pipeline found. The proposals are validated by the same
`ModelConfig` that `mlopscp models put` uses; what could not be inferred is left out, with a
`# TODO:` comment saying what to fill in.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

Progress = Callable[[str], None]

# Gaps, in the order the report lists them.
NO_CAPTURE = "no_data_capture"
NO_MONITORING = "no_monitoring"
NOT_FROM_REGISTRY = "model_not_from_registry"
NO_PIPELINE = "no_retrain_pipeline"
GAP_TEXT = {
    NO_CAPTURE: "data capture is off: monitors have no traffic to compare with the baseline "
    "(enable DataCaptureConfig on the endpoint configuration)",
    NO_MONITORING: "no monitoring schedule: triage has no evidence for this endpoint "
    "(create a Model Monitor schedule, or an Evidently monitor: docs/monitor.md)",
    NOT_FROM_REGISTRY: "the model is not from the model registry: promotions need a model "
    "package group (register the model, then add a promotion section)",
    NO_PIPELINE: "no pipeline registers models into this endpoint's package group: retrain "
    "needs a pipeline name (retrain.pipeline_name)",
}
# DescribeXJobDefinition operation and its output-config key, per MonitoringType.
_JOB_DEFINITIONS = {
    "DataQuality": ("describe_data_quality_job_definition", "DataQualityJobOutputConfig"),
    "ModelQuality": ("describe_model_quality_job_definition", "ModelQualityJobOutputConfig"),
    "ModelBias": ("describe_model_bias_job_definition", "ModelBiasJobOutputConfig"),
    "ModelExplainability": (
        "describe_model_explainability_job_definition",
        "ModelExplainabilityJobOutputConfig",
    ),
}


@dataclass
class Schedule:
    name: str
    monitoring_type: str
    status: str
    output_uri: str | None


@dataclass
class Endpoint:
    name: str
    status: str
    config_name: str
    data_capture: dict[str, Any] | None
    models: list[str]
    model_packages: list[str]
    schedules: list[Schedule]
    package_groups: list[str] = field(default_factory=list)
    pipelines: list[str] = field(default_factory=list)
    gaps: list[str] = field(default_factory=list)

    @property
    def capture_uri(self) -> str | None:
        capture = self.data_capture or {}
        return capture.get("DestinationS3Uri") if capture.get("EnableCapture") else None

    @property
    def output_uri(self) -> str | None:
        """The monitoring root, when every schedule writes under the same one."""
        roots = {s.output_uri for s in self.schedules}
        return roots.pop() if len(roots) == 1 else None


@dataclass
class Estate:
    endpoints: list[Endpoint]
    package_groups: list[str]
    pipelines: dict[str, list[str]]  # pipeline -> the package groups it registers into

    def to_dict(self) -> dict[str, Any]:
        return {
            "endpoints": [
                asdict(e) | {"capture_uri": e.capture_uri, "output_uri": e.output_uri}
                for e in self.endpoints
            ],
            "model_package_groups": self.package_groups,
            "pipelines": [{"name": p, "registers_into": g} for p, g in self.pipelines.items()],
        }


def _pages(sagemaker: Any, operation: str, key: str, **kwargs: Any) -> Iterator[Any]:
    for page in sagemaker.get_paginator(operation).paginate(**kwargs):
        yield from page.get(key, [])


def read_estate(sagemaker: Any, progress: Progress = lambda _: None) -> Estate:
    """Everything discover reports, read with ``sagemaker`` (a boto3 client)."""
    groups = [
        g["ModelPackageGroupName"]
        for g in _pages(sagemaker, "list_model_package_groups", "ModelPackageGroupSummaryList")
    ]
    progress(f"{len(groups)} model package group(s)")
    pipelines = {
        p["PipelineName"]: _registers_into(sagemaker, p["PipelineName"])
        for p in _pages(sagemaker, "list_pipelines", "PipelineSummaries")
    }
    progress(f"{len(pipelines)} pipeline(s)")
    endpoints = []
    for summary in _pages(sagemaker, "list_endpoints", "Endpoints"):
        progress(f"reading endpoint {summary['EndpointName']}")
        endpoints.append(_endpoint(sagemaker, summary))
    for endpoint in endpoints:
        endpoint.package_groups = sorted({_group_of(arn) for arn in endpoint.model_packages})
        endpoint.pipelines = sorted(
            name for name, into in pipelines.items() if set(into) & set(endpoint.package_groups)
        )
        endpoint.gaps = _gaps(endpoint)
    return Estate(endpoints, groups, pipelines)


def _endpoint(sagemaker: Any, summary: dict[str, Any]) -> Endpoint:
    name = summary["EndpointName"]
    described = sagemaker.describe_endpoint(EndpointName=name)
    config = sagemaker.describe_endpoint_config(EndpointConfigName=described["EndpointConfigName"])
    models = [v["ModelName"] for v in config.get("ProductionVariants", []) if v.get("ModelName")]
    packages = []
    for model_name in models:
        model = sagemaker.describe_model(ModelName=model_name)
        containers = [model.get("PrimaryContainer") or {}, *(model.get("Containers") or [])]
        packages += [c["ModelPackageName"] for c in containers if c.get("ModelPackageName")]
    schedules = [
        _schedule(sagemaker, s["MonitoringScheduleName"])
        for s in _pages(
            sagemaker, "list_monitoring_schedules", "MonitoringScheduleSummaries", EndpointName=name
        )
    ]
    return Endpoint(
        name=name,
        status=str(described.get("EndpointStatus", "")),
        config_name=described["EndpointConfigName"],
        data_capture=config.get("DataCaptureConfig"),
        models=models,
        model_packages=packages,
        schedules=schedules,
    )


def _schedule(sagemaker: Any, name: str) -> Schedule:
    described = sagemaker.describe_monitoring_schedule(MonitoringScheduleName=name)
    config = described.get("MonitoringScheduleConfig") or {}
    kind = str(config.get("MonitoringType") or described.get("MonitoringType") or "DataQuality")
    output_config = (config.get("MonitoringJobDefinition") or {}).get("MonitoringOutputConfig")
    definition_name = config.get("MonitoringJobDefinitionName")
    if output_config is None and definition_name and kind in _JOB_DEFINITIONS:
        operation, key = _JOB_DEFINITIONS[kind]
        definition = getattr(sagemaker, operation)(JobDefinitionName=definition_name)
        output_config = definition.get(key)
    outputs = (output_config or {}).get("MonitoringOutputs") or []
    uri = outputs[0].get("S3Output", {}).get("S3Uri") if outputs else None
    return Schedule(name, kind, str(described.get("MonitoringScheduleStatus", "")), uri)


def _registers_into(sagemaker: Any, pipeline: str) -> list[str]:
    """The package groups a pipeline's definition names (RegisterModel steps, parameters)."""
    definition = sagemaker.describe_pipeline(PipelineName=pipeline).get("PipelineDefinition")
    try:
        parsed = json.loads(definition or "{}")
    except ValueError:
        return []
    found: set[str] = set()
    for parameter in parsed.get("Parameters") or []:
        if parameter.get("Name") == "ModelPackageGroupName" and parameter.get("DefaultValue"):
            found.add(str(parameter["DefaultValue"]))
    _walk_for_groups(parsed.get("Steps") or [], found)
    return sorted(found)


def _walk_for_groups(node: Any, found: set[str]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "ModelPackageGroupName" and isinstance(value, str):
                found.add(value)
            else:
                _walk_for_groups(value, found)
    elif isinstance(node, list):
        for item in node:
            _walk_for_groups(item, found)


def _group_of(package_arn: str) -> str:
    """arn:aws:sagemaker:<region>:<account>:model-package/<group>/<version> -> group."""
    resource = package_arn.split(":", 5)[-1]
    parts = resource.split("/")
    return parts[1] if len(parts) >= 3 else parts[-1]


def _gaps(endpoint: Endpoint) -> list[str]:
    gaps = []
    if endpoint.capture_uri is None:
        gaps.append(NO_CAPTURE)
    if not endpoint.schedules:
        gaps.append(NO_MONITORING)
    if not endpoint.model_packages:
        gaps.append(NOT_FROM_REGISTRY)
    elif len(endpoint.pipelines) != 1:
        gaps.append(NO_PIPELINE)
    return gaps


# ---------------------------------------------------------------- the proposed configurations


def proposal(endpoint: Endpoint) -> tuple[dict[str, Any], list[str]]:
    """The configuration discover can vouch for, and the TODOs for the rest."""

    from mlops_runtime.model_config import MODEL_ID_PATTERN

    groups = endpoint.package_groups
    model_id = groups[0] if len(groups) == 1 else endpoint.name
    if not re.match(MODEL_ID_PATTERN, model_id):
        model_id = endpoint.name
    config: dict[str, Any] = {"model_id": model_id, "endpoint_name": endpoint.name}
    todos = [
        f"model_id: {model_id!r} was taken from the "
        + ("model package group" if model_id in groups else "endpoint name")
        + "; rename it if your team calls the model otherwise",
        "owners: who to mention in notifications (Slack <@U...> ids or emails)",
    ]
    if endpoint.output_uri:
        config["monitoring_output_uri"] = endpoint.output_uri
        config["monitoring_schedules"] = sorted(s.name for s in endpoint.schedules)
    elif endpoint.schedules:
        todos.append(
            "monitoring_output_uri: the schedules write to different places "
            f"({', '.join(sorted({str(s.output_uri) for s in endpoint.schedules}))}); "
            "set the root that holds them all"
        )
    else:
        todos.append("monitoring_output_uri: set it once the endpoint has a monitoring schedule")
    if len(endpoint.pipelines) == 1:
        config["retrain"] = {"pipeline_name": endpoint.pipelines[0]}
    elif endpoint.pipelines:
        todos.append(
            "retrain.pipeline_name: several pipelines register into this model's group: "
            + ", ".join(endpoint.pipelines)
        )
    else:
        todos.append("retrain.pipeline_name: no pipeline found that registers this model")
    if endpoint.package_groups:
        todos.append(
            f"promotion: model package group {', '.join(groups)} can be promoted with a "
            "promotion section and an approvals section (docs/promotion.md)"
        )
    return config, todos


def render_yaml(endpoint: Endpoint, config: dict[str, Any], todos: list[str]) -> str:
    header = [
        f"# Model configuration for endpoint {endpoint.name}, proposed by `mlopscp discover`.",
        "# Check it, fill in the TODOs, then: mlopscp models put THIS_FILE",
    ]
    header += [f"# TODO: {todo}" for todo in todos]
    header += [f"# gap: {GAP_TEXT[gap]}" for gap in endpoint.gaps]
    return "\n".join(header) + "\n" + yaml.safe_dump(config, sort_keys=False)


def write_configs(estate: Estate, out: Path) -> list[dict[str, Any]]:
    """One validated YAML file per endpoint under ``out``; what was written."""
    from mlops_runtime.model_config import ModelConfig

    out.mkdir(parents=True, exist_ok=True)
    written = []
    for endpoint in estate.endpoints:
        config, todos = proposal(endpoint)
        ModelConfig.model_validate(config)  # never write a file `models put` would refuse
        path = out / f"{endpoint.name}.yaml"
        path.write_text(render_yaml(endpoint, config, todos))
        written.append({"endpoint": endpoint.name, "file": str(path), "todos": todos})
    return written


def report_lines(estate: Estate) -> list[str]:
    lines = []
    for e in estate.endpoints:
        capture = e.capture_uri or "off"
        schedules = ", ".join(f"{s.name} ({s.monitoring_type})" for s in e.schedules) or "none"
        lines += [
            f"{e.name} [{e.status}] config {e.config_name}",
            f"  data capture: {capture}",
            f"  monitoring:   {schedules}" + (f" -> {e.output_uri}" if e.output_uri else ""),
            f"  models:       {', '.join(e.models) or 'none'}"
            + (f" (registry: {', '.join(e.package_groups)})" if e.package_groups else ""),
            f"  pipelines:    {', '.join(e.pipelines) or 'none found'}",
        ]
        lines += [f"  gap: {GAP_TEXT[gap]}" for gap in e.gaps]
    lines.append(f"model package groups: {', '.join(estate.package_groups) or 'none'}")
    lines.append(f"pipelines: {', '.join(estate.pipelines) or 'none'}")
    return lines
