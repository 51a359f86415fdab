"""The README's custom-event example is what EventBridge and the control plane accept: valid
JSON, a Model Drift Signal once EventBridge adds its envelope fields, and the `aws events
put-events` line sends that same event."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any

from mlops_runtime.events import DriftSignal

README = Path(__file__).resolve().parents[2] / "README.md"


def _after(marker: str, fence: str) -> str:
    text = README.read_text()
    start = text.index(marker)
    match = re.compile(rf"```{fence}\n(.*?)\n```", re.S).search(text, start)
    assert match, f"no ```{fence} block after {marker!r}"
    return match.group(1)


def _as_delivered(event: dict[str, Any]) -> dict[str, Any]:
    """What EventBridge adds to a put event before a rule's target sees it."""
    return {
        "version": "0",
        "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
        "account": "123456789012",
        "time": "2026-11-29T12:00:00Z",
        "region": "eu-west-1",
        "resources": [],
    } | event


def test_the_custom_event_example_is_a_valid_drift_signal() -> None:
    event = json.loads(_after("The custom event:", "json"))
    signal = DriftSignal.model_validate(_as_delivered(event))
    assert signal.detail.model_id == "churn"


def test_the_put_events_line_sends_the_example() -> None:
    example = json.loads(_after("The custom event:", "json"))
    (line,) = [line for line in _after("The custom event:", "bash").splitlines() if line.strip()]
    words = shlex.split(line)
    assert words[:3] == ["aws", "events", "put-events"]
    (entry,) = json.loads(words[words.index("--entries") + 1])
    assert entry["Source"] == example["source"]
    assert entry["DetailType"] == example["detail-type"]
    assert json.loads(entry["Detail"]) == example["detail"]
