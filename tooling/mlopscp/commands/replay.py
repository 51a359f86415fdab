"""`mlopscp replay EVENT.json`: one EventBridge event through the local stack."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    replay = subparsers.add_parser(
        "replay",
        help="run one EventBridge event through the local stack and show what it did",
        description="Starts the embedded emulator, deploys template.yaml, seeds the demo world "
        "(models churn, fraud, pricing with endpoints, monitoring output and retrain pipelines), "
        "puts EVENT and prints the rules that matched, the functions and states that ran and "
        "the resulting actions. The files in events/ are written for this world.",
    )
    replay.add_argument("event", type=Path, help="EventBridge event envelope (JSON)")
    replay.add_argument("--json", action="store_true", help="end with one JSON object")
    replay.add_argument(
        "--times",
        type=int,
        default=1,
        help="deliver the same event this many times (at-least-once delivery)",
    )
    replay.add_argument("--logs", action="store_true", help="print the handlers' log lines")
    replay.set_defaults(func=run_replay)


def run_replay(args: argparse.Namespace) -> int:
    from mlopscp.replay import main

    return main(args.event, args.json, max(1, args.times), args.logs)
