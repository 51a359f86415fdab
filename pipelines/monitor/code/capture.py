"""Endpoint data capture and ground truth, read into rows: the monitor job's input side.

Standard library only (boto3 is imported when an s3:// location is read), so the parsing and
window logic are tested without Evidently, and run the same in the job and on a laptop.

Data capture writes JSON Lines under ``<capture>/<endpoint>/<variant>/<yyyy>/<mm>/<dd>/<hh>/``,
one record per request::

    {"captureData": {"endpointInput": {"observedContentType": "text/csv", "mode": "INPUT",
                                       "data": "1,2,3", "encoding": "CSV"},
                     "endpointOutput": {... "mode": "OUTPUT", "data": "0.7", ...}},
     "eventMetadata": {"eventId": "...", "inferenceId": "...", "inferenceTime": "..."},
     "eventVersion": "0"}

``encoding`` is CSV, JSON or BASE64 (then ``observedContentType`` says what the bytes are).
Ground truth (Model Monitor's format) lies under ``<ground truth>/<yyyy>/<mm>/<dd>/<hh>/``::

    {"groundTruthData": {"data": "1", "encoding": "CSV"}, "eventMetadata": {"eventId": "..."},
     "eventVersion": "0"}

where ``eventId`` is the capture's ``inferenceId`` (or its ``eventId`` when the caller sent no
inference id). Untrusted content never raises: a record we cannot read is counted and skipped.
"""

from __future__ import annotations

import base64
import binascii
import csv
import io
import json
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

HOUR = timedelta(hours=1)
_HOUR_PATH = re.compile(r"(?:^|/)(\d{4})/(\d{2})/(\d{2})/(\d{2})(?:/|$)")
# Keys under which JSON requests and responses commonly nest their rows (TensorFlow Serving,
# the SageMaker built-in algorithms, scikit-learn and PyTorch containers).
_ROW_KEYS = ("instances", "inputs", "data", "features")
_PREDICTION_KEYS = ("predictions", "prediction", "scores", "score", "outputs", "output")
_VALUE_KEYS = ("score", "probability", "prediction", "predicted_value", "predicted_label", "label")


# ---------------------------------------------------------------- time and windows


def parse_time(text: str) -> datetime:
    """An ISO-8601 time as UTC; a time without a zone is taken as UTC."""
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    parsed = datetime.fromisoformat(value)
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def floor_hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


@dataclass(frozen=True, order=True)
class Window:
    """Captured requests with ``start <= inferenceTime < end``."""

    start: datetime
    end: datetime

    def holds(self, moment: datetime) -> bool:
        return self.start <= moment < self.end

    @property
    def folder(self) -> str:
        """``<yyyy>/<mm>/<dd>/<hh>`` of the window's end: where its report goes."""
        return self.end.strftime("%Y/%m/%d/%H")

    def __str__(self) -> str:
        return f"{iso(self.start)}..{iso(self.end)}"


def windows(end: datetime, hours: int, count: int = 1) -> list[Window]:
    """``count`` consecutive windows of ``hours`` ending at ``end``, oldest first."""
    if hours < 1 or count < 1:
        raise ValueError("window hours and window count must be at least 1")
    length = timedelta(hours=hours)
    return [
        Window(end - (count - i) * length, end - (count - 1 - i) * length) for i in range(count)
    ]


def scheduled_window_end(run_time: datetime, offset_hours: int = 0) -> datetime:
    """The end of the newest whole hour before ``run_time``, moved back ``offset_hours``: a run
    at 11:05 looks at the hour that ended at 11:00 (or earlier, to wait for late data)."""
    if offset_hours < 0:
        raise ValueError("the window offset cannot be negative")
    return floor_hour(run_time) - timedelta(hours=offset_hours)


def hour_prefixes(start: datetime, end: datetime) -> list[str]:
    """``yyyy/mm/dd/hh`` of every hour that overlaps ``[start, end)``."""
    hours, moment = [], floor_hour(start)
    while moment < end:
        hours.append(moment.strftime("%Y/%m/%d/%H"))
        moment += HOUR
    return hours


# ---------------------------------------------------------------- reading locations


def is_s3(location: str) -> bool:
    return location.startswith("s3://")


def split_s3(uri: str) -> tuple[str, str]:
    parsed = urlparse(uri)
    if parsed.scheme != "s3" or not parsed.netloc:
        raise ValueError(f"not an s3:// location: {uri}")
    return parsed.netloc, parsed.path.lstrip("/")


def _s3() -> Any:
    import boto3  # only where S3 is read: local runs and unit tests need no AWS SDK

    return boto3.client("s3")


def list_files(location: str, suffixes: tuple[str, ...], hours: Iterable[str] = ()) -> list[str]:
    """Files under ``location`` ending in one of ``suffixes``, sorted. On S3 with ``hours``, only
    the ``<hour>/`` prefixes under it are listed, so the cost follows the window, not the
    history; locally the whole folder is walked (the window filters records later)."""
    if not is_s3(location):
        root = Path(location)
        if root.is_file():
            return [str(root)]
        return sorted(str(p) for p in root.rglob("*") if p.is_file() and p.name.endswith(suffixes))
    bucket, key = split_s3(location)
    base = key.rstrip("/") + "/" if key else ""
    prefixes = [f"{base}{hour}/" for hour in hours] or [base]
    paginator = _s3().get_paginator("list_objects_v2")
    found = [
        f"s3://{bucket}/{item['Key']}"
        for prefix in prefixes
        for page in paginator.paginate(Bucket=bucket, Prefix=prefix)
        for item in page.get("Contents", [])
        if item["Key"].endswith(suffixes)
    ]
    return sorted(found)


def read_bytes(location: str) -> bytes:
    if not is_s3(location):
        return Path(location).read_bytes()
    bucket, key = split_s3(location)
    body: bytes = _s3().get_object(Bucket=bucket, Key=key)["Body"].read()
    return body


def write_bytes(location: str, body: bytes, content_type: str = "application/json") -> None:
    if not is_s3(location):
        Path(location).parent.mkdir(parents=True, exist_ok=True)
        Path(location).write_bytes(body)
        return
    bucket, key = split_s3(location)
    _s3().put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type)


def join(location: str, *parts: str) -> str:
    if is_s3(location):
        return "/".join([location.rstrip("/"), *parts])
    return os.path.join(location, *parts)


def capture_files(capture: str, endpoint: str, variant: str, span: list[Window]) -> list[str]:
    """The capture files that can hold the span's requests. Data capture files a request under
    the hour its file was opened, which can be the hour before the request's own: one hour on
    either side is listed, and each record's ``inferenceTime`` decides its window."""
    suffixes = (".jsonl", ".json")
    if not is_s3(capture):
        root = Path(capture, endpoint, variant) if endpoint else Path(capture)
        return list_files(str(root if root.exists() else capture), suffixes)
    if not endpoint:
        raise ValueError("reading data capture from S3 needs the endpoint name")
    hours = hour_prefixes(span[0].start - HOUR, span[-1].end + HOUR)
    base = join(capture, endpoint)
    variants = [variant] if variant else _children(base)
    return sorted(f for v in variants for f in list_files(join(base, v), suffixes, hours))


def _children(location: str) -> list[str]:
    bucket, key = split_s3(location)
    prefix = key.rstrip("/") + "/"
    pages = (
        _s3().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix, Delimiter="/")
    )
    return [
        p["Prefix"][len(prefix) :].rstrip("/")
        for page in pages
        for p in page.get("CommonPrefixes", [])
    ]


def hour_of(path: str) -> datetime | None:
    """The ``yyyy/mm/dd/hh`` hour a capture file's path names, if it names one."""
    matches = list(_HOUR_PATH.finditer(path))  # the last: a prefix above may hold dates too
    if not matches:
        return None
    match = matches[-1]
    try:
        return datetime(*(int(part) for part in match.groups()), tzinfo=UTC)  # type: ignore[misc]
    except ValueError:
        return None


# ---------------------------------------------------------------- payloads


def decode_payload(payload: Any) -> tuple[str, str] | None:
    """``(format, text)`` of a capture or ground-truth payload: format is ``csv`` or ``json``.
    BASE64 is decoded, and its ``observedContentType`` says which of the two it holds."""
    if not isinstance(payload, dict) or not isinstance(payload.get("data"), str):
        return None
    data, encoding = payload["data"], str(payload.get("encoding", "CSV")).upper()
    content_type = str(payload.get("observedContentType", "")).lower()
    if encoding == "BASE64":
        try:
            data = base64.b64decode(data, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        encoding = "JSON" if "json" in content_type else "CSV"
    if encoding == "JSON" or (encoding not in ("CSV",) and "json" in content_type):
        return "json", data
    return "csv", data


def _cell(text: str) -> Any:
    """A CSV cell: a number where it reads as one, None where empty, else the text."""
    stripped = text.strip()
    if stripped == "":
        return None
    try:
        return float(stripped)
    except ValueError:
        return stripped


def _csv_rows(text: str) -> list[list[Any]]:
    return [[_cell(c) for c in row] for row in csv.reader(io.StringIO(text.strip())) if row]


def input_rows(payload: Any, columns: list[str]) -> list[dict[str, Any]] | None:
    """A request's rows as ``{column: value}``; None if it cannot be read.

    CSV and JSON lists are positional (the baseline's column order, as the model reads them);
    a cell past a row's end is absent. JSON objects are matched by name, and unknown names are
    kept, so a renamed column shows up as one missing and one new.
    """
    decoded = decode_payload(payload)
    if decoded is None:
        return None
    kind, text = decoded
    if kind == "csv":
        return [dict(zip(columns, row, strict=False)) for row in _csv_rows(text)]
    try:
        body = json.loads(text)
    except ValueError:
        return None
    return _json_rows(body, columns)


def _json_rows(body: Any, columns: list[str]) -> list[dict[str, Any]] | None:
    if isinstance(body, dict):
        nested = next((body[k] for k in _ROW_KEYS if k in body), None)
        if nested is None:
            return [body]  # one row by name
        body = nested
    if isinstance(body, list) and body and all(isinstance(item, dict | list) for item in body):
        rows = []
        for item in body:
            if isinstance(item, dict) and isinstance(item.get("features"), list):
                item = item["features"]
            rows.append(item if isinstance(item, dict) else dict(zip(columns, item, strict=False)))
        return rows
    if isinstance(body, list):
        return [dict(zip(columns, body, strict=False))]  # one row of values
    return None


def output_values(payload: Any) -> list[Any] | None:
    """One prediction per request row, read from a response; None if it cannot be read."""
    decoded = decode_payload(payload)
    if decoded is None:
        return None
    kind, text = decoded
    if kind == "csv":
        rows = _csv_rows(text)
        # One value per line (a batch), or one line of values (one row's several outputs: the
        # first is taken, as Model Monitor's inference attribute 0 would).
        return [row[0] for row in rows] if rows and len(rows) > 1 else (rows[0][:1] if rows else [])
    try:
        return _json_values(json.loads(text))
    except ValueError:
        return None


def _json_values(body: Any) -> list[Any] | None:
    if isinstance(body, dict):
        key = next((k for k in _PREDICTION_KEYS if k in body), None)
        if key is None:
            return [_scalar(body)]
        body = body[key]
    if isinstance(body, list):
        return [_scalar(item) for item in body]
    return [_scalar(body)]


def _scalar(value: Any) -> Any:
    if isinstance(value, dict):
        key = next((k for k in _VALUE_KEYS if k in value), None)
        return _scalar(value[key]) if key else None
    if isinstance(value, list):
        return _scalar(value[0]) if len(value) == 1 else None
    return value


def label_values(payload: Any) -> list[Any] | None:
    """The label(s) of a ground-truth record: one per row of the request it answers."""
    decoded = decode_payload(payload)
    if decoded is None:
        return None
    kind, text = decoded
    if kind == "csv":
        cells = [cell for row in _csv_rows(text) for cell in row]
        return cells or None
    try:
        return _json_values(json.loads(text))
    except ValueError:
        return None


# ---------------------------------------------------------------- records


@dataclass
class Captured:
    """What a window's capture held, and what could not be used (reported, never raised)."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    records: int = 0
    unreadable: int = 0
    outside_window: int = 0
    predictions_missing: int = 0
    labelled: int = 0


def read_jsonl(locations: Iterable[str]) -> Iterator[tuple[str, Any]]:
    """``(file, record)`` for every line of every file; a line that is not JSON yields None."""
    for location in locations:
        for line in read_bytes(location).decode("utf-8", errors="replace").splitlines():
            if not line.strip():
                continue
            try:
                yield location, json.loads(line)
            except ValueError:
                yield location, None


def record_time(record: dict[str, Any], fallback: datetime | None) -> datetime | None:
    stamp = (record.get("eventMetadata") or {}).get("inferenceTime")
    if isinstance(stamp, str):
        try:
            return parse_time(stamp)
        except ValueError:
            return fallback
    return fallback


def join_key(record: dict[str, Any]) -> str | None:
    """What ground truth names a captured request by: its inferenceId, else its eventId."""
    metadata = record.get("eventMetadata") or {}
    key = metadata.get("inferenceId") or metadata.get("eventId")
    return str(key) if key else None


def read_ground_truth(locations: Iterable[str]) -> dict[str, list[Any]]:
    """``{eventId: labels}``; a label uploaded again later replaces the earlier one."""
    labels: dict[str, list[Any]] = {}
    for _, record in read_jsonl(locations):
        if not isinstance(record, dict):
            continue
        event_id = (record.get("eventMetadata") or {}).get("eventId")
        values = label_values(record.get("groundTruthData"))
        if event_id and values:
            labels[str(event_id)] = values
    return labels


def collect(
    files: Iterable[str],
    span: list[Window],
    columns: list[str],
    labels: dict[str, list[Any]] | None = None,
    prediction_column: str = "prediction",
    target_column: str = "label",
) -> dict[Window, Captured]:
    """Every captured row of every window in ``span``, with its prediction and, where ground
    truth names the request, its label."""
    found = {window: Captured() for window in span}
    outside = Captured()
    for location, record in read_jsonl(files):
        if not isinstance(record, dict) or not isinstance(record.get("captureData"), dict):
            outside.unreadable += 1
            continue
        moment = record_time(record, hour_of(location))
        window = next((w for w in span if moment and w.holds(moment)), None)
        if window is None:
            outside.outside_window += 1
            continue
        _add(found[window], record, columns, labels, prediction_column, target_column)
    first = found[span[0]]
    first.unreadable += outside.unreadable
    first.outside_window += outside.outside_window
    return found


def _add(
    into: Captured,
    record: dict[str, Any],
    columns: list[str],
    labels: dict[str, list[Any]] | None,
    prediction_column: str,
    target_column: str,
) -> None:
    capture = record["captureData"]
    rows = input_rows(capture.get("endpointInput"), columns)
    if not rows:
        into.unreadable += 1
        return
    into.records += 1
    predictions = output_values(capture.get("endpointOutput"))
    if predictions is None or len(predictions) != len(rows):
        into.predictions_missing += len(rows)
        predictions = None
    key = join_key(record)
    truth = labels.get(key) if labels is not None and key else None
    if truth is not None and len(truth) != len(rows):
        truth = None
    for i, row in enumerate(rows):
        if predictions is not None:
            row[prediction_column] = predictions[i]
        if truth is not None:
            row[target_column] = truth[i]
            into.labelled += 1
        into.rows.append(row)
