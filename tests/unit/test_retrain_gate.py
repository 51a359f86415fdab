"""When a retrain may start: once per incident, never concurrently, never inside the cooldown."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from mlops_core import retrain

NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)
DAY = timedelta(hours=24)


def lock(status: str, incident: str = "inc-a", started_hours_ago: float | None = 48) -> dict:
    started = None if started_hours_ago is None else (NOW - timedelta(hours=started_hours_ago))
    return {
        "status": status,
        "incident_id": incident,
        "started_at": started.isoformat() if started else None,
    }


def test_first_retrain_of_a_model_is_allowed() -> None:
    assert retrain.retrain_gate(None, "inc-a", NOW, DAY).allowed


def test_same_incident_never_starts_twice() -> None:
    gate = retrain.retrain_gate(lock(retrain.SUCCEEDED), "inc-a", NOW, DAY)
    assert not gate.allowed
    assert "already started" in gate.reason


def test_never_while_a_retrain_is_running() -> None:
    for status in (retrain.STARTING, retrain.RUNNING):
        gate = retrain.retrain_gate(lock(status, started_hours_ago=100), "inc-b", NOW, DAY)
        assert not gate.allowed
        assert "still running" in gate.reason


def test_cooldown_counts_from_the_last_start() -> None:
    recent = lock(retrain.SUCCEEDED, started_hours_ago=5)
    gate = retrain.retrain_gate(recent, "inc-b", NOW, DAY)
    assert not gate.allowed
    assert "cooldown" in gate.reason
    assert retrain.retrain_gate(recent, "inc-b", NOW, timedelta(hours=4)).allowed


def test_a_failed_start_keeps_the_previous_cooldown() -> None:
    # incident b failed to start; the lock still remembers when the last real retrain began
    failed_start = lock(retrain.NOT_STARTED, incident="inc-b", started_hours_ago=5)
    assert not retrain.retrain_gate(failed_start, "inc-c", NOW, DAY).allowed


def test_the_incident_whose_start_failed_may_retry() -> None:
    failed_start = lock(retrain.NOT_STARTED, incident="inc-b", started_hours_ago=None)
    assert retrain.retrain_gate(failed_start, "inc-b", NOW, DAY).allowed


def test_after_the_cooldown_a_new_incident_may_retrain() -> None:
    assert retrain.retrain_gate(lock(retrain.FAILED), "inc-b", NOW, DAY).allowed


def test_pipeline_parameters_carry_the_contract_and_static_values() -> None:
    params = retrain.pipeline_parameters(
        "inc-a",
        "drift",
        {"start": "2026-07-23T00:00Z", "end": "2026-07-27T00:00Z"},
        {"InstanceType": "ml.m5.xlarge", "IncidentId": "ignored"},
    )
    values = {p["Name"]: p["Value"] for p in params}
    assert values == {
        "InstanceType": "ml.m5.xlarge",
        "IncidentId": "inc-a",
        "RetrainReason": "drift",
        "DataWindowStart": "2026-07-23T00:00Z",
        "DataWindowEnd": "2026-07-27T00:00Z",
    }
    assert set(retrain.PIPELINE_PARAMETERS) <= set(values)


def test_client_request_token_is_stable_per_incident_and_valid_for_sagemaker() -> None:
    token = retrain.client_request_token("inc-a")
    assert token == retrain.client_request_token("inc-a")
    assert token != retrain.client_request_token("inc-b")
    assert 32 <= len(token) <= 128


def test_the_cooldown_is_the_models_own_else_the_stacks_default() -> None:
    assert retrain.cooldown(None, 24) == DAY
    assert retrain.cooldown(2, 24) == timedelta(hours=2)
    assert retrain.cooldown(0, 24) == timedelta(0), "zero means no cooldown, not the default"
