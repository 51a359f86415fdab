"""The Slack Web API client (slack_sdk's WebClient), built in one place with bounded retries.

slack_sdk retries only a dropped connection by default. We add its own handlers for a rate
limit (HTTP 429: wait ``Retry-After``, but only when that fits in the Lambda's time: a longer
wait fails the call, and the message's other channel still goes) and for Slack being down
(HTTP 500/503), each once, with slack_sdk's jittered backoff. An answer of ``ok: false``
(``invalid_auth``, ``missing_scope``...) is not retried: asking again does not change it.
"""

from __future__ import annotations

from typing import Any

TIMEOUT_SECONDS = 5
MAX_RETRY_AFTER_SECONDS = 5


def web_client(token: str, base_url: str) -> Any:
    from slack_sdk import WebClient
    from slack_sdk.http_retry.builtin_handlers import (
        ConnectionErrorRetryHandler,
        RateLimitErrorRetryHandler,
        ServerErrorRetryHandler,
    )

    class ShortRateLimitRetry(RateLimitErrorRetryHandler):
        def _can_retry(
            self, *, state: Any, request: Any, response: Any = None, error: Any = None
        ) -> bool:
            if not super()._can_retry(state=state, request=request, response=response, error=error):
                return False
            wait = {k.lower(): v for k, v in response.headers.items()}.get("retry-after", ["1"])
            text = wait[0] if isinstance(wait, list) else wait
            return str(text).isdigit() and int(text) <= MAX_RETRY_AFTER_SECONDS

    handlers = [
        ConnectionErrorRetryHandler(max_retry_count=1),
        ShortRateLimitRetry(max_retry_count=1),
        ServerErrorRetryHandler(max_retry_count=1),
    ]
    return WebClient(
        token=token, base_url=base_url, timeout=TIMEOUT_SECONDS, retry_handlers=handlers
    )
