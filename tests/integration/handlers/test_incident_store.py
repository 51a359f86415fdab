"""IncidentStore on moto with the template's own tables: one transaction per step, versioned."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from mlops_core.errors import IncidentChangedError
from mlops_core.incidents import (
    IncidentKind,
    IncidentPolicy,
    Observation,
    Status,
    Transition,
    acknowledge,
    end_retrain,
    observe,
)
from mlops_runtime.incidents import IncidentStore
from mlops_runtime.store import Ledger, StateStore

pytestmark = pytest.mark.integration

T0 = datetime(2026, 11, 29, 2, tzinfo=UTC)
HOUR = timedelta(hours=1)
ZIP = {"kind": "integrity_violation", "subject": "zip_code"}


def run(key: str, decision: str = "investigate", model: str = "churn") -> Observation:
    triage: dict[str, Any] = {
        "model_id": model,
        "decision": decision,
        "summary": {"signal_key": key, "reasons": ["zip_code: wrong type"], "findings": [ZIP]},
    }
    kind = IncidentKind.RETRAIN if decision == "retrain" else IncidentKind.INVESTIGATE
    return Observation.of_run(triage, kind)


@pytest.fixture
def store(cloud) -> IncidentStore:
    return IncidentStore("state", Ledger("ledger"))


def step_and_apply(store: IncidentStore, observation: Observation, now: datetime):
    current = store.current(observation.model_id, observation.kind)
    step = observe(current, observation, IncidentPolicy(), now)
    store.apply(step)
    return step


def test_opening_writes_the_item_the_pointer_and_the_ledger_in_one_go(store) -> None:
    step = step_and_apply(store, run("k0"), T0)
    assert step.transition == Transition.OPENED
    current = store.current("churn", IncidentKind.INVESTIGATE)
    assert current == step.state
    assert store.get(step.incident_id) == step.state
    pointer = StateStore("state").get("MODEL#churn", "INCIDENT#investigate")
    assert pointer is not None
    assert pointer["incident_id"] == step.incident_id
    entries = Ledger("ledger").about(step.incident_id)
    assert [e["action"] for e in entries] == ["incident_opened"]
    assert entries[0]["evidence"]["fingerprint"] == ["integrity_violation:zip_code"]


def test_updates_each_leave_a_ledger_entry_and_duplicates_leave_none(store) -> None:
    opened = step_and_apply(store, run("k0"), T0)
    for hour in range(1, 4):
        step_and_apply(store, run(f"k{hour}"), T0 + hour * HOUR)
    duplicate = step_and_apply(store, run("k3"), T0 + 4 * HOUR)
    assert duplicate.transition == Transition.DUPLICATE
    assert store.apply(duplicate) is False
    actions = sorted(e["action"] for e in Ledger("ledger").about(opened.incident_id))
    assert actions == ["incident_opened"] + ["incident_updated"] * 3
    state = store.get(opened.incident_id)
    assert state is not None
    assert (state.runs, state.updates, state.version) == (4, 3, 4)


def test_a_step_from_a_stale_read_changes_nothing(store) -> None:
    opened = step_and_apply(store, run("k0"), T0)
    stale = store.current("churn", IncidentKind.INVESTIGATE)
    step_and_apply(store, run("k1"), T0 + HOUR)  # someone else wrote first
    late = observe(stale, run("k2"), IncidentPolicy(), T0 + 2 * HOUR)
    with pytest.raises(IncidentChangedError):
        store.apply(late)
    actions = [e["action"] for e in Ledger("ledger").about(opened.incident_id)]
    assert sorted(actions) == ["incident_opened", "incident_updated"]
    current = store.current("churn", IncidentKind.INVESTIGATE)
    assert current is not None
    assert current.last_run == "k1"


def test_two_runs_racing_to_open_get_one_incident(store) -> None:
    first = observe(None, run("k0"), IncidentPolicy(), T0)
    second = observe(None, run("k1"), IncidentPolicy(), T0)
    store.apply(first)
    with pytest.raises(IncidentChangedError):
        store.apply(second)
    assert store.get(second.incident_id) is None
    assert [s.incident_id for s in store.list()] == [first.incident_id]


def test_a_new_incident_takes_the_pointer_from_the_resolved_one(store) -> None:
    opened = step_and_apply(store, run("r0", "retrain"), T0)
    ended = end_retrain(opened.state, "pipeline succeeded", T0 + HOUR)
    store.apply(ended)
    fresh = step_and_apply(store, run("r1", "retrain"), T0 + 2 * HOUR)
    assert fresh.transition == Transition.OPENED
    assert fresh.replaces == opened.incident_id
    current = store.current("churn", IncidentKind.RETRAIN)
    assert current is not None
    assert current.incident_id == fresh.incident_id
    everything = store.list("churn", open_only=False)
    assert {s.incident_id for s in everything} == {opened.incident_id, fresh.incident_id}
    assert [s.incident_id for s in store.list("churn")] == [fresh.incident_id]


def test_list_filters_by_model_and_openness(store) -> None:
    churn = step_and_apply(store, run("k0"), T0)
    step_and_apply(store, run("k0", model="fraud"), T0 + HOUR)
    acked = acknowledge(churn.state, "U1", T0 + 2 * HOUR)
    store.apply(acked)
    listed = store.list("churn")
    assert len(listed) == 1
    assert listed[0].status == Status.ACKNOWLEDGED
    assert listed[0].acknowledged_by == "U1"
    assert len(store.list()) == 2
    entry = [e for e in Ledger("ledger").about(churn.incident_id) if e["actor"] == "U1"]
    assert [e["action"] for e in entry] == ["incident_acknowledged"]


def test_the_slack_message_is_remembered_on_the_incident(store) -> None:
    opened = step_and_apply(store, run("k0"), T0)
    posted = store.set_slack(opened.state, "C123", "1700000000.000100")
    assert store.get(opened.incident_id) == posted
    assert posted.slack == {"channel": "C123", "ts": "1700000000.000100"}
    with pytest.raises(IncidentChangedError):  # the first message stays the incident's
        store.set_slack(replace(posted, version=1), "C9", "1")
    assert store.get(opened.incident_id) == posted
    update = step_and_apply(store, run("k1"), T0 + HOUR)
    assert update.state is not None
    assert update.state.slack == posted.slack
    assert update.state.version == posted.version + 1 == 3


def test_the_slack_message_is_kept_even_when_a_run_updated_the_incident_first(store) -> None:
    opened = step_and_apply(store, run("k0"), T0)
    step_and_apply(store, run("k1"), T0 + HOUR)  # between the page and its post
    posted = store.set_slack(opened.state, "C123", "1.2")  # type: ignore[arg-type]
    assert posted.slack == {"channel": "C123", "ts": "1.2"}
    assert (posted.last_run, posted.version) == ("k1", 3)


def test_items_of_the_era_before_the_lifecycle_are_not_incidents_to_track(store) -> None:
    StateStore("state").apply(
        StateStore("state").put_operation(
            {"pk": "INCIDENT#inc-old", "sk": "INCIDENT", "model_id": "churn", "status": "OPEN"}
        )
    )
    assert store.get("inc-old") is None
    assert store.list() == []
