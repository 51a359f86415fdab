"""`mlopscp monitor`: run the Evidently monitor locally, render and upsert its pipeline.

``run`` executes the job's own script (pipelines/monitor/code/monitor.py) with the interpreter of
``.venv-monitor``, where Evidently lives: this CLI never imports Evidently or pandas. ``render``
needs the SageMaker SDK (``.venv-sdk``); ``upsert`` uses plain boto3 and the committed definition.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from mlopscp.pipelines.layout import (
    BASELINE_URI,
    CAPTURE_URI,
    CODE_PREFIX,
    ENDPOINT_NAME,
    GROUND_TRUTH_URI,
    MODEL_ID,
    MONITOR_BUCKET_LAYOUT,
    MONITOR_CODE_DIR,
    MONITOR_DEFINITION_PATH,
    MONITOR_IMAGE_URI,
    MONITOR_SCRIPT,
    OUTPUT_URI,
    REPO_ROOT,
)

MONITOR_PYTHON = REPO_ROOT / ".venv-monitor" / "bin" / "python"
VENV_HINT = "the monitor's Evidently environment is missing: run make monitor-venv"


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "monitor",
        help="run the Evidently monitor locally; render and upsert its pipeline",
        description="The monitor blueprint under pipelines/monitor/ (docs/monitor.md).",
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    _add_run(actions)
    _add_render(actions)
    _add_upsert(actions)


def _add_run(actions: argparse._SubParsersAction) -> None:
    run = actions.add_parser(
        "run",
        help="Evidently reports on captured requests (local folders or s3://), as the job does",
        description="Runs the monitor job's script under .venv-monitor. Locations are folders "
        "or s3:// URIs; a local capture folder may hold <endpoint>/<variant>/<yyyy>/... or just "
        "the JSON Lines files.",
    )
    run.add_argument("--capture", required=True, metavar="DIR|S3_URI")
    run.add_argument("--baseline", required=True, metavar="FILE|S3_URI", help="CSV with header")
    run.add_argument("--ground-truth", default="", metavar="DIR|S3_URI")
    run.add_argument("--out", required=True, metavar="DIR|S3_URI")
    run.add_argument("--model-id", default="")
    run.add_argument("--endpoint-name", default="", help="needed for an s3:// capture")
    run.add_argument("--variant", default="AllTraffic", help="'' = every variant")
    run.add_argument(
        "--window-end",
        default=None,
        help="ISO time, or 'latest' (the default for a local capture: the end of the newest "
        "captured hour); for an s3:// capture the default is the hour before now",
    )
    for name, default in (("--window-hours", 1), ("--windows", 1), ("--min-rows", 30)):
        run.add_argument(name, type=int, default=default)
    run.add_argument("--problem-type", choices=("classification", "regression"))
    run.add_argument("--target-column")
    run.add_argument("--prediction-column")
    run.add_argument("--event-bus", default="", help="put the drift signal here; '' = print it")
    run.add_argument("--endpoint-url", help="AWS endpoint for s3:// and events, e.g. the emulator")
    run.add_argument("--python", type=Path, default=None, help=f"default: {MONITOR_PYTHON}")
    run.set_defaults(func=run_monitor)


def _add_render(actions: argparse._SubParsersAction) -> None:
    render = actions.add_parser(
        "render", help="write the monitor pipeline's definition (needs the SageMaker SDK)"
    )
    render.add_argument("--out", type=Path, default=MONITOR_DEFINITION_PATH)
    render.add_argument("--region", default="us-east-1")
    render.add_argument("--check", action="store_true", help="exit 1 if --out is not up to date")
    render.set_defaults(func=run_render)


def _add_upsert(actions: argparse._SubParsersAction) -> None:
    upsert = actions.add_parser(
        "upsert",
        help="create or update one model's monitor pipeline (plain boto3)",
        description="Uploads the job's scripts, binds the model's locations into the committed "
        "definition and calls CreatePipeline or UpdatePipeline. Schedule it with "
        "pipelines/monitor/schedule.yaml.",
    )
    upsert.add_argument("--name", required=True, help="pipeline name, e.g. churn-monitor")
    upsert.add_argument("--role-arn", required=True, help="role SageMaker Pipelines assumes")
    upsert.add_argument("--job-role-arn", help="role of the job (default: --role-arn)")
    upsert.add_argument("--image-uri", required=True, help="the job's image in ECR")
    upsert.add_argument("--model-id", required=True)
    upsert.add_argument("--endpoint-name", required=True)
    upsert.add_argument("--capture-uri", required=True, help="the endpoint's DestinationS3Uri")
    upsert.add_argument("--baseline-uri", required=True, help="training baseline CSV or prefix")
    upsert.add_argument("--output-uri", required=True, help="report root (see docs/monitor.md)")
    upsert.add_argument("--ground-truth-uri", default="", help="ground-truth prefix, if any")
    upsert.add_argument(
        "--code-prefix",
        required=True,
        help=f"s3:// prefix for the scripts, e.g. s3://B/{MONITOR_BUCKET_LAYOUT}/code",
    )
    upsert.add_argument("--parameter", action="append", default=[], metavar="NAME=VALUE")
    upsert.add_argument("--definition", type=Path, default=MONITOR_DEFINITION_PATH)
    upsert.add_argument("--endpoint-url")
    upsert.add_argument("--region")
    upsert.set_defaults(func=run_upsert)


# ---------------------------------------------------------------- run


def script_arguments(args: argparse.Namespace) -> list[str]:
    """The job script's command line for these options (pipelines/monitor/code/monitor.py)."""
    window_end = args.window_end
    if window_end is None:
        window_end = "" if args.capture.startswith("s3://") else "latest"
    options: dict[str, Any] = {
        "--capture": args.capture,
        "--baseline": args.baseline,
        "--ground-truth": args.ground_truth,
        "--out": args.out,
        "--model-id": args.model_id,
        "--endpoint-name": args.endpoint_name,
        "--variant": args.variant,
        "--window-end": window_end,
        "--window-hours": args.window_hours,
        "--windows": args.windows,
        "--min-rows": args.min_rows,
        "--problem-type": args.problem_type,
        "--target-column": args.target_column,
        "--prediction-column": args.prediction_column,
        "--event-bus": args.event_bus,
    }
    return [str(part) for k, v in options.items() if v is not None for part in (k, v)]


def run_monitor(args: argparse.Namespace) -> int:
    python = args.python or Path(os.environ.get("MLOPSCP_MONITOR_PYTHON", MONITOR_PYTHON))
    if not python.exists():
        print(f"mlopscp monitor run: {VENV_HINT} ({python} not found)", file=sys.stderr)
        return 2
    env = dict(os.environ)
    if args.endpoint_url:
        env["AWS_ENDPOINT_URL"] = args.endpoint_url
    command = [str(python), str(MONITOR_SCRIPT), *script_arguments(args)]
    # The command is this repository's script under its own venv's interpreter.
    return subprocess.run(command, env=env, check=False).returncode  # noqa: S603


# ---------------------------------------------------------------- render and upsert


def run_render(args: argparse.Namespace) -> int:
    from mlopscp.commands.pipeline import quiet_sdk

    quiet_sdk()
    try:
        from mlopscp.pipelines.monitor import MonitorSettings, render_definition
    except ImportError as error:
        print(
            f"mlopscp monitor render: {error}; needs the SageMaker SDK: run "
            ".venv-sdk/bin/mlopscp monitor render (make sdk)",
            file=sys.stderr,
        )
        return 2
    rendered = render_definition(MonitorSettings(region=args.region))
    current = args.out.read_text(encoding="utf-8") if args.out.exists() else ""
    if args.check:
        if current != rendered:
            print(f"{args.out} is stale: run mlopscp monitor render", file=sys.stderr)
            return 1
        print(f"{args.out} is up to date")
        return 0
    args.out.write_text(rendered, encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


def monitor_defaults(args: argparse.Namespace) -> dict[str, str]:
    defaults = {
        MODEL_ID: args.model_id,
        ENDPOINT_NAME: args.endpoint_name,
        CAPTURE_URI: args.capture_uri,
        BASELINE_URI: args.baseline_uri,
        OUTPUT_URI: args.output_uri,
        GROUND_TRUTH_URI: args.ground_truth_uri,
        MONITOR_IMAGE_URI: args.image_uri,
    }
    if args.job_role_arn:
        defaults["ExecutionRoleArn"] = args.job_role_arn
    return defaults


def run_upsert(args: argparse.Namespace) -> int:
    import boto3

    from mlopscp.commands.pipeline import parse_assignments
    from mlopscp.pipelines.deploy import load_definition, upload_code, upsert_pipeline

    try:
        overrides = parse_assignments(args.parameter)
    except ValueError as error:
        print(f"mlopscp monitor upsert: {error}", file=sys.stderr)
        return 2
    s3 = boto3.client("s3", endpoint_url=args.endpoint_url, region_name=args.region)
    sagemaker = boto3.client("sagemaker", endpoint_url=args.endpoint_url, region_name=args.region)
    defaults = monitor_defaults(args)
    defaults[CODE_PREFIX] = upload_code(s3, args.code_prefix, MONITOR_CODE_DIR)
    defaults |= overrides
    try:
        arn = upsert_pipeline(
            sagemaker, args.name, args.role_arn, load_definition(args.definition), defaults
        )
    except ValueError as error:
        print(f"mlopscp monitor upsert: {error}", file=sys.stderr)
        return 2
    print(json.dumps({"pipeline_arn": arn, "defaults": defaults}, indent=2))
    return 0
