"""The retrain step starts a pipeline exactly once per incident and respects the model's lock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from mlops_runtime.store import Ledger, StateStore

from tests.aws_fixtures import LambdaContext, load_handler
from tests.integration.handlers.conftest import create_pipeline, put_model

pytestmark = pytest.mark.integration


def request(incident: str = "inc-churn-aaa") -> dict[str, Any]:
    return {
        "model_id": "churn",
        "incident_id": incident,
        "decision": "retrain",
        "summary": {"reasons": ["gradual drift on 'tenure' sustained", "auc declining"]},
        "data_window": {"start": "2026-07-23T00:00Z", "end": "2026-07-27T00:00Z"},
        "report_uri": "s3://artifacts/triage/churn/x.json",
    }


def executions(pipeline: str = "churn-retrain") -> list[dict[str, Any]]:
    summaries = boto3.client("sagemaker").list_pipeline_executions(PipelineName=pipeline)
    return summaries["PipelineExecutionSummaries"]


def ledger_actions() -> list[str]:
    return [e["action"] for e in Ledger("ledger").entries("churn")]


def test_starts_the_pipeline_with_the_incident_parameters(cloud) -> None:
    put_model()
    create_pipeline()
    app = load_handler("start_retrain")
    result = app.handler(request(), LambdaContext())
    assert result["status"] == "started"
    arn = result["pipeline_execution_arn"]
    described = boto3.client("sagemaker").describe_pipeline_execution(PipelineExecutionArn=arn)
    assert described["PipelineExecutionDisplayName"] == "inc-churn-aaa"
    params = boto3.client("sagemaker").list_pipeline_parameters_for_execution(
        PipelineExecutionArn=arn
    )["PipelineParameters"]
    assert {p["Name"]: p["Value"] for p in params}["DataWindowStart"] == "2026-07-23T00:00Z"
    assert ledger_actions() == ["retrain_started"]
    lock = StateStore("state").get("MODEL#churn", "RETRAIN")
    assert lock["status"] == "RUNNING"
    assert lock["pipeline_execution_arn"] == arn
    assert StateStore("state").get(f"PIPELINE_EXECUTION#{arn}", "INCIDENT")["incident_id"] == (
        "inc-churn-aaa"
    )


def test_the_same_incident_twice_starts_one_execution(cloud) -> None:
    put_model()
    create_pipeline()
    app = load_handler("start_retrain")
    first = app.handler(request(), LambdaContext())
    # a cold start elsewhere (no in-memory state) with the same incident
    second = load_handler("start_retrain").handler(request(), LambdaContext())
    assert second == first
    assert len(executions()) == 1
    assert ledger_actions() == ["retrain_started"]


def test_a_second_incident_while_one_runs_is_skipped_and_recorded(cloud) -> None:
    put_model()
    create_pipeline()
    app = load_handler("start_retrain")
    app.handler(request("inc-churn-aaa"), LambdaContext())
    result = app.handler(request("inc-churn-bbb"), LambdaContext())
    assert result["status"] == "skipped"
    assert "still running" in result["reason"]
    assert len(executions()) == 1
    assert sorted(ledger_actions()) == ["retrain_skipped", "retrain_started"]


def test_cooldown_blocks_a_new_incident_after_a_finished_retrain(cloud) -> None:
    put_model()
    create_pipeline()
    state = StateStore("state")
    started = (datetime.now(UTC) - timedelta(hours=3)).isoformat()
    state.apply(
        state.put_operation(
            {
                "pk": "MODEL#churn",
                "sk": "RETRAIN",
                "status": "SUCCEEDED",
                "incident_id": "inc-old",
                "started_at": started,
                "version": 1,
            }
        )
    )
    result = load_handler("start_retrain").handler(request(), LambdaContext())
    assert result["status"] == "skipped"
    assert "cooldown" in result["reason"]
    assert executions() == []


def test_a_model_without_a_pipeline_records_why_nothing_started(cloud) -> None:
    put_model(pipeline=None)
    result = load_handler("start_retrain").handler(request(), LambdaContext())
    assert result == {
        "status": "skipped",
        "reason": "no retraining pipeline is configured for this model",
    }
    assert ledger_actions() == ["retrain_skipped"]


def test_a_refused_start_releases_the_lock_and_raises_a_named_error(cloud) -> None:
    put_model(pipeline="missing-pipeline")
    app = load_handler("start_retrain")
    # the class the state machine sees by name; it comes from the function's own import
    with pytest.raises(Exception, match="could not start pipeline missing-pipeline") as error:
        app.handler(request(), LambdaContext())
    assert type(error.value).__name__ == "RetrainPipelineError"
    assert StateStore("state").get("MODEL#churn", "RETRAIN")["status"] == "NOT_STARTED"
    assert ledger_actions() == []
    # the pipeline appears; the retried incident may now start it
    create_pipeline("missing-pipeline")
    result = load_handler("start_retrain").handler(request(), LambdaContext())
    assert result["status"] == "started"


# ---------------------------------------------------------------- the adapter alone


def test_two_incidents_racing_for_the_lock_start_one_retrain(cloud) -> None:
    """RetrainStarter without a Lambda context: the second incident's gate read the lock
    before the first claimed it, so its conditional claim fails and nothing else starts."""
    from mlops_runtime.model_config import ModelConfigStore
    from mlops_runtime.retrain_start import RetrainStarter

    put_model()
    create_pipeline()
    state = StateStore("state")
    starter = RetrainStarter(Ledger("ledger"), state, ModelConfigStore("model-config"), None, 24)
    assert starter.start(request("inc-churn-aaa"))["status"] == "started"

    class StaleRead(StateStore):
        def get(self, pk: str, sk: str) -> dict[str, Any] | None:
            return None if sk == "RETRAIN" else super().get(pk, sk)

    late = RetrainStarter(
        Ledger("ledger"), StaleRead("state"), ModelConfigStore("model-config"), None, 24
    )
    result = late.start(request("inc-churn-bbb"))
    assert result == {"status": "skipped", "reason": "another incident claimed the retrain first"}
    assert len(executions()) == 1
    assert state.get("MODEL#churn", "RETRAIN")["incident_id"] == "inc-churn-aaa"
    assert sorted(ledger_actions()) == ["retrain_skipped", "retrain_started"]
