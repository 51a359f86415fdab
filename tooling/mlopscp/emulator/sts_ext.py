"""Trust policies for moto's AssumeRole: the target account's principal list and ExternalId.

moto lets anyone assume any role, existing or not. For a role that EXISTS in the emulated IAM
of its account (for instance the deployer role accounts/target-account.yaml creates), this
checks its trust policy the way STS does for cross-account callers: an ``Allow`` statement for
``sts:AssumeRole`` whose ``Principal.AWS`` names the caller's account (``arn:aws:iam::<id>:root``
or the bare id) and whose ``StringEquals`` ``sts:ExternalId`` condition, if any, matches the
ExternalId sent. Anything else is ``AccessDenied``, as AWS answers. Roles that do not exist
keep moto's behaviour (the emulator's own ``emu.client(account=...)`` relies on it).
Principal ARN conditions (``aws:PrincipalArn``) are not evaluated: moto's callers are not roles.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from moto.core.exceptions import ServiceException
from moto.iam.models import iam_backends
from moto.sts.models import STSBackend

from mlopscp.emulator._patching import Patches

_patches = Patches()
_installed = False


class AccessDenied(ServiceException):
    code = "AccessDenied"


def refusal(
    trust_policy: dict[str, Any], caller_account: str, external_id: str | None, role_arn: str
) -> str | None:
    """Why the trust policy does not let ``caller_account`` assume the role (None: it does)."""
    statements = trust_policy.get("Statement", [])
    for statement in statements if isinstance(statements, list) else [statements]:
        actions = statement.get("Action", [])
        actions = [actions] if isinstance(actions, str) else actions
        if statement.get("Effect") != "Allow" or "sts:AssumeRole" not in actions:
            continue
        principals = (statement.get("Principal") or {}).get("AWS", [])
        principals = [principals] if isinstance(principals, str) else principals
        if not any(
            p in (caller_account, f"arn:aws:iam::{caller_account}:root")
            or p.startswith(f"arn:aws:iam::{caller_account}:")
            for p in principals
        ):
            continue
        wanted = ((statement.get("Condition") or {}).get("StringEquals") or {}).get(
            "sts:ExternalId"
        )
        if wanted is None:
            return None
        wanted = [wanted] if isinstance(wanted, str) else wanted
        if external_id in wanted:
            return None
        return (
            f"User: arn:aws:iam::{caller_account}:root is not authorized to perform: "
            f"sts:AssumeRole on resource: {role_arn} (ExternalId does not match)"
        )
    return (
        f"User: arn:aws:iam::{caller_account}:root is not authorized to perform: "
        f"sts:AssumeRole on resource: {role_arn}"
    )


def _checked(original: Callable[..., Any]) -> Callable[..., Any]:
    def assume_role(backend: STSBackend, **kwargs: Any) -> Any:
        role_arn = str(kwargs.get("role_arn", ""))
        parts = role_arn.split(":")
        if len(parts) == 6 and parts[5].startswith("role/"):
            role = _existing_role(parts[4], parts[5].rsplit("/", 1)[-1])
            if role is not None:
                policy = role.assume_role_policy_document
                document = json.loads(unquote(policy)) if isinstance(policy, str) else policy
                why = refusal(
                    document or {}, backend.account_id, kwargs.get("external_id"), role_arn
                )
                if why:
                    raise AccessDenied(why)
        return original(backend, **kwargs)

    return assume_role


def _existing_role(account: str, name: str) -> Any:
    backend = iam_backends[account]["aws"]
    return next((r for r in backend.roles.values() if r.name == name), None)


def install() -> None:
    """Apply the patch (idempotent)."""
    global _installed
    if not _installed:
        original = _patches.set(STSBackend, "assume_role", None)
        _patches.set(STSBackend, "assume_role", _checked(original))
        _installed = True


def uninstall() -> None:
    global _installed
    _patches.undo()
    _installed = False
