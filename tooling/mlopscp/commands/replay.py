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
        "adds your model configurations (--model) and monitoring history (--monitoring-output), "
        "puts EVENT and prints the rules that matched, the functions and states that ran, the "
        "decision for the first --model and the resulting actions. Exit 1 when the event ends in "
        "the dead-letter queue. The files in events/ are written for the demo world.",
    )
    replay.add_argument("event", type=Path, help="EventBridge event envelope (JSON)")
    replay.add_argument(
        "--model",
        dest="models",
        action="append",
        type=Path,
        default=[],
        metavar="FILE.yaml",
        help="a model configuration to put into the local stack (repeatable; as `models put`)",
    )
    replay.add_argument(
        "--monitoring-output",
        type=Path,
        metavar="DIR",
        help="one endpoint's monitoring history (<schedule>/<yyyy>/<mm>/<dd>/<hh>/...), copied to "
        "the first --model's monitoring_output_uri before the event is put",
    )
    replay.add_argument("--json", action="store_true", help="print one JSON document on stdout")
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

    return main(
        args.event,
        args.json,
        max(1, args.times),
        args.logs,
        args.models,
        args.monitoring_output,
    )
