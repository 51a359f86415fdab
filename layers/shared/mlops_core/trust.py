"""The trust boundary of every intake: which account may speak about a model, and which S3
locations triage may read for it.

An event is data from whoever could put it on a bus the control plane listens to. It may name a
model, but only the account that model is configured in may act on it (a workload account never
causes another model's retrain, incident or promotion), and it never chooses a location outside
what the model's configuration names. Each check returns why it refuses, or None.
"""

from __future__ import annotations

S3_SCHEME = "s3://"


def account_refusal(
    event_account: str | None, name: str, owner_account: str, what: str = "model"
) -> str | None:
    """Why an event from ``event_account`` may not act on ``what`` ``name``, which belongs to
    ``owner_account`` (a model: the account it is configured in)."""
    if not event_account:
        return f"the event names no source account: it may not act on {what} {name}"
    if event_account != owner_account:
        return (
            f"an event from account {event_account} may not act on {what} {name}, which "
            f"belongs to account {owner_account}"
        )
    return None


def arn_account(arn: str) -> str:
    """The account field of an ARN ("" if it has none)."""
    parts = arn.split(":")
    return parts[4] if len(parts) >= 6 and parts[0] == "arn" else ""


def resource_refusal(event_account: str | None, arn: str, what: str) -> str | None:
    """Why an event may not speak about a resource of another account than its own."""
    owner = arn_account(arn)
    if owner and owner == event_account:
        return None
    return (
        f"an event from account {event_account} may not act on {what} {arn}, which belongs to "
        f"account {owner or 'unknown'}"
    )


def normalised(uri: str) -> tuple[str, str] | None:
    """``(bucket, key prefix without trailing slash)``; None if it is not a plain s3:// URI
    (no bucket, relative segments, empty segments: nothing S3 would treat as one path)."""
    if not uri.startswith(S3_SCHEME):
        return None
    bucket, _, key = uri.removeprefix(S3_SCHEME).partition("/")
    key = key.rstrip("/")
    parts = key.split("/") if key else []
    if not bucket or any(p in ("", ".", "..") for p in parts):
        return None
    return bucket, key


def is_under(uri: str, root: str) -> bool:
    """Whether ``uri`` is ``root`` or a prefix below it, folder by folder (``.../churn-prod``
    does not contain ``.../churn-prod-copy``)."""
    inner, outer = normalised(uri), normalised(root)
    if inner is None or outer is None or inner[0] != outer[0]:
        return False
    key, base = inner[1], outer[1]
    return not base or key == base or key.startswith(base + "/")


def location_refusal(uri: str, configured: str | None, model_id: str) -> str | None:
    """Why triage may not read ``uri``, a location an event (or the intake) supplied, for a
    model whose configuration names ``configured`` (None: it names none)."""
    if configured is None:
        return (
            f"model {model_id} configures no monitoring_output_uri: an event may not choose "
            f"where triage reads ({uri})"
        )
    if not is_under(uri, configured):
        return (
            f"{uri} is outside model {model_id}'s configured monitoring location {configured}: "
            "triage reads only that prefix or a prefix under it"
        )
    return None
