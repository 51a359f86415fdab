"""`mlopscp replay EVENT.json`: one EventBridge event through the local stack, and what it did."""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path
from typing import Any

from mlopscp import timeline
from mlopscp.local import LocalControlPlane
from mlopscp.output import emit_json, say
from mlopscp.worlds.drift import MODELS


def replay(event: dict[str, Any], times: int = 1, show_logs: bool = False) -> dict[str, Any]:
    from mlopscp_emulator import Emulator

    warnings.filterwarnings("ignore", message=".*moto does not enforce.*")
    with Emulator() as emulator:
        plane = LocalControlPlane(emulator).up()
        mark = len(emulator.trace)
        emulator.put_event(event)
        if times > 1:
            emulator.redeliver(event, times=times - 1)
        emulator.wait_idle(timeout=120)
        records = emulator.trace.since(mark)
        shown = timeline.build(emulator, plane.stack, records)
        logs = {}
        if show_logs:
            logs = {call["function"]: emulator.logs(call["function"]) for call in shown.invocations}
        return {
            **shown.to_dict(),
            "actions": {
                "ledger": [
                    entry for model in [*MODELS, "_unknown"] for entry in plane.ledger(model)
                ],
                "pipeline_executions": [
                    execution
                    for model in MODELS.values()
                    for execution in plane.pipeline_executions(model)
                ],
                "notifications": plane.notifications(),
                "dead_letters": plane.dead_letters(),
            },
            "logs": logs,
        }


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
    lines.append("resulting actions:")
    for entry in sorted(actions["ledger"], key=lambda e: e["at"]):
        lines.append(f"  ledger  {entry['action']:<18} {entry['model_id']:<8} {entry['summary']}")
    for execution in actions["pipeline_executions"]:
        lines.append(
            f"  pipeline execution {execution['arn'].rsplit('/', 1)[-1]} "
            f"[{execution['status']}] {execution['parameters'].get('IncidentId', '')}"
        )
    for page in actions["notifications"]:
        lines.append(f"  page    {page['body'].splitlines()[0]}")
    for dead in actions["dead_letters"]:
        lines.append(f"  DLQ     {json.loads(dead['body']).get('reason', dead['body'][:120])}")
    if not any(actions.values()):
        lines.append("  none")
    for function, log in result.get("logs", {}).items():
        lines.append(f"logs of {function}:")
        lines += [f"  {line}" for line in log]
    return lines


def main(path: Path, as_json: bool, times: int, show_logs: bool) -> int:
    try:
        event = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        print(f"mlopscp replay: cannot read {path}: {error}", file=sys.stderr)
        return 2
    result = replay(event, times, show_logs)
    if as_json:
        emit_json(result)
    else:
        say("\n".join(render(result)))
    return 0
