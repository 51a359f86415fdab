"""`mlopscp approvals`: list approvals, answer one as an operator with IAM access, and rotate
the emailed links' key.

``approve`` / ``reject`` invoke the stack's decider function (IAM ``lambda:InvokeFunction`` on it
is the operators' allow-list) with channel ``cli`` and, as the actor, the caller's identity from
STS GetCallerIdentity; the decider records and resolves it exactly like a Slack or email answer.
"""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from typing import Any

from mlopscp.stack import StackArgs, add_stack_arguments

STATUSES = ("pending", "approved", "rejected", "expired", "withdrawn")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    approvals = subparsers.add_parser("approvals", help="human approvals: list, approve, reject")
    actions = approvals.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="approvals by status, soonest deadline first")
    listing.add_argument("--status", choices=(*STATUSES, "all"), default="pending")
    listing.add_argument("--model", help="only this model id")
    listing.add_argument("--json", action="store_true", help="one JSON array on the last line")
    add_stack_arguments(listing)
    listing.set_defaults(func=run_list)
    for verb in ("approve", "reject"):
        answer = actions.add_parser(verb, help=f"{verb} an approval as an operator (channel cli)")
        answer.add_argument("approval_id")
        answer.add_argument("--reason", required=True, help="kept in the audit log")
        add_stack_arguments(answer)
        outcome = "approved" if verb == "approve" else "rejected"
        answer.set_defaults(func=run_answer, outcome=outcome)
    rotate = actions.add_parser(
        "rotate-link-key",
        help="new HMAC key for emailed links; links already sent keep working (30-day grace)",
    )
    rotate.add_argument(
        "--revoke-previous",
        action="store_true",
        help="also stop accepting the previous key at once (after a leak): every link "
        "already sent stops working; approvers answer in Slack or the approval expires",
    )
    add_stack_arguments(rotate)
    rotate.set_defaults(func=run_rotate)


def run_list(args: argparse.Namespace) -> int:
    from mlops_core.approvals import Status
    from mlops_runtime.approvals import ApprovalStore

    stack = StackArgs.from_args(args)
    stack._point_sdk_here()
    store = ApprovalStore(stack.outputs["ApprovalTableName"])
    statuses = STATUSES if args.status == "all" else (args.status,)
    found = [a.summary() for s in statuses for a in store.with_status(Status(s))]
    found = [a for a in found if args.model in (None, a["model_id"])]
    for a in found:
        decided = f"  by {a['decided_by']} via {a['channel']}" if a["decided_by"] else ""
        print(
            f"{a['approval_id']}  {a['status']:<9} {a['model_id']:<12} {a['kind']:<10} "
            f"deadline {a['deadline']}  {a['subject']}{decided}"
        )
    if not found:
        print("no approvals" if args.status == "all" else f"no {args.status} approvals")
    if args.json:
        print(json.dumps(found))
    return 0


def run_answer(args: argparse.Namespace) -> int:
    stack = StackArgs.from_args(args)
    identity = stack.client("sts").get_caller_identity()
    request = {
        "approval_id": args.approval_id,
        "outcome": args.outcome,
        "channel": "cli",
        "actor": identity["Arn"],
        "actor_name": identity["Arn"].rsplit("/", 1)[-1],
        "reason": args.reason,
        "attempt_id": f"cli:{uuid.uuid4()}",
    }
    response = stack.client("lambda").invoke(
        FunctionName=stack.outputs["ApprovalDeciderFunctionName"],
        Payload=json.dumps(request).encode(),
    )
    result: dict[str, Any] = json.loads(response["Payload"].read() or b"{}")
    if response.get("FunctionError"):
        print(f"the decider failed: {result.get('errorMessage', result)}", file=sys.stderr)
        return 2
    if result.get("status") != "recorded":
        print(f"not recorded: {result.get('why', result)}", file=sys.stderr)
        return 1
    print(f"{args.approval_id}: {result['outcome']} by {identity['Arn']} (channel cli)")
    return 0


def run_rotate(args: argparse.Namespace) -> int:
    """Put a new version of the link key secret; Secrets Manager makes it AWSCURRENT and the
    old one AWSPREVIOUS, which the control plane accepts for LINK_KEY_GRACE."""
    import secrets

    stack = StackArgs.from_args(args)
    manager = stack.client("secretsmanager")
    arn = stack.outputs["ApprovalLinkKeySecretArn"]
    old = manager.get_secret_value(SecretId=arn)["VersionId"]
    new = manager.put_secret_value(SecretId=arn, SecretString=secrets.token_urlsafe(48))
    print(f"link key rotated: version {new['VersionId']} signs new links")
    if args.revoke_previous:
        manager.update_secret_version_stage(
            SecretId=arn, VersionStage="AWSPREVIOUS", RemoveFromVersionId=old
        )
        print(f"version {old} revoked: links signed with it are refused (within a minute)")
    else:
        print(f"version {old} still verifies the links it signed for 30 days")
    return 0
