"""`mlopscp discover`: list an account's SageMaker estate and propose model configurations."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from mlopscp.output import EXIT_ATTENTION, EXIT_AWS, CliError, emit_json, say
from mlopscp.stack import StackArgs


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    discover = subparsers.add_parser(
        "discover",
        help="list endpoints, monitoring, registry and pipelines; propose model configurations",
        description="Reads the account's endpoints (data capture, monitoring schedules and their "
        "output prefixes, models), model package groups and pipelines, writes one model "
        "configuration per endpoint to --out (validated; `# TODO:` where it could not infer) "
        "and reports the gaps: no data capture, no monitoring, model not from the registry, no "
        "retrain pipeline. With --stack, endpoints that stack already configures are marked. "
        "Exit 1 when there are gaps to fill.",
    )
    discover.add_argument("--stack", default=None, help="mark endpoints this stack configures")
    discover.add_argument("--region", default=None, help="AWS region (default: your profile's)")
    discover.add_argument("--endpoint-url", default=None, help="AWS endpoint, e.g. an emulator")
    discover.add_argument(
        "--out", type=Path, default=None, help="write one <endpoint>.yaml per endpoint here"
    )
    discover.add_argument("--json", action="store_true", help="print one JSON document")
    discover.set_defaults(func=run_discover)


def run_discover(args: argparse.Namespace) -> int:
    from botocore.exceptions import BotoCoreError, ClientError

    from mlopscp import discover

    def progress(line: str) -> None:
        print(f"discover: {line}", file=sys.stderr, flush=True)

    where = StackArgs(args.stack or "", args.region, args.endpoint_url)
    try:
        estate = discover.read_estate(where.client("sagemaker"), progress)
        configured = _configured(where, estate) if args.stack else {}
    except (ClientError, BotoCoreError) as error:
        raise CliError(
            f"cannot read the account: {error}",
            hint="check your AWS credentials and --region",
            exit_code=EXIT_AWS,
        ) from error
    written = discover.write_configs(estate, args.out) if args.out else []
    document = estate.to_dict() | {"written": written, "configured": configured}
    if args.json:
        emit_json(document)
    else:
        lines = discover.report_lines(estate)
        lines += [f"{e} is already configured as model {m}" for e, m in configured.items()]
        lines += [f"wrote {w['file']} ({len(w['todos'])} TODO)" for w in written]
        say("\n".join(lines))
    return EXIT_ATTENTION if any(e.gaps for e in estate.endpoints) else 0


def _configured(where: StackArgs, estate: Any) -> dict[str, str]:
    """Endpoint -> model id, for the endpoints the stack already has a configuration for."""
    store = where.model_config_store()
    found = {}
    for endpoint in estate.endpoints:
        config = store.by_endpoint(endpoint.name)
        if config is not None:
            found[endpoint.name] = config.model_id
    return found
