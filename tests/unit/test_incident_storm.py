"""The incident-storm bench's counting (tooling/bench/incident_storm.py), on hand-made days whose
right answers are known: what docs/benchmarks.md reports has to be counted right."""

from __future__ import annotations

import importlib.util
import sys
from datetime import timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from mlops_core.errors import IncidentChangedError
from mlops_core.incidents import IncidentKind, IncidentPolicy, Observation, observe

ROOT = Path(__file__).resolve().parents[2]


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "incident_storm", ROOT / "tooling" / "bench" / "incident_storm.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while building
    spec.loader.exec_module(module)
    return module


storm = _load()
A = storm._broken("zip_code")
AB = storm._broken("zip_code", "country")
CLEAN = storm.CLEAN
DRIFT = storm.HourState(
    "retrain", (("sustained_drift", "tenure"), ("quality_decline", "validation:auc"))
)


def _replay(hours: list[Any], streams: int = 2, copies: int = 2, pipeline_hours: int = 0):
    """One model, `streams` events an hour that all see the hour's whole state, each delivered
    `copies` times; returns the profile's row and the whole summary."""
    day = storm.ModelDay("m", "case", streams, tuple(hours), 1, pipeline_hours)
    schedule = [
        storm.Delivery(
            storm.DAY + timedelta(hours=hour, minutes=2 + 4 * stream, seconds=copy * 20),
            "m",
            hour,
            f"m-{hour}-{stream}",
            f"m@{hour:02d}",
        )
        for hour in range(len(hours))
        for stream in range(streams)
        for copy in range(copies)
    ]
    counts = storm.Replay([day], storm.MemoryTracker(), IncidentPolicy()).run(schedule)
    summary = storm.summarise([day], counts)
    return summary["profiles"]["case"], summary


def test_a_break_that_lasts_a_day_then_clears_pages_once_and_resolves_once() -> None:
    row, summary = _replay([A] * 24 + [CLEAN] * 3)
    assert row["old_pages"] == 24  # the old rule: an incident and a page per monitoring state
    assert (row["pages"], row["pages_opened"], row["updates"], row["resolutions"]) == (1, 1, 23, 1)
    assert row["clean_counted"] == 2  # the third clean run is the resolution
    assert row["dropped_at_intake"] == 27 * 2  # every event's second delivery
    assert row["duplicate_runs"] == 27  # the second stream's event saw the same state
    assert summary["goal_met"] is True


def test_an_escalation_and_a_return_page_once_each_and_are_counted_apart() -> None:
    day = [A] * 4 + [AB] * 4 + [CLEAN] * 4 + [A] * 2 + [CLEAN] * 4
    row, summary = _replay(day, streams=1, copies=1)
    assert (row["pages_opened"], row["pages_escalated"], row["pages_reopened"]) == (1, 1, 1)
    assert row["resolutions"] == 2  # one per episode: before and after the reopen
    assert row["old_pages"] == 10
    assert row["incidents"] == 1
    assert summary["worst"] == {"opening_pages_per_problem": 1.0, "resolutions_per_episode": 1.0}
    assert summary["pages_per_incident"] == {"3": 1}  # opened, escalated, reopened


def test_a_problem_still_open_at_the_end_of_the_day_has_no_resolution() -> None:
    row, _ = _replay([CLEAN] * 2 + [A] * 22, streams=1, copies=3)
    assert (row["pages"], row["updates"], row["resolutions"]) == (1, 21, 0)
    assert row["dropped_at_intake"] == 22 * 2 + 2 * 2


def test_runs_during_a_retrain_and_its_cooldown_attach_to_it() -> None:
    row, _ = _replay([DRIFT] * 10, streams=1, copies=1, pipeline_hours=3)
    # Hour 0 starts the retrain; hours 1-2 attach while it runs; the pipeline ends at 03:02,
    # and hours 3-9 attach to the ended incident while the gate's cooldown refuses a retrain.
    assert row["retrains_started"] == 1
    assert row["retrain_attached"] == 9
    assert row.get("retrains_refused", 0) == 0
    assert row["retrain_incidents"] == 1
    assert row["retrain_resolutions"] == 1
    assert row.get("pages", 0) == 0  # retrain incidents never page
    assert (row["old_retrain_decisions"], row["old_retrains_started"]) == (10, 1)


def test_the_fleet_and_its_deliveries_are_the_same_for_the_same_seed() -> None:
    days = storm.fleet(17)
    assert days == storm.fleet(17)
    assert days != storm.fleet(18)
    assert len(days) == 50
    assert {d.profile: sum(x.profile == d.profile for x in days) for d in days} == storm.MIX
    assert storm.deliveries(days, 17) == storm.deliveries(storm.fleet(17), 17)
    first = storm.summarise(*storm.replay(17))
    assert first == storm.summarise(*storm.replay(17))


def test_each_hour_states_only_move_forward() -> None:
    """A monitoring state once superseded is never triaged again within the hour: partial states
    come first, then the whole one."""
    for delivery_list in (storm.deliveries(storm.fleet(seed), seed) for seed in (17, 3)):
        seen: dict[str, list[str]] = {}
        for delivery in delivery_list:
            runs = seen.setdefault(delivery.model_id, [])
            if not runs or runs[-1] != delivery.run:
                assert delivery.run not in runs, delivery
                runs.append(delivery.run)


def test_the_memory_tracker_refuses_what_the_store_refuses() -> None:
    tracker = storm.MemoryTracker()
    triage = {
        "model_id": "m",
        "decision": "investigate",
        "summary": {"signal_key": "k0", "findings": [{"kind": "integrity_violation"}]},
    }
    observation = Observation.of_run(triage, IncidentKind.INVESTIGATE)
    opened = observe(None, observation, IncidentPolicy(), storm.DAY)
    tracker.apply(opened)
    assert tracker.current("m", IncidentKind.INVESTIGATE) == opened.state
    with pytest.raises(IncidentChangedError):
        tracker.apply(opened)  # the same incident opened twice: its id is taken
