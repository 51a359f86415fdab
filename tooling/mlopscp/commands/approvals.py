"""`mlopscp approvals`: list approvals, answer one as an operator with IAM access, and rotate
the emailed links' key.

``approve`` / ``reject`` invoke the stack's decider function (IAM ``lambda:InvokeFunction`` on it
is the operators' allow-list) with channel ``cli`` and a proof of who the caller is: an STS
GetCallerIdentity request the caller's credentials sign for this one decision, which the decider
has STS verify. It records and resolves the answer exactly like a Slack or email one.
"""

from __future__ import annotations

import argparse
import json
import uuid
from typing import Any

from mlopscp.output import EXIT_ATTENTION, EXIT_AWS, CliError, emit_json, say
from mlopscp.stack import StackArgs, add_stack_arguments

STATUSES = ("pending", "approved", "rejected", "expired", "withdrawn")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    approvals = subparsers.add_parser("approvals", help="human approvals: list, approve, reject")
    actions = approvals.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="approvals by status, soonest deadline first")
    listing.add_argument("--status", choices=(*STATUSES, "all"), default="pending")
    listing.add_argument("--model", help="only this model id")
    listing.add_argument("--json", action="store_true", help="the approvals as one JSON array")
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
    if args.json:
        emit_json(found)
        return 0
    for a in found:
        decided = f"  by {a['decided_by']} via {a['channel']}" if a["decided_by"] else ""
        say(
            f"{a['approval_id']}  {a['status']:<9} {a['model_id']:<12} {a['kind']:<10} "
            f"deadline {a['deadline']}  {a['subject']}{decided}"
        )
    if not found:
        say("no approvals" if args.status == "all" else f"no {args.status} approvals")
    return 0


def run_answer(args: argparse.Namespace) -> int:
    stack = StackArgs.from_args(args)
    attempt_id = f"cli:{uuid.uuid4()}"
    request = {
        "channel": "cli",
        "approval_id": args.approval_id,
        "outcome": args.outcome,
        "reason": args.reason,
        "attempt_id": attempt_id,
        "identity": identity_proof(stack, args.approval_id, args.outcome, attempt_id),
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
    if result.get("status") != "recorded":
        raise CliError(f"not recorded: {result.get('why', result)}", exit_code=EXIT_ATTENTION)
    say(f"{args.approval_id}: {result['outcome']} by {result['decided_by']} (channel cli)")
    return 0


def identity_proof(stack: StackArgs, approval_id: str, outcome: str, attempt_id: str) -> dict:
    """Who you are, for this one decision: an STS GetCallerIdentity request your credentials
    sign (SigV4) over a header naming the decision. The decider sends it to STS unchanged and
    records the ARN STS answers with; it is good for minutes, for this decision only."""
    from mlops_core.approvals import identity_binding

    return signed_identity(stack, identity_binding(approval_id, outcome, attempt_id))


def signed_identity(stack: StackArgs, binding: str) -> dict:
    """The identity proof for what ``binding`` names (an approval's decision, an incident's
    control): the signed request, ready for the decider."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from mlops_core.approvals import IDENTITY_BINDING_HEADER, STS_IDENTITY_BODY

    sts = stack.client("sts")
    url = sts.meta.endpoint_url.rstrip("/") + "/"
    request = AWSRequest(
        method="POST",
        url=url,
        data=STS_IDENTITY_BODY,
        headers={
            "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
            IDENTITY_BINDING_HEADER: binding,
        },
    )
    credentials = stack.session().get_credentials()
    if credentials is None:
        raise CliError(
            "no AWS credentials: the decider records who you are from them",
            hint="configure credentials (aws configure, aws sso login, AWS_PROFILE)",
            exit_code=EXIT_AWS,
        )
    SigV4Auth(credentials.get_frozen_credentials(), "sts", sts.meta.region_name).add_auth(request)
    return {"url": url, "headers": dict(request.headers.items()), "body": STS_IDENTITY_BODY}


def run_rotate(args: argparse.Namespace) -> int:
    """Put a new version of the link key secret; Secrets Manager makes it AWSCURRENT and the
    old one AWSPREVIOUS, which the control plane accepts for LINK_KEY_GRACE."""
    import secrets

    stack = StackArgs.from_args(args)
    manager = stack.client("secretsmanager")
    arn = stack.outputs["ApprovalLinkKeySecretArn"]
    old = manager.get_secret_value(SecretId=arn)["VersionId"]
    new = manager.put_secret_value(SecretId=arn, SecretString=secrets.token_urlsafe(48))
    say(f"link key rotated: version {new['VersionId']} signs new links")
    if args.revoke_previous:
        manager.update_secret_version_stage(
            SecretId=arn, VersionStage="AWSPREVIOUS", RemoveFromVersionId=old
        )
        say(f"version {old} revoked: links signed with it are refused (within a minute)")
    else:
        say(f"version {old} still verifies the links it signed for 30 days")
    return 0
