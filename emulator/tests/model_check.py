"""A response checked against botocore's output shape: what botocore's own validator does for
requests (``botocore.validate``), done for what a fake answers.

``problems(shape, value)`` walks a parsed response (``datetime`` timestamps, ``bytes`` blobs) and
names every member that AWS's model would not produce: a required member missing, a value of
the wrong type, a string outside its enum, a timestamp without a time zone or outside
2000-2100, a list or string longer or shorter than the model allows, and (with ``unknown=True``,
for the raw result a fake hands to moto's serialiser, which drops such members silently) a
member the model does not define (only that: the wire check sees the values). Each problem
is ``"<path>: <what>"``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from botocore.model import ListShape, MapShape, Shape, StructureShape

_EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
_LATEST = datetime(2100, 1, 1, tzinfo=UTC)
_NUMBERS = {"integer": int, "long": int, "float": (int, float), "double": (int, float)}


def problems(shape: Shape | None, value: Any, path: str = "", unknown: bool = False) -> list[str]:
    if shape is None:
        return []
    where = path or "<response>"
    kind = shape.type_name
    if isinstance(shape, StructureShape):
        return _structure(shape, value, path, unknown)
    if unknown and not isinstance(value, dict | list | tuple):
        return []  # the raw result: only members matter, the wire check sees the values
    if isinstance(shape, ListShape):
        if unknown:
            return [
                e
                for i, v in enumerate(value)
                for e in problems(shape.member, v, f"{path}[{i}]", True)
            ]
        if not isinstance(value, list):
            return [f"{where}: a list expected, got {type(value).__name__}"]
        found = _length(shape, len(value), where)
        for index, item in enumerate(value):
            found += problems(shape.member, item, f"{path}[{index}]", unknown)
        return found
    if isinstance(shape, MapShape):
        if unknown:
            return [
                e
                for k, v in value.items()
                for e in problems(shape.value, v, f"{path}[{k!r}]", True)
            ]
        if not isinstance(value, dict):
            return [f"{where}: a map expected, got {type(value).__name__}"]
        found = []
        for key, item in value.items():
            found += problems(shape.key, key, f"{path}.<key>", unknown)
            found += problems(shape.value, item, f"{path}[{key!r}]", unknown)
        return found
    if kind == "string":
        if not isinstance(value, str):
            return [f"{where}: a string expected, got {type(value).__name__} {value!r}"]
        enum = shape.enum
        if enum and value not in enum:
            return [f"{where}: {value!r} is not one of the model's values {sorted(enum)}"]
        return _length(shape, len(value), where)
    if kind == "boolean":
        ok = isinstance(value, bool)
        return [] if ok else [f"{where}: a boolean expected, got {value!r}"]
    if kind in _NUMBERS:
        ok = isinstance(value, _NUMBERS[kind]) and not isinstance(value, bool)
        return [] if ok else [f"{where}: {kind} expected, got {type(value).__name__} {value!r}"]
    if kind == "timestamp":
        return _timestamp(value, where)
    if kind == "blob":
        ok = isinstance(value, bytes | bytearray | str) or hasattr(value, "read")
        return [] if ok else [f"{where}: a blob expected, got {type(value).__name__}"]
    return []


def _structure(shape: StructureShape, value: Any, path: str, unknown: bool) -> list[str]:
    where = path or "<response>"
    if not isinstance(value, dict):
        if unknown:  # a moto object: its serialiser picks the modelled attributes only
            return []
        return [f"{where}: a structure expected, got {type(value).__name__}"]
    members = shape.members
    found = [
        f"{path + '.' if path else ''}{name}: required by the model, missing"
        for name in shape.required_members
        if value.get(name) is None and not unknown
    ]
    for name, item in value.items():
        member_path = f"{path + '.' if path else ''}{name}"
        if name not in members:
            if unknown or (path or name != "ResponseMetadata"):
                found.append(f"{member_path}: not a member of {shape.name} in the model")
            continue
        if item is None and unknown:
            continue  # moto's serialiser leaves out None
        found += problems(members[name], item, member_path, unknown)
    return found


def _length(shape: Shape, length: int, where: str) -> list[str]:
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    if low is not None and length < low:
        return [f"{where}: length {length} below the model's min {low}"]
    if high is not None and length > high:
        return [f"{where}: length {length} above the model's max {high}"]
    return []


def _timestamp(value: Any, where: str) -> list[str]:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return [f"{where}: {value!r} is not a timestamp"]
    elif isinstance(value, int | float) and not isinstance(value, bool):
        value = datetime.fromtimestamp(value, UTC)
    if not isinstance(value, datetime):
        return [f"{where}: a timestamp expected, got {type(value).__name__}"]
    if value.tzinfo is None:
        return [f"{where}: timestamp {value} has no time zone"]
    if not _EARLIEST <= value < _LATEST:
        return [f"{where}: timestamp {value} is not a plausible time"]
    return []
