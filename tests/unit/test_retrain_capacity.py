"""A start SageMaker refuses for the account's limit of concurrent pipeline executions is a
named, retried wait (RetrainCapacityError), not a failed retrain; the lock is free again."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError
from mlops_core.errors import RetrainCapacityError, RetrainPipelineError, ThrottlingError
from mlops_runtime import retrain_start
from mlops_runtime.model_config import RetrainConfig
from mlops_runtime.retrain_start import RetrainStarter

LOCK = ("MODEL#churn", "RETRAIN")
REQUEST = {"model_id": "churn", "incident_id": "inc-churn-aaa", "summary": {}}


class Refusing:
    def __init__(self, code: str, status: int = 400) -> None:
        self.code, self.status, self.calls = code, status, 0

    def start_pipeline_execution(self, **_: Any) -> dict[str, Any]:
        self.calls += 1
        raise ClientError(
            {
                "Error": {"Code": self.code, "Message": "refused"},
                "ResponseMetadata": {"HTTPStatusCode": self.status},
            },
            "StartPipelineExecution",
        )


class State:
    """Records the conditional writes the starter makes."""

    def __init__(self) -> None:
        self.applied: list[dict[str, Any]] = []

    def update_operation(self, pk: str, sk: str, fields: dict[str, Any], *args: Any, **values: Any):
        return {"key": (pk, sk), "fields": fields, "values": values}

    def apply(self, operation: dict[str, Any]) -> bool:
        self.applied.append(operation)
        return True


def released(state: State) -> bool:
    return state.applied == [
        {"key": LOCK, "fields": {"status": "NOT_STARTED"}, "values": {":i": "inc-churn-aaa"}}
    ]


def test_the_accounts_limit_is_a_capacity_wait_and_frees_the_lock(monkeypatch) -> None:
    state, sagemaker = State(), Refusing("ResourceLimitExceeded")
    monkeypatch.setattr(retrain_start, "client", lambda service: sagemaker)
    starter = RetrainStarter(None, state, None, None, 24)  # type: ignore[arg-type]
    with pytest.raises(RetrainCapacityError, match="limit of concurrent pipeline executions"):
        starter._start_pipeline(RetrainConfig(pipeline_name="churn-retrain"), REQUEST, LOCK, "r")
    assert sagemaker.calls == 1
    assert released(state), "the retried start must find the lock free, or it would skip"


@pytest.mark.parametrize(
    ("code", "status", "error"),
    [
        ("ValidationException", 400, RetrainPipelineError),  # a missing pipeline pages at once
        ("ResourceNotFound", 400, RetrainPipelineError),
        ("ThrottlingException", 400, ThrottlingError),  # a rate, not the quota: short retries
    ],
)
def test_other_refusals_keep_their_meaning(monkeypatch, code, status, error) -> None:
    state = State()
    monkeypatch.setattr(retrain_start, "client", lambda service: Refusing(code, status))
    starter = RetrainStarter(None, state, None, None, 24)  # type: ignore[arg-type]
    with pytest.raises(error) as raised:
        starter._start_pipeline(RetrainConfig(pipeline_name="churn-retrain"), REQUEST, LOCK, "r")
    assert not isinstance(raised.value, RetrainCapacityError)
    assert released(state)
