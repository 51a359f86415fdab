"""Fuzzing what reads untrusted input: every event parser the handlers use, the Model Monitor and
Evidently readers, the model configuration validator, and where triage reads.

Inputs are real samples (events/, tests/fixtures/samples/) mutated by hypothesis: values replaced
by any JSON, keys dropped or added, documents truncated, bytes flipped. The properties: only our
own documented errors come out (``EventRejectedError`` naming the field for events, pydantic's
``ValidationError`` naming the field for configuration, readers that never raise and say what
they could not read), and no signal makes triage read outside the model's configured location.
(The email-link and Slack-request verifiers: test_fuzz_verifiers.py, and beside their tests in
test_approvals.py and test_incident_controls.py.)
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mlops_core.errors import ControlPlaneError, EventRejectedError
from mlops_core.evidently import read_reports
from mlops_core.monitoring import load_history, parse_execution
from mlops_runtime import events
from mlops_runtime.model_config import ModelConfig
from pydantic import ValidationError

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "tests" / "fixtures" / "samples"


def _json_files(paths: list[Path]) -> list[Any]:
    """The samples that are JSON (a few published AWS samples are not: test_events.py says)."""
    found = []
    for path in paths:
        try:
            found.append(json.loads(path.read_text()))
        except ValueError:
            continue
    return found


EVENTS = _json_files(
    sorted((ROOT / "events").glob("*.json")) + sorted((SAMPLES / "events").rglob("*.json"))
)
FUZZ = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Each parser a handler applies to the events it is sent.
PARSERS: dict[str, Callable[[Any], Any]] = {
    "drift_intake": events.parse_monitoring_event,
    "guardrails": lambda e: events.parse_one_of(
        e, events.GuardrailEvent, events.GUARDRAIL_DETAIL_TYPES
    ),
    "spot_recovery": lambda e: events.parse_one_of(
        e, events.TrainingEvent, events.TRAINING_DETAIL_TYPES
    ),
    "pipeline_status": lambda e: events.parse_event(e, events.PipelineExecutionStatusChange),
    "promotion_intake": lambda e: events.parse_event(e, events.ModelPackageStateChange),
}

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=40),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*prefix, index))
    return found


@st.composite
def mutated(draw: st.DrawFn, documents: list[Any]) -> Any:
    """A sample with a few of its values replaced, keys dropped or keys added."""
    document = json.loads(json.dumps(draw(st.sampled_from(documents))))
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(_paths(document)))
        if not path:
            document = draw(json_values) if draw(st.booleans()) else document
            continue
        parent = document
        for step in path[:-1]:
            parent = parent[step]
        action = draw(st.sampled_from(["replace", "drop", "add"]))
        if action == "replace":
            parent[path[-1]] = draw(json_values)
        elif action == "drop":
            del parent[path[-1]]
        elif isinstance(parent, dict):
            parent[draw(st.text(max_size=12))] = draw(json_values)
    return document


def _raised(call: Callable[[], Any]) -> Exception | None:
    """What ``call`` raised (the test then says which errors are documented), or None."""
    try:
        call()
    except Exception as error:  # judged by the caller: an undocumented one fails it
        return error
    return None


# -- events -----------------------------------------------------------------------------------


@pytest.mark.parametrize("handler", sorted(PARSERS))
@FUZZ
@given(event=mutated(EVENTS))
def test_every_event_parser_accepts_or_names_the_field(handler: str, event: Any) -> None:
    rejected = _raised(lambda: PARSERS[handler](event))
    if rejected is None:
        return
    assert isinstance(rejected, EventRejectedError), repr(rejected)
    assert rejected.reason.startswith(("malformed event", "unsupported detail-type"))
    for problem in rejected.errors:
        assert problem["field"], rejected.reason
        assert problem["field"] in rejected.reason or len(rejected.errors) > 5


def test_a_rejection_names_the_field_it_is_about() -> None:
    (sample,) = [e for e in EVENTS if e.get("detail-type") == "Model Drift Signal"][:1]
    broken = json.loads(json.dumps(sample))
    broken["detail"]["endpoint_name"] = ["not", "a", "name"]
    with pytest.raises(EventRejectedError, match=r"detail\.endpoint_name"):
        events.parse_monitoring_event(broken)


# -- readers ----------------------------------------------------------------------------------

MONITOR = {
    str(p.relative_to(SAMPLES / "monitor")): p.read_bytes()
    for p in sorted((SAMPLES / "monitor").rglob("*.json"))
}
EVIDENTLY = [json.loads(p.read_text()) for p in sorted((SAMPLES / "evidently").glob("*.json"))]
AT = datetime(2026, 7, 1, 10, tzinfo=UTC)


def _bytes_variants(raw: bytes) -> st.SearchStrategy[bytes]:
    return st.one_of(
        st.integers(0, len(raw)).map(lambda cut: raw[:cut]),  # a half-written file
        st.binary(max_size=64),
        st.tuples(st.integers(0, max(len(raw) - 1, 0)), st.integers(0, 255)).map(
            lambda flip: raw[: flip[0]] + bytes([flip[1]]) + raw[flip[0] + 1 :]
        ),
    )


@FUZZ
@given(data=st.data())
def test_the_model_monitor_reader_reads_anything_without_raising(data: st.DataObject) -> None:
    name = data.draw(st.sampled_from(sorted(MONITOR)))
    files = {name: MONITOR[name]}
    variants = _bytes_variants(MONITOR[name])
    if (document := _json_files([SAMPLES / "monitor" / name])) and isinstance(document[0], dict):
        variants |= mutated(document).map(lambda d: json.dumps(d).encode())
    contents = data.draw(variants)
    execution = parse_execution("schedule", AT, {name.rsplit("/", 1)[-1]: contents})
    assert execution.schedule == "schedule"
    files[name] = contents
    error = _raised(lambda: load_history(files))
    assert error is None or isinstance(error, ControlPlaneError), repr(error)


@FUZZ
@given(data=st.data())
def test_the_evidently_reader_reads_anything_without_raising(data: st.DataObject) -> None:
    document = data.draw(mutated(EVIDENTLY) | json_values)
    raw = json.dumps(document).encode()
    contents = {"report.json": data.draw(st.just(raw) | _bytes_variants(raw))}
    report = read_reports(contents)
    assert report is not None


# -- model configuration ----------------------------------------------------------------------

CONFIGS = [
    {
        "model_id": "churn",
        "endpoint_name": "churn-prod",
        "monitoring_output_uri": "s3://monitoring/churn-prod",
        "retrain": {"pipeline_name": "churn-retrain", "cooldown_hours": 12},
        "approvals": {"slack": {"channel": "C0APPROVE", "approvers": ["U0ADA"]}},
    },
    {"model_id": "fraud", "endpoint_name": "fraud-prod"},
]


@FUZZ
@given(config=mutated(CONFIGS))
def test_the_model_configuration_validator_names_the_field(config: Any) -> None:
    error = _raised(lambda: ModelConfig.model_validate(config))
    if error is not None:
        assert isinstance(error, ValidationError), repr(error)
        problems = error.errors()
        assert all(p["loc"] for p in problems) or not isinstance(config, dict), problems


@FUZZ
@given(text=st.text(max_size=200))
def test_a_configuration_file_of_any_text_is_refused_with_a_reason(
    tmp_path_factory: Any, text: str
) -> None:
    from mlopscp.commands.models import check_config_file

    path = tmp_path_factory.mktemp("config") / "model.yaml"
    path.write_text(text)
    found: list[Any] = []
    error = _raised(lambda: found.append(check_config_file(path)))
    assert error is None, repr(error)
    config, problems = found[0]
    assert (config is None) == bool(problems)
    assert all(p.startswith(str(path)) and "\n" not in p for p in problems), problems


# -- where triage reads -----------------------------------------------------------------------

segment = st.text(alphabet="abc./-_%:", min_size=0, max_size=6)
uris = st.one_of(
    st.lists(segment, max_size=5).map(lambda parts: "s3://monitoring/" + "/".join(parts)),
    st.lists(segment, max_size=5).map(lambda parts: "s3://" + "/".join(parts)),
    st.text(max_size=40),
)


@FUZZ
@given(named=uris, kind=st.sampled_from(["custom", "monitoring_execution"]))
def test_no_signal_makes_triage_read_outside_the_configured_location(named: str, kind: str) -> None:
    from mlops_core.signals import MonitoringSignal, SignalKind
    from mlops_runtime.intake import _location

    configured = "s3://monitoring/churn-prod"
    model = ModelConfig.model_validate(
        {"model_id": "churn", "endpoint_name": "churn-prod", "monitoring_output_uri": configured}
    )
    signal = MonitoringSignal(
        event_id="e",
        kind=SignalKind(kind),
        observed_at=AT,
        description="fuzzed",
        endpoint_name="churn-prod",
        output_uri=named,
    )
    found: list[str | None] = []
    rejected = _raised(lambda: found.append(_location(signal, model, lambda: None)))
    if rejected is None:
        assert found == [configured]
    else:
        assert isinstance(rejected, EventRejectedError), repr(rejected)
        assert "outside" in rejected.reason or "location" in rejected.reason


@FUZZ
@given(
    children=st.lists(st.text(alphabet="0123456789ab./-", max_size=8), max_size=6),
    files=st.lists(st.text(alphabet="ab./-_", min_size=1, max_size=10), max_size=4),
)
def test_triage_lists_and_reads_only_under_the_configured_root(
    children: list[str], files: list[str]
) -> None:
    """Whatever S3 lists (names with dots, slashes, ..), every request stays under the root."""
    from mlops_runtime.monitoring_store import read_monitoring_output

    root = "models/churn-prod/"
    asked: list[str] = []

    class Listing:
        def paginate(self, Bucket: str, Prefix: str, Delimiter: str) -> list[dict[str, Any]]:  # noqa: N803
            asked.append(Prefix)
            return [{"CommonPrefixes": [{"Prefix": f"{Prefix}{c}/"} for c in children]}]

    class S3:
        def get_paginator(self, _: str) -> Listing:
            return Listing()

        def list_objects_v2(self, Bucket: str, Prefix: str) -> dict[str, Any]:  # noqa: N803
            asked.append(Prefix)
            return {"Contents": [{"Key": f"{Prefix}{f}.json"} for f in files]}

        def get_object(self, Bucket: str, Key: str) -> dict[str, Any]:  # noqa: N803
            asked.append(Key)

            class Body:
                @staticmethod
                def read() -> bytes:
                    return b"{}"

            return {"Body": Body()}

    read_monitoring_output(f"s3://monitoring/{root}", per_schedule=2, s3=S3())
    assert asked
    # S3 keys are literal ("./" is a name, not a step): staying under the root is the prefix
    assert all(a.startswith(root) for a in asked)
