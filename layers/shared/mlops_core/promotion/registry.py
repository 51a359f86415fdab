"""Registry access: the model package group's resource policy that lets the target accounts read
the packages they deploy."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

POLICY_SID_PREFIX = "MlopscpPromotion"


def group_policy(
    existing: str | None, group_arn: str, package_arn_prefix: str, accounts: Iterable[str]
) -> str:
    """The model package group's resource policy with the control plane's statements set to
    let ``accounts`` read the group's packages (and so create models from them); statements
    someone else wrote are kept as they are."""
    document: dict[str, Any] = json.loads(existing) if existing else {}
    statements: Any = document.get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    kept: list[Any] = [
        s for s in statements if not str(s.get("Sid", "")).startswith(POLICY_SID_PREFIX)
    ]
    principals = sorted({f"arn:aws:iam::{account}:root" for account in accounts})
    ours = [
        {
            "Sid": f"{POLICY_SID_PREFIX}Group",
            "Effect": "Allow",
            "Principal": {"AWS": principals},
            "Action": ["sagemaker:DescribeModelPackageGroup"],
            "Resource": group_arn,
        },
        {
            "Sid": f"{POLICY_SID_PREFIX}Packages",
            "Effect": "Allow",
            "Principal": {"AWS": principals},
            "Action": ["sagemaker:DescribeModelPackage", "sagemaker:ListModelPackages"],
            "Resource": f"{package_arn_prefix}/*",
        },
    ]
    document["Statement"] = kept + ours
    document.setdefault("Version", "2012-10-17")
    return json.dumps(document, sort_keys=True)
