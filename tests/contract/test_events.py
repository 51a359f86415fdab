"""Every event in events/ and every real published sample parses (or is refused clearly)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mlops_core.errors import EventRejectedError
from mlops_runtime import events

from tests.contract.published import SAMPLES, load
from tests.events_catalogue import catalogue

EVENTS = Path(__file__).resolve().parents[2] / "events"

# Models for every detail-type the control plane consumes; the rest must be refused by the
# monitoring intake with a reason naming the detail-type.
MODELS = {
    "SageMaker Processing Job State Change": events.ProcessingJobStateChange,
    "CloudWatch Alarm State Change": events.AlarmStateChange,
    "Model Drift Signal": events.DriftSignal,
    "SageMaker Model Building Pipeline Execution Status Change": (
        events.PipelineExecutionStatusChange
    ),
    "SageMaker Training Job State Change": events.TrainingJobStateChange,
    "SageMaker Model Building Pipeline Execution Step Status Change": (
        events.PipelineStepStatusChange
    ),
    "SageMaker Endpoint State Change": events.EndpointStateChange,
    "SageMaker Model Package State Change": events.ModelPackageStateChange,
}


def event_files() -> list[Path]:
    return sorted(EVENTS.glob("*.json"))


def sample_files() -> list[Path]:
    return sorted((SAMPLES / "events").rglob("*.json"))


@pytest.mark.parametrize("path", event_files(), ids=lambda p: p.name)
def test_event_catalogue_files_are_strict_json_and_parse(path: Path) -> None:
    event = json.loads(path.read_text())
    model = MODELS[event["detail-type"]]
    if "malformed" in path.name:
        with pytest.raises(EventRejectedError) as error:
            events.parse_event(event, model)
        assert "monitoring_output_uri" in error.value.reason
    else:
        parsed = events.parse_event(event, model)
        assert parsed.id == event["id"]


def test_every_catalogue_file_is_documented() -> None:
    readme = (EVENTS / "README.md").read_text()
    assert all(f"`{p.name}`" in readme for p in event_files())


def test_every_catalogue_file_says_what_its_replay_does() -> None:
    """One table row per file, each with checkable claims (tests/integration replays them);
    a dead-letter outcome is never mixed with an ignored one."""
    rows = catalogue()
    assert sorted(rows) == [p.name for p in event_files()]
    for name, claims in rows.items():
        verbs = {c.verb for c in claims}
        assert claims, f"{name}: the replay column makes no claim"
        assert not {"dead-letter", "ignored"} <= verbs, name
        for claim in claims:
            if claim.verb == "ledger":
                assert len(claim.text.split()) == 2, f"{name}: ledger MODEL ACTION, got {claim}"


@pytest.mark.parametrize("path", sample_files(), ids=lambda p: p.name)
def test_published_sample_parses_or_is_refused_by_detail_type(path: Path) -> None:
    event, repairs = load(path)
    assert ("NOT strict JSON" in _provenance(path)) == bool(repairs), repairs
    envelope = events.parse_event(event, events.Envelope)
    model = MODELS.get(envelope.detail_type)
    if model is not None:
        parsed = events.parse_event(event, model)
        assert parsed.detail_type == envelope.detail_type
    else:
        with pytest.raises(EventRejectedError, match="unsupported detail-type"):
            events.parse_monitoring_event(event)


def _provenance(path: Path) -> str:
    for line in (path.parent / "PROVENANCE.md").read_text().splitlines():
        if f"`{path.name}`" in line:
            return line
    raise AssertionError(f"{path.name} has no provenance line")


def test_epoch_millisecond_times_are_accepted() -> None:
    event = json.loads((EVENTS / "model-quality-alarm.json").read_text())
    parsed = events.parse_event(event, events.AlarmStateChange)
    assert parsed.time.year == 2026


def test_extra_fields_are_kept_not_refused() -> None:
    event = json.loads((EVENTS / "monitoring-execution-completed.json").read_text())
    event["detail"]["SomethingAwsAddsLater"] = {"x": 1}
    parsed = events.parse_event(event, events.ProcessingJobStateChange)
    assert parsed.detail.model_extra == {"SomethingAwsAddsLater": {"x": 1}} | {
        k: v
        for k, v in event["detail"].items()
        if k not in events.ProcessingJobDetail.model_fields and k != "SomethingAwsAddsLater"
    }


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda e: e.pop("detail"), "detail"),
        (lambda e: e["detail"].pop("ProcessingJobName"), "ProcessingJobName"),
        (lambda e: e["detail"].update(ProcessingJobStatus="Exploded"), "ProcessingJobStatus"),
        (lambda e: e.update(time="yesterday"), "time"),
    ],
)
def test_a_malformed_event_is_refused_with_the_field_named(mutate, field: str) -> None:
    event = json.loads((EVENTS / "monitoring-execution-completed.json").read_text())
    mutate(event)
    with pytest.raises(EventRejectedError) as error:
        events.parse_monitoring_event(event)
    assert field in error.value.reason


def test_a_drift_signal_must_name_its_model_or_endpoint() -> None:
    event = json.loads((EVENTS / "drift-signal.json").read_text())
    del event["detail"]["model_id"]
    with pytest.raises(EventRejectedError, match="model_id or its endpoint_name"):
        events.parse_monitoring_event(event)


def test_a_non_object_event_is_refused() -> None:
    with pytest.raises(EventRejectedError, match="not a JSON object"):
        events.parse_monitoring_event(["not", "an", "event"])


# ---------------------------------------------------------------- Spot recovery, guardrails


@pytest.mark.parametrize(
    ("name", "model"),
    [
        ("training-job-max-wait-exceeded.json", events.TrainingEvent),
        ("pipeline-training-step-failed.json", events.TrainingEvent),
        ("training-job-started-on-demand.json", events.GuardrailEvent),
        ("endpoint-in-service.json", events.GuardrailEvent),
    ],
)
def test_training_and_guardrail_unions_pick_the_model_of_the_detail_type(name, model) -> None:
    event = json.loads((EVENTS / name).read_text())
    detail_types = {
        events.TrainingEvent: events.TRAINING_DETAIL_TYPES,
        events.GuardrailEvent: events.GUARDRAIL_DETAIL_TYPES,
    }[model]
    parsed = events.parse_one_of(event, model, detail_types)
    assert isinstance(parsed, MODELS[event["detail-type"]])


def test_event_tags_may_be_a_map_or_a_list() -> None:
    event = json.loads((EVENTS / "training-job-max-wait-exceeded.json").read_text())
    assert events.parse_event(event, events.TrainingJobStateChange).detail.Tags["team"] == (
        "retention"
    )
    event["detail"]["Tags"] = [{"Key": "team", "Value": "retention"}]
    assert events.parse_event(event, events.TrainingJobStateChange).detail.Tags == [
        {"Key": "team", "Value": "retention"}
    ]


def test_the_published_endpoint_sample_is_in_service() -> None:
    path = (
        SAMPLES
        / "events"
        / "sagemaker"
        / "awsdocs-devguide-2023_endpoint-state-change_in-service.json"
    )
    event, _ = load(path)
    detail = events.parse_event(event, events.EndpointStateChange).detail
    assert detail.EndpointStatus == "IN_SERVICE"
    assert detail.in_service


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda e: e["detail"].pop("TrainingJobName"), "TrainingJobName"),
        (lambda e: e["detail"].update(TrainingJobStatus="Paused"), "TrainingJobStatus"),
        (lambda e: e["detail"].update(TrainingJobName="x" * 64), "TrainingJobName"),
    ],
)
def test_a_malformed_training_event_is_refused_with_the_field_named(mutate, field: str) -> None:
    event = json.loads((EVENTS / "training-job-max-wait-exceeded.json").read_text())
    mutate(event)
    with pytest.raises(EventRejectedError) as error:
        events.parse_one_of(event, events.TrainingEvent, events.TRAINING_DETAIL_TYPES)
    assert field in error.value.reason
    assert "SageMaker Training Job State Change" not in error.value.reason


def test_a_step_event_without_its_execution_is_refused() -> None:
    event = json.loads((EVENTS / "pipeline-training-step-failed.json").read_text())
    del event["detail"]["pipelineExecutionArn"]
    with pytest.raises(EventRejectedError, match=r"detail\.pipelineExecutionArn"):
        events.parse_one_of(event, events.TrainingEvent, events.TRAINING_DETAIL_TYPES)


def test_another_detail_type_is_refused_by_the_training_union() -> None:
    event = json.loads((EVENTS / "endpoint-in-service.json").read_text())
    with pytest.raises(EventRejectedError, match="unsupported detail-type"):
        events.parse_one_of(event, events.TrainingEvent, events.TRAINING_DETAIL_TYPES)
