"""Event files as `mlopscp replay` reads them: an envelope, its time ISO 8601 or epoch ms."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from mlops_runtime.events import Envelope
from mlopscp.cli import main
from mlopscp.events_file import load_event, parse_time
from mlopscp.output import EXIT_USAGE, CliError

ROOT = Path(__file__).resolve().parents[2]
AT = datetime(2026, 7, 27, 1, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "value",
    [
        "2026-07-27T01:00:00Z",
        "2026-07-27T01:00:00+00:00",
        "1785114000000",  # epoch milliseconds, as CloudWatch alarm events carry them
        1785114000000,
        1785114000,  # epoch seconds
        AT,
    ],
)
def test_an_event_time_as_aws_writes_it(value: str | int | datetime) -> None:
    assert parse_time(value) == AT


def test_every_catalogue_event_loads() -> None:
    paths = sorted((ROOT / "events").glob("*.json"))
    assert paths
    for path in paths:
        assert isinstance(load_event(path)["detail"], dict), path


def test_the_epoch_ms_catalogue_event_parses_in_the_product_too() -> None:
    raw = json.loads((ROOT / "events" / "model-quality-alarm.json").read_text())
    assert raw["time"].isdigit(), "the catalogue keeps one epoch-ms event"
    assert Envelope.model_validate(raw).time == parse_time(raw["time"])


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ('{"alarmName": "x"}', "is not an event envelope: no source, detail-type, detail"),
        ("[1, 2]", "is not an event envelope (a list)"),
        ('{"source": "a", "detail-type": "b", "detail": "c"}', "detail must be a JSON object"),
        (
            '{"source": "a", "detail-type": "b", "detail": {}, "time": "yesterday"}',
            "time 'yesterday' is neither ISO 8601 nor epoch milliseconds",
        ),
        ("{not json", "is not JSON"),
    ],
)
def test_a_file_that_is_not_an_event_is_one_clear_error(
    tmp_path: Path, content: str, words: str
) -> None:
    path = tmp_path / "event.json"
    path.write_text(content)
    with pytest.raises(CliError) as raised:
        load_event(path)
    assert words in raised.value.message


def test_replay_refuses_a_bare_detail_before_starting_anything(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "detail.json"
    path.write_text('{"alarmName": "churn-prod-auc"}')
    assert main(["replay", str(path)]) == EXIT_USAGE
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(f"mlopscp: error: {path} is not an event envelope")
