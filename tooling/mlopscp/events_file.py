"""EventBridge event files as the tooling reads them (`mlopscp replay EVENT.json`, tests): one
JSON object that is an envelope (source, detail-type, detail), whose ``time`` may be ISO 8601 or
epoch milliseconds (AWS sends both: CloudWatch alarm events carry "1785112800000").

Anything else is a `CliError` naming the file and what is wrong, before anything runs.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mlopscp.output import CliError

ENVELOPE_KEYS = ("source", "detail-type", "detail")
# Seconds since 1970 stay below this until the year 5138; milliseconds passed it in 1973.
_MS_THRESHOLD = 100_000_000_000


def load_event(path: Path) -> dict[str, Any]:
    """The envelope in `path`, with ``time`` (if any) checked to be a time AWS would send."""
    try:
        text = path.read_text()
    except OSError as error:
        raise CliError(f"cannot read {path}: {error.strerror or error}") from None
    try:
        event = json.loads(text)
    except ValueError as error:
        raise CliError(f"{path} is not JSON: {error}") from None
    return check_envelope(event, str(path))


def check_envelope(event: Any, name: str = "the event") -> dict[str, Any]:
    hint = "an EventBridge envelope: {source, detail-type, detail, ...} (see events/)"
    if not isinstance(event, dict):
        raise CliError(f"{name} is not an event envelope (a {type(event).__name__})", hint=hint)
    missing = [key for key in ENVELOPE_KEYS if key not in event]
    if missing:
        extra = " (it looks like a bare detail)" if "detail" in missing and event else ""
        raise CliError(
            f"{name} is not an event envelope: no {', '.join(missing)}{extra}", hint=hint
        )
    if not isinstance(event["detail"], dict):
        raise CliError(f"{name}: detail must be a JSON object", hint=hint)
    if event.get("time") not in (None, ""):
        try:
            parse_time(event["time"])
        except (TypeError, ValueError, OverflowError):
            raise CliError(
                f"{name}: time {event['time']!r} is neither ISO 8601 nor epoch milliseconds"
            ) from None
    return event


def parse_time(value: str | float | datetime) -> datetime:
    """An event time as AWS writes it: ISO 8601 ("2026-07-27T01:00:00Z") or epoch
    milliseconds (1785112800000 or "1785112800000"); epoch seconds are accepted too."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = value / 1000 if abs(value) >= _MS_THRESHOLD else value
        return datetime.fromtimestamp(seconds, UTC)
    if not isinstance(value, str):
        raise TypeError(f"not a time: {value!r}")
    parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
