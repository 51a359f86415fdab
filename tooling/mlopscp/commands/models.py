"""`mlopscp models`: validate and store per-model configuration; `mlopscp ledger`: read it back."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from mlopscp.output import CliError, emit_json, say
from mlopscp.stack import StackArgs, add_stack_arguments


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    models = subparsers.add_parser("models", help="manage per-model configuration")
    actions = models.add_subparsers(dest="action", required=True)
    put = actions.add_parser("put", help="validate YAML/JSON model configurations and store them")
    put.add_argument("files", nargs="+", type=Path)
    put.add_argument("--check", action="store_true", help="validate only, store nothing")
    add_stack_arguments(put)
    put.set_defaults(func=run_put)
    show = actions.add_parser("show", help="print a model's stored configuration")
    show.add_argument("model_id")
    show.add_argument("--json", action="store_true", help="the configuration as one JSON object")
    add_stack_arguments(show)
    show.set_defaults(func=run_show)

    ledger = subparsers.add_parser("ledger", help="what the control plane decided, and why")
    ledger.add_argument("--model", required=True, help="model id")
    ledger.add_argument("--limit", type=int, default=20, help="the newest N entries")
    ledger.add_argument(
        "--json", action="store_true", help="the entries as one JSON array, oldest first"
    )
    add_stack_arguments(ledger)
    ledger.set_defaults(func=run_ledger)


def load_config_file(path: Path) -> Any:
    """The model configuration in `path`, or a `CliError` naming every problem in it."""
    config, problems = check_config_file(path)
    if problems:
        raise CliError("; ".join(problems))
    return config


def check_config_file(path: Path) -> tuple[Any, list[str]]:
    from mlops_runtime.model_config import ModelConfig

    from mlopscp.validation import load_file

    return load_file(path, ModelConfig)


def run_put(args: argparse.Namespace) -> int:
    configs, problems = [], []
    for path in args.files:  # every file is checked before any is stored or refused
        config, found = check_config_file(path)
        problems += found
        if config is not None:
            configs.append(config)
    if problems:
        for line in problems:
            say(line, as_json=True)
        bad = len(args.files) - len(configs)
        raise CliError(
            f"{bad} of {len(args.files)} configuration file(s) invalid, nothing stored",
            hint="fix the lines above (file:line: problem)",
        )
    if args.check:
        say(f"{len(configs)} configuration(s) valid")
        return 0
    store = StackArgs.from_args(args).model_config_store()
    for config in configs:
        store.put(config)
        say(f"stored {config.model_id} (endpoint {config.endpoint_name})")
    return 0


def run_show(args: argparse.Namespace) -> int:
    config = StackArgs.from_args(args).model_config_store().get(args.model_id)
    if config is None:
        raise CliError(
            f"no configuration for model {args.model_id}",
            hint="mlopscp models put FILE.yaml stores one",
        )
    if args.json:
        emit_json(config.model_dump(mode="json"))
    else:
        say(config.model_dump_json(indent=2))
    return 0


def run_ledger(args: argparse.Namespace) -> int:
    # Oldest first, in text and JSON alike: the ledger reads as a story.
    entries = list(reversed(StackArgs.from_args(args).ledger().entries(args.model, args.limit)))
    if args.json:
        emit_json(entries)
        return 0
    for entry in entries:
        say(f"{entry['at']}  {entry['action']:<20} {entry['subject']}  {entry['summary']}")
    if not entries:
        say(f"no ledger entries for model {args.model}")
    return 0
