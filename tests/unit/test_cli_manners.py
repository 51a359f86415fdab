"""How `mlopscp` answers: `--json` puts one JSON document on stdout, failures are one line with
a hint and an exit code (never a traceback), `triage` exits with its decision."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError
from mlops_runtime.aws import TransientAwsError
from mlopscp.aws_errors import from_aws
from mlopscp.cli import main
from mlopscp.commands.triage import DECISION_EXIT
from mlopscp.output import EXIT_AWS, EXIT_USAGE

ROOT = Path(__file__).resolve().parents[2]
CASES = ROOT / "examples" / "triage-cases" / "dev"


def run_cli(*argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The installed command as a user runs it, with no AWS credentials anywhere."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    clean |= {
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_DEFAULT_REGION": "us-east-1",
        **(env or {}),
    }
    return subprocess.run(
        [sys.executable, "-m", "mlopscp.cli", *argv],
        capture_output=True,
        text=True,
        env=clean,
        check=False,
        timeout=120,
    )


def one_error_line(done: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in done.stderr, done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("mlopscp: error: ")
    return line


# ---------------------------------------------------------------- triage


@pytest.mark.parametrize(
    ("case", "decision"),
    [("case-003", "retrain"), ("case-015", "investigate"), ("case-009", "watch")],
)
def test_triage_json_is_the_whole_stdout_and_the_exit_code_is_the_decision(
    case: str, decision: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["triage", str(CASES / case), "--json"])
    captured = capsys.readouterr()
    result = json.loads(captured.out)  # fails on any human line mixed in
    assert result["decision"] == decision
    assert code == DECISION_EXIT[decision]
    assert sorted(set(DECISION_EXIT.values())) == [0, 10, 11], "documented in the README"


def test_triage_text_keeps_every_reason_whole(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["triage", str(CASES / "case-003")]) == DECISION_EXIT["retrain"]
    out = capsys.readouterr().out
    assert out.startswith("decision: retrain\nreasons:\n")
    main(["triage", str(CASES / "case-003"), "--json"])
    for reason in json.loads(capsys.readouterr().out)["reasons"]:
        assert f"  - {reason}" in out


def test_triage_one_level_too_high_says_so_instead_of_merging(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["triage", str(CASES)]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "one level too high" in err
    assert "case-000" in err
    assert f"mlopscp triage {CASES / 'case-000'}" in err


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "policy file {path} not found"),
        ("{drift_run_length: 3", "is not JSON: Expecting property name"),
        (
            '{"drift_run_lenght": 3}',
            "unknown key 'drift_run_lenght' (did you mean 'drift_run_length'?)",
        ),
        ('{"drift_run_length": 0}', "drift_run_length: Input should be greater than or equal to 1"),
    ],
)
def test_a_bad_policy_file_is_one_line_naming_the_problem(
    tmp_path: Path, content: str | None, expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "policy.json"
    if content is not None:
        path.write_text(content)
    assert main(["triage", str(CASES / "case-003"), "--policy", str(path)]) == EXIT_USAGE
    captured = capsys.readouterr()
    assert captured.out == ""
    (line,) = captured.err.strip().splitlines()
    assert expected.format(path=path) in line


# ---------------------------------------------------------------- models put


def test_models_put_checks_every_file_and_points_at_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("model_id: churn\nendpoint_name: [churn-prod\n")
    misspelt = tmp_path / "misspelt.yaml"
    misspelt.write_text(
        (ROOT / "examples" / "models" / "credit.yaml")
        .read_text()
        .replace("deadline_hours:", "dedline_hours:")
    )
    good = ROOT / "examples" / "models" / "demand.yaml"
    # No stack is reachable here: nothing may be stored when any file is bad.
    code = main(["models", "put", str(broken), str(misspelt), str(good), "--stack", "nowhere"])
    assert code == EXIT_USAGE
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith(f"{broken}:3:1: YAML syntax error: ")
    assert "line 2" in err[0], "where the unclosed list was opened"
    line = 1 + misspelt.read_text().splitlines().index(
        next(x for x in misspelt.read_text().splitlines() if "dedline_hours" in x)
    )
    assert err[1] == (
        f"{misspelt}:{line}: unknown key 'approvals.dedline_hours' (did you mean 'deadline_hours'?)"
    )
    assert err[2] == (
        "mlopscp: error: 2 of 3 configuration file(s) invalid, nothing stored "
        "(hint: fix the lines above (file:line: problem))"
    )


def test_models_put_check_accepts_the_examples(capsys: pytest.CaptureFixture[str]) -> None:
    files = sorted(str(p) for p in (ROOT / "examples" / "models").glob("*.yaml"))
    assert main(["models", "put", "--check", *files]) == 0
    assert capsys.readouterr().out == f"{len(files)} configuration(s) valid\n"


# ---------------------------------------------------------------- AWS failures, in one place


def _client_error(code: str, message: str, operation: str = "DescribeStacks") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, operation)


@pytest.mark.parametrize(
    ("error", "code", "words"),
    [
        (NoCredentialsError(), EXIT_AWS, "no AWS credentials"),
        (EndpointConnectionError(endpoint_url="http://localhost:1"), EXIT_AWS, "AWS unreachable"),
        (
            _client_error("ValidationError", "Stack with id nope does not exist"),
            EXIT_USAGE,
            "stack nope not found",
        ),
        (
            _client_error("AccessDeniedException", "not authorized", "Query"),
            EXIT_AWS,
            "AWS refused Query: AccessDeniedException: not authorized",
        ),
    ],
)
def test_aws_failures_become_one_line_with_an_exit_code(
    error: Exception, code: int, words: str
) -> None:
    mapped = from_aws(error)
    assert mapped is not None
    assert mapped.exit_code == code
    assert words in mapped.line()
    assert "\n" not in mapped.line()
    assert mapped.hint


def test_a_wrapped_aws_failure_is_recognised_by_its_cause() -> None:
    try:
        try:
            raise EndpointConnectionError(endpoint_url="http://localhost:1")
        except EndpointConnectionError as inner:
            raise TransientAwsError("AWS unreachable") from inner
    except TransientAwsError as outer:
        mapped = from_aws(outer)
    assert mapped is not None
    assert mapped.exit_code == EXIT_AWS
    assert from_aws(ValueError("a bug")) is None, "a bug stays a traceback"


# ---------------------------------------------------------------- main, as a user runs it


def test_version() -> None:
    done = run_cli("--version")
    assert done.returncode == 0
    assert done.stdout.startswith("mlopscp ")
    assert done.stdout.split()[1][0].isdigit()


def test_triage_of_s3_without_credentials_is_one_line_and_exit_3() -> None:
    done = run_cli("triage", "s3://some-bucket/monitoring/churn-prod", "--json")
    assert done.returncode == EXIT_AWS
    assert done.stdout == ""
    assert "no AWS credentials" in one_error_line(done)


def test_a_stack_command_without_credentials_is_one_line_and_exit_3() -> None:
    done = run_cli("ledger", "--model", "churn", "--stack", "mlops-control-plane-dev", "--json")
    assert done.returncode == EXIT_AWS
    assert done.stdout == ""
    assert "no AWS credentials" in one_error_line(done)
