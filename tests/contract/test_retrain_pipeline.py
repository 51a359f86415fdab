"""The committed retraining pipeline keeps its contracts with the control plane.

These read pipelines/retrain/definition.json as SageMaker Pipelines will, with no SDK: the
parameter names the control plane sends (mlops_core.retrain), what Spot recovery expects of
training, what promotion expects of the registered package, and the quality gate's shape.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mlops_core.retrain import PIPELINE_PARAMETERS

ROOT = Path(__file__).resolve().parents[2]
BLUEPRINT = ROOT / "pipelines" / "retrain"
DEFINITION = json.loads((BLUEPRINT / "definition.json").read_text(encoding="utf-8"))
JOB_STEPS = {"Processing", "Training", "QualityCheck"}
# Steps that must not be cached, each with the reason.
UNCACHED = {"Evaluate": "reads the registry's current production package at run time"}


def all_steps(steps: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for step in steps:
        yield step
        if step["Type"] == "Condition":
            yield from all_steps(step["Arguments"].get("IfSteps", []))
            yield from all_steps(step["Arguments"].get("ElseSteps", []))


STEPS = list(all_steps(DEFINITION["Steps"]))
PARAMETERS = {p["Name"]: p for p in DEFINITION["Parameters"]}


def of_type(kind: str) -> list[dict[str, Any]]:
    found = [s for s in STEPS if s["Type"] == kind]
    assert found, f"no {kind} step in the definition"
    return found


def references(node: Any) -> set[str]:
    """Every {"Get": ...} target anywhere under node."""
    if isinstance(node, dict):
        found = {node["Get"]} if isinstance(node.get("Get"), str) else set()
        return found.union(*(references(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(references(v) for v in node))
    return set()


@pytest.mark.parametrize("name", PIPELINE_PARAMETERS)
def test_control_plane_parameter_is_a_string_with_a_default(name: str) -> None:
    assert name in PARAMETERS, f"{name} is sent by the control plane but not declared"
    assert PARAMETERS[name]["Type"] == "String"
    # A default lets a person start the pipeline by hand with no parameters at all.
    assert PARAMETERS[name].get("DefaultValue"), f"{name} has no default"


@pytest.mark.parametrize("name", PIPELINE_PARAMETERS)
def test_control_plane_parameter_is_used_by_a_step(name: str) -> None:
    assert f"Parameters.{name}" in references(DEFINITION["Steps"])


def test_every_training_step_runs_on_spot_with_checkpoints_and_twice_the_runtime_to_wait() -> None:
    for step in of_type("Training"):
        arguments = step["Arguments"]
        assert arguments["EnableManagedSpotTraining"] is True
        assert arguments["CheckpointConfig"]["S3Uri"]
        stopping = arguments["StoppingCondition"]
        assert isinstance(stopping["MaxRuntimeInSeconds"], int)
        assert stopping["MaxWaitTimeInSeconds"] == 2 * stopping["MaxRuntimeInSeconds"]


def test_every_job_step_retries_capacity_errors() -> None:
    for step in (s for s in STEPS if s["Type"] in {"Processing", "Training"}):
        retried = {t for p in step.get("RetryPolicies", []) for t in p["ExceptionType"]}
        assert "SageMaker.CAPACITY_ERROR" in retried, step["Name"]


def test_step_caching_is_on_except_where_it_would_be_wrong() -> None:
    jobs = [s for s in STEPS if s["Type"] in JOB_STEPS]
    assert {s["Name"] for s in jobs} >= set(UNCACHED)
    for step in jobs:
        enabled = step.get("CacheConfig", {}).get("Enabled") is True
        assert enabled is (step["Name"] not in UNCACHED), step["Name"]


def test_register_step_waits_for_a_human_and_carries_metrics_and_baselines() -> None:
    (register,) = of_type("RegisterModel")
    arguments = register["Arguments"]
    # A literal, not a parameter: no caller may skip the approval that starts promotion.
    assert arguments["ModelApprovalStatus"] == "PendingManualApproval"
    assert arguments["ModelMetrics"]["ModelQuality"]["Statistics"]["S3Uri"]
    for kind in ("ModelDataQuality", "ModelQuality"):
        for part in ("Statistics", "Constraints"):
            assert arguments["DriftCheckBaselines"][kind][part]["S3Uri"], (kind, part)
    metadata = arguments["CustomerMetadataProperties"]
    assert {"IncidentId", "DataWindowStart", "DataWindowEnd"} <= set(metadata)
    assert "Parameters.RetrainReason" in references(arguments["ModelPackageDescription"])


def test_drift_baselines_come_from_quality_check_steps() -> None:
    checks = {s["Name"]: s["CheckType"] for s in of_type("QualityCheck")}
    assert sorted(checks.values()) == ["DATA_QUALITY", "MODEL_QUALITY"]
    (register,) = of_type("RegisterModel")
    used = references(register["Arguments"]["DriftCheckBaselines"])
    for name in checks:
        assert f"Steps.{name}.BaselineUsedForDriftCheckStatistics" in used
        assert f"Steps.{name}.BaselineUsedForDriftCheckConstraints" in used


def test_quality_gate_registers_on_true_and_fails_with_a_message_on_false() -> None:
    (gate,) = of_type("Condition")
    arguments = gate["Arguments"]
    assert [s["Type"] for s in arguments["IfSteps"]] == ["RegisterModel"]
    (fail,) = arguments["ElseSteps"]
    assert fail["Type"] == "Fail"
    assert "Parameters.QualityThreshold" in references(fail["Arguments"]["ErrorMessage"])
    compared = json.dumps(arguments["Conditions"])
    assert "Parameters.QualityThreshold" in compared
    assert "quality_gate.production_bound" in compared  # not worse than production


def test_gate_reads_an_evaluation_report_declared_as_a_property_file() -> None:
    (evaluate,) = (s for s in STEPS if s["Name"] == "Evaluate")
    files = {f["PropertyFileName"]: f for f in evaluate.get("PropertyFiles", [])}
    assert files["EvaluationReport"]["FilePath"] == "evaluation.json"


def test_account_specific_defaults_are_left_to_upsert() -> None:
    # The committed file must run in any account: upsert binds these.
    for name in ("ExecutionRoleArn", "InputDataUri", "ArtifactPrefix", "CodePrefix"):
        assert "UNBOUND" in PARAMETERS[name]["DefaultValue"], name
    assert "Parameters.ExecutionRoleArn" in references(of_type("Training")[0]["Arguments"])


def test_scripts_the_steps_run_are_in_the_blueprint() -> None:
    entrypoints = [
        s["Arguments"]["AppSpecification"]["ContainerEntrypoint"] for s in of_type("Processing")
    ]
    scripts = {Path(e[-1]).name for e in entrypoints}
    assert scripts == {"preprocess.py", "evaluate.py"}
    for script in scripts:
        assert (BLUEPRINT / "code" / script).is_file(), script


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module.split(".")[0])
    return names


def test_no_function_or_layer_imports_the_sagemaker_sdk() -> None:
    sources = [p for d in ("functions", "layers") for p in (ROOT / d).rglob("*.py")]
    offenders = [str(p.relative_to(ROOT)) for p in sources if "sagemaker" in _imports(p)]
    assert offenders == []


def test_upsert_and_the_cli_work_without_the_sdk() -> None:
    code = (
        "import sys, mlopscp.cli, mlopscp.pipelines, mlopscp.commands.pipeline;"
        "mlopscp.cli.build_parser();"
        "sys.exit('sagemaker' in sys.modules)"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
