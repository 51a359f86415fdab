"""Observe-only mode through the handlers on moto: every decision recorded as would_*, nothing
started, stopped, copied or paged; the observed retrains' cooldown holds back no real retrain;
the stack switch wins over a model that acts."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from mlops_runtime.store import Ledger, StateStore

from tests.aws_fixtures import LambdaContext, load_handler
from tests.integration.handlers.conftest import create_pipeline, drain, put_model
from tests.integration.handlers.test_guardrails import on_demand_job
from tests.integration.handlers.test_spot_recovery import ends, jobs, training_job
from tests.integration.handlers.test_track_incident import run

pytestmark = pytest.mark.integration
APPROVALS = {"slack_channel": "C0APPROVALS", "slack_approvers": ["U0ADA"]}


def retrain(incident: str, approval: dict[str, Any] | None = None) -> dict[str, Any]:
    request = {
        "model_id": "churn",
        "incident_id": incident,
        "summary": {"reasons": ["tenure_months drifted", "auc fell"]},
        "data_window": {"start": "2026-11-20T00:00Z", "end": "2026-11-27T00:00Z"},
        "approval": approval or {"outcome": "not_required"},
    }
    return load_handler("start_retrain").handler(request, LambdaContext())  # type: ignore[no-any-return]


def executions() -> list[dict[str, Any]]:
    listed = boto3.client("sagemaker").list_pipeline_executions(PipelineName="churn-retrain")
    return list(listed["PipelineExecutionSummaries"])


def entries(action: str, model_id: str = "churn") -> list[dict[str, Any]]:
    return [e for e in Ledger("ledger").entries(model_id, limit=200) if e["action"] == action]


def digest_items() -> list[dict[str, Any]]:
    from mlops_runtime.findings import FindingStore

    return FindingStore(Ledger("ledger"), StateStore("state")).pending()


def test_an_observed_retrain_starts_nothing_and_records_what_would_have(cloud) -> None:
    put_model(mode="observe")
    create_pipeline()
    result = retrain("inc-churn-1")
    assert result["status"] == "observed"
    assert result["reason"].startswith("observe-only (model): would start churn-retrain:")
    assert executions() == []
    (would,) = entries("would_start_retrain")
    assert would["subject"] == "inc-churn-1"
    assert would["summary"].startswith("observe-only (model): would start retrain: churn-retrain")
    evidence = would["evidence"]
    assert evidence["observe_only"] == "model"
    assert evidence["would"] == "retrain_started"
    parameters = {p["Name"]: p["Value"] for p in evidence["pipeline_parameters"]}
    assert parameters["IncidentId"] == "inc-churn-1"
    assert parameters["DataWindowStart"] == "2026-11-20T00:00Z"
    assert entries("retrain_started") == []
    state = StateStore("state")
    assert state.get("MODEL#churn", "RETRAIN") is None, "the real retrain lock is untouched"
    assert state.get("MODEL#churn", "RETRAIN_OBSERVED")["incident_id"] == "inc-churn-1"
    (item,) = digest_items()
    assert (item["rule"], item["resource"]) == ("would_start_retrain", "inc-churn-1")


def test_the_observed_cooldown_is_simulated_but_never_holds_back_a_real_retrain(cloud) -> None:
    put_model(mode="observe")
    create_pipeline()
    assert retrain("inc-churn-1")["status"] == "observed"
    second = retrain("inc-churn-2")
    assert second["status"] == "skipped"
    assert second["reason"].startswith("observe-only (model): cooldown: the last retrain started")
    assert len(entries("would_start_retrain")) == 1, "the trial shows what really would start"

    put_model(mode="act")  # the team lets it act: the first real retrain is not held back
    assert retrain("inc-churn-3")["status"] == "started"
    assert len(executions()) == 1
    (started,) = entries("retrain_started")
    assert started["subject"] == "inc-churn-3"


def test_the_stack_switch_wins_over_a_model_that_acts(cloud, monkeypatch) -> None:
    monkeypatch.setenv("OBSERVE_ONLY", "true")
    put_model()  # mode: act (the default)
    create_pipeline()
    assert retrain("inc-churn-1")["status"] == "observed"
    assert executions() == []
    (would,) = entries("would_start_retrain")
    assert would["evidence"]["observe_only"] == "stack"


def test_an_observed_model_that_requires_approval_asks_nobody(cloud, monkeypatch) -> None:
    monkeypatch.setenv("ARTIFACTS_BUCKET", "artifacts")
    put_model(
        pipeline=None,
        retrain={"pipeline_name": "churn-retrain", "require_approval": True},
        approvals=APPROVALS,
        mode="observe",
    )
    create_pipeline()
    triage = load_handler("drift_triage")
    from mlops_runtime.model_config import ModelConfigStore

    model = ModelConfigStore("model-config", max_age=0).get("churn")
    assert triage._approval_gate(model)["required"] is False, "no approval request is sent"
    assert retrain("inc-churn-1")["status"] == "observed"
    (would,) = entries("would_start_retrain")
    assert would["evidence"]["approval_required"] is True
    assert executions() == []


def test_an_observed_incident_is_tracked_and_pages_nobody(cloud, monkeypatch) -> None:
    topic = boto3.client("sns").create_topic(Name="notifications")["TopicArn"]
    monkeypatch.setenv("NOTIFICATION_TOPIC_ARN", topic)
    put_model(mode="observe", incidents={"slack_channel": "C0INCIDENTS"})
    tracked = load_handler("track_incident").handler(run("00"), LambdaContext())
    assert (tracked["transition"], tracked["notify"], tracked["notices"]) == ("opened", False, [])
    incident = tracked["incident_id"]
    (opened,) = entries("incident_opened")
    assert opened["subject"] == incident
    assert opened["evidence"]["observe_only"] == "model"
    (page,) = entries("would_page")
    assert page["subject"] == incident
    assert page["evidence"]["details"] == ["zip_code: data type check failed"]
    assert entries("notification_sent") == []
    again = load_handler("track_incident").handler(run("01"), LambdaContext())
    assert again["transition"] == "updated"
    assert len(entries("would_page")) == 1, "an update would not have paged either"
    assert "would_page" in {item["rule"] for item in digest_items()}


def test_an_observed_enforced_guardrail_stops_nothing(training_cloud) -> None:
    put_model(guardrails={"enforce": ["training.no_spot"]}, mode="observe")
    result = load_handler("guardrails").handler(on_demand_job(), LambdaContext())
    assert result["stopped"] is False
    job = boto3.client("sagemaker").describe_training_job(TrainingJobName="churn-train-ondemand")
    assert job["TrainingJobStatus"] not in {"Stopping", "Stopped"}
    (would,) = entries("would_stop_training")
    assert would["subject"] == "training-job/churn-train-ondemand#training.no_spot"
    assert {e["action"] for e in Ledger("ledger").entries("churn")} == {
        "guardrail_flagged",
        "would_stop_training",
    }
    assert drain(training_cloud["inbox"]) == [], "no page"
    digest = load_handler("guardrail_digest").handler({}, LambdaContext())
    assert digest["findings"] == 3  # two flags and what would have been stopped
    (sent,) = drain(training_cloud["inbox"])
    assert "1 observe-only action(s)" in sent["body"]


def test_an_observed_spot_recovery_starts_no_copy(training_cloud) -> None:
    put_model(mode="observe")
    training_job("churn-train")
    result = load_handler("spot_recovery").handler(ends("churn-train"), LambdaContext())
    assert result == {"status": "observed", "step": "resume", "lineage": "churn-train"}
    assert set(jobs()) == {"churn-train"}, "no copy was created"
    (would,) = entries("would_restart_training")
    assert would["evidence"]["new_job"] == "churn-train-a2"
    assert StateStore("state").get("TRAINING_LINEAGE#churn-train", "LINEAGE") is None
    assert drain(training_cloud["inbox"]) == []


def test_retrain_decisions_inside_the_observed_cooldown_join_the_last_incident(cloud) -> None:
    put_model(mode="observe")
    create_pipeline()
    first = load_handler("track_incident").handler(run("00", "retrain"), LambdaContext())
    assert (first["transition"], first["route"]) == ("opened", "retrain")
    assert retrain(first["incident_id"])["status"] == "observed"
    end = {"end_retrain": {"incident_id": first["incident_id"], "reason": "observe-only"}}
    assert load_handler("track_incident").handler(end, LambdaContext())["ended"] is True

    again = load_handler("track_incident").handler(run("01", "retrain"), LambdaContext())
    assert (again["incident_id"], again["transition"], again["route"]) == (
        first["incident_id"],
        "attached",
        "done",
    ), "as an acting model's would inside its cooldown"

    put_model(mode="act")
    acting = load_handler("track_incident").handler(run("02", "retrain"), LambdaContext())
    assert (acting["transition"], acting["route"]) == ("opened", "retrain")
    assert retrain(acting["incident_id"])["status"] == "started"
