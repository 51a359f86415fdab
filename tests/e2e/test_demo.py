"""The demo's scenarios, end to end on the embedded emulator (what `make demo` shows)."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from mlops_runtime import aws
from mlopscp.cli import build_parser, main
from mlopscp.demo.runner import Demo
from mlopscp.demo.scenario import Outcome
from mlopscp.local import STACK, LocalControlPlane
from mlopscp.output import EXIT_USAGE
from mlopscp_emulator import Emulator

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def plane() -> Iterator[LocalControlPlane]:
    warnings.filterwarnings("ignore", message=".*moto does not enforce.*")
    with Emulator() as emulator:
        yield LocalControlPlane(emulator).up()


@pytest.fixture(scope="module")
def outcomes(plane: LocalControlPlane) -> dict[str, Outcome]:
    demo = Demo(plane)
    return {name: outcome for name, outcome in zip(Demo.SCENARIOS, demo.run(), strict=True)}


@pytest.mark.parametrize("scenario", Demo.SCENARIOS)
def test_demo_scenario_holds(outcomes: dict[str, Outcome], scenario: str) -> None:
    outcome = outcomes[scenario]
    failed = [what for what, ok in outcome.checks if not ok]
    assert outcome.checks, "a scenario that checks nothing proves nothing"
    assert not failed, f"{outcome.title}: " + "; ".join(failed) + "\n" + "\n".join(outcome.lines)


# ---------------------------------------------------------------- every --json, on the demo's stack

ROOT = Path(__file__).resolve().parents[2]
# What each command that has --json is run with, on the stack the demo has just filled. A new
# command with --json fails test_every_json_command_is_listed until it has its line here.
JSON_ARGS: dict[tuple[str, ...], list[str]] = {
    ("triage",): [str(ROOT / "examples" / "triage-cases" / "dev" / "case-003")],
    ("models", "show"): ["churn"],
    ("ledger",): ["--model", "churn"],
    ("approvals", "list"): ["--status", "all"],
    ("incidents", "list"): ["--all"],
    ("promotions",): [],
    ("replay",): [str(ROOT / "events" / "drift-signal.json")],
    ("status",): [],
    ("explain",): ["forecast"],  # promoted back in xaccount_loop
    ("discover",): [],
}
# Commands that start an emulator of their own run as a process of their own (moto's state is
# per process).
OWN_PROCESS = {("replay",)}


def json_commands(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from json_commands(sub, (*path, name))
    if any("--json" in action.option_strings for action in parser._actions):
        yield path, parser


COMMANDS = dict(json_commands(build_parser()))


def test_every_json_command_is_listed() -> None:
    assert set(COMMANDS) == set(JSON_ARGS), "give each command with --json its arguments"


@pytest.fixture
def operator(plane: LocalControlPlane, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """A shell with credentials for the demo's stack: the stack arguments to pass."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": plane.emu.endpoint_url,  # also restores what the CLI sets
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    aws.clear_cached_clients()
    yield ["--stack", STACK, "--endpoint-url", plane.emu.endpoint_url]
    aws.clear_cached_clients()


@pytest.mark.parametrize("command", sorted(JSON_ARGS), ids=" ".join)
def test_json_stdout_is_exactly_one_document(
    outcomes: dict[str, Outcome],
    operator: list[str],
    capsys: pytest.CaptureFixture[str],
    command: tuple[str, ...],
) -> None:
    argv = [*command, *JSON_ARGS[command], "--json"]
    if any("--stack" in a.option_strings for a in COMMANDS[command]._actions):
        argv += operator
    if command in OWN_PROCESS:
        done = subprocess.run(
            [sys.executable, "-m", "mlopscp.cli", *argv],
            capture_output=True,
            text=True,
            check=False,
            timeout=900,
        )
        code, out = done.returncode, done.stdout
    else:
        code, out = main(argv), capsys.readouterr().out
    document = json.loads(out)  # any human line on stdout fails here
    if command == ("status",):  # 1 exactly when something waits for a human
        assert code == (1 if document["waiting_for_a_human"] else 0), out[-2000:]
    elif command == ("discover",):  # 1 exactly when the estate has gaps to fill
        gaps = any(e["gaps"] for e in document["endpoints"])
        assert document["endpoints"], "the demo left endpoints to discover"
        assert code == (1 if gaps else 0), out[-2000:]
    else:
        assert code == (10 if command == ("triage",) else 0), out[-2000:]
    if command[0] in ("ledger", "approvals", "incidents", "promotions"):
        assert document, f"the demo left {command[0]} to show"


def test_ledger_orders_text_and_json_alike(
    outcomes: dict[str, Outcome], operator: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["ledger", "--model", "churn", *operator]) == 0
    text = [line.split()[1] for line in capsys.readouterr().out.splitlines()]
    assert main(["ledger", "--model", "churn", "--json", *operator]) == 0
    entries = json.loads(capsys.readouterr().out)
    assert text == [entry["action"] for entry in entries]
    assert [e["at"] for e in entries] == sorted(e["at"] for e in entries), "oldest first"


def test_an_unknown_stack_is_one_line_and_exit_2(
    outcomes: dict[str, Outcome], operator: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["ledger", "--model", "churn", *operator, "--stack", "no-such-stack"]
    assert main(argv) == EXIT_USAGE
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("mlopscp: error: stack no-such-stack not found (hint: ")
