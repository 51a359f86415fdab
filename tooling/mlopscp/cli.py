"""`mlopscp`: the command line of mlops-control-plane.

Each command group lives in its own module exposing ``add_parser(subparsers)``; the parser sets
``func`` to a callable taking the parsed arguments and returning an exit code.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from mlopscp.output import CliError

# Command modules, imported lazily so `mlopscp triage` never pays for the emulator's imports.
COMMANDS = {
    "triage": "mlopscp.commands.triage",
    "pipeline": "mlopscp.commands.pipeline",
    "monitor": "mlopscp.commands.monitor",
    "models": "mlopscp.commands.models",
    "ledger": "mlopscp.commands.models",
    "demo": "mlopscp.commands.demo",
    "replay": "mlopscp.commands.demo",
    "approvals": "mlopscp.commands.approvals",
    "incidents": "mlopscp.commands.incidents",
    "promotions": "mlopscp.commands.promotions",
    "status": "mlopscp.commands.status",
    "explain": "mlopscp.commands.explain",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mlopscp", description="Event-driven MLOps control plane for SageMaker."
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in dict.fromkeys(COMMANDS.values()):
        importlib.import_module(module).add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except CliError as error:
        print(error.line(), file=sys.stderr)
        return error.exit_code


if __name__ == "__main__":
    sys.exit(main())
