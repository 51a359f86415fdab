"""A reproducible synthetic endpoint with data capture, for the monitor's demo and tests.

A delivery-time regression model serves hourly traffic. The world writes exactly what AWS would
hold: the training baseline (a CSV with a header, features only, as the retraining pipeline's
``baseline`` output), the data-capture JSON Lines an endpoint with capture enabled writes under
``<endpoint>/<variant>/<yyyy>/<mm>/<dd>/<hh>/``, and, where labels exist, ground truth in Model
Monitor's format under ``<yyyy>/<mm>/<dd>/<hh>/``, joined by ``inferenceId``.

Two stories (``STORIES``):

- ``gradual``: two features creep away from training a little further every hour from the fourth
  run on, and the model, which never saw congested traffic, gets worse each hour (no single step
  out of line): sustained drift with falling quality.
- ``broken_column``: requests are JSON; in the newest hour the upstream stops sending one feature,
  so it disappears from the captured requests.

Standard library only: the demo runs it in the main venv and writes the files to emulated S3.
"""

from __future__ import annotations

import csv
import io
import json
import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

FEATURES = ("distance_km", "items", "prep_minutes", "traffic_index", "courier_rating", "channel")
CHANNELS = ("app", "web", "phone")
START = datetime.fromisoformat("2026-07-27T00:00:00+00:00")


@dataclass(frozen=True)
class Story:
    name: str
    hours: int  # hourly windows of traffic, the newest last
    requests_per_hour: int
    content_type: str  # text/csv or application/json
    labelled_share: float  # share of requests whose ground truth arrives; 0: no labels
    drift_from_hour: int | None = None  # gradual: the first hour that moves
    drift_per_hour: float = 0.0  # in standard deviations of the feature, per hour
    broken_column: str | None = None  # broken_column: dropped by the upstream in the last hour


STORIES = {
    "gradual": Story(
        "gradual",
        hours=10,
        requests_per_hour=700,
        content_type="text/csv",
        labelled_share=0.8,
        drift_from_hour=3,
        drift_per_hour=0.12,
    ),
    "broken_column": Story(
        "broken_column",
        hours=10,
        requests_per_hour=700,
        content_type="application/json",
        labelled_share=0.0,
        broken_column="traffic_index",
    ),
}


def _features(rng: random.Random, shift: float = 0.0) -> dict[str, float | str]:
    return {
        "distance_km": round(max(0.2, rng.gauss(4.0 + 1.5 * shift, 1.5)), 3),
        "items": float(max(1, round(rng.gauss(3, 1.2)))),
        "prep_minutes": round(max(1.0, rng.gauss(12, 3)), 2),
        "traffic_index": round(rng.gauss(1.0 + 0.3 * shift, 0.3), 4),
        "courier_rating": round(min(5.0, max(1.0, rng.gauss(4.5, 0.3))), 2),
        "channel": rng.choices(CHANNELS, weights=(6, 3, 1))[0],
    }


def _model(row: dict[str, float | str]) -> float:
    """The deployed model: linear, fitted where traffic_index stayed near 1."""
    return (
        8.0
        + 2.2 * float(row["distance_km"])
        + 0.9 * float(row["items"])
        + 1.0 * float(row["prep_minutes"])
        + 6.0 * float(row["traffic_index"])
    )


def _truth(rng: random.Random, row: dict[str, float | str]) -> float:
    """What the delivery really took: heavier traffic than usual makes it less predictable, so
    the model's error grows steadily as traffic creeps up."""
    congestion = max(0.0, (float(row["traffic_index"]) - 1.0) / 0.3)
    return _model(row) + rng.gauss(0, 1.0 + 0.8 * congestion)


def baseline_csv(seed: int = 7, rows: int = 800) -> bytes:
    rng = random.Random(seed)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=FEATURES, lineterminator="\n")
    writer.writeheader()
    for _ in range(rows):
        writer.writerow(_features(rng))
    return out.getvalue().encode()


@dataclass
class World:
    """Files keyed by their path under the capture and ground-truth locations."""

    capture: dict[str, bytes]
    ground_truth: dict[str, bytes]
    baseline: bytes
    first_hour: datetime
    last_hour: datetime  # the start of the newest hour of traffic

    @property
    def window_end(self) -> datetime:
        return self.last_hour + timedelta(hours=1)


def build(story: Story, endpoint: str, variant: str = "AllTraffic", seed: int = 11) -> World:
    rng = random.Random(f"{story.name}-{seed}")
    capture: dict[str, bytes] = {}
    truth: dict[str, bytes] = {}
    for hour in range(story.hours):
        at = START + timedelta(hours=hour)
        shift = 0.0
        if story.drift_from_hour is not None and hour >= story.drift_from_hour:
            shift = story.drift_per_hour * (hour - story.drift_from_hour + 1)
        broken = story.broken_column if hour == story.hours - 1 else None
        lines, labels = _hour(rng, story, at, shift, broken)
        capture[f"{endpoint}/{variant}/{at:%Y/%m/%d/%H}/{at:%M-%S}-capture.jsonl"] = lines
        if labels:
            # Labels for an hour's requests are uploaded in the hour after it.
            later = at + timedelta(hours=1)
            truth[f"{later:%Y/%m/%d/%H}/labels-{at:%Y%m%d%H}.jsonl"] = labels
    last = START + timedelta(hours=story.hours - 1)
    return World(capture, truth, baseline_csv(), START, last)


def _hour(
    rng: random.Random, story: Story, at: datetime, shift: float, broken: str | None
) -> tuple[bytes, bytes]:
    lines, labels = [], []
    for i in range(story.requests_per_hour):
        row = _features(rng, shift)
        prediction = round(_model(row), 3)
        actual = round(_truth(rng, row), 3)
        if broken:
            row.pop(broken)
        inference_id = str(uuid.UUID(int=rng.getrandbits(128)))
        moment = at + timedelta(seconds=int(3600 * i / story.requests_per_hour))
        lines.append(json.dumps(_record(story, row, prediction, inference_id, moment)))
        if rng.random() < story.labelled_share:
            labels.append(
                json.dumps(
                    {
                        "groundTruthData": {"data": str(actual), "encoding": "CSV"},
                        "eventMetadata": {"eventId": inference_id},
                        "eventVersion": "0",
                    }
                )
            )
    return ("\n".join(lines) + "\n").encode(), (
        "\n".join(labels) + "\n"
    ).encode() if labels else b""


def _record(
    story: Story,
    row: dict[str, float | str],
    prediction: float,
    inference_id: str,
    moment: datetime,
) -> dict[str, object]:
    if story.content_type == "text/csv":
        data, encoding = ",".join(_csv_cell(row[f]) for f in FEATURES if f in row), "CSV"
        output = {"observedContentType": "text/csv", "mode": "OUTPUT", "data": str(prediction)}
        output["encoding"] = "CSV"
    else:
        data, encoding = json.dumps(row), "JSON"
        output = {
            "observedContentType": "application/json",
            "mode": "OUTPUT",
            "data": json.dumps({"predictions": [{"score": prediction}]}),
            "encoding": "JSON",
        }
    return {
        "captureData": {
            "endpointInput": {
                "observedContentType": story.content_type,
                "mode": "INPUT",
                "data": data,
                "encoding": encoding,
            },
            "endpointOutput": output,
        },
        "eventMetadata": {
            "eventId": str(uuid.uuid5(uuid.NAMESPACE_URL, inference_id)),
            "inferenceId": inference_id,
            "inferenceTime": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
        },
        "eventVersion": "0",
    }


def _csv_cell(value: float | str) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)
