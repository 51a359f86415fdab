"""Observe-only mode's switch logic: who keeps a model from acting, what an observed action is
recorded as, the observed retrains' own cooldown, and the digest's would-have lines."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from mlops_core import guardrails, observe, retrain
from mlops_core.ledger import Action, LedgerEntry
from mlops_runtime.model_config import ModelConfig
from pydantic import ValidationError

NOW = datetime(2026, 11, 29, 12, tzinfo=UTC)
DAY = timedelta(hours=24)


@pytest.mark.parametrize(
    ("stack", "mode", "expected"),
    [
        (False, None, None),
        (False, "act", None),
        (False, "observe", observe.MODEL),
        (True, "act", observe.STACK),  # the stack switch wins over a model that acts
        (True, "observe", observe.STACK),
        (True, None, observe.STACK),  # events about no configured model are observed too
    ],
)
def test_who_keeps_a_model_from_acting(stack: bool, mode: str | None, expected: str | None) -> None:
    assert observe.observed_by(stack, mode) == expected


def test_model_mode_defaults_to_act_and_is_validated() -> None:
    base = {"model_id": "churn", "endpoint_name": "churn-prod"}
    assert ModelConfig.model_validate(base).mode == observe.Mode.ACT
    assert ModelConfig.model_validate(base | {"mode": "observe"}).mode == observe.Mode.OBSERVE
    with pytest.raises(ValidationError, match="mode"):
        ModelConfig.model_validate(base | {"mode": "dry-run"})


def test_an_observed_action_keeps_its_evidence_and_says_what_would_have_happened() -> None:
    started = LedgerEntry(
        Action.RETRAIN_STARTED,
        "churn",
        "inc-churn-1",
        "churn-retrain: drift on tenure",
        {"pipeline_name": "churn-retrain"},
        at=NOW,
    )
    entry = observe.would(started, observe.MODEL)
    assert entry.action == Action.WOULD_START_RETRAIN
    assert entry.subject == "inc-churn-1"
    assert entry.at == NOW
    assert (
        entry.summary == "observe-only (model): would start retrain: churn-retrain: drift on tenure"
    )
    assert entry.evidence == {
        "pipeline_name": "churn-retrain",
        "observe_only": "model",
        "would": "retrain_started",
    }
    # Its own stable id: a redelivered event records it once, and never collides with a real start.
    assert entry.entry_id == observe.would(started, observe.MODEL).entry_id
    assert entry.entry_id != started.entry_id


def test_every_acting_path_has_a_would_kind() -> None:
    for action in (
        Action.RETRAIN_STARTED,
        Action.PROMOTION_STARTED,
        Action.TRAINING_RESUMED,
        Action.TRAINING_FALLBACK,
        Action.GUARDRAIL_ENFORCED,
    ):
        assert observe.is_would(observe.WOULD[action])
    would_actions = {a for a in Action if a.startswith("would_")}
    assert would_actions == set(observe.WOULD_KINDS)
    paged = LedgerEntry(Action.INCIDENT_OPENED, "fraud", "inc-fraud-1", "schema break")
    assert observe.would(paged, observe.STACK, Action.WOULD_PAGE).action == Action.WOULD_PAGE


def test_observed_retrains_keep_their_own_lock() -> None:
    assert retrain.lock_key("churn", observed=True) != retrain.lock_key("churn")
    assert retrain.lock_key("churn", observed=True)[0] == retrain.lock_key("churn")[0]


def test_an_observed_retrain_holds_the_observed_cooldown_without_blocking() -> None:
    observed = {
        "status": retrain.OBSERVED,
        "incident_id": "inc-a",
        "started_at": (NOW - timedelta(hours=3)).isoformat(),
    }
    gate = retrain.retrain_gate(observed, "inc-b", NOW, DAY)
    assert not gate.allowed
    assert "cooldown" in gate.reason
    assert not retrain.retrain_gate(observed, "inc-a", NOW, DAY).allowed  # once per incident
    later = NOW + DAY
    assert retrain.retrain_gate(observed, "inc-c", later, DAY).allowed  # never "still running"


def test_the_digest_lists_what_observed_models_would_have_done() -> None:
    items = [
        {
            "resource": "training-job/t1",
            "rule": "training_without_spot",
            "message": "no Spot",
            "model_id": "churn",
            "enforced": False,
        },
        {
            "resource": "inc-churn-1",
            "rule": "would_start_retrain",
            "message": "observe-only (model): would start retrain: churn-retrain: drift",
            "model_id": "churn",
            "enforced": False,
        },
    ]
    digest = guardrails.digest("digest-1", items)
    assert digest.title == "[guardrails] 1 finding(s), 1 observe-only action(s) on 2 resource(s)"
    assert (
        "inc-churn-1 (churn) observe-only (model): would start retrain: churn-retrain: drift"
        in digest.lines
    )
    assert "training-job/t1 (churn) training_without_spot: no Spot" in digest.lines
    assert guardrails.digest("d", items[:1]).title == "[guardrails] 1 finding(s) on 1 resource(s)"
    only = guardrails.digest("d", items[1:]).title
    assert only == "[guardrails] 1 observe-only action(s) on 1 resource(s)"


def test_an_observed_model_respects_a_real_retrain_started_before_the_trial() -> None:
    running = {"status": retrain.RUNNING, "incident_id": "inc-real", "started_at": None}
    gate = retrain.observed_gate(running, None, "inc-b", NOW, DAY)
    assert not gate.allowed
    assert "still running" in gate.reason
    recent = {
        "status": retrain.SUCCEEDED,
        "incident_id": "inc-real",
        "started_at": (NOW - timedelta(hours=2)).isoformat(),
    }
    assert "cooldown" in retrain.observed_gate(recent, None, "inc-b", NOW, DAY).reason
    assert retrain.observed_gate(None, None, "inc-b", NOW, DAY).allowed
