"""`mlopscp demo`: what `make demo` runs."""

from __future__ import annotations

import argparse


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    demo = subparsers.add_parser(
        "demo", help="run the demo scenarios on the embedded AWS emulator (make demo)"
    )
    demo.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="NAME",
        help="run only these scenarios (repeatable or NAME,NAME; with the ones they continue)",
    )
    demo.set_defaults(func=run_demo)


def run_demo(args: argparse.Namespace) -> int:
    from mlopscp.demo.runner import main, select

    select(args.only)  # an unknown name is one line, before the emulator starts
    return main(args.only)
