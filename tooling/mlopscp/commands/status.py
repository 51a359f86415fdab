"""`mlopscp status`: every configured model on one screen, and whether anything waits for a human.

Per model: the last decision and when, open incidents, approvals waiting (with their age),
the promotion in flight (with its step), the retrain running, guardrail flags of the last 7
days. Exit code 1 (``EXIT_ATTENTION``) when an approval waits or an incident is open and not
acknowledged, so cron or CI can act on it; 0 otherwise.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from mlopscp.output import EXIT_ATTENTION, EXIT_AWS, EXIT_OK, CliError, emit_json, say
from mlopscp.stack import StackArgs, add_stack_arguments


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "status", help="every model on one screen; exit 1 when something waits for a human"
    )
    parser.add_argument("--json", action="store_true", help="one JSON document, nothing else")
    add_stack_arguments(parser)
    parser.set_defaults(func=run)


@contextmanager
def reading(stack: StackArgs) -> Iterator[None]:
    """AWS failures as one line and exit code 3, never a traceback."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        hint = "is --stack right?" if code == "ValidationError" else ""
        raise CliError(f"AWS refused: {error}", hint=hint, exit_code=EXIT_AWS) from error
    except BotoCoreError as error:
        raise CliError(
            f"cannot reach AWS: {error}",
            hint="check your credentials, --region and --endpoint-url",
            exit_code=EXIT_AWS,
        ) from error


def run(args: argparse.Namespace) -> int:
    stack = StackArgs.from_args(args)
    now = datetime.now(UTC)
    with reading(stack):
        statuses = stack.fleet().statuses(now)
    waiting = sum(len(s.waiting) for s in statuses)
    if args.json:
        emit_json(
            {
                "stack": stack.stack,
                "at": now.isoformat(),
                "models": [s.to_dict() for s in statuses],
                "waiting_for_a_human": waiting,
            }
        )
    else:
        say("\n".join(render(statuses, now)))
    return EXIT_ATTENTION if waiting else EXIT_OK


def render(statuses: list[Any], now: datetime) -> list[str]:
    from mlops_core.untrusted import single_line

    if not statuses:
        return ["no models configured (mlopscp models put FILE.yaml)"]
    rows = [("MODEL", "ENDPOINT", "LAST DECISION", "INCIDENTS", "APPROVALS", "PROMOTION",
             "RETRAIN", "GUARDRAIL FLAGS (7 d)")]  # fmt: skip
    for s in statuses:
        last = s.last_decision
        rows.append(
            (
                s.model_id,
                s.endpoint,
                f"{last['action']} {ago(last['at'], now)}" if last else "-",
                f"{len(s.incidents)} open" if s.incidents else "-",
                _approvals(s.approvals),
                f"v{s.promotion['version']} at {s.promotion['step']}" if s.promotion else "-",
                s.retrain["status"].lower() if s.retrain else "-",
                str(len(s.guardrail_flags)) if s.guardrail_flags else "-",
            )
        )
    rows = [tuple(single_line(cell, 40) for cell in row) for row in rows]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows
    ]
    waits = [f"  {s.model_id}: {single_line(w, 200)}" for s in statuses for w in s.waiting]
    lines += ["", "waits for a human:", *waits] if waits else ["", "nothing waits for a human"]
    return lines


def _approvals(approvals: list[dict[str, Any]]) -> str:
    if not approvals:
        return "-"
    oldest = max(a["waiting_hours"] for a in approvals)
    return f"{len(approvals)} waiting ({oldest:.1f} h)"


def ago(at: str, now: datetime) -> str:
    moment = datetime.fromisoformat(at.replace("Z", "+00:00"))
    seconds = max((now - moment).total_seconds(), 0)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f}{unit} ago"
    return "just now"
