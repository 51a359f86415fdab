"""`mlopscp`: the command line of mlops-control-plane.

Each command group lives in its own module exposing ``add_parser(subparsers)``; the parser sets
``func`` to a callable taking the parsed arguments and returning an exit code.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version

from mlopscp.aws_errors import from_aws
from mlopscp.output import CliError

# Command modules, imported lazily so `mlopscp triage` never pays for the emulator's imports.
COMMANDS = {
    "triage": "mlopscp.commands.triage",
    "pipeline": "mlopscp.commands.pipeline",
    "monitor": "mlopscp.commands.monitor",
    "models": "mlopscp.commands.models",
    "ledger": "mlopscp.commands.models",
    "demo": "mlopscp.commands.demo",
    "replay": "mlopscp.commands.replay",
    "approvals": "mlopscp.commands.approvals",
    "incidents": "mlopscp.commands.incidents",
    "promotions": "mlopscp.commands.promotions",
    "discover": "mlopscp.commands.discover",
    "status": "mlopscp.commands.status",
    "explain": "mlopscp.commands.explain",
}


def _version() -> str:
    try:
        return version("mlops-control-plane")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mlopscp", description="Event-driven MLOps control plane for SageMaker."
    )
    parser.add_argument("--version", action="version", version=f"mlopscp {_version()}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in dict.fromkeys(COMMANDS.values()):
        importlib.import_module(module).add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except BrokenPipeError:
        # The reader went away (`mlopscp ... | head`): stop quietly, as Unix tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except KeyboardInterrupt:
        print("mlopscp: interrupted", file=sys.stderr)
        return 130
    except Exception as error:  # one place turns known failures into one line
        known = error if isinstance(error, CliError) else from_aws(error)
        if known is None:
            raise
        print(known.line(), file=sys.stderr)
        return known.exit_code


if __name__ == "__main__":
    sys.exit(main())
