"""Where a message's "View details" links go: AWS console pages built from ARNs and S3 URIs
the control plane holds, and https links from a model's configuration (its runbook).

Every link is percent-encoded to characters that no channel reads as markup (no space, quote,
``<``, ``>``, ``|``), so Slack's ``<url|label>``, an email line and an HTML attribute all carry
it as one unbroken URL.
"""

from __future__ import annotations

import re
from urllib.parse import quote, urlsplit

_ARN = re.compile(r"^arn:aws[a-z-]*:states:([a-z0-9-]+):\d{12}:execution:[^\s]+$")
_S3_URI = re.compile(r"^s3://([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:/(.*))?$")
_SAFE = "/:?=&#%@+,;~!$*()'.-_"  # quote()'s extra safe set; never ' ', '"', '<', '>', '|', '`'
_URL_SAFE = _SAFE.replace("'", "").replace("*", "")


LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})  # the local stack serves plain http


def safe_url(url: str) -> str:
    """``url`` if it is an https URL with a host (or http on loopback: the emulator's Function
    URLs), percent-encoded to markup-free characters; "" for anything else (http elsewhere,
    javascript:, a bare word)."""
    parts = urlsplit(str(url).strip())
    local = parts.scheme == "http" and parts.hostname in LOOPBACK
    if not (parts.scheme == "https" or local) or not parts.hostname:
        return ""
    return quote(str(url).strip(), safe=_URL_SAFE)


def execution_console_url(execution_arn: str) -> str:
    """The Step Functions console page of one execution ("" for anything not such an ARN)."""
    match = _ARN.match(execution_arn or "")
    if not match:
        return ""
    region = match.group(1)
    return safe_url(
        f"https://{region}.console.aws.amazon.com/states/home?region={region}"
        f"#/v2/executions/details/{execution_arn}"
    )


def s3_console_url(uri: str, region: str = "") -> str:
    """The S3 console page of an object or prefix given as ``s3://bucket/key``."""
    match = _S3_URI.match(uri or "")
    if not match:
        return ""
    bucket, key = match.group(1), match.group(2) or ""
    query = f"region={region}&" if region else ""
    kind = "object" if key and not key.endswith("/") else "buckets"
    return safe_url(
        f"https://s3.console.aws.amazon.com/s3/{kind}/{bucket}?{query}prefix={quote(key, safe='/')}"
    )
