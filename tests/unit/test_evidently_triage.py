"""Triage on Evidently evidence: the labelled dev histories, then each rule on its own."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from mlops_core.monitoring import load_history
from mlops_core.policy import TriagePolicy
from mlops_core.triage import Decision, FindingKind, TriageResult, triage
from mlopscp.cli import main
from mlopscp.commands.triage import DECISION_EXIT

from tests.evidently_files import Column, Stream, p_values, ramp, steady
from tests.monitor_files import History, flat

ROOT = Path(__file__).resolve().parents[2]
CASES = ROOT / "examples" / "triage-cases" / "evidently-dev"
LABELS = json.loads((CASES / "labels.json").read_text())


def read_case(case: Path) -> dict[str, bytes]:
    return {str(p.relative_to(case.parent)): p.read_bytes() for p in case.rglob("*.json")}


def decide(files: dict[str, str] | dict[str, bytes], **policy: float) -> TriageResult:
    return triage(load_history(files), TriagePolicy(**policy))


def kinds(result: TriageResult) -> set[FindingKind]:
    return {f.kind for f in result.findings}


def finding(result: TriageResult, kind: FindingKind, subject: str | None = None):
    return next(f for f in result.findings if f.kind == kind and subject in (None, f.subject))


@pytest.mark.parametrize("case", sorted(LABELS))
def test_dev_case_is_decided_as_labelled(case: str) -> None:
    expected = LABELS[case]
    files = read_case(CASES / case)
    # A case folder that holds year folders is itself the stream, named after the case.
    files = {
        (k if k.split("/")[1][:1].isdigit() else k.split("/", 1)[1]): v for k, v in files.items()
    }
    result = decide(files)
    assert result.decision == expected["decision"], (expected["family"], result.reasons)
    assert result.reasons, "every decision says why"
    assert "evidently" in result.sources.values()


@pytest.mark.parametrize("case", sorted(LABELS))
def test_mlopscp_triage_decides_each_dev_case_as_labelled(
    case: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["triage", str(CASES / case), "--json"])
    result = json.loads(capsys.readouterr().out)  # stdout is the JSON document, nothing else
    assert result["decision"] == LABELS[case]["decision"], result["reasons"]
    assert code == DECISION_EXIT[result["decision"]], "the exit code says the decision"


def test_the_installed_command_reads_an_evidently_case() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "mlopscp.cli", "triage", str(CASES / "case-004")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == DECISION_EXIT["retrain"], done.stderr
    assert done.stdout.startswith("decision: retrain")
    assert "case-004 (evidently)" in done.stdout


# ---------------------------------------------------------------- drift, both directions

N = 10
MAE_RISING = {"MAE": [0.8 * 1.05 ** max(0, i - 4) for i in range(N)]}  # ~5% a run, no cliff
MAE_FLAT = {"MAE": steady(0.8, N)}


def gradual(method: str = "K-S p_value", threshold: float = 0.05) -> list[float]:
    """tenure creeping 0.15 std a run over the last six runs, scored by ``method``."""
    means = ramp(N, 4, 0.15)
    if method == "K-S p_value":
        return p_values(means)
    return [max(0.03, m) for m in means]  # a normed Wasserstein distance tracks the mean shift


def creeping(method: str = "K-S p_value", threshold: float = 0.05) -> Column:
    return Column("tenure", gradual(method), method, threshold, means=ramp(N, 4, 0.15))


def quiet(name: str = "balance") -> Column:
    return Column(name, [0.5] * N, means=steady(0.0, N))


def test_gradual_p_value_drift_with_declining_quality_is_retrain() -> None:
    result = decide(Stream([creeping(), quiet()], MAE_RISING).files)
    assert result.decision == Decision.RETRAIN, result.reasons
    drift = finding(result, FindingKind.SUSTAINED_DRIFT, "tenure")
    assert drift.source == "evidently"
    assert drift.schedule == "churn-evidently"
    assert drift.evidence["direction"] == "p_value"
    assert drift.evidence["latest_shift"] == pytest.approx(0.9, abs=0.01)
    assert "churn-evidently" in drift.summary
    assert result.data_window == {"start": "2026-07-01T04:00Z", "end": "2026-07-01T09:00Z"}


def test_gradual_distance_drift_with_declining_quality_is_retrain() -> None:
    column = creeping("Wasserstein distance (normed)", 0.1)
    result = decide(Stream([column, quiet()], MAE_RISING).files)
    assert result.decision == Decision.RETRAIN, result.reasons
    assert finding(result, FindingKind.SUSTAINED_DRIFT).evidence["direction"] == "distance"


def test_read_the_wrong_way_round_a_p_value_would_drift_all_along() -> None:
    # High p-values (no drift) with a threshold a distance would use: nothing drifts.
    still = Column("tenure", [0.6] * N, "K-S p_value", 0.05, means=steady(0.0, N))
    result = decide(Stream([still], MAE_RISING).files)
    assert FindingKind.SUSTAINED_DRIFT not in kinds(result)
    assert result.decision == Decision.WATCH
    # Low distances never drift either.
    low = Column("tenure", [0.01] * N, "psi", 0.1, means=steady(0.0, N))
    assert FindingKind.SUSTAINED_DRIFT not in kinds(decide(Stream([low], MAE_RISING).files))


def test_p_values_saturate_so_statistics_tell_a_creep_from_a_leap() -> None:
    leap_means = [0.0] * (N - 1) + [3.0]
    creep = Column("tenure", p_values(ramp(N, 4, 0.15)), means=ramp(N, 4, 0.15))
    leap = Column("tenure", p_values(leap_means), means=leap_means)
    assert creep.scores[-1] == leap.scores[-1] == 0.0  # the p-values cannot tell them apart
    crept = decide(Stream([creep], MAE_FLAT).files)
    leapt = decide(Stream([leap], MAE_FLAT).files)
    assert FindingKind.SUDDEN_DRIFT not in kinds(crept)
    assert leapt.decision == Decision.INVESTIGATE
    jump = finding(leapt, FindingKind.SUDDEN_DRIFT, "tenure")
    assert jump.evidence["step"] == pytest.approx(3.0)
    assert "moved 3.0 baseline std in one run" in jump.summary


def test_severity_is_comparable_across_methods() -> None:
    means = ramp(N, 4, 0.15)
    by_ks = Column("tenure", p_values(means), "K-S p_value", 0.05, means=means)
    by_wasserstein = Column(
        "tenure", [max(0.03, m) for m in means], "wasserstein", 0.1, means=means
    )
    ks = finding(decide(Stream([by_ks], MAE_RISING).files), FindingKind.SUSTAINED_DRIFT)
    wd = finding(decide(Stream([by_wasserstein], MAE_RISING).files), FindingKind.SUSTAINED_DRIFT)
    assert ks.evidence["latest_shift"] == wd.evidence["latest_shift"]
    assert ks.evidence["run_length"] == wd.evidence["run_length"]


def test_a_history_holding_both_kinds_of_method_is_read_run_by_run() -> None:
    means = ramp(N, 4, 0.15)
    scores = p_values(means)[:6] + [max(0.03, m) for m in means][6:]
    methods = Stream([Column("tenure", scores, means=means)], MAE_RISING)
    for i in range(6, N):  # the reference grew: Evidently moved to Wasserstein distances
        path = methods.path(i)
        methods.files[path] = methods.files[path].replace(
            '"method": "K-S p_value", "threshold": 0.05',
            '"method": "wasserstein", "threshold": 0.1',
        )
    result = decide(methods.files)
    assert result.decision == Decision.RETRAIN, result.reasons
    assert finding(result, FindingKind.SUSTAINED_DRIFT).evidence["run_length"] == 6


def test_a_leap_inside_a_gradual_run_is_sudden() -> None:
    means = ramp(N, 4, 0.1)
    means[-1] += 2.0
    result = decide(Stream([Column("tenure", p_values(means), means=means)], MAE_FLAT).files)
    assert finding(result, FindingKind.SUDDEN_DRIFT).evidence["jump_at"] == "2026-07-01T09:00Z"


def test_the_size_of_a_sudden_jump_is_a_policy_setting() -> None:
    means = [0.0] * (N - 1) + [1.5]
    files = Stream([Column("tenure", p_values(means), means=means)], MAE_FLAT).files
    assert decide(files).decision == Decision.INVESTIGATE
    assert decide(files, jump_min_shift=2.0).decision == Decision.WATCH


def test_a_blip_that_recovered_is_watch() -> None:
    means = [0.0] * 5 + [2.5] + [0.0] * 4
    result = decide(Stream([Column("tenure", p_values(means), means=means)], MAE_FLAT).files)
    assert result.decision == Decision.WATCH
    assert "recovered" in result.reasons[0]


def test_a_leap_of_category_shares_is_sudden_too() -> None:
    usual = {"web": 0.5, "store": 0.2, "app": 0.3}
    shares = [usual] * (N - 1) + [{"web": 0.05, "store": 0.15, "app": 0.8}]
    channel = Column("channel", [0.6] * (N - 1) + [0.0], "chi-square p_value", shares=shares)
    result = decide(Stream([channel], MAE_FLAT).files)
    jump = finding(result, FindingKind.SUDDEN_DRIFT, "channel")
    assert jump.evidence["step"] > 1.0  # TVD 0.5 reads as a 1.35 std shift


def test_without_statistics_a_distance_is_sized_in_threshold_units() -> None:
    leap = Column("tenure", [0.03] * (N - 1) + [0.9], "wasserstein", 0.1)  # no summary metrics
    result = decide(Stream([leap], MAE_FLAT).files)
    jump = finding(result, FindingKind.SUDDEN_DRIFT)
    assert jump.evidence["unit"] == "threshold"
    assert jump.evidence["latest_ratio"] == pytest.approx(9.0)


def test_without_statistics_a_p_value_is_never_called_sudden() -> None:
    leap = Column("tenure", [0.5] * (N - 3) + [0.0] * 3)
    result = decide(Stream([leap], MAE_RISING).files)
    assert FindingKind.SUDDEN_DRIFT not in kinds(result)
    assert result.decision == Decision.RETRAIN


# ---------------------------------------------------------------- integrity


def test_a_missing_values_spike_is_investigate() -> None:
    sessions = Column("sessions", [0.5] * N, means=steady(0.0, N), missing=[0.0] * (N - 1) + [0.4])
    result = decide(Stream([sessions], MAE_FLAT).files)
    assert result.decision == Decision.INVESTIGATE
    assert "completeness_check on 'sessions'" in result.reasons[0]
    assert "40.0% of its values are missing" in result.reasons[0]
    assert decide(Stream([sessions], MAE_FLAT).files, missing_share_increase=0.5).decision == (
        Decision.WATCH
    )


def test_a_column_that_disappears_is_investigate_and_not_drift() -> None:
    tenure = Column("tenure", [0.5] * (N - 1) + [None], means=steady(0.0, N))
    result = decide(Stream([tenure, quiet()], MAE_FLAT).files)
    assert result.decision == Decision.INVESTIGATE
    integrity = finding(result, FindingKind.INTEGRITY_VIOLATION, "tenure")
    assert integrity.evidence["check"] == "missing_column_check"
    assert [f.kind for f in result.findings if f.subject == "tenure"] == [
        FindingKind.INTEGRITY_VIOLATION
    ]


def test_a_type_change_is_investigate() -> None:
    stream = Stream([Column("discount", [0.5] * N, means=steady(0.0, N))], MAE_FLAT)
    latest = json.loads(stream.files[stream.path(N - 1)])
    latest["metrics"] = [
        m for m in latest["metrics"] if m["config"]["type"].split(":")[-1] not in
        {"MeanValue", "StdValue", "QuantileValue"}
    ] + [
        {
            "id": "u",
            "metric_name": "UniqueValueCount(column=discount)",
            "config": {"type": "evidently:metric_v2:UniqueValueCount", "column": "discount"},
            "value": {"counts": {"10%": 600.0, "N/A": 400.0}, "shares": {"10%": 0.6, "N/A": 0.4}},
        }
    ]  # fmt: skip
    stream.files[stream.path(N - 1)] = json.dumps(latest)
    result = decide(stream.files)
    assert result.decision == Decision.INVESTIGATE
    assert "data_type_check on 'discount'" in result.reasons[0]
    assert "numerical in the baseline runs and is categorical now" in result.reasons[0]


# ---------------------------------------------------------------- quality, unknowns, outputs


def test_a_quality_cliff_is_investigate_and_quotes_the_step() -> None:
    mae = steady(0.8, N)
    mae[-2:] = [1.5, 1.52]
    result = decide(Stream([quiet()], {"MAE": mae, "R2Score": steady(0.7, N)}).files)
    assert result.decision == Decision.INVESTIGATE
    assert "mae went from 0.81 to 1.5 in one execution" in result.reasons[0]


def test_classification_headline_metrics_are_judged() -> None:
    auc = [0.9 - max(0, i - 3) * 0.02 for i in range(N)]
    quality = {"RocAuc": auc, "Accuracy": steady(0.8, N), "F1Score": steady(0.75, N)}
    result = decide(Stream([creeping()], quality).files)
    assert result.decision == Decision.RETRAIN
    assert {q.metric for q in result.quality} == {"auc", "accuracy", "f1"}
    assert all(q.source == "evidently" for q in result.quality)


def test_mape_is_never_a_headline_metric() -> None:
    mape = [1e16 * (i + 1) for i in range(N)]  # explodes near zero targets
    result = decide(Stream([creeping()], {"MAPE": mape, "MAE": steady(0.8, N)}).files)
    assert {q.metric for q in result.quality} == {"mae"}
    assert result.decision == Decision.WATCH


def test_an_unknown_method_without_tests_never_makes_sustained_drift_and_is_noted() -> None:
    column = Column(
        "tenure", ramp(N, 4, 0.15), "custom function 'gap'", 0.1, means=ramp(N, 4, 0.15)
    )
    result = decide(Stream([column], MAE_RISING).files)
    assert FindingKind.SUSTAINED_DRIFT not in kinds(result)
    assert result.decision == Decision.WATCH
    (note,) = result.notes
    assert "custom function 'gap'" in note
    assert "tenure" in note
    assert result.summary()["notes"] == [note]


def test_an_unknown_method_still_counts_when_its_statistics_leap() -> None:
    means = [0.0] * (N - 1) + [3.0]
    column = Column("tenure", means, "mean_gap", 0.2, means=means)
    result = decide(Stream([column], MAE_FLAT).files)
    jump = finding(result, FindingKind.SUDDEN_DRIFT)
    assert "'mean_gap' is unknown, judged on statistics only" in jump.summary


def test_an_unreadable_latest_report_withholds_the_retrain_and_names_the_file() -> None:
    stream = Stream([creeping(), quiet()], MAE_RISING)
    stream.files[stream.path(N - 1)] = stream.files[stream.path(N - 1)][:500]
    result = decide(stream.files)
    assert result.decision == Decision.INVESTIGATE
    incomplete = finding(result, FindingKind.INCOMPLETE_OUTPUT)
    assert "report.json is not valid JSON" in incomplete.summary
    assert incomplete.evidence["sources"] == ["evidently"]


def test_an_old_unreadable_report_is_reported_but_does_not_block() -> None:
    stream = Stream([creeping(), quiet()], MAE_RISING)
    stream.files[stream.path(1)] = "{"
    result = decide(stream.files)
    assert result.decision == Decision.RETRAIN
    assert result.incomplete == [
        "churn-evidently@2026-07-01T01:00Z: report.json is not valid JSON "
        "(Expecting property name enclosed in double quotes, line 1)"
    ]


def test_a_short_history_decides_without_judging_what_it_cannot() -> None:
    for runs in (1, 2):
        column = Column("tenure", [0.0] * runs, means=[3.0] * runs)
        result = decide(Stream([column], {"MAE": [0.8] * runs}).files)
        assert result.decision == Decision.WATCH


# ---------------------------------------------------------------- mixed estates


def test_a_mixed_estate_is_one_triage_and_each_finding_names_its_source() -> None:
    model_monitor = History().data_quality([None] * 5 + [0.11, 0.125, 0.14, 0.16, 0.18]).files
    evidently = Stream([quiet()], MAE_RISING, name="churn-reports").files
    result = decide(model_monitor | evidently)
    assert result.decision == Decision.RETRAIN, result.reasons
    assert result.sources == {"ms-dq": "model_monitor", "churn-reports": "evidently"}
    drift = finding(result, FindingKind.SUSTAINED_DRIFT)
    decline = finding(result, FindingKind.QUALITY_DECLINE)
    assert (drift.source, drift.schedule) == ("model_monitor", "ms-dq")
    assert (decline.source, decline.schedule) == ("evidently", "churn-reports")
    summary = json.loads(json.dumps(result.summary()))  # what the ledger stores
    assert {(f["source"], f["schedule"]) for f in summary["findings"]} >= {
        ("model_monitor", "ms-dq"),
        ("evidently", "churn-reports"),
    }
    assert summary["quality"][0]["source"] == "evidently"


def test_a_break_in_either_source_is_investigated() -> None:
    model_monitor = History().model_quality(flat(0.9, 10)).files
    tenure = Column("tenure", [0.5] * 9 + [None], means=steady(0.0, 10))
    evidently = Stream([tenure, quiet()]).files
    result = decide(model_monitor | evidently)
    assert result.decision == Decision.INVESTIGATE
    assert finding(result, FindingKind.INTEGRITY_VIOLATION).source == "evidently"


def test_a_name_from_a_report_is_quoted_short_whatever_its_length() -> None:
    name = "x" * 5000
    means = [0.0] * (N - 1) + [3.0]
    result = decide(Stream([Column(name, p_values(means), means=means)], MAE_FLAT).files)
    jump = finding(result, FindingKind.SUDDEN_DRIFT)
    assert jump.subject == name, "the evidence keeps the whole name"
    assert len(jump.summary) < 300
    assert len(json.dumps(result.summary())) < 20000
