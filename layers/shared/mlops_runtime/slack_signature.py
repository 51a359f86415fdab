"""Slack's request signature (v0): did Slack sign this body at this timestamp with our secret.

One check for the approval callback's door and the decider. The signature is computed by
slack_sdk; the comparison is constant-time over bytes, so a header of any text (non-ASCII
included) is a mismatch, never an exception. The timestamp's freshness is the caller's: each
judges it against its own window and clock, and says so when it is stale.
"""

from __future__ import annotations

import hmac


def slack_signature_matches(secret: str, timestamp: str, body: str, signature: str) -> bool:
    from slack_sdk.signature import SignatureVerifier

    try:
        expected = SignatureVerifier(secret).generate_signature(timestamp=timestamp, body=body)
    except UnicodeEncodeError:  # a body with lone surrogates: no HTTP client sent it
        return False
    given = signature.encode("utf-8", "surrogatepass")
    return bool(expected) and hmac.compare_digest(str(expected).encode(), given)
