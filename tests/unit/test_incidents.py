"""The incident lifecycle: one incident and one page per problem, an end, reopen, ack, snooze."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mlops_core.errors import IncidentActionRefusedError
from mlops_core.incidents import (
    IncidentKind,
    IncidentPolicy,
    IncidentState,
    Observation,
    Severity,
    Status,
    Step,
    Transition,
    acknowledge,
    end_retrain,
    fingerprint,
    observe,
    resolve,
    severity,
    snooze,
)
from mlops_core.ledger import Action

T0 = datetime(2026, 11, 29, 2, tzinfo=UTC)
HOUR = timedelta(hours=1)
POLICY = IncidentPolicy()
ZIP_TYPE = {"kind": "integrity_violation", "subject": "zip_code", "summary": "type check"}
AGE_JUMP = {"kind": "sudden_drift", "subject": "age", "summary": "jump"}
TENURE_SLOW = {"kind": "sustained_drift", "subject": "tenure", "summary": "slow"}


def run(
    key: str, decision: str = "investigate", findings: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """The drift triage's output for one monitoring state."""
    found = [ZIP_TYPE] if findings is None else findings
    return {
        "model_id": "churn",
        "run_id": f"run-{key}",
        "decision": decision,
        "summary": {"signal_key": key, "reasons": ["zip_code: wrong type"], "findings": found},
        "report_uri": f"s3://artifacts/triage/{key}.json",
    }


def see(
    current: IncidentState | None,
    triage: dict[str, Any],
    now: datetime,
    kind: IncidentKind = IncidentKind.INVESTIGATE,
    policy: IncidentPolicy = POLICY,
) -> Step:
    return observe(current, Observation.of_run(triage, kind), policy, now)


def test_fingerprint_is_the_sorted_investigate_findings_and_severity_follows_it() -> None:
    summary = {"findings": [AGE_JUMP, ZIP_TYPE, TENURE_SLOW, ZIP_TYPE]}
    assert fingerprint(summary) == ("integrity_violation:zip_code", "sudden_drift:age")
    assert severity(fingerprint(summary)) == Severity.CRITICAL
    assert severity(["sudden_drift:age", "bias_drift:sex"]) == Severity.WARNING
    assert severity(["quality_cliff:auc"]) == Severity.CRITICAL
    incomplete = {"findings": [{"kind": "incomplete_output", "subject": "churn-dq"}]}
    assert fingerprint(incomplete) == ("incomplete_output:churn-dq",)
    assert severity(fingerprint(incomplete)) == Severity.WARNING


def test_a_persistent_problem_is_one_incident_and_one_page() -> None:
    opened = see(None, run("k0"), T0)
    assert opened.transition == Transition.OPENED
    assert opened.page
    assert opened.notify
    assert opened.incident_id
    assert opened.incident_id.startswith("inc-churn-")
    state = opened.state
    for hour in range(1, 24):
        step = see(state, run(f"k{hour}"), T0 + hour * HOUR)
        assert step.transition == Transition.UPDATED
        assert not step.page
        assert not step.notify
        assert step.incident_id == opened.incident_id
        state = step.state
    assert state is not None
    assert (state.runs, state.updates, state.pages, state.version) == (24, 23, 1, 24)
    assert state.last_seen_at == T0 + 23 * HOUR


def test_the_same_run_again_is_a_duplicate_that_changes_nothing() -> None:
    opened = see(None, run("k0"), T0)
    again = see(opened.state, run("k0"), T0 + HOUR)
    assert again.transition == Transition.DUPLICATE
    assert not again.writes
    assert not again.page
    assert again.state == opened.state
    assert again.ledger_entry() is None


def test_resolves_after_the_configured_clean_runs_and_an_investigate_run_resets_the_count() -> None:
    state = see(None, run("k0"), T0).state
    state = see(state, run("c1", "watch", []), T0 + HOUR).state
    assert state is not None
    assert state.clean_runs == 1
    assert state.is_open
    state = see(state, run("k2"), T0 + 2 * HOUR).state  # the problem again: count from zero
    assert state is not None
    assert state.clean_runs == 0
    steps = [see(state, run("c3", "watch", []), T0 + 3 * HOUR)]
    steps.append(see(steps[-1].state, run("c4", "retrain", [TENURE_SLOW]), T0 + 4 * HOUR))
    steps.append(see(steps[-1].state, run("c5", "watch", []), T0 + 5 * HOUR))
    assert [s.transition for s in steps] == [
        Transition.CLEAN,
        Transition.CLEAN,
        Transition.RESOLVED,
    ]
    resolved = steps[-1]
    assert resolved.notify
    assert not resolved.page
    assert resolved.state is not None
    assert resolved.state.status == Status.RESOLVED
    assert resolved.state.resolved_by == "control-plane"
    assert resolved.state.resolved_at == T0 + 5 * HOUR
    entry = resolved.ledger_entry()
    assert entry is not None
    assert entry.action == Action.INCIDENT_RESOLVED


def test_resolve_after_is_per_model() -> None:
    state = see(None, run("k0"), T0).state
    step = see(state, run("c1", "watch", []), T0 + HOUR, policy=IncidentPolicy(resolve_after=1))
    assert step.transition == Transition.RESOLVED


def test_a_new_subject_or_kind_escalates_the_same_incident_with_a_page() -> None:
    opened = see(None, run("k0", findings=[AGE_JUMP]), T0)
    assert opened.state is not None
    assert opened.state.severity == Severity.WARNING
    worse = see(opened.state, run("k1", findings=[AGE_JUMP, ZIP_TYPE]), T0 + HOUR)
    assert worse.transition == Transition.ESCALATED
    assert worse.page
    assert worse.incident_id == opened.incident_id
    assert worse.new_items == ("integrity_violation:zip_code",)
    assert worse.state is not None
    assert worse.state.severity == Severity.CRITICAL
    # Back to only what is known: no page; a subset of the problem is not worse.
    calmer = see(worse.state, run("k2", findings=[AGE_JUMP]), T0 + 2 * HOUR)
    assert calmer.transition == Transition.UPDATED
    assert not calmer.page


def test_an_acknowledged_incident_does_not_page_until_something_new_shows() -> None:
    state = see(None, run("k0"), T0).state
    assert state is not None
    acked = acknowledge(state, "U123", T0 + HOUR)
    assert acked.transition == Transition.ACKNOWLEDGED
    assert acked.state is not None
    assert acked.state.status == Status.ACKNOWLEDGED
    assert acked.state.acknowledged_by == "U123"
    entry = acked.ledger_entry()
    assert entry is not None
    assert (entry.action, entry.actor) == (Action.INCIDENT_ACKNOWLEDGED, "U123")
    same = see(acked.state, run("k1"), T0 + 2 * HOUR)
    assert same.transition == Transition.UPDATED
    assert not same.page
    assert same.state is not None
    assert same.state.status == Status.ACKNOWLEDGED
    new = see(same.state, run("k2", findings=[ZIP_TYPE, AGE_JUMP]), T0 + 3 * HOUR)
    assert new.transition == Transition.ESCALATED
    assert new.page
    assert new.state is not None
    assert new.state.status == Status.OPEN
    assert new.state.acknowledged_by is None
    assert acknowledge(acked.state, "U999", T0 + 2 * HOUR).transition == Transition.DUPLICATE


def test_snooze_silences_everything_until_it_ends_then_pages_once() -> None:
    state = see(None, run("k0"), T0).state
    assert state is not None
    until = T0 + 4 * HOUR
    snoozed = snooze(state, "U123", until, T0 + HOUR, POLICY)
    assert snoozed.state is not None
    assert snoozed.state.status == Status.SNOOZED
    worse = see(snoozed.state, run("k1", findings=[ZIP_TYPE, AGE_JUMP]), T0 + 2 * HOUR)
    assert worse.transition == Transition.ESCALATED
    assert not worse.page
    assert worse.state is not None
    assert "sudden_drift:age" in worse.state.fingerprint
    after = see(worse.state, run("k2", findings=[ZIP_TYPE, AGE_JUMP]), until)
    assert after.page
    assert after.transition == Transition.UPDATED
    assert after.state is not None
    assert after.state.status == Status.OPEN
    later = see(after.state, run("k3", findings=[ZIP_TYPE, AGE_JUMP]), until + HOUR)
    assert later.transition == Transition.UPDATED
    assert not later.page


def test_snooze_limits() -> None:
    state = see(None, run("k0"), T0).state
    assert state is not None
    with pytest.raises(IncidentActionRefusedError, match="not in the future"):
        snooze(state, "U1", T0, T0, POLICY)
    with pytest.raises(IncidentActionRefusedError, match="at most 168 h"):
        snooze(state, "U1", T0 + timedelta(hours=169), T0, POLICY)
    closed = resolve(state, "alice", "fixed upstream", T0 + HOUR).state
    assert closed is not None
    with pytest.raises(IncidentActionRefusedError, match="resolved"):
        acknowledge(closed, "U1", T0 + 2 * HOUR)


def test_a_problem_back_within_the_window_reopens_the_same_incident() -> None:
    opened = see(None, run("k0", findings=[ZIP_TYPE, AGE_JUMP]), T0)
    closed = resolve(opened.state, "alice", "fixed the feed", T0 + HOUR)
    assert closed.transition == Transition.RESOLVED
    assert closed.state is not None
    assert (closed.state.resolved_by, closed.state.resolved_reason) == ("alice", "fixed the feed")
    back = see(closed.state, run("k2"), T0 + 10 * HOUR)
    assert back.transition == Transition.REOPENED
    assert back.page
    assert back.incident_id == opened.incident_id
    assert back.state is not None
    assert (back.state.status, back.state.reopened, back.state.pages) == (Status.OPEN, 1, 2)
    assert back.state.resolved_at is None


def test_a_problem_back_after_the_window_or_a_different_one_opens_a_new_incident() -> None:
    opened = see(None, run("k0"), T0)
    closed = resolve(opened.state, "alice", "", T0 + HOUR).state
    late = see(closed, run("k1"), T0 + 26 * HOUR)
    other = see(closed, run("k2", findings=[AGE_JUMP]), T0 + 2 * HOUR)
    for step in (late, other):
        assert step.transition == Transition.OPENED
        assert step.page
        assert step.incident_id != opened.incident_id
        assert step.replaces == opened.incident_id


def test_retrain_decisions_attach_to_the_open_retrain_incident_until_it_ends() -> None:
    opened = see(None, run("r0", "retrain", [TENURE_SLOW]), T0, IncidentKind.RETRAIN)
    assert opened.transition == Transition.OPENED
    assert not opened.page
    assert opened.state is not None
    assert opened.state.kind == IncidentKind.RETRAIN
    again = see(opened.state, run("r1", "retrain", [TENURE_SLOW]), T0 + HOUR, IncidentKind.RETRAIN)
    assert again.transition == Transition.ATTACHED
    assert not again.notify
    entry = again.ledger_entry()
    assert entry is not None
    assert entry.action == Action.INCIDENT_UPDATED
    clean = see(again.state, run("c2", "watch", []), T0 + 2 * HOUR, IncidentKind.RETRAIN)
    assert clean.transition == Transition.CLEAN
    assert not clean.writes
    ended = end_retrain(again.state, "retraining pipeline succeeded", T0 + 3 * HOUR)
    assert ended.transition == Transition.RESOLVED
    assert ended.state is not None
    assert ended.state.resolved_reason == "retraining pipeline succeeded"
    assert end_retrain(ended.state, "again", T0 + 4 * HOUR).transition == Transition.DUPLICATE
    fresh = see(
        ended.state, run("r5", "retrain", [TENURE_SLOW]), T0 + 5 * HOUR, IncidentKind.RETRAIN
    )
    assert fresh.transition == Transition.OPENED
    assert fresh.incident_id != opened.incident_id


def test_a_retrain_decided_while_none_can_start_joins_the_last_retrain_incident() -> None:
    drifting = [TENURE_SLOW]
    opened = see(None, run("r0", "retrain", drifting), T0, IncidentKind.RETRAIN)
    assert opened.state is not None
    ended = end_retrain(opened.state, "retraining pipeline succeeded", T0 + HOUR)
    assert ended.state is not None
    cooldown = "cooldown: the last retrain started at T0"
    late = observe(
        ended.state,
        Observation.of_run(run("r2", "retrain", drifting), IncidentKind.RETRAIN),
        POLICY,
        T0 + 2 * HOUR,
        retrain_refusal=cooldown,
    )
    assert late.transition == Transition.ATTACHED
    assert late.incident_id == opened.incident_id
    assert late.state is not None
    assert late.state.status == Status.RESOLVED, "joining does not reopen a retrain"
    assert not late.notify
    assert cooldown in late.reason
    entry = late.ledger_entry()
    assert entry is not None
    assert entry.action == Action.INCIDENT_UPDATED
    # The same run again changes nothing; once a retrain may start, a new incident opens.
    again = observe(
        late.state,
        Observation.of_run(run("r2", "retrain", drifting), IncidentKind.RETRAIN),
        POLICY,
        T0 + 2 * HOUR,
        retrain_refusal=cooldown,
    )
    assert again.transition == Transition.DUPLICATE
    free = see(late.state, run("r3", "retrain", drifting), T0 + 30 * HOUR, IncidentKind.RETRAIN)
    assert free.transition == Transition.OPENED
    assert free.incident_id != opened.incident_id
    # With no retrain incident on record the refusal is the gate's to say: one opens.
    first = observe(
        None,
        Observation.of_run(run("q0", "retrain", drifting), IncidentKind.RETRAIN),
        POLICY,
        T0,
        retrain_refusal=cooldown,
    )
    assert first.transition == Transition.OPENED


def test_an_older_run_arriving_after_a_newer_one_never_reuses_an_incident_id() -> None:
    first = see(None, run("s1", "retrain", [TENURE_SLOW]), T0, IncidentKind.RETRAIN)
    assert first.state is not None
    one = end_retrain(first.state, "retraining pipeline succeeded", T0 + HOUR).state
    second = see(one, run("s2", "retrain", [TENURE_SLOW]), T0 + 30 * HOUR, IncidentKind.RETRAIN)
    assert second.state is not None
    two = end_retrain(second.state, "retraining pipeline failed", T0 + 31 * HOUR).state
    late = see(two, run("s1", "retrain", [TENURE_SLOW]), T0 + 60 * HOUR, IncidentKind.RETRAIN)
    assert late.transition == Transition.OPENED
    assert late.incident_id not in {first.incident_id, second.incident_id}


def test_the_state_survives_its_item_form() -> None:
    state = see(None, run("k0"), T0).state
    assert state is not None
    acked = acknowledge(state, "U1", T0 + HOUR).state
    assert acked is not None
    assert IncidentState.from_item(acked.to_item()) == acked
    item = acked.to_item()
    assert (item["pk"], item["sk"]) == (f"INCIDENT#{state.incident_id}", "INCIDENT")


def test_each_update_has_its_own_ledger_entry() -> None:
    first = see(None, run("k0"), T0)
    second = see(first.state, run("k1"), T0 + HOUR)
    third = see(second.state, run("k2"), T0 + 2 * HOUR)
    ids = {s.ledger_entry().entry_id for s in (first, second, third)}
    assert len(ids) == 3


# ---- properties over arbitrary sequences of runs

PROBLEMS = st.lists(
    st.sampled_from([ZIP_TYPE, AGE_JUMP, {"kind": "quality_cliff", "subject": "auc"}]),
    min_size=1,
    max_size=3,
    unique_by=lambda f: f["subject"],
)
RUNS = st.lists(
    st.one_of(
        st.tuples(st.just("investigate"), PROBLEMS),
        st.tuples(st.sampled_from(["watch", "retrain"]), st.just([])),
    ),
    max_size=40,
)


@settings(max_examples=300, deadline=None)
@given(RUNS, st.data())
def test_any_sequence_pages_at_most_once_per_distinct_problem_between_resolutions(
    runs, data
) -> None:
    state: IncidentState | None = None
    pages = 0
    problems: set[str] = set()  # what this incident's life has shown (since it opened/reopened)
    now = T0
    for index, (decision, findings) in enumerate(runs):
        now += HOUR
        triage = run(f"k{index}", decision, findings)
        step = see(state, triage, now)
        if step.transition in {Transition.OPENED, Transition.REOPENED}:
            pages, problems = 0, set()
        if step.page:
            pages += 1
            # Only a first page, or one naming something this life had not shown, pages.
            assert step.transition in {Transition.OPENED, Transition.REOPENED} or (
                step.transition == Transition.ESCALATED and set(step.new_items) - problems
            )
        if step.state is not None and step.state.is_open:
            problems |= set(step.state.fingerprint)
            assert pages <= len(problems)
            assert step.state.pages >= pages
        # Delivering the same run again never changes anything.
        if step.state is not None and data.draw(st.booleans()):
            again = see(step.state, triage, now + HOUR / 2)
            if step.writes:
                assert again.transition == Transition.DUPLICATE
            assert again.state == step.state
            assert not again.writes
            assert not again.notify
        state = step.state


@settings(max_examples=300, deadline=None)
@given(RUNS)
def test_every_write_moves_the_version_by_one(runs) -> None:
    state: IncidentState | None = None
    for index, (decision, findings) in enumerate(runs):
        step = see(state, run(f"k{index}", decision, findings), T0 + index * HOUR)
        if step.writes and step.state is not None:
            expected = 1 if step.transition == Transition.OPENED else state.version + 1  # type: ignore[union-attr]
            assert step.state.version == expected
        state = step.state


def test_model_configuration_carries_the_incident_policy_with_defaults() -> None:
    from pathlib import Path

    import yaml
    from mlops_runtime.model_config import ModelConfig
    from pydantic import ValidationError

    bare = ModelConfig.model_validate({"model_id": "churn", "endpoint_name": "churn-prod"})
    assert bare.incidents == IncidentPolicy()
    assert (bare.incidents.resolve_after, bare.incidents.reopen_within_hours) == (3, 24.0)
    examples = Path(__file__).resolve().parents[2] / "examples" / "models"
    churn = ModelConfig.model_validate(yaml.safe_load((examples / "churn.yaml").read_text()))
    assert churn.incidents.max_snooze_hours == 168
    with pytest.raises(ValidationError, match="resolve_afterr"):
        ModelConfig.model_validate(
            {"model_id": "c", "endpoint_name": "c-prod", "incidents": {"resolve_afterr": 2}}
        )
    with pytest.raises(ValidationError, match="resolve_after"):
        IncidentPolicy(resolve_after=0)


def test_each_message_says_what_happened_to_the_incident() -> None:
    from mlops_core import messages

    opened = see(None, run("k0", findings=[AGE_JUMP]), T0)
    worse = see(opened.state, run("k1", findings=[AGE_JUMP, ZIP_TYPE]), T0 + HOUR)
    assert worse.state is not None
    page = messages.incident(
        worse.transition, worse.state, worse.reason, ["zip_code: wrong type"], list(worse.new_items)
    )
    assert (page.kind, page.severity) == ("investigate_escalated", "critical")
    assert page.title == "[escalated] churn: the data problem got worse"
    assert page.facts["new"] == "integrity_violation:zip_code"
    assert page.facts["runs"] == "2 showing the problem, 1 updates"
    assert page.lines == ["zip_code: wrong type"]
    first = messages.incident(Transition.OPENED, opened.state, opened.reason)  # type: ignore[arg-type]
    assert first.kind == "investigate", "the kind subscriptions already filter on"
    assert first.title.startswith("[investigate] churn: monitoring shows a data problem")
    closed = resolve(worse.state, "alice", "fixed upstream", T0 + 2 * HOUR)
    assert closed.state is not None
    done = messages.incident(closed.transition, closed.state, closed.reason)
    assert (done.kind, done.severity) == ("investigate_resolved", "info")
    assert done.facts["resolved by"] == "alice"
    assert "fixed upstream" in done.as_text()
