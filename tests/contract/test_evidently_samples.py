"""Evidently 0.7.23's real output is read completely: every sample and every dev-case report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mlops_core.evidently import EvidentlyReport, read_reports

from tests.contract.published import SAMPLES

EVIDENTLY = SAMPLES / "evidently"
CASES = Path(__file__).resolve().parents[2] / "examples" / "triage-cases" / "evidently-dev"
# The one report written broken on purpose: an interrupted upload (see generate.py).
TRUNCATED = CASES / "case-021" / "2026" / "09" / "20" / "10" / "report.json"


def read(name: str) -> EvidentlyReport:
    return read_reports({name: (EVIDENTLY / name).read_bytes()})


def test_every_drift_method_reads_the_way_evidentlys_own_test_does() -> None:
    doc = json.loads((EVIDENTLY / "drift-methods_report_with-tests.json").read_text())
    verdicts = {t["metric_config"]["metric_id"]: t["status"] for t in doc["tests"]}
    seen: dict[str, set[bool]] = {}
    for item in doc["metrics"]:
        one = read_reports({"report.json": json.dumps({"metrics": [item], "tests": []})})
        (drift,) = one.drift.values()
        assert drift.verdict == "threshold", item["config"]["method"]
        assert drift.drifted == (verdicts[item["id"]] == "FAIL"), item["metric_name"]
        seen.setdefault(item["config"]["method"], set()).add(drift.drifted)
    assert len(seen) == 18
    assert all(both == {True, False} for both in seen.values()), "each method, both directions"


def test_binary_classification_report_gives_the_headline_metrics() -> None:
    report = read("binary-classification_report_with-tests.json")
    assert not report.problems
    assert report.task == "classification"
    assert {"auc", "accuracy", "f1", "precision", "recall", "logloss"} <= report.quality.keys()
    assert report.columns["plan"].kind == "categorical"
    assert report.columns["x1"].kind == "numerical"
    assert set(report.columns["x1"].quantiles) == {0.25, 0.5, 0.75}


def test_a_snapshot_dump_reads_exactly_as_the_same_report() -> None:
    snapshot = read("binary-classification_snapshot.json")
    report = read("binary-classification_report_with-tests.json")
    assert snapshot.formats == {"snapshot"}
    assert snapshot.timestamp is not None
    assert snapshot.timestamp.isoformat() == "2026-06-01T09:17:00+00:00"
    assert (snapshot.drift, snapshot.columns, snapshot.quality) == (
        report.drift,
        report.columns,
        report.quality,
    )


def test_multiclass_labels_only_report_has_no_roc_auc() -> None:
    report = read("multiclass-classification_report.json")
    assert report.task == "classification"
    assert set(report.quality) == {"accuracy", "precision", "recall", "f1"}


def test_a_custom_method_takes_its_verdict_from_the_reports_drift_tests() -> None:
    without = read("custom-method_report.json")
    assert {d.verdict for d in without.drift.values()} == {"unknown"}
    tested = read("custom-method_report_with-tests.json")
    assert {c: d.drifted for c, d in tested.drift.items()} == {"tenure": True, "balance": False}


@pytest.mark.parametrize("case", sorted(p.name for p in CASES.glob("case-*")))
def test_every_dev_case_report_is_read_completely(case: str) -> None:
    for path in sorted((CASES / case).rglob("*.json")):
        report = read_reports({path.name: path.read_bytes()})
        if path == TRUNCATED:
            assert report.problems
        elif path.name in {"report.json", "snapshot.json"}:
            assert not report.problems, (path, report.problems)
            assert report.drift or report.quality, path


def test_every_evidently_sample_is_covered_by_a_test() -> None:
    source = Path(__file__).read_text()
    names = [p.name for p in EVIDENTLY.glob("*.json")]
    assert [n for n in names if n not in source] == []
