"""`mlopscp explain MODEL|ENDPOINT`: why the endpoint serves what it serves, or why a retrain
started: the causal chain from the ledger, each hop with its time and ledger entry id.

evidence -> incident -> retrain -> pipeline execution -> package version -> promotion ->
verdict -> approval -> deployment. Read by key lookups (``mlops_runtime.fleet.FleetReader.chain``),
never by scanning the ledger.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from mlopscp.commands.status import reading
from mlopscp.output import EXIT_OK, EXIT_USAGE, CliError, emit_json, say
from mlopscp.stack import StackArgs, add_stack_arguments

if TYPE_CHECKING:
    from mlops_core.causal_chain import Chain


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "explain", help="why a model's endpoint serves what it serves: the chain from the ledger"
    )
    parser.add_argument("target", metavar="MODEL|ENDPOINT", help="a model id or endpoint name")
    parser.add_argument("--json", action="store_true", help="one JSON document, nothing else")
    add_stack_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    stack = StackArgs.from_args(args)
    with reading(stack):
        configs = stack.model_config_store()
        model = configs.get(args.target) or configs.by_endpoint(args.target)
        if model is None:
            raise CliError(
                f"no model or endpoint named {args.target!r} is configured",
                hint="mlopscp status lists the models",
                exit_code=EXIT_USAGE,
            )
        chain = stack.fleet().chain(model.model_id)
    if args.json:
        emit_json({"endpoint": model.endpoint_name, **chain.to_dict()})
        return EXIT_OK
    say("\n".join(render(model.model_id, model.endpoint_name, chain)))
    return EXIT_OK


def render(model_id: str, endpoint: str, chain: Chain) -> list[str]:
    from mlops_core.untrusted import single_line

    lines = [f"{model_id} (endpoint {endpoint})"]
    if not chain.hops:
        return [*lines, "  the ledger records no retrain and no promotion of this model yet"]
    for hop in chain.hops:
        lines.append(f"  {hop.step:<19} {hop.at[:19]}  {hop.action:<22} entry {hop.entry_id}")
        lines.append(f"  {'':<19} {single_line(hop.summary, 160)}")
        lines += [f"  {'':<19}   {k}: {single_line(v, 140)}" for k, v in hop.detail.items()]
    lines += [f"  (no {single_line(gap, 160)})" for gap in chain.gaps]
    return lines
