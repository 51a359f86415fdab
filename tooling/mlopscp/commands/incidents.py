"""`mlopscp incidents`: list incidents; acknowledge, snooze or resolve one as an operator.

``list`` reads the stack's state table. ``ack``, ``snooze`` and ``resolve`` invoke the stack's
decider function, as ``mlopscp approvals approve`` does: IAM ``lambda:InvokeFunction`` on it is
the operators' allow-list, and who you are comes from an STS GetCallerIdentity request your
credentials sign over a header naming this one control (incident, control, a snooze's end,
attempt). The decider has STS verify it, applies the control and records the ARN STS answers
with in the ledger (``incident_acknowledged``, ``incident_snoozed``, ``incident_resolved``).
"""

from __future__ import annotations

import argparse
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from mlopscp.commands.approvals import signed_identity
from mlopscp.output import EXIT_ATTENTION, EXIT_AWS, CliError, emit_json, say
from mlopscp.stack import StackArgs, add_stack_arguments


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    incidents = subparsers.add_parser(
        "incidents", help="incidents: list, acknowledge, snooze, resolve"
    )
    actions = incidents.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="open incidents, newest first")
    listing.add_argument("--model", help="only this model id")
    listing.add_argument("--all", action="store_true", help="resolved incidents too")
    listing.add_argument("--json", action="store_true", help="print one JSON array, nothing else")
    add_stack_arguments(listing)
    listing.set_defaults(func=run_list)
    ack = actions.add_parser("ack", help="acknowledge: no more pages for this problem")
    ack.add_argument("incident_id")
    add_stack_arguments(ack)
    ack.set_defaults(func=run_control, control="acknowledge")
    snooze = actions.add_parser("snooze", help="no pages at all for N hours")
    snooze.add_argument("incident_id")
    snooze.add_argument(
        "--hours",
        type=_positive,
        required=True,
        help="at most the model's incidents.max_snooze_hours (default 168)",
    )
    add_stack_arguments(snooze)
    snooze.set_defaults(func=run_control, control="snooze")
    resolve = actions.add_parser("resolve", help="close it by hand (kept in the ledger)")
    resolve.add_argument("incident_id")
    resolve.add_argument("--reason", required=True, help="kept in the ledger")
    add_stack_arguments(resolve)
    resolve.set_defaults(func=run_control, control="resolve")


def _positive(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError("must be more than 0")
    return value


def run_list(args: argparse.Namespace) -> int:
    from mlops_runtime.incidents import IncidentStore

    stack = StackArgs.from_args(args)
    store = IncidentStore(stack.outputs["StateTableName"], stack.ledger())
    found = [summary(s) for s in store.list(args.model, open_only=not args.all)]
    if args.json:
        emit_json(found)
        return 0
    for i in found:
        say(
            f"{i['incident_id']}  {i['status']:<12} {i['severity']:<8} {i['kind']:<11} "
            f"opened {i['opened_at'][:16]}  last seen {i['last_seen_at'][:16]}  "
            f"runs {i['runs']}  pages {i['pages']}{_who(i)}"
        )
        say(f"    {', '.join(i['fingerprint']) or i['summary'] or '-'}")
    if not found:
        scope = f" of {args.model}" if args.model else ""
        say(f"no incidents{scope}" if args.all else f"no open incidents{scope}")
    return 0


def summary(state: Any) -> dict[str, Any]:
    """One incident as `list --json` prints it: the stored item, without its keys."""
    return {k: v for k, v in state.to_item().items() if k not in ("pk", "sk")}


def _who(incident: dict[str, Any]) -> str:
    if incident["status"] == "SNOOZED":
        return f"  snoozed until {incident.get('snoozed_until')} by {incident.get('snoozed_by')}"
    if incident["status"] == "ACKNOWLEDGED":
        return f"  acknowledged by {incident.get('acknowledged_by')}"
    if incident["status"] == "RESOLVED":
        return f"  resolved by {incident.get('resolved_by')}: {incident.get('resolved_reason')}"
    return ""


def run_control(args: argparse.Namespace) -> int:
    from mlops_core.incident_controls import Control, control_binding

    stack = StackArgs.from_args(args)
    control = Control(args.control)
    attempt_id = f"cli:{uuid.uuid4()}"
    until = ""
    if control is Control.SNOOZE:
        end = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=args.hours)
        until = end.strftime("%Y-%m-%dT%H:%M:%SZ")
    binding = control_binding(args.incident_id, control, until, attempt_id)
    request = {
        "channel": "cli",
        "incident_id": args.incident_id,
        "control": str(control),
        "until": until,
        "reason": getattr(args, "reason", "") or "",
        "attempt_id": attempt_id,
        "identity": signed_identity(stack, binding),
    }
    response = stack.client("lambda").invoke(
        FunctionName=stack.outputs["ApprovalDeciderFunctionName"],
        Payload=json.dumps(request).encode(),
    )
    result: dict[str, Any] = json.loads(response["Payload"].read() or b"{}")
    if response.get("FunctionError"):
        raise CliError(
            f"the decider failed: {result.get('errorMessage', result)}", exit_code=EXIT_AWS
        )
    if result.get("status") == "refused":
        raise CliError(f"not recorded: {result.get('why', result)}", exit_code=EXIT_ATTENTION)
    if result.get("status") == "unchanged":
        say(f"{args.incident_id}: nothing changed ({result.get('why')})")
        return 0
    say(f"{args.incident_id}: {result.get('why')} (now {result.get('incident_status')})")
    return 0
