"""The incident-storm bench through IncidentStore on moto counts what the in-memory replay
counts (the unit tests check those counts), and the ledger table holds one entry per step."""

from __future__ import annotations

import pytest

from tests.unit.test_incident_storm import storm

pytestmark = pytest.mark.integration

MIX = {"clean": 1, "break_returns": 2, "escalation": 1, "flapping_drift": 1, "retrain_in_flight": 1}


def test_the_store_on_moto_counts_what_memory_counts(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "unset")  # restored afterwards: on_moto sets its own
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    in_memory = storm.summarise(*storm.replay(5, mix=MIX))
    with storm.on_moto() as (tracker, dynamodb):
        on_moto = storm.summarise(*storm.replay(5, mix=MIX, tracker=tracker))
        ledger = storm.ledger_actions(dynamodb)
    assert on_moto == in_memory
    total = on_moto["total"]
    assert ledger["incident_opened"] == total["incidents"] + total["retrain_incidents"]
    assert ledger["incident_updated"] == total["updates"] + total["retrain_attached"]
    assert ledger["incident_resolved"] == total["resolutions"] + total["retrain_resolutions"]
    assert ledger["incident_reopened"] == total["pages_reopened"]
    assert ledger["incident_escalated"] == total["pages_escalated"]
