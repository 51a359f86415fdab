"""`make storm`'s sections of docs/benchmarks.md (tooling/bench/sections.py, scale.py, cost.py):
make storm rewrites only its own sections and make bench keeps them; the scale and cost models
count what they claim on hand-made numbers whose right answers are known."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tooling" / "bench"))  # the bench scripts import each other so

import cost  # noqa: E402
import scale  # noqa: E402
import sections  # noqa: E402

DOC = """# Benchmarks

## Cold start: import time of each handler

old imports

### Where X's import time goes

old top imports

## Storm

old storm

## Incident storm: pages over a replayed fleet-day

incidents
"""


def test_a_section_is_replaced_in_place_and_the_rest_left_alone() -> None:
    text = sections.replace(DOC, "Storm", ["## Storm", "", "new storm"])

    assert "new storm" in text
    assert "old storm" not in text
    assert text.index("new storm") < text.index("## Incident storm")  # in place, not appended
    assert "incidents" in text
    assert "old imports" in text


def test_a_heading_with_a_subtitle_and_its_subsections_are_one_section() -> None:
    text = sections.replace(DOC, "Cold start", ["## Cold start: import time", "", "new"])

    assert "old imports" not in text
    assert "old top imports" not in text  # its ### subsection went with it
    assert "old storm" in text


def test_a_missing_section_is_appended() -> None:
    text = sections.replace(DOC, "Cost", ["## Cost: the control plane's $/month", "", "bill"])

    assert text.rstrip().endswith("bill")
    assert "old storm" in text


def test_bench_keeps_the_storm_sections_and_only_those() -> None:
    doc = sections.replace(DOC, "Scale", ["## Scale: 10,000 endpoints", "", "peaks"])

    kept = "\n".join(sections.kept(doc))

    assert "old storm" in kept
    assert "peaks" in kept
    assert "incidents" not in kept  # "Incident storm" is make bench's own
    assert "old imports" not in kept


def test_peaks_are_the_busiest_second_and_the_busiest_minutes_mean() -> None:
    times = [0.1, 0.5, 0.9, 1.2] + [61.0 + i for i in range(30)]

    second, minute = scale.peaks(times)

    assert second == 3  # three events in second 0
    assert minute == pytest.approx(30 / 60)  # minute 1 has 30 events


def test_rates_scale_with_the_measured_calls_per_event() -> None:
    profile = {
        "monitoring completion": {
            "calls": {"sagemaker": 2.0, "dynamodb": 4.0},
            "executions": 1.0,
            "state_transitions": 5.0,
            "invocations": 3.0,
        }
    }

    modelled = scale.simulate(profile, endpoints=1000)

    minute = modelled["peak_events_minute"]
    assert modelled["events_per_hour"] == 1000 * scale.SCHEDULES
    assert modelled["rates"]["sagemaker"]["peak_minute"] == pytest.approx(2.0 * minute)
    assert modelled["rates"]["dynamodb"]["peak_minute"] == pytest.approx(4.0 * minute)
    assert modelled["transitions_per_second"] == pytest.approx(5.0 * minute)
    assert modelled["lambda_concurrency"] == pytest.approx(
        3.0 * cost.AWS_INVOCATION_SECONDS * minute
    )


def test_the_bill_is_units_times_events_times_models_times_list_price() -> None:
    profile = {
        "monitoring completion": {
            "calls": {"dynamodb": 3.0, "s3": 10.0},
            "operations": {"dynamodb:GetItem": 1.0, "dynamodb:PutItem": 2.0, "s3:GET /b": 10.0},
            "invocations": 2.0,
            "lambda_seconds": 4.0,  # on the emulator
            "gb_seconds": 2.0,  # 4 s at 0.5 GB
            "state_transitions": 6.0,
            "log_bytes": 1000.0,
        }
    }
    events = cost.EVENTS_PER_MODEL_MONTH["monitoring completion"] * 100

    bill = cost.monthly(profile, 100)

    price = {name: value for name, (value, _) in cost.PRICES.items()}
    billed = 2.0 * cost.AWS_INVOCATION_SECONDS * 0.5  # invocations x assumed seconds x GB
    assert bill["Lambda compute (GB-s)"] == pytest.approx(
        billed * events * price["lambda_gb_second"]
    )
    assert bill["Step Functions state transitions"] == pytest.approx(
        6.0 * events * price["state_transition"]
    )
    assert bill["DynamoDB requests"] == pytest.approx(
        events * (2.0 * price["dynamodb_write"] + 1.0 * price["dynamodb_read"])
    )
    assert bill["S3 reads of monitoring output"] == pytest.approx(10 * events * price["s3_get"])
    assert cost.monthly(profile, 10_000)["Lambda requests"] == pytest.approx(
        100 * bill["Lambda requests"]
    )


def _machine(path: Path, *retriers: dict) -> None:
    states = {f"S{n}": {"Type": "Task", "Retry": [r]} for n, r in enumerate(retriers)}
    path.write_text(json.dumps({"StartAt": "S0", "States": states}))


def test_the_jitter_line_is_read_from_the_state_machines(tmp_path: Path) -> None:
    jittered = {"ErrorEquals": ["A"], "MaxDelaySeconds": 20, "JitterStrategy": "FULL"}
    _machine(tmp_path / "a.asl.json", jittered, {"ErrorEquals": ["B"], "MaxDelaySeconds": 5})
    facts = scale.retry_facts(tmp_path)
    assert (facts["retriers"], facts["jittered"], facts["capacity"]) == (2, 1, None)
    assert "**Missing:** 1 without full jitter" in scale._jitter_line(facts)

    _machine(tmp_path / "a.asl.json", jittered)
    assert "1 of the 1 `Retry` blocks" in scale._jitter_line(scale.retry_facts(tmp_path))


def test_the_shipped_capacity_wait_is_bounded_at_two_hours() -> None:
    facts = scale.retry_facts()
    assert facts["jittered"] == facts["retriers"]
    assert facts["capacity"]["ErrorEquals"] == ["RetrainCapacityError"]
    # 60 + 120 + 240 + 480 s, then 7 waits capped at 900 s
    assert facts["capacity_wait"] == 60 + 120 + 240 + 480 + 7 * 900


def test_without_a_capacity_retrier_the_retrain_line_says_nothing_waits() -> None:
    facts = {"capacity": None}
    line = scale._retrain_line(
        {"drift_storm_retrains": 500},
        facts,
        scale.QUOTAS["sagemaker:pipeline-executions"],
        scale.QUOTAS["sagemaker:CreateTrainingJob"],
    )
    assert "Nothing waits for capacity" in line
