"""Reading monitoring output as its writers emit it: JSON with stray NaN/Infinity, numbers as
floats, ints or strings. Shared by the Model Monitor and Evidently readers."""

from __future__ import annotations

import json
import math
from typing import Any

import orjson


def loads(text: bytes | str) -> object:
    """orjson parses analyzer output 3-4x faster; the stdlib also accepts the bare NaN and
    Infinity some writers emit, so it is the fallback."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def to_float(raw: object) -> float | None:
    """Numbers as writers emit them: floats, ints, and the strings "NaN"/"Infinity"."""
    if type(raw) is float:  # the common case, read hundreds of thousands of times a triage
        return None if raw != raw else raw
    if isinstance(raw, bool) or raw is None:
        return None
    try:
        value = float(raw)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return None if math.isnan(value) else value


def json_problem(name: str, raw: bytes | str) -> tuple[dict[str, Any] | None, str | None]:
    """(document, None), or (None, why ``name`` cannot be read as a JSON object)."""
    if not raw.strip():
        return None, f"{name} is empty"
    try:
        doc = loads(raw)
    except json.JSONDecodeError as error:
        return None, f"{name} is not valid JSON ({error.msg}, line {error.lineno})"
    except ValueError as error:  # not UTF-8, for instance
        return None, f"{name} is not valid JSON ({error})"
    if not isinstance(doc, dict):
        return None, f"{name} is not a JSON object"
    return doc, None
