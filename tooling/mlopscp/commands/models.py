"""`mlopscp models`: validate and store per-model configuration; `mlopscp ledger`: read it back."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from mlopscp.stack import StackArgs, add_stack_arguments


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    models = subparsers.add_parser("models", help="manage per-model configuration")
    actions = models.add_subparsers(dest="action", required=True)
    put = actions.add_parser("put", help="validate a YAML/JSON model configuration and store it")
    put.add_argument("files", nargs="+", type=Path)
    put.add_argument("--check", action="store_true", help="validate only, store nothing")
    add_stack_arguments(put)
    put.set_defaults(func=run_put)
    show = actions.add_parser("show", help="print a model's stored configuration")
    show.add_argument("model_id")
    add_stack_arguments(show)
    show.set_defaults(func=run_show)

    ledger = subparsers.add_parser("ledger", help="what the control plane decided, and why")
    ledger.add_argument("--model", required=True, help="model id")
    ledger.add_argument("--limit", type=int, default=20)
    ledger.add_argument("--json", action="store_true")
    add_stack_arguments(ledger)
    ledger.set_defaults(func=run_ledger)


class ConfigFileError(ValueError):
    """A configuration file that is not YAML/JSON at all (pydantic's ValidationError says what
    is wrong inside one that is)."""


def load_config_file(path: Path) -> Any:
    import yaml
    from mlops_runtime.model_config import ModelConfig

    try:
        document = yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        raise ConfigFileError(f"not valid YAML or JSON: {error}") from None
    return ModelConfig.model_validate(document)


def run_put(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    configs = []
    for path in args.files:
        try:
            configs.append(load_config_file(path))
        except (ValidationError, OSError, ConfigFileError) as error:
            print(f"{path}: {error}", file=sys.stderr)
            return 2
    if args.check:
        print(f"{len(configs)} configuration(s) valid")
        return 0
    store = StackArgs.from_args(args).model_config_store()
    for config in configs:
        store.put(config)
        print(f"stored {config.model_id} (endpoint {config.endpoint_name})")
    return 0


def run_show(args: argparse.Namespace) -> int:
    config = StackArgs.from_args(args).model_config_store().get(args.model_id)
    if config is None:
        print(f"no configuration for model {args.model_id}", file=sys.stderr)
        return 1
    print(config.model_dump_json(indent=2))
    return 0


def run_ledger(args: argparse.Namespace) -> int:
    entries = StackArgs.from_args(args).ledger().entries(args.model, args.limit)
    for entry in reversed(entries):
        print(f"{entry['at']}  {entry['action']:<20} {entry['subject']}  {entry['summary']}")
    if args.json:
        print(json.dumps(entries, default=str))
    return 0
