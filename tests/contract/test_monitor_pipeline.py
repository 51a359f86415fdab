"""The committed monitor blueprint keeps its contracts: with its script, its schedule, the
control plane, and the rule that Evidently stays out of the product.

Reads pipelines/monitor/definition.json as SageMaker Pipelines will, with no SDK.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode import decode_str
from mlopscp.pipelines.layout import MONITOR_ACCOUNT_PARAMETERS
from mlopscp.pipelines.local_run import parameter_values, step_command

from tests.contract.test_retrain_pipeline import references
from tests.monitor_job import CODE, ROOT, monitor

BLUEPRINT = ROOT / "pipelines" / "monitor"
DEFINITION_TEXT = (BLUEPRINT / "definition.json").read_text(encoding="utf-8")
DEFINITION = json.loads(DEFINITION_TEXT)
PARAMETERS = {p["Name"]: p for p in DEFINITION["Parameters"]}
(STEP,) = DEFINITION["Steps"]
STARTED = datetime(2026, 7, 27, 11, 5, 7, 123000, tzinfo=UTC)


def schedule_template() -> dict[str, Any]:
    template, problems = decode_str((BLUEPRINT / "schedule.yaml").read_text())
    assert not problems, problems
    return dict(template)


def test_one_uncached_processing_step_that_retries_capacity_errors() -> None:
    assert STEP["Type"] == "Processing"
    # A cached run would reuse an old window's report: the window follows the start time.
    assert STEP.get("CacheConfig", {}).get("Enabled") is not True
    retried = {t for p in STEP.get("RetryPolicies", []) for t in p["ExceptionType"]}
    assert "SageMaker.CAPACITY_ERROR" in retried
    assert STEP["Arguments"]["ProcessingResources"]["ClusterConfig"]["InstanceCount"] == 1


def test_every_parameter_reaches_the_job() -> None:
    used = references(STEP["Arguments"])
    assert {f"Parameters.{name}" for name in PARAMETERS} == used - {"Execution.StartDateTime"}


def test_the_arguments_the_definition_passes_are_what_the_script_accepts() -> None:
    values = parameter_values(DEFINITION_TEXT, {"GroundTruthUri": "s3://b/labels"})
    arguments = step_command(DEFINITION_TEXT, "Monitor", values, STARTED)
    parsed = monitor.build_parser().parse_args(arguments)  # exits on an unknown option
    settings = monitor.settings_from(parsed)
    assert parsed.ground_truth == "s3://b/labels"
    # The execution's start time, as the pipeline renders it, gives the hour before it.
    assert str(settings.span[-1]) == "2026-07-27T10:00:00Z..2026-07-27T11:00:00Z"
    assert parsed.event_bus == "default"


def test_the_script_and_its_modules_are_in_the_code_input() -> None:
    (code,) = STEP["Arguments"]["ProcessingInputs"]
    assert code["S3Input"]["S3Uri"] == {"Get": "Parameters.CodePrefix"}
    assert code["S3Input"]["S3DataType"] == "S3Prefix"
    entrypoint = STEP["Arguments"]["AppSpecification"]["ContainerEntrypoint"]
    assert entrypoint[0] == "python3"
    assert Path(entrypoint[-1]).parent.as_posix() == code["S3Input"]["LocalPath"]
    # Everything the script imports from its folder is uploaded with it (upload_code: *.py).
    local = {p.stem for p in CODE.glob("*.py")}
    imported = set()
    for path in CODE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module)
            elif isinstance(node, ast.Import):
                imported |= {alias.name for alias in node.names}
    assert Path(entrypoint[-1]).stem in local
    assert {"capture", "evidence"} <= imported & local


def test_account_and_model_defaults_are_left_to_upsert() -> None:
    for name in MONITOR_ACCOUNT_PARAMETERS:
        assert "UNBOUND" in str(PARAMETERS[name]["DefaultValue"]).upper(), name


def test_problem_type_is_validated_by_sagemaker() -> None:
    assert PARAMETERS["ProblemType"]["EnumValues"] == ["classification", "regression"]


# ---------------------------------------------------------------- the schedule template


def test_the_schedule_starts_this_pipeline_with_parameters_it_declares() -> None:
    resources = schedule_template()["Resources"]
    target = resources["Schedule"]["Properties"]["Target"]
    assert ":pipeline/${PipelineName}" in target["Arn"]["Fn::Sub"]
    sent = target["SageMakerPipelineParameters"]["PipelineParameterList"]
    assert {p["Name"] for p in sent} <= set(PARAMETERS)


def test_the_scheduler_role_may_start_the_pipeline_and_nothing_else() -> None:
    role = schedule_template()["Resources"]["SchedulerRole"]["Properties"]
    (statement,) = [s for p in role["Policies"] for s in p["PolicyDocument"]["Statement"]]
    assert statement["Action"] == "sagemaker:StartPipelineExecution"
    assert statement["Resource"]["Fn::Sub"].endswith(":pipeline/${PipelineName}")
    trust = role["AssumeRolePolicyDocument"]["Statement"][0]
    assert trust["Principal"] == {"Service": "scheduler.amazonaws.com"}
    assert "aws:SourceAccount" in trust["Condition"]["StringEquals"]


def test_the_job_role_writes_only_reports_and_puts_only_drift_signals() -> None:
    role = schedule_template()["Resources"]["JobRole"]["Properties"]
    statements = {s["Sid"]: s for p in role["Policies"] for s in _statements(p)}
    writes = [s for s in statements.values() if "s3:PutObject" in json.dumps(s["Action"])]
    assert [s["Sid"] for s in writes] == ["WriteReports"]
    signal = statements["PutDriftSignal"]
    assert signal["Condition"]["StringEquals"]["events:source"] == monitor.SOURCE
    # Wildcard resources only where the action has no resource-level permissions.
    wild = sorted(s["Sid"] for s in statements.values() if s["Resource"] == "*")
    assert wild == ["EcrLogin", "JobMetrics"]


def _statements(policy: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for statement in policy["PolicyDocument"]["Statement"]:
        if "Fn::If" in statement:  # optional ground truth: the branch that is a statement
            statement = statement["Fn::If"][1]
        found.append(statement)
    return found


# ---------------------------------------------------------------- the job's environment


def test_the_job_environment_is_pinned_exactly() -> None:
    lines = [
        line.split("#")[0].strip()
        for line in (BLUEPRINT / "requirements.in").read_text().splitlines()
    ]
    pins = dict(line.split("==") for line in lines if line)
    assert all(re.fullmatch(r"\d+(\.\d+)*", version) for version in pins.values()), pins
    assert pins["evidently"] == "0.7.23"
    assert int(pins["pandas"].split(".")[0]) < 3  # Evidently 0.7 fails to import with pandas 3
    locked = (BLUEPRINT / "requirements.txt").read_text()
    for name, version in pins.items():  # the lock installs exactly the pinned versions
        assert re.search(rf"^{re.escape(name)}=={re.escape(version)} \\$", locked, re.M), name


def test_the_image_and_the_local_venv_are_built_alike() -> None:
    dockerfile = (BLUEPRINT / "Dockerfile").read_text()
    assert "--require-hashes -r /opt/monitor/requirements.txt" in dockerfile
    assert "COPY requirements.txt" in dockerfile
    image_python = re.search(r"^FROM \S+python:(\d+\.\d+)", dockerfile, re.M)
    makefile = (ROOT / "Makefile").read_text()
    assert image_python, "the image's Python version is pinned"
    assert f"versions/{image_python.group(1)}*" in makefile  # .venv-monitor's interpreter
    assert "$(PIP_LOCKED) -r $<" in makefile.split("$(MONITOR_STAMP):")[1].split("\n\n")[0]


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module.split(".")[0])
    return names


HEAVY = {"evidently", "pandas", "scipy", "numpy", "sklearn"}


def test_no_function_layer_or_dependency_file_of_the_product_holds_evidently() -> None:
    sources = [p for d in ("functions", "layers") for p in (ROOT / d).rglob("*.py")]
    offenders = [str(p.relative_to(ROOT)) for p in sources if _imports(p) & HEAVY]
    requirements = [*(ROOT / "functions").rglob("requirements.txt"), *ROOT.glob("layers/**/*.txt")]
    offenders += [
        str(p.relative_to(ROOT))
        for p in requirements
        if HEAVY & {re.split(r"[<>=\[ ]", line)[0].lower() for line in p.read_text().splitlines()}
    ]
    assert offenders == []


def test_the_cli_never_imports_evidently_or_pandas() -> None:
    code = (
        "import sys, mlopscp.cli, mlopscp.commands.monitor, mlopscp.pipelines.local_run;"
        "mlopscp.cli.build_parser();"
        f"sys.exit(bool({sorted(HEAVY)!r} & sys.modules.keys()))"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


@pytest.mark.parametrize("script", ["capture", "monitor"])
def test_the_input_side_loads_without_evidently(script: str) -> None:
    blocker = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        f"        if name.split('.')[0] in {sorted(HEAVY)!r}: raise ImportError(name)\n"
        "sys.meta_path.insert(0, Block())\n"
        f"sys.path.insert(0, {str(CODE)!r})\n"
        f"import {script}\n"
    )
    subprocess.run([sys.executable, "-c", blocker], check=True, cwd=ROOT)
