"""The fleet dashboard and the event archives in template.yaml (docs/fleet.md).

- the DashboardBody is valid JSON once its ``${...}`` are substituted, and each of them names a
  resource of the template or a pseudo parameter;
- every MlopsControlPlane metric it shows is one a function really emits: the metric name
  (``add_metric`` in the function's handler or the runtime modules it imports), under the
  function's ``service`` dimension, with exactly the extra dimensions that function adds, and
  dimension values from their enums (bounded);
- every function, state machine and EventBridge rule of the template is on it;
- the default-bus archive keeps every event a default-bus rule matches; the workload bus is
  archived whole.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, get_args

from mlops_core.incidents import Transition
from mlops_core.promotion.outcome import Outcome
from mlops_core.triage_findings import Decision
from mlops_runtime.events import PipelineExecutionDetail
from samtranslator.yaml_helper import yaml_parse

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE: dict[str, Any] = yaml_parse((ROOT / "template.yaml").read_text())
RESOURCES: dict[str, dict[str, Any]] = TEMPLATE["Resources"]
NAMESPACE = "MlopsControlPlane"
PLACEHOLDER = re.compile(r"\$\{([^}]+)\}")
ADD_METRIC = re.compile(r"add_metric\(\s*name=(f?)\"([^\"]+)\"", re.S)
ADD_DIMENSION = re.compile(r"add_dimension\(\s*name=\"([^\"]+)\"")
RUNTIME_IMPORT = re.compile(r"^from mlops_runtime(?:\.(\w+))? import ([\w, ()\n]+?)$", re.M)
# The values a bounded dimension or a templated metric name may take.
BOUNDED = {
    "Decision": {str(d) for d in Decision},
    "Transition": {str(t) for t in Transition},
}
TEMPLATED = {
    "Promotions_": {str(o) for o in Outcome},
    "Retrain": set(
        get_args(PipelineExecutionDetail.model_fields["currentPipelineExecutionStatus"].annotation)
    ),
}


def _of_type(*types: str) -> set[str]:
    return {name for name, r in RESOURCES.items() if r["Type"] in types}


FUNCTIONS = _of_type("AWS::Serverless::Function")
STATE_MACHINES = _of_type("AWS::Serverless::StateMachine")


def body_text() -> str:
    return str(RESOURCES["FleetDashboard"]["Properties"]["DashboardBody"]["Fn::Sub"])


def body() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(PLACEHOLDER.sub(lambda m: f"<{m[1]}>", body_text()))
    return document


def metric_rows(namespace: str | None = None) -> list[tuple[str, list[Any]]]:
    """(widget title, row) for every metric row; a row is namespace, name, dim, value..., opts."""
    return [
        (w["properties"]["title"], row)
        for w in body()["widgets"]
        if w["type"] == "metric"
        for row in w["properties"]["metrics"]
        if namespace is None or row[0] == namespace
    ]


def dimensions(row: list[Any]) -> dict[str, str]:
    pairs = row[2:-1] if isinstance(row[-1], dict) else row[2:]
    return dict(zip(pairs[::2], pairs[1::2], strict=True))


def emitted() -> dict[str, dict[str, Any]]:
    """service -> {"names": metric name patterns, "dimensions": extra dimension names}."""
    found: dict[str, dict[str, Any]] = {}
    for name in FUNCTIONS:
        props = RESOURCES[name]["Properties"]
        service = props["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"]
        app = ROOT / props["CodeUri"] / "app.py"
        sources = [app.read_text()]
        for module, names in RUNTIME_IMPORT.findall(sources[0]):
            modules = [module] if module else re.findall(r"\w+", names)
            for m in modules:
                path = ROOT / "layers/shared/mlops_runtime" / f"{m}.py"
                if path.exists():
                    sources.append(path.read_text())
        text = "\n".join(sources)
        patterns = {
            re.sub(r"\\\{[^}]*\\\}", "(.+)", re.escape(n)) if f else re.escape(n)
            for f, n in ADD_METRIC.findall(text)
        }
        found[service] = {
            "names": patterns,
            "dimensions": set(ADD_DIMENSION.findall(app.read_text())),
        }
    return found


def test_the_body_is_json_and_every_placeholder_is_the_templates() -> None:
    assert body()["widgets"]
    for name in PLACEHOLDER.findall(body_text()):
        resource = name.split(".")[0]
        assert name in ("AWS::Region", "AWS::StackName") or resource in RESOURCES, name
    for widget in body()["widgets"]:
        assert {"type", "x", "y", "width", "height", "properties"} <= set(widget)
        assert widget["x"] + widget["width"] <= 24
        if widget["type"] == "metric":
            assert widget["properties"]["region"] == "<AWS::Region>"


def test_every_control_plane_metric_on_the_dashboard_is_emitted_by_its_function() -> None:
    services = emitted()
    rows = metric_rows(NAMESPACE)
    assert len(rows) > 20
    for title, row in rows:
        name, dims = row[1], dimensions(row)
        service = services.get(dims.get("service", ""))
        assert service, f"{title}: {name} has no service dimension of a function: {dims}"
        match = next(
            (re.fullmatch(p, name) for p in service["names"] if re.fullmatch(p, name)), None
        )
        assert match, f"{title}: {dims['service']} never emits {name}"
        for prefix, allowed in TEMPLATED.items():
            if match.groups() and name.startswith(prefix):
                assert match[1] in allowed, f"{title}: {name} is not one {prefix}... can be"
        assert set(dims) == {"service"} | service["dimensions"], f"{title}: {name} {dims}"
        for dimension, value in dims.items():
            if dimension in BOUNDED:
                assert value in BOUNDED[dimension], f"{title}: {dimension}={value}"


def test_the_dashboard_covers_every_function_state_machine_and_rule() -> None:
    def refs(namespace: str, metric: str, dimension: str) -> set[str]:
        return {
            dimensions(row)[dimension]
            for _, row in metric_rows(namespace)
            if row[1] == metric and dimension in dimensions(row)
        }

    every_function = {f"<{f}>" for f in FUNCTIONS}
    for metric in ("Errors", "Throttles", "Duration"):
        assert refs("AWS/Lambda", metric, "FunctionName") == every_function, metric
    for metric in ("ExecutionsFailed", "ExecutionsTimedOut", "ExecutionsAborted"):
        assert refs("AWS/States", metric, "StateMachineArn") == {f"<{s}>" for s in STATE_MACHINES}
    assert refs("AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName") == {
        "<DeadLetterQueue.QueueName>"
    }
    rules = {
        (e["Properties"]["RuleName"]["Fn::Sub"].replace("${", "<").replace("}", ">"),
         "<WorkloadEventBus>" if "EventBusName" in e["Properties"] else None)
        for name in FUNCTIONS
        for e in RESOURCES[name]["Properties"].get("Events", {}).values()
        if e["Type"] == "EventBridgeRule"
    }  # fmt: skip
    shown = {
        (dimensions(row)["RuleName"], dimensions(row).get("EventBusName"))
        for _, row in metric_rows("AWS/Events")
    }
    assert shown == rules


def test_the_widgets_answer_what_the_issue_asks() -> None:
    titles = " | ".join(w["properties"].get("title", "") for w in body()["widgets"]).lower()
    for topic in (
        "events received",
        "ignored and rejected",
        "decisions by kind",
        "retrains started and failed",
        "incidents opened",
        "approvals waiting",
        "promotions and rollbacks",
        "dead-letter queue depth",
        "function errors",
        "function throttles",
        "function duration",
        "state machine failures",
    ):
        assert topic in titles, topic


def test_the_default_bus_archive_keeps_every_event_a_default_bus_rule_matches() -> None:
    archive = RESOURCES["DefaultBusArchive"]["Properties"]
    pattern = archive["EventPattern"]
    assert archive["RetentionDays"] == {"Ref": "EventArchiveRetentionDays"}
    default_rules = [
        e["Properties"]["Pattern"]
        for name in FUNCTIONS
        for e in RESOURCES[name]["Properties"].get("Events", {}).values()
        if e["Type"] == "EventBridgeRule" and "EventBusName" not in e["Properties"]
    ]
    assert default_rules
    for rule in default_rules:
        assert set(rule["source"]) <= set(pattern["source"]), rule
        assert set(rule["detail-type"]) <= set(pattern["detail-type"]), rule


def test_the_workload_bus_is_archived_whole() -> None:
    archive = RESOURCES["WorkloadBusArchive"]["Properties"]
    assert archive["SourceArn"] == {"Fn::GetAtt": ["WorkloadEventBus", "Arn"]}
    assert "EventPattern" not in archive
    assert archive["RetentionDays"] == {"Ref": "EventArchiveRetentionDays"}
