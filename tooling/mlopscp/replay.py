"""`mlopscp replay EVENT.json`: one EventBridge event through the local stack, and what it did.

The emulator deploys template.yaml and seeds the demo world (tooling/mlopscp/local.py); the
user's own model configurations (`--model`) go in beside it, and `--monitoring-output DIR` (one
endpoint's monitoring history, as SageMaker writes it) is copied to the first model's
`monitoring_output_uri`, so an event captured in the user's account meets their model and its
evidence. The outcome is read back through the stack's own tables and queues.
"""

from __future__ import annotations

import json
import sys
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from mlopscp import timeline
from mlopscp.output import EXIT_ATTENTION, CliError, emit_json, say
from mlopscp.worlds.common import ACCOUNT
from mlopscp.worlds.promotion import PRODUCTION, STAGING

Progress = Callable[[str], None]
WORKLOAD_ACCOUNTS = (STAGING, PRODUCTION)  # the demo world's workload accounts


def _stderr(line: str) -> None:
    print(f"replay: {line}", file=sys.stderr, flush=True)


def replay(
    event: dict[str, Any],
    models: Sequence[Any] = (),
    monitoring_output: Path | None = None,
    times: int = 1,
    show_logs: bool = False,
    progress: Progress = _stderr,
) -> dict[str, Any]:
    """Run ``event`` through a fresh local stack; ``models`` are validated ModelConfigs."""
    from mlopscp_emulator import Emulator

    from mlopscp.local import LocalControlPlane
    from mlopscp.worlds.drift import MODELS

    warnings.filterwarnings("ignore", message=".*moto does not enforce.*")
    event, moved = into_local_account(event)
    if moved:
        progress(f"the event came from account {moved}: replayed as the local account {ACCOUNT}")
    with Emulator() as emulator:
        progress("deploying template.yaml and seeding the demo world on the emulator")
        plane = LocalControlPlane(emulator).up()
        for config in models:
            plane.put_config(config)
            progress(f"model {config.model_id} configured (endpoint {config.endpoint_name})")
        if monitoring_output is not None:
            target = models[0].monitoring_output_uri
            count = plane.upload_tree(monitoring_output, target)
            progress(f"copied {count} file(s) of {monitoring_output} to {target}")
        mark = len(emulator.trace)
        before = {m: _keys(plane.ledger(m)) for m in _configured_models(plane)}
        progress(f"putting {event.get('detail-type', 'the event')} x{times}; waiting for the stack")
        emulator.put_event(event)
        if times > 1:
            emulator.redeliver(event, times=times - 1)
        emulator.wait_idle(timeout=120)
        shown = timeline.build(emulator, plane.stack, emulator.trace.since(mark))
        logs = {}
        if show_logs:
            logs = {call["function"]: emulator.logs(call["function"]) for call in shown.invocations}
        ledger = [
            entry
            for model, seen in before.items()
            for entry in plane.ledger(model)
            if _key(entry) not in seen
        ]
        dead_letters = plane.dead_letters()
        return {
            **shown.to_dict(),
            "account_moved_from": moved,
            "models": [config.model_id for config in models],
            "decision": _decision(ledger, models),
            "dead_letter_reasons": [_reason(dead) for dead in dead_letters],
            "actions": {
                "ledger": sorted(ledger, key=lambda e: str(e["at"])),
                "pipeline_executions": [
                    execution
                    for model in MODELS.values()
                    for execution in plane.pipeline_executions(model)
                ],
                "notifications": plane.notifications(),
                "dead_letters": dead_letters,
            },
            "logs": logs,
        }


def into_local_account(event: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """An event captured in the user's own account, moved into the emulated one: its account
    id is replaced wherever it appears (the envelope, ARNs, the detail), or every trust check
    would rightly refuse it. The demo world's own accounts are kept as they are."""
    account = str(event.get("account") or "")
    if not account or account in (ACCOUNT, *WORKLOAD_ACCOUNTS):
        return event, None
    moved: dict[str, Any] = json.loads(json.dumps(event).replace(account, ACCOUNT))
    return moved, account


def _configured_models(plane: Any) -> list[str]:
    """Every model the local stack is configured with (the demo world's and the user's), and
    the ledger's place for events about no known model."""
    pages = (
        plane.emu.client("dynamodb")
        .get_paginator("scan")
        .paginate(TableName=plane.outputs["ModelConfigTableName"], ProjectionExpression="id")
    )
    ids = [item["id"]["S"] for page in pages for item in page.get("Items", [])]
    return [*sorted(i.removeprefix("model#") for i in ids if i.startswith("model#")), "_unknown"]


def _key(entry: dict[str, Any]) -> tuple[str, str]:
    return str(entry["model_id"]), str(entry["entry_id"])


def _keys(entries: list[dict[str, Any]]) -> set[tuple[str, str]]:
    return {_key(entry) for entry in entries}


def _decision(ledger: list[dict[str, Any]], models: Sequence[Any]) -> list[dict[str, Any]] | None:
    """What the control plane decided for the first `--model` (its new ledger entries)."""
    if not models:
        return None
    return [entry for entry in ledger if entry.get("model_id") == models[0].model_id]


def _reason(dead: dict[str, Any]) -> str:
    try:
        return str(json.loads(dead["body"]).get("reason") or dead["body"][:200])
    except ValueError:
        return str(dead["body"][:200])


def render(result: dict[str, Any]) -> list[str]:
    shown = timeline.Timeline(
        result["rules"],
        result["invocations"],
        result["executions"],
        result["delivery_failures"],
        result.get("forwards", []),
    )
    lines = shown.lines()
    actions = result["actions"]
    if result.get("models"):
        model = result["models"][0]
        decided = result.get("decision") or []
        lines.append(f"decision for {model}:")
        lines += [f"  {e['action']:<18} {e['summary']}" for e in decided] or ["  none recorded"]
    lines.append("resulting actions:")
    for entry in actions["ledger"]:
        lines.append(f"  ledger  {entry['action']:<18} {entry['model_id']:<8} {entry['summary']}")
    for execution in actions["pipeline_executions"]:
        lines.append(
            f"  pipeline execution {execution['arn'].rsplit('/', 1)[-1]} "
            f"[{execution['status']}] {execution['parameters'].get('IncidentId', '')}"
        )
    for page in actions["notifications"]:
        lines.append(f"  page    {page['body'].splitlines()[0]}")
    for reason in result["dead_letter_reasons"]:
        lines.append(f"  DLQ     {reason}")
    if not any(actions.values()):
        lines.append("  none")
    for function, log in result.get("logs", {}).items():
        lines.append(f"logs of {function}:")
        lines += [f"  {line}" for line in log]
    return lines


def read_event(path: Path) -> dict[str, Any]:
    from mlopscp.events_file import load_event

    return load_event(path)


def read_models(paths: Sequence[Path], monitoring_output: Path | None) -> list[Any]:
    from mlopscp.commands.models import check_config_file

    configs, problems = [], []
    for path in paths:
        config, found = check_config_file(path)
        problems += found
        configs.append(config)
    if problems:
        raise CliError(
            "; ".join(problems), hint="check each file with `mlopscp models put --check FILE`"
        )
    if monitoring_output is not None:
        if not monitoring_output.is_dir():
            raise CliError(f"--monitoring-output {monitoring_output} is not a directory")
        if not configs or not configs[0].monitoring_output_uri:
            raise CliError(
                "--monitoring-output needs a --model whose configuration names "
                "monitoring_output_uri (the first --model receives the files)"
            )
    return configs


def main(
    path: Path,
    as_json: bool,
    times: int,
    show_logs: bool,
    model_files: Sequence[Path] = (),
    monitoring_output: Path | None = None,
) -> int:
    event = read_event(path)
    models = read_models(model_files, monitoring_output)
    result = replay(event, models, monitoring_output, times, show_logs)
    if as_json:
        emit_json(result)
    else:
        say("\n".join(render(result)))
    if result["dead_letter_reasons"]:
        for reason in result["dead_letter_reasons"]:
            say(f"the event ended in the dead-letter queue: {reason}", as_json=True)
        return EXIT_ATTENTION
    return 0
