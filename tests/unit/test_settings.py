"""Function settings read from the environment (mlops_runtime.settings).

What the handlers relied on when these were pydantic-settings classes, kept now that they are
plain pydantic: the variable named like the field, case-insensitively; values coerced and
checked; other variables ignored; the settings frozen; a missing or malformed variable refused
with pydantic's ValidationError naming the field.
"""

from __future__ import annotations

import pytest
from mlops_runtime import settings
from mlops_runtime.training import TrainingPolicySettings
from pydantic import Field, ValidationError

TABLES = {"LEDGER_TABLE": "ledger", "STATE_TABLE": "state", "MODEL_CONFIG_TABLE": "models"}


class RetrainSettings(settings.IdempotentSettings, settings.AccountSettings):
    cooldown_hours: float = Field(24.0, ge=0)
    dead_letter_queue_url: str = Field(pattern=r"^https?://")


ENV = {
    **TABLES,
    "IDEMPOTENCY_TABLE": "idem",
    "TOOLING_ACCOUNT_ID": "111111111111",
    "DEAD_LETTER_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/111111111111/dlq",
}


def test_fields_come_from_their_variables_coerced_to_the_field_type() -> None:
    loaded = RetrainSettings.from_environ(
        {**ENV, "OBSERVE_ONLY": "true", "COOLDOWN_HOURS": "1.5", "UNRELATED": "x"}
    )
    assert loaded.ledger_table == "ledger"
    assert loaded.idempotency_table == "idem"
    assert loaded.observe_only is True
    assert loaded.cooldown_hours == 1.5
    assert not hasattr(loaded, "unrelated")


def test_defaults_hold_when_a_variable_is_absent() -> None:
    loaded = RetrainSettings.from_environ(ENV)
    assert loaded.observe_only is False
    assert loaded.cooldown_hours == 24.0


def test_variable_names_match_case_insensitively() -> None:
    loaded = settings.FunctionSettings.from_environ(
        {"ledger_table": "ledger", "State_Table": "state", "MODEL_CONFIG_TABLE": "models"}
    )
    assert (loaded.ledger_table, loaded.state_table) == ("ledger", "state")


def test_the_process_environment_is_the_default_source(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in TABLES.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("LEDGER_TABLE", "from-the-process")
    assert settings.FunctionSettings.from_environ().ledger_table == "from-the-process"


def test_settings_are_frozen() -> None:
    loaded = settings.FunctionSettings.from_environ(TABLES)
    with pytest.raises(ValidationError, match="frozen"):
        loaded.ledger_table = "other"  # type: ignore[misc]


def test_a_missing_variable_is_refused_naming_it() -> None:
    env = {k: v for k, v in ENV.items() if k != "DEAD_LETTER_QUEUE_URL"}
    with pytest.raises(ValidationError) as raised:
        RetrainSettings.from_environ(env)
    assert [e["loc"] for e in raised.value.errors()] == [("dead_letter_queue_url",)]
    assert raised.value.errors()[0]["type"] == "missing"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("TOOLING_ACCOUNT_ID", "12345"),
        ("DEAD_LETTER_QUEUE_URL", "sqs://queue"),
        ("OBSERVE_ONLY", "perhaps"),
        ("COOLDOWN_HOURS", "-1"),
        ("LEDGER_TABLE", "ab"),
    ],
)
def test_a_malformed_variable_is_refused_naming_it(variable: str, value: str) -> None:
    with pytest.raises(ValidationError) as raised:
        RetrainSettings.from_environ({**ENV, variable: value})
    assert [e["loc"] for e in raised.value.errors()] == [(variable.lower(),)]


def test_a_policy_validator_still_runs_at_load() -> None:
    env = {**ENV, "SPOT_FALLBACK": "pray"}
    with pytest.raises(ValidationError, match="fallback"):
        TrainingPolicySettings.from_environ(env)


def test_load_validates_once_per_class(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in TABLES.items():
        monkeypatch.setenv(name, value)

    class Once(settings.FunctionSettings):
        pass

    first = settings.load(Once)
    monkeypatch.setenv("LEDGER_TABLE", "changed")
    assert settings.load(Once) is first
