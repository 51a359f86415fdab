"""`mlopscp promotions`: each promotion, where it stands, the evidence of its shadow verdict."""

from __future__ import annotations

import argparse
from typing import Any

from mlops_core.promotion.shadow_table import table_lines

from mlopscp.output import emit_json, say
from mlopscp.stack import StackArgs, add_stack_arguments


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "promotions", help="model promotions: current step, outcome and shadow-test evidence"
    )
    parser.add_argument("--model", default=None, help="only this model's promotions")
    parser.add_argument("--json", action="store_true", help="the records as one JSON array")
    add_stack_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    records = StackArgs.from_args(args).promotion_store().records(args.model)
    if args.json:
        emit_json(records)
        return 0
    if not records:
        say("no promotions" + (f" of {args.model}" if args.model else ""))
        return 0
    for record in records:
        say("\n".join(describe(record)))
    return 0


def describe(record: dict[str, Any]) -> list[str]:
    """One promotion as a few readable lines."""
    lines = [
        f"{record['promotion_id']}  {record.get('status', '?'):<13} "
        f"step {record.get('step', '?'):<17} started {record.get('started_at', '?')}"
        + (f"  ended {record['ended_at']}" if record.get("ended_at") else ""),
        f"  package   {record.get('package_arn', '?')}",
    ]
    if record.get("reason"):
        lines.append(
            f"  ended     {record.get('outcome')} at {record.get('stage')}: {record['reason']}"
        )
    gate = record.get("gate") or {}
    if gate:
        lines.append(
            f"  quality   {'passed' if gate.get('passed') else 'refused'}: "
            + "; ".join(gate.get("reasons", []))
        )
    verdict = record.get("verdict") or {}
    if verdict:
        lines.append(f"  verdict   {verdict.get('headline', verdict.get('outcome'))}")
        lines += [f"            {line}" for line in table_lines(verdict.get("evidence") or {})]
    return lines
