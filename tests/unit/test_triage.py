"""Triage decisions: the labelled dev histories and each rule of the policy on its own."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mlops_core.monitoring import load_history
from mlops_core.policy import TriagePolicy
from mlops_core.triage import Decision, FindingKind, triage

from tests.monitor_files import History, declining, flat

CASES = Path(__file__).resolve().parents[2] / "examples" / "triage-cases" / "dev"


def read_case(case: Path) -> dict[str, bytes]:
    return {str(p.relative_to(case)): p.read_bytes() for p in case.rglob("*.json")}


def decide(files: dict[str, str] | dict[str, bytes], **policy: float):
    return triage(load_history(files), TriagePolicy(**policy))


def kinds(result) -> set[FindingKind]:
    return {f.kind for f in result.findings}


@pytest.mark.parametrize("case", sorted(p.name for p in CASES.glob("case-*")))
def test_dev_case_is_decided_as_labelled(case: str) -> None:
    expected = json.loads((CASES / case / "expected.json").read_text())
    result = decide(read_case(CASES / case))
    assert result.decision == expected["decision"], (expected["family"], result.reasons)
    assert result.reasons, "every decision says why"


@pytest.mark.parametrize("case", ["case-003", "case-007", "case-014", "case-012"])
def test_dev_case_decision_does_not_depend_on_json_spacing(case: str) -> None:
    files = read_case(CASES / case)
    compact = {k: json.dumps(json.loads(v), separators=(",", ":")) for k, v in files.items()}
    assert decide(compact).decision == decide(files).decision


def test_gradual_drift_with_declining_quality_is_retrain_with_evidence() -> None:
    history = (
        History(executions=10)
        .data_quality([None] * 5 + [0.11, 0.125, 0.14, 0.16, 0.18])
        .model_quality(declining(0.88, 10, 4, 0.012))
    )
    result = decide(history.files)
    assert result.decision == Decision.RETRAIN
    assert {FindingKind.SUSTAINED_DRIFT, FindingKind.QUALITY_DECLINE} <= kinds(result)
    assert "tenure" in result.reasons[0]
    assert result.data_window == {"start": "2026-07-06T00:00Z", "end": "2026-07-10T00:00Z"}
    drift = next(f for f in result.findings if f.kind == FindingKind.SUSTAINED_DRIFT)
    assert drift.evidence["run_length"] == 5
    assert drift.evidence["latest_ratio"] == pytest.approx(1.8)


def test_quality_decline_without_a_violation_counts() -> None:
    history = (
        History()
        .data_quality([None] * 6 + [0.11, 0.12, 0.13, 0.14])
        .model_quality(declining(0.90, 10, 6, 0.012), threshold=0.5)
    )
    result = decide(history.files)
    assert result.decision == Decision.RETRAIN
    assert not any(t.violated for t in result.quality)


def test_sustained_drift_with_stable_quality_is_watch() -> None:
    history = (
        History()
        .data_quality([None] * 5 + [0.11, 0.13, 0.15, 0.17, 0.19])
        .model_quality(flat(0.88, 10))
    )
    result = decide(history.files)
    assert result.decision == Decision.WATCH
    assert "stable" in result.reasons[0]


def test_sustained_drift_without_a_quality_monitor_is_watch() -> None:
    result = decide(History().data_quality([None] * 5 + [0.11, 0.13, 0.15, 0.17, 0.19]).files)
    assert result.decision == Decision.WATCH
    assert "no model-quality monitor" in result.reasons[0]


def test_drift_shorter_than_the_run_length_is_not_sustained() -> None:
    history = (
        History()
        .data_quality([None] * 8 + [0.11, 0.13])
        .model_quality(declining(0.88, 10, 6, 0.015))
    )
    result = decide(history.files)
    assert result.decision == Decision.WATCH
    assert FindingKind.EMERGING_DRIFT in kinds(result)
    assert decide(history.files, drift_run_length=2).decision == Decision.RETRAIN


def test_run_length_is_a_policy_setting() -> None:
    history = (
        History()
        .data_quality([None] * 5 + [0.11, 0.125, 0.14, 0.16, 0.18])
        .model_quality(declining(0.88, 10, 4, 0.012))
    )
    assert decide(history.files, drift_run_length=6).decision == Decision.WATCH


def test_drift_that_leaps_from_under_to_far_over_its_threshold_is_investigate() -> None:
    history = History().data_quality([None] * 9 + [0.55]).model_quality(flat(0.88, 10))
    result = decide(history.files)
    assert result.decision == Decision.INVESTIGATE
    assert FindingKind.SUDDEN_DRIFT in kinds(result)
    assert "sudden" in result.reasons[0]


def test_a_leap_persisting_for_a_few_executions_is_still_sudden() -> None:
    history = (
        History()
        .data_quality([None] * 7 + [0.5, 0.52, 0.51])
        .model_quality(declining(0.88, 10, 7, 0.02))
    )
    assert decide(history.files).decision == Decision.INVESTIGATE


def test_a_leap_inside_a_gradual_run_is_sudden() -> None:
    history = (
        History()
        .data_quality([None] * 5 + [0.11, 0.12, 0.13, 0.14, 0.6])
        .model_quality(flat(0.88, 10))
    )
    result = decide(history.files)
    assert FindingKind.SUDDEN_DRIFT in kinds(result)


def test_a_steep_but_steady_drift_is_not_mistaken_for_a_jump() -> None:
    # ratio climbs by ~0.8 of the threshold per execution, past 2x, without any single leap
    drift = [None] * 4 + [0.11, 0.19, 0.27, 0.35, 0.43, 0.51]
    history = History().data_quality(drift).model_quality(declining(0.9, 10, 4, 0.015))
    result = decide(history.files)
    assert FindingKind.SUDDEN_DRIFT not in kinds(result)
    assert result.decision == Decision.RETRAIN


def test_jump_thresholds_are_policy_settings() -> None:
    history = History().data_quality([None] * 9 + [0.25]).model_quality(flat(0.88, 10))
    assert decide(history.files).decision == Decision.INVESTIGATE
    assert decide(history.files, jump_min_ratio=3.0).decision == Decision.WATCH


@pytest.mark.parametrize(
    "check",
    [
        "data_type_check",
        "missing_column_check",
        "extra_column_check",
        "completeness_check",
        "categorical_values_check",
    ],
)
def test_schema_or_integrity_violation_in_the_latest_execution_is_investigate(check: str) -> None:
    history = (
        History().data_quality([None] * 10, integrity={9: check}).model_quality(flat(0.88, 10))
    )
    result = decide(history.files)
    assert result.decision == Decision.INVESTIGATE
    assert check in result.reasons[0]


def test_investigate_takes_precedence_over_retrain() -> None:
    history = (
        History()
        .data_quality(
            [None] * 5 + [0.11, 0.125, 0.14, 0.16, 0.18], integrity={9: "data_type_check"}
        )
        .model_quality(declining(0.88, 10, 4, 0.012))
    )
    result = decide(history.files)
    assert result.decision == Decision.INVESTIGATE
    assert "data_type_check" in result.reasons[0]
    assert any("gradual drift" in r for r in result.reasons), "the drift is still reported"


def test_an_old_integrity_violation_that_cleared_is_not_investigated() -> None:
    history = History().data_quality([None] * 10, integrity={4: "completeness_check"})
    assert decide(history.files).decision == Decision.WATCH


def test_bias_drift_in_the_latest_execution_is_investigate() -> None:
    history = History().bias([9]).model_quality(flat(0.88, 10))
    result = decide(history.files)
    assert result.decision == Decision.INVESTIGATE
    assert FindingKind.BIAS_DRIFT in kinds(result)
    bias = next(f for f in result.findings if f.kind == FindingKind.BIAS_DRIFT)
    assert bias.evidence["series"][-1]["value"] == pytest.approx(-0.38)


def test_quality_cliff_is_investigate_even_with_clean_inputs() -> None:
    auc = flat(0.86, 10)
    auc[-1] = 0.55
    result = decide(History().data_quality([None] * 10).model_quality(auc).files)
    assert result.decision == Decision.INVESTIGATE
    assert FindingKind.QUALITY_CLIFF in kinds(result)


def test_quality_cliff_on_an_error_metric_is_investigate() -> None:
    rmse = flat(2.8, 10, 0.01)
    rmse[-1] = 7.0
    assert decide(History().regression_quality(rmse).files).decision == Decision.INVESTIGATE


def test_a_cliff_quotes_the_two_values_at_its_step() -> None:
    auc = flat(0.86, 10)
    auc[-2:] = [0.55, 0.56]
    result = decide(History().model_quality(auc).files)
    cliff = next(f for f in result.findings if f.kind == FindingKind.QUALITY_CLIFF)
    assert "auc went from 0.862 to 0.55 in one execution (2026-07-09T00:00Z)" in cliff.summary
    assert (cliff.evidence["cliff_from"], cliff.evidence["cliff_to"]) == (0.862, 0.55)


def test_a_steady_decline_of_five_percent_a_run_is_gradual_not_a_cliff() -> None:
    # Each run compared with the median of the five before it used to read this as a cliff.
    mae = [0.8] * 4 + [0.8 * 1.05**i for i in range(1, 7)]
    history = (
        History()
        .data_quality([None] * 4 + [0.11, 0.125, 0.14, 0.16, 0.18, 0.2])
        .regression_quality([m / 0.7 for m in mae])
    )
    result = decide(history.files)
    assert FindingKind.QUALITY_CLIFF not in kinds(result)
    assert result.decision == Decision.RETRAIN
    assert FindingKind.QUALITY_DECLINE in kinds(result)


def test_a_steep_but_steady_quality_decline_is_not_a_cliff_either() -> None:
    auc = [0.9] * 4 + [0.9 * 0.83**i for i in range(1, 7)]  # 17% worse every run
    result = decide(History().model_quality(auc).files)
    assert FindingKind.QUALITY_CLIFF not in kinds(result)
    assert FindingKind.QUALITY_DECLINE in kinds(result)


def test_one_step_that_carries_most_of_a_decline_is_a_cliff_even_after_a_slow_slide() -> None:
    auc = [0.9 - 0.004 * i for i in range(8)] + [0.6, 0.6]
    result = decide(History().model_quality(auc).files)
    assert FindingKind.QUALITY_CLIFF in kinds(result)


def test_a_cliff_that_recovered_is_not_investigated() -> None:
    auc = flat(0.86, 10)
    auc[6] = 0.55
    assert decide(History().model_quality(auc).files).decision == Decision.WATCH


def test_quality_cliff_size_is_a_policy_setting() -> None:
    auc = flat(0.86, 10)
    auc[-1] = 0.70  # 18.6% drop
    assert decide(History().model_quality(auc).files).decision == Decision.INVESTIGATE
    assert decide(History().model_quality(auc).files, quality_cliff=0.25).decision == (
        Decision.WATCH
    )


def test_a_transient_blip_that_recovered_is_watch() -> None:
    history = (
        History().data_quality([None] * 6 + [0.3, None, None, None]).model_quality(flat(0.88, 10))
    )
    result = decide(history.files)
    assert result.decision == Decision.WATCH
    assert "recovered" in result.reasons[0]


def test_feature_attribution_drift_sustained_with_declining_quality_is_retrain() -> None:
    ndcg = [None] * 5 + [0.89, 0.87, 0.85, 0.83, 0.81]
    history = History().attribution(ndcg).model_quality(declining(0.9, 10, 4, 0.015))
    result = decide(history.files)
    assert result.decision == Decision.RETRAIN
    drift = next(f for f in result.findings if f.kind == FindingKind.SUSTAINED_DRIFT)
    assert drift.evidence["latest_ratio"] == pytest.approx(1.9)  # (1-0.81)/(1-0.9)


def test_clean_history_is_watch() -> None:
    result = decide(History().data_quality([None] * 10).model_quality(flat(0.9, 10)).files)
    assert result.decision == Decision.WATCH
    assert result.complete


def test_monitor_type_is_read_from_the_files_not_the_folder_name() -> None:
    # a model-quality monitor in a folder named like a data-quality one
    history = (
        History()
        .data_quality([None] * 5 + [0.11, 0.125, 0.14, 0.16, 0.18], schedule="model-quality")
        .model_quality(declining(0.88, 10, 4, 0.012), schedule="data-quality")
    )
    result = decide(history.files)
    assert result.decision == Decision.RETRAIN
    assert {q.schedule for q in result.quality} == {"data-quality"}


def retrain_history() -> dict[str, str]:
    return (
        History()
        .data_quality([None] * 5 + [0.11, 0.125, 0.14, 0.16, 0.18])
        .model_quality(declining(0.88, 10, 4, 0.012))
        .files
    )


def test_incomplete_latest_output_is_reported_and_never_retrained_on() -> None:
    files = retrain_history()
    del files["ms-mq/2026/07/10/00/statistics.json"]
    result = decide(files)
    assert result.decision == Decision.INVESTIGATE
    assert not result.complete
    assert any("statistics.json" in item for item in result.incomplete)
    assert "never retrain on incomplete" in result.reasons[0]


def test_unreadable_latest_violations_file_is_incomplete() -> None:
    files = retrain_history()
    files["ms-dq/2026/07/10/00/constraint_violations.json"] = '{"violations": ['
    result = decide(files)
    assert result.decision != Decision.RETRAIN
    assert any("not valid JSON" in item for item in result.incomplete)


def test_an_old_incomplete_execution_is_reported_but_does_not_block() -> None:
    files = retrain_history()
    files["ms-mq/2026/07/02/00/statistics.json"] = ""
    result = decide(files)
    assert result.decision == Decision.RETRAIN
    assert not result.complete
    assert result.incomplete == ["ms-mq@2026-07-02T00:00Z: statistics.json is empty"]


def test_a_failed_monitoring_execution_blocks_retrain() -> None:
    history = load_history(retrain_history())
    result = triage(history, failed_executions={"ms-dq": "ClientError: no data captured"})
    assert result.decision == Decision.INVESTIGATE
    assert any("no data captured" in r for r in result.reasons)


def test_history_window_limits_the_executions_read() -> None:
    history = load_history(retrain_history(), per_schedule=4)
    assert [len(s.executions) for s in history.schedules] == [4, 4]


def test_signal_key_identifies_the_monitoring_state() -> None:
    files = retrain_history()
    first = decide(files).signal_key
    assert decide(dict(reversed(list(files.items())))).signal_key == first
    newer = History(executions=11).data_quality([None] * 11).files
    assert decide(files | newer).signal_key != first


def test_summary_is_compact_and_json_ready() -> None:
    summary = decide(retrain_history()).summary()
    encoded = json.dumps(summary)
    assert summary["decision"] == "retrain"
    assert len(encoded) < 8000
