"""A model's first deployment: there is no production endpoint yet, so nothing to replace.

The promotion still runs its quality gate (absolute thresholds only: no production package to
compare with), deploys the candidate to staging and waits for it to serve there, and asks a
human. What it cannot do is a shadow test: a shadow copies production traffic, and there is
none. So the verdict comes from the staging test, and the record, the ledger and the approval
message say plainly that the shadow step was skipped and why. After the approval the
production endpoint is created (data capture, rollback alarms, autoscaling) instead of updated.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

NO_PRODUCTION_VERSION = "none (first deployment)"


def shadow_skipped_reason(endpoint: str, account: str) -> str:
    return (
        f"shadow test skipped: {endpoint} does not exist yet in production account {account}, "
        "so there is no production traffic to copy"
    )


def staging_verdict(
    model_id: str,
    version: int,
    production: Mapping[str, str],
    staging: Mapping[str, str],
    gate: Mapping[str, Any],
    package_arn: str,
    skipped: str | None = None,
    production_version: int | None = None,
) -> dict[str, Any]:
    """The verdict of a first deployment (the shape of a shadow verdict's ``to_dict`` plus the
    approval request): it proceeds to the approvers on the staging test alone. ``skipped``: why
    an existing endpoint (``production_version`` serving) gets no shadow test
    (mlops_core.promotion.endpoint_kinds); the verdict then comes from staging the same way.

    ``production`` / ``staging``: ``endpoint``, ``account``, ``instances`` (a description of the
    fleet to create), ``config`` (staging's endpoint config); ``gate``: the quality gate's
    summary (``reasons``, ``metrics``)."""
    first = skipped is None
    skipped = skipped or shadow_skipped_reason(production["endpoint"], production["account"])
    staged = (
        f"staging test passed: v{version} went InService on {staging['endpoint']} in staging "
        f"account {staging['account']} ({staging['config']})"
    )
    headline = f"{'first deployment, ' if first else ''}{skipped}; {staged}"
    verb = "creates" if first else "updates"
    reasons = [
        skipped,
        staged,
        f"approving {verb} {production['endpoint']} in account {production['account']} "
        f"({production['instances']}) with "
        + production.get("with", "data capture, rollback alarms and autoscaling"),
    ]
    gate_metrics = [
        {k: row[k] for k in ("name", "before", "after", "higher_is_better")}
        for row in gate.get("metrics", [])
    ]
    evidence = {
        "first_deployment": first,
        "shadow_skipped": skipped,
        "staging": dict(staging),
    }
    return {
        "outcome": "staging_passed",
        "proceed": True,
        "headline": headline[:500],
        "reasons": reasons,
        "metrics": gate_metrics[:20],
        "evidence": evidence,
        "approval_request": {
            "title": (
                f"Deploy {model_id} v{version} to production (first deployment)?"
                if first
                else f"Promote {model_id} v{version} to production (no shadow test)?"
            )[:150],
            "versions": {
                "production": NO_PRODUCTION_VERSION if first else f"v{production_version or '?'}",
                "candidate": f"v{version}",
            },
            "verdict": headline[:500],
            "reasons": (reasons + list(gate.get("reasons", [])))[:20],
            "metrics": gate_metrics[:20],
            "evidence": evidence
            | {
                "package_arn": package_arn,
                "endpoint": production["endpoint"],
                "account": production["account"],
            },
        },
    }
