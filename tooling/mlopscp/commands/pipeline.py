"""`mlopscp pipeline`: render, upload and upsert the reference retraining pipeline.

``render`` needs the SageMaker SDK (``.venv-sdk``); ``upload-code`` and ``upsert`` use plain
boto3 and the committed definition, so they work from the main venv and on the emulator.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import warnings
from pathlib import Path
from typing import Any

from mlopscp.pipelines.layout import (
    BUCKET_LAYOUT,
    CODE_DIR,
    CODE_PREFIX,
    DEFINITION_PATH,
    bucket_defaults,
)

SDK_HINT = (
    "needs the SageMaker SDK, which lives in its own venv: create .venv-sdk "
    "(see docs/retrain-pipeline.md) and run .venv-sdk/bin/mlopscp pipeline render"
)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "pipeline",
        help="render, upload and upsert the reference retraining pipeline",
        description="The SageMaker Pipelines blueprint under pipelines/retrain/.",
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    _add_render(actions)
    _add_upload(actions)
    _add_upsert(actions)


def _add_render(actions: argparse._SubParsersAction) -> None:
    render = actions.add_parser(
        "render", help="write the definition JSON from the code (needs the SageMaker SDK)"
    )
    render.add_argument("--out", type=Path, default=DEFINITION_PATH, help="default: %(default)s")
    render.add_argument(
        "--region", default="us-east-1", help="region of the image URIs (default: %(default)s)"
    )
    render.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 if --out is not up to date"
    )
    render.set_defaults(func=run_render)


def _add_aws(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--endpoint-url", help="e.g. the embedded emulator's URL")
    parser.add_argument("--region", help="AWS region (default: the environment's)")


def _add_upload(actions: argparse._SubParsersAction) -> None:
    upload = actions.add_parser(
        "upload-code", help="upload the pipeline's scripts to S3 under a content digest"
    )
    upload.add_argument("--to", required=True, metavar="S3_PREFIX", help="s3://bucket/prefix")
    upload.add_argument("--code-dir", type=Path, default=CODE_DIR, help="default: %(default)s")
    _add_aws(upload)
    upload.set_defaults(func=run_upload)


def _add_upsert(actions: argparse._SubParsersAction) -> None:
    upsert = actions.add_parser(
        "upsert",
        help="create or update the pipeline from the committed definition (plain boto3)",
        description="Binds the account's defaults (role, data, artifact and code locations) "
        "into the committed definition, then calls CreatePipeline or UpdatePipeline.",
    )
    upsert.add_argument("--name", required=True, help="pipeline name")
    upsert.add_argument("--role-arn", required=True, help="role SageMaker Pipelines assumes")
    upsert.add_argument("--definition", type=Path, default=DEFINITION_PATH)
    upsert.add_argument(
        "--bucket",
        help=f"bucket for data, artifacts and code (s3://BUCKET/{BUCKET_LAYOUT}/...)",
    )
    upsert.add_argument(
        "--code-prefix", help="upload the scripts under this s3:// prefix (default: the bucket's)"
    )
    upsert.add_argument(
        "--parameter",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="set a parameter's default; repeatable; applied last",
    )
    _add_aws(upsert)
    upsert.set_defaults(func=run_upsert)


def quiet_sdk() -> None:
    """SDK v2 warns, once per class, that it is deprecated and logs every field it drops from
    the definition: dozens of lines that say nothing about the pipeline. Both are known
    (docs/retrain-pipeline.md), so keep render's output to what it did."""
    os.environ.setdefault("SAGEMAKER_SUPPRESS_V2_WARNING", "1")
    logging.getLogger("sagemaker").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", message="Running within a PipelineSession")


def run_render(args: argparse.Namespace) -> int:
    quiet_sdk()
    try:
        from mlopscp.pipelines.retrain import RetrainSettings, render_definition
    except ImportError as error:
        print(f"mlopscp pipeline render: {error}; {SDK_HINT}", file=sys.stderr)
        return 2
    rendered = render_definition(RetrainSettings(region=args.region))
    if args.check:
        current = args.out.read_text(encoding="utf-8") if args.out.exists() else ""
        if current != rendered:
            print(
                f"{args.out} is not what the code renders: run mlopscp pipeline render",
                file=sys.stderr,
            )
            return 1
        print(f"{args.out} is up to date")
        return 0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(rendered, encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


def _sagemaker(args: argparse.Namespace) -> Any:
    import boto3  # lazily: keeps `mlopscp --help` fast

    return boto3.client("sagemaker", endpoint_url=args.endpoint_url, region_name=args.region)


def _s3(args: argparse.Namespace) -> Any:
    import boto3  # lazily: keeps `mlopscp --help` fast

    return boto3.client("s3", endpoint_url=args.endpoint_url, region_name=args.region)


def run_upload(args: argparse.Namespace) -> int:
    from mlopscp.pipelines.deploy import upload_code

    print(upload_code(_s3(args), args.to, args.code_dir))
    return 0


def parse_assignments(items: list[str]) -> dict[str, str]:
    values = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise ValueError(f"--parameter wants NAME=VALUE, got {item!r}")
        values[name] = value
    return values


def run_upsert(args: argparse.Namespace) -> int:
    from mlopscp.pipelines.deploy import (
        definition_region,
        load_definition,
        upload_code,
        upsert_pipeline,
    )

    definition = load_definition(args.definition)
    try:
        overrides = parse_assignments(args.parameter)
    except ValueError as error:
        print(f"mlopscp pipeline upsert: {error}", file=sys.stderr)
        return 2
    sagemaker = _sagemaker(args)
    rendered_for = definition_region(definition)
    if rendered_for and rendered_for != sagemaker.meta.region_name:
        print(
            f"warning: the definition's images are in {rendered_for}, the client is in "
            f"{sagemaker.meta.region_name}; re-render with --region",
            file=sys.stderr,
        )
    defaults = bucket_defaults(args.bucket) if args.bucket else {}
    code_prefix = args.code_prefix or (
        f"s3://{args.bucket}/{BUCKET_LAYOUT}/code" if args.bucket else None
    )
    if code_prefix:
        defaults[CODE_PREFIX] = upload_code(_s3(args), code_prefix)
    defaults |= overrides
    try:
        arn = upsert_pipeline(sagemaker, args.name, args.role_arn, definition, defaults)
    except ValueError as error:
        print(f"mlopscp pipeline upsert: {error}", file=sys.stderr)
        return 2
    for name, value in sorted(defaults.items()):
        print(f"  {name} = {value}")
    print(arn)
    return 0
