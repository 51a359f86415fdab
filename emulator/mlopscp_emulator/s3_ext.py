"""Cross-account access to moto's S3 as S3 decides it by default.

Bucket names are global, and moto lets any account read any account's bucket. On AWS a request
from another account than the bucket owner's is denied unless the bucket's policy allows it.
This patch does the same: a request reaches a bucket of another account only if the bucket
policy has an ``Allow`` statement naming the caller's account (its id, its root, or any ARN in
it) or ``"*"`` without a condition; anything else is ``AccessDenied``. Actions, resources and
conditions are not evaluated beyond that (one allowing statement admits the account). So a
function that must read a workload account's monitoring output really has to assume that
account's reader role, as on AWS. :func:`install` / :func:`uninstall` apply and remove it; the
:class:`~mlopscp_emulator.Emulator` does both.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from moto.s3.exceptions import S3ClientError
from moto.s3.models import FakeBucket, S3Backend

from mlopscp_emulator._patching import Patches

_patches = Patches()
_installed = False


class CrossAccountAccessDeniedError(S3ClientError):
    def __init__(self, bucket: str, caller: str) -> None:
        super().__init__(
            "AccessDenied",
            f"Access Denied: account {caller} is not the owner of bucket {bucket} and its "
            "bucket policy does not allow it",
        )


def policy_admits(bucket: FakeBucket, account: str) -> bool:
    """Whether the bucket's policy has an Allow statement for ``account`` (see module doc)."""
    if not bucket.policy:
        return False
    raw = bucket.policy.decode() if isinstance(bucket.policy, bytes) else str(bucket.policy)
    statements = json.loads(raw).get("Statement", [])
    for statement in statements if isinstance(statements, list) else [statements]:
        if statement.get("Effect") != "Allow":
            continue
        principal = statement.get("Principal")
        principals = principal.get("AWS", []) if isinstance(principal, dict) else principal
        principals = [principals] if isinstance(principals, str) else principals or []
        if "*" in principals and not statement.get("Condition"):
            return True
        if any(p == account or f":iam::{account}:" in p for p in principals):
            return True
    return False


def _checked(original: Callable[..., Any]) -> Callable[..., Any]:
    def get_bucket(backend: S3Backend, bucket_name: str) -> Any:
        bucket = original(backend, bucket_name)
        owner = getattr(bucket, "account_id", backend.account_id)
        if owner != backend.account_id and not policy_admits(bucket, backend.account_id):
            raise CrossAccountAccessDeniedError(bucket_name, backend.account_id)
        return bucket

    return get_bucket


def install() -> None:
    """Apply the patch (idempotent)."""
    global _installed
    if not _installed:
        original = _patches.set(S3Backend, "get_bucket", None)
        _patches.set(S3Backend, "get_bucket", _checked(original))
        _installed = True


def uninstall() -> None:
    global _installed
    _patches.undo()
    _installed = False
