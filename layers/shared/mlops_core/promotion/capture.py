"""Data capture: SageMaker's captured requests and responses read as predictions, and production's
and the shadow's predictions paired and compared (the agreement the shadow verdict weighs)."""

from __future__ import annotations

import base64
import binascii
import csv
import hashlib
import io
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from mlops_core.promotion.metrics import finite_number
from mlops_core.promotion.verdict import AgreementStats, ShadowPolicy


@dataclass(frozen=True, slots=True)
class CapturedPrediction:
    """One data-capture line: the keys it can be paired by and the prediction it returned."""

    keys: tuple[tuple[str, str], ...]  # ("inference", id), ("event", id), ("input", digest)
    prediction: tuple[Any, ...] | None  # None: the output could not be read


def parse_capture_line(line: str) -> CapturedPrediction | None:
    """A SageMaker data-capture JSON line (``captureData.endpointInput/endpointOutput`` with
    ``data`` and ``encoding`` CSV | JSON | BASE64, ``eventMetadata``). None: not a record."""
    try:
        record = json.loads(line)
    except ValueError:
        return None
    if not isinstance(record, dict) or not isinstance(record.get("captureData"), dict):
        return None
    capture = record["captureData"]
    metadata = _mapping(record.get("eventMetadata"))
    keys: list[tuple[str, str]] = []
    if metadata.get("inferenceId"):
        keys.append(("inference", str(metadata["inferenceId"])))
    if metadata.get("eventId"):
        keys.append(("event", str(metadata["eventId"])))
    request = _mapping(capture.get("endpointInput"))
    if request.get("data") is not None:
        digest = hashlib.sha256(
            f"{request.get('observedContentType', '')}|{request['data']}".encode()
        ).hexdigest()
        keys.append(("input", digest))
    output = capture.get("endpointOutput")
    prediction = _prediction(output) if isinstance(output, dict) else None
    return CapturedPrediction(tuple(keys), prediction)


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _prediction(output: Mapping[str, Any]) -> tuple[Any, ...] | None:
    data, encoding = output.get("data"), str(output.get("encoding", "")).upper()
    if not isinstance(data, str):
        return None
    if encoding == "BASE64":
        try:
            data = base64.b64decode(data, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None
        encoding = "JSON" if "json" in str(output.get("observedContentType", "")) else "CSV"
    if encoding == "JSON":
        try:
            return tuple(_values(json.loads(data)))
        except ValueError:
            return None
    rows = list(csv.reader(io.StringIO(data.strip())))
    return tuple(_scalar(cell) for row in rows for cell in row) if rows else None


def _values(payload: Any) -> list[Any]:
    """The prediction values of a JSON response, however the container wraps them."""
    if isinstance(payload, Mapping):
        for key in ("predictions", "prediction", "scores", "score", "outputs", "output", "label"):
            if key in payload:
                return _values(payload[key])
        return [payload[k] for k in sorted(payload) if finite_number(payload[k]) is not None]
    if isinstance(payload, list):
        return [value for item in payload for value in _values(item)]
    return [payload]


def _scalar(cell: str) -> Any:
    try:
        return float(cell)
    except ValueError:
        return cell.strip()


def predictions_agree(a: tuple[Any, ...], b: tuple[Any, ...], policy: ShadowPolicy) -> bool:
    if len(a) != len(b):
        return False
    for x, y in zip(a, b, strict=True):
        nx, ny = finite_number(x), finite_number(y)
        if nx is None or ny is None:
            if x != y:
                return False
            continue
        allowed = max(policy.agreement_abs_tolerance, policy.agreement_rel_tolerance * abs(nx))
        if abs(nx - ny) > allowed + 1e-12:
            return False
    return True


def agreement(
    production: Iterable[CapturedPrediction],
    shadow: Iterable[CapturedPrediction],
    policy: ShadowPolicy,
) -> AgreementStats:
    """Pair each shadow record with the production record of the same request: by inference
    id, else event id, else the identical request payload (the shadow gets a copy of it); a
    payload seen several times pairs in order."""
    index: dict[tuple[str, str], list[CapturedPrediction]] = defaultdict(list)
    for record in production:
        for key in record.keys:
            index[key].append(record)
    used: set[int] = set()
    compared = agreeing = unpaired = unreadable = 0
    for record in shadow:
        partner = None
        for key in record.keys:
            partner = next((p for p in index.get(key, []) if id(p) not in used), None)
            if partner is not None:
                break
        if partner is None:
            unpaired += 1
            continue
        used.add(id(partner))
        if record.prediction is None or partner.prediction is None:
            unreadable += 1
            continue
        compared += 1
        agreeing += predictions_agree(partner.prediction, record.prediction, policy)
    return AgreementStats(compared, agreeing, unpaired, unreadable)
