"""The monitor job's input side: windows, data-capture and ground-truth records, the join.

Pure Python (the job's capture.py and monitor.py without Evidently); the Evidently side runs
under .venv-monitor in tests/integration/test_monitor_job.py.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from mlops_runtime.events import DriftSignal, parse_event
from mlops_runtime.intake import to_signal

from tests.monitor_job import capture, monitor


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def record(
    data: str,
    output: str | None = "0.5",
    *,
    encoding: str = "CSV",
    content_type: str = "text/csv",
    inference_id: str | None = "inf-1",
    event_id: str = "evt-1",
    time: str | None = "2026-07-27T10:15:00Z",
) -> dict[str, Any]:
    metadata: dict[str, Any] = {"eventId": event_id}
    if inference_id:
        metadata["inferenceId"] = inference_id
    if time:
        metadata["inferenceTime"] = time
    capture_data: dict[str, Any] = {
        "endpointInput": {
            "observedContentType": content_type,
            "mode": "INPUT",
            "data": data,
            "encoding": encoding,
        }
    }
    if output is not None:
        capture_data["endpointOutput"] = {
            "observedContentType": content_type,
            "mode": "OUTPUT",
            "data": output,
            "encoding": encoding,
        }
    return {"captureData": capture_data, "eventMetadata": metadata, "eventVersion": "0"}


def truth(event_id: str, data: str, encoding: str = "CSV") -> dict[str, Any]:
    return {
        "groundTruthData": {"data": data, "encoding": encoding},
        "eventMetadata": {"eventId": event_id},
        "eventVersion": "0",
    }


def write_jsonl(path: Path, records: list[Any]) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [r if isinstance(r, str) else json.dumps(r) for r in records]
    path.write_text("\n".join(lines) + "\n")
    return str(path)


# ---------------------------------------------------------------- windows


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-07-27T10:05:00Z", at("2026-07-27T10:05:00")),
        ("2026-07-27T10:05:00.123Z", at("2026-07-27T10:05:00.123000")),
        ("2026-07-27T12:05:00+02:00", at("2026-07-27T10:05:00")),
        ("2026-07-27T10:05:00", at("2026-07-27T10:05:00")),  # no zone: UTC
    ],
)
def test_times_are_read_as_utc(text: str, expected: datetime) -> None:
    assert capture.parse_time(text) == expected


def test_a_scheduled_run_reports_on_the_whole_hour_before_it_started() -> None:
    assert capture.scheduled_window_end(at("2026-07-27T11:05:30")) == at("2026-07-27T11:00")
    assert capture.scheduled_window_end(at("2026-07-27T11:00:00")) == at("2026-07-27T11:00")
    # An offset waits for late data: the window ends two hours earlier.
    assert capture.scheduled_window_end(at("2026-07-27T11:05"), 2) == at("2026-07-27T09:00")
    with pytest.raises(ValueError, match="negative"):
        capture.scheduled_window_end(at("2026-07-27T11:05"), -1)


def test_backfill_windows_are_consecutive_oldest_first_and_end_where_asked() -> None:
    span = capture.windows(at("2026-07-27T11:00"), hours=2, count=3)
    assert [(w.start, w.end) for w in span] == [
        (at("2026-07-27T05:00"), at("2026-07-27T07:00")),
        (at("2026-07-27T07:00"), at("2026-07-27T09:00")),
        (at("2026-07-27T09:00"), at("2026-07-27T11:00")),
    ]
    # A report is filed under the hour its window ends, as Model Monitor files an execution.
    assert span[-1].folder == "2026/07/27/11"
    assert span[0].holds(at("2026-07-27T05:00"))
    assert not span[0].holds(at("2026-07-27T07:00"))
    with pytest.raises(ValueError, match="at least 1"):
        capture.windows(at("2026-07-27T11:00"), hours=0)


def test_hour_prefixes_cover_every_hour_the_span_touches_across_midnight() -> None:
    assert capture.hour_prefixes(at("2026-07-27T22:30"), at("2026-07-28T01:00")) == [
        "2026/07/27/22",
        "2026/07/27/23",
        "2026/07/28/00",
    ]


def test_the_hour_a_capture_path_names_is_the_last_date_in_it() -> None:
    path = "s3://b/2024/01/01/00/capture/ep/AllTraffic/2026/07/27/10/00-00-abc.jsonl"
    assert capture.hour_of(path) == at("2026-07-27T10:00")
    assert capture.hour_of("s3://b/capture/ep/file.jsonl") is None


# ---------------------------------------------------------------- payloads


def test_payloads_decode_csv_json_and_base64_by_content_type() -> None:
    assert capture.decode_payload({"data": "1,2", "encoding": "CSV"}) == ("csv", "1,2")
    assert capture.decode_payload({"data": "[1]", "encoding": "JSON"}) == ("json", "[1]")
    b64 = base64.b64encode(b'{"a": 1}').decode()
    payload = {"data": b64, "encoding": "BASE64", "observedContentType": "application/json"}
    assert capture.decode_payload(payload) == ("json", '{"a": 1}')
    b64csv = {"data": base64.b64encode(b"1,2").decode(), "encoding": "BASE64"}
    assert capture.decode_payload(b64csv) == ("csv", "1,2")
    assert capture.decode_payload({"data": "%%%", "encoding": "BASE64"}) is None
    assert capture.decode_payload({"encoding": "CSV"}) is None
    assert capture.decode_payload("not a mapping") is None


COLUMNS = ["distance", "items", "channel"]


@pytest.mark.parametrize(
    ("payload", "rows"),
    [
        # CSV is positional, numbers are numbers, empty cells are missing
        ({"data": "4.5,3,app"}, [{"distance": 4.5, "items": 3.0, "channel": "app"}]),
        ({"data": "4.5,,app"}, [{"distance": 4.5, "items": None, "channel": "app"}]),
        # a short row: the cells past its end are absent, not missing
        ({"data": "4.5,3"}, [{"distance": 4.5, "items": 3.0}]),
        # a batch of rows
        ({"data": "1,2,a\n3,4,b"}, [{"distance": 1.0, "items": 2.0, "channel": "a"},
                                     {"distance": 3.0, "items": 4.0, "channel": "b"}]),
        # JSON by name (unknown names kept), by position, nested the usual ways
        ({"data": '{"distance": 2, "channel": "web", "new": 1}', "encoding": "JSON"},
         [{"distance": 2, "channel": "web", "new": 1}]),
        ({"data": "[1, 2, \"a\"]", "encoding": "JSON"},
         [{"distance": 1, "items": 2, "channel": "a"}]),
        ({"data": '{"instances": [[1, 2, "a"], [3, 4, "b"]]}', "encoding": "JSON"},
         [{"distance": 1, "items": 2, "channel": "a"},
          {"distance": 3, "items": 4, "channel": "b"}]),
        ({"data": '{"instances": [{"features": [1, 2, "a"]}]}', "encoding": "JSON"},
         [{"distance": 1, "items": 2, "channel": "a"}]),
        ({"data": '{"inputs": [{"distance": 7}]}', "encoding": "JSON"}, [{"distance": 7}]),
    ],
)  # fmt: skip
def test_request_rows_are_read_positionally_or_by_name(
    payload: dict[str, Any], rows: list[dict[str, Any]]
) -> None:
    assert capture.input_rows({"encoding": "CSV", **payload}, COLUMNS) == rows


def test_an_unreadable_request_is_none_not_an_error() -> None:
    assert capture.input_rows({"data": "{not json", "encoding": "JSON"}, COLUMNS) is None
    assert capture.input_rows({"data": '"just text"', "encoding": "JSON"}, COLUMNS) is None
    assert capture.input_rows(None, COLUMNS) is None


@pytest.mark.parametrize(
    ("data", "encoding", "values"),
    [
        ("0.73", "CSV", [0.73]),
        ("0.7\n0.2\n0.9", "CSV", [0.7, 0.2, 0.9]),  # a batch: one value per line
        ("0.7,0.3", "CSV", [0.7]),  # one row with several outputs: the first
        ('{"predictions": [{"score": 0.8}, {"score": 0.1}]}', "JSON", [0.8, 0.1]),
        ('{"predictions": [0.4]}', "JSON", [0.4]),
        ('{"predicted_label": 2, "probability": 0.9}', "JSON", [0.9]),
        ("12.5", "JSON", [12.5]),
    ],
)
def test_predictions_are_read_from_the_usual_response_shapes(
    data: str, encoding: str, values: list[Any]
) -> None:
    assert capture.output_values({"data": data, "encoding": encoding}) == values


def test_labels_read_csv_and_json_ground_truth() -> None:
    assert capture.label_values({"data": "1", "encoding": "CSV"}) == [1.0]
    assert capture.label_values({"data": "1\n0", "encoding": "CSV"}) == [1.0, 0.0]
    assert capture.label_values({"data": '{"label": "cat"}', "encoding": "JSON"}) == ["cat"]
    assert capture.label_values({"data": "", "encoding": "CSV"}) is None


# ---------------------------------------------------------------- records and the join


def test_ground_truth_is_keyed_by_event_id_and_a_later_upload_wins(tmp_path: Path) -> None:
    early = write_jsonl(tmp_path / "2026/07/27/11/a.jsonl", [truth("inf-1", "0"), "garbage"])
    late = write_jsonl(tmp_path / "2026/07/27/12/b.jsonl", [truth("inf-1", "1")])
    assert capture.read_ground_truth([early, late]) == {"inf-1": [1.0]}
    found = capture.list_files(str(tmp_path), (".jsonl",))
    assert found == [early, late]


def test_rows_go_to_the_window_of_their_inference_time(tmp_path: Path) -> None:
    span = capture.windows(at("2026-07-27T12:00"), hours=1, count=2)
    # Filed under hour 10, but the second request was made at 11:00: it belongs to window 2.
    files = [
        write_jsonl(
            tmp_path / "ep/AllTraffic/2026/07/27/10/a.jsonl",
            [
                record("1,2,app", time="2026-07-27T10:59:59Z"),
                record("3,4,web", time="2026-07-27T11:00:00Z", inference_id="inf-2"),
                record("5,6,web", time="2026-07-27T09:59:00Z", inference_id="inf-3"),
                "{broken",
                {"no": "capture"},
            ],
        ),
        # No inferenceTime: the hour in the path decides.
        write_jsonl(
            tmp_path / "ep/AllTraffic/2026/07/27/11/b.jsonl",
            [record("7,8,app", time=None, inference_id="inf-4")],
        ),
    ]
    found = capture.collect(files, span, COLUMNS)
    first, second = found[span[0]], found[span[1]]
    assert [r["distance"] for r in first.rows] == [1.0]
    assert [r["distance"] for r in second.rows] == [3.0, 7.0]
    assert first.outside_window == 1
    assert first.unreadable == 2
    assert all(r["prediction"] == 0.5 for r in first.rows + second.rows)


def test_labels_join_by_inference_id_else_by_event_id(tmp_path: Path) -> None:
    span = capture.windows(at("2026-07-27T11:00"), hours=1)
    files = [
        write_jsonl(
            tmp_path / "c.jsonl",
            [
                record("1,2,a", inference_id="inf-1", event_id="evt-1"),
                record("3,4,b", inference_id=None, event_id="evt-2"),
                record("5,6,c", inference_id="inf-3", event_id="evt-3"),
            ],
        )
    ]
    labels = {"inf-1": [1.0], "evt-2": [0.0], "evt-3": [1.0]}
    (window,) = capture.collect(files, span, COLUMNS, labels, target_column="y").values()
    assert [r.get("y") for r in window.rows] == [1.0, 0.0, None]  # evt-3 has an inferenceId
    assert window.labelled == 2


def test_a_batch_whose_outputs_do_not_line_up_keeps_its_rows_without_predictions(
    tmp_path: Path,
) -> None:
    span = capture.windows(at("2026-07-27T11:00"), hours=1)
    files = [write_jsonl(tmp_path / "c.jsonl", [record("1,2,a\n3,4,b", output="0.9")])]
    (window,) = capture.collect(files, span, COLUMNS).values()
    assert len(window.rows) == 2
    assert window.predictions_missing == 2
    assert all("prediction" not in r for r in window.rows)


def test_a_local_capture_folder_may_hold_the_endpoint_layout_or_files(tmp_path: Path) -> None:
    laid_out = write_jsonl(tmp_path / "ep/AllTraffic/2026/07/27/10/a.jsonl", [record("1,2,a")])
    write_jsonl(tmp_path / "ep/shadow/2026/07/27/10/a.jsonl", [record("1,2,a")])
    assert capture.capture_files(str(tmp_path), "ep", "AllTraffic", []) == [laid_out]
    assert len(capture.capture_files(str(tmp_path), "", "", [])) == 2
    with pytest.raises(ValueError, match="endpoint name"):
        capture.capture_files("s3://bucket/capture", "", "AllTraffic", [])


# ---------------------------------------------------------------- the job's settings and signal


def args(*extra: str) -> Any:
    base = ["--capture", "c", "--baseline", "b.csv", "--out", "s3://bucket/reports/churn"]
    return monitor.build_parser().parse_args([*base, "--model-id", "churn", *extra])


def test_without_a_window_end_the_run_time_decides() -> None:
    settings = monitor.settings_from(args("--run-time", "2026-07-27T11:05:00Z", "--windows", "2"))
    assert [str(w) for w in settings.span] == [
        "2026-07-27T09:00:00Z..2026-07-27T10:00:00Z",
        "2026-07-27T10:00:00Z..2026-07-27T11:00:00Z",
    ]


def test_latest_ends_with_the_newest_captured_hour(tmp_path: Path) -> None:
    files = [
        write_jsonl(
            tmp_path / "a.jsonl",
            [record("1,2,a", time="2026-07-27T08:10:00Z"), record("1,2,a", time=None)],
        )
    ]
    settings = monitor.settings_from(args("--window-end", "latest"), files)
    assert settings.span[-1].end == at("2026-07-27T09:00")


@pytest.mark.parametrize(
    ("extra", "problem"),
    [
        (["--windows", "0"], "--windows must be at least 1"),
        (["--window-hours", "0"], "--window-hours must be at least 1"),
        (["--window-end", "yesterday"], "Invalid isoformat"),
    ],
)
def test_bad_settings_are_refused_with_the_option_named(extra: list[str], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        monitor.settings_from(args(*extra))


def test_a_run_must_name_its_model_or_endpoint() -> None:
    parsed = monitor.build_parser().parse_args(["--capture", "c", "--baseline", "b", "--out", "o"])
    with pytest.raises(ValueError, match="--model-id"):
        monitor.settings_from(parsed)


def test_the_signal_is_a_model_drift_signal_the_intake_accepts() -> None:
    settings = monitor.settings_from(args("--endpoint-name", "churn-prod"))
    last = {
        "window_start": "2026-07-27T10:00:00Z",
        "window_end": "2026-07-27T11:00:00Z",
        "rows": 700,
        "labelled_rows": 0,
        "drifted_columns": {"count": 2, "share": 0.25, "of": 8},
        "report_uri": "s3://bucket/reports/churn/2026/07/27/11/report.json",
    }
    event = monitor.signal(settings, last, reports=3)
    envelope = {
        "version": "0",
        "id": "0f0e0d0c-0000-4000-8000-000000000001",
        "detail-type": event["DetailType"],
        "source": event["Source"],
        "account": "123456789012",
        "time": "2026-07-27T11:06:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": event["Detail"],
    }

    def no_sagemaker() -> None:
        raise AssertionError("a drift signal is read from the event alone")

    signal = to_signal(parse_event(envelope, DriftSignal), no_sagemaker)
    assert signal.model_id == "churn"
    assert signal.endpoint_name == "churn-prod"
    # The root holding <yyyy>/ folders, which drift triage reads; the report itself is named too.
    assert signal.output_uri == "s3://bucket/reports/churn"
    assert event["Detail"]["report_uri"] == last["report_uri"]
    assert "2 of 8 columns drifted" in signal.description
    assert "last of 3 reports" in signal.description
