"""make audit (tooling/checks/audit.py): an audit that could not reach its vulnerability
service fails and says where to run it, instead of pip-audit's 'No known vulnerabilities'."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

PATH = Path(__file__).resolve().parents[2] / "tooling" / "checks" / "audit.py"
_spec = importlib.util.spec_from_file_location("audit_script", PATH)
assert _spec is not None
assert _spec.loader is not None
audit = importlib.util.module_from_spec(_spec)
sys.modules["audit_script"] = audit
_spec.loader.exec_module(audit)

UNREACHABLE = {
    "dependencies": [
        {"name": "boto3", "skip_reason": "Dependency not found on PyPI and could not be audited"},
        {
            "name": "pydantic",
            "skip_reason": "Dependency not found on PyPI and could not be audited",
        },
    ],
    "fixes": [],
}
VULNERABLE = {
    "dependencies": [
        {"name": "boto3", "version": "1.0", "vulns": []},
        {
            "name": "jinja2",
            "version": "3.1.2",
            "vulns": [{"id": "GHSA-h5c8-rqwp-cp95", "fix_versions": ["3.1.3"]}],
        },
    ],
    "fixes": [],
}
CLEAN = {"dependencies": [{"name": "boto3", "version": "1.0", "vulns": []}], "fixes": []}


def fake_run(stdout: str = "", stderr: str = "", code: int = 0) -> Any:
    calls: list[list[str]] = []

    def run(command: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
        calls.append(command)
        return subprocess.CompletedProcess(command, code, stdout, stderr)

    run.calls = calls  # type: ignore[attr-defined]
    return run


def test_an_unreachable_service_is_an_incomplete_audit_not_a_clean_one() -> None:
    verdict = audit.summarise("a.txt", UNREACHABLE)
    assert verdict.code == 2
    assert "answered for none of its 2 packages" in verdict.lines[0]


def test_vulnerabilities_are_listed_with_their_fixes() -> None:
    verdict = audit.summarise("a.txt", VULNERABLE)
    assert verdict == audit.Verdict(
        1, ("a.txt: jinja2 3.1.2: GHSA-h5c8-rqwp-cp95 (fixed in 3.1.3)",)
    )


def test_a_partly_skipped_audit_is_incomplete() -> None:
    report = {"dependencies": [*CLEAN["dependencies"], UNREACHABLE["dependencies"][0]]}
    verdict = audit.summarise("a.txt", report)
    assert verdict.code == 2
    assert verdict.lines == (
        "a.txt: not audited: Dependency not found on PyPI and could not be audited",
    )


def test_a_clean_audit_passes() -> None:
    assert audit.summarise("a.txt", CLEAN).code == 0


def test_each_lock_is_audited_from_its_pins_without_installing(
    capsys: pytest.CaptureFixture[str],
) -> None:
    import json

    run = fake_run(stdout=json.dumps(CLEAN))
    assert audit.main(["one.txt", "two.txt", "--service", "osv"], run) == 0
    first = run.calls[0]
    assert first[first.index("--requirement") + 1] == "one.txt"
    assert {"--disable-pip", "--require-hashes"} <= set(first)
    assert first[first.index("--vulnerability-service") + 1] == "osv"
    assert len(run.calls) == 2
    assert "no known vulnerability" in capsys.readouterr().out


def test_a_crashed_pip_audit_says_why_and_where_to_run(capsys: pytest.CaptureFixture[str]) -> None:
    run = fake_run(stderr="Traceback ...\nConnectionError: Name or service not known", code=1)
    assert audit.main(["one.txt"], run) == 2
    err = capsys.readouterr().err
    assert "pip-audit failed: ConnectionError: Name or service not known" in err
    assert "INCOMPLETE" in err
    assert "CI with internet access" in err


def test_a_hanging_service_is_cut_off() -> None:
    def run(command: list[str], timeout: float) -> Any:
        raise subprocess.TimeoutExpired(command, timeout)

    verdict = audit.audit("one.txt", "pypi", 5, run)
    assert verdict.code == 2
    assert "did not finish in 5 s" in verdict.lines[0]
