"""Every file in events/ does, under `mlopscp replay`, what events/README.md says it does.

Each file is replayed through the real command (`mlopscp replay --json`, a process of its own:
the emulator is one per process, and each replay gets a fresh local world, as a user's does), and
the claims of its row in the README's table are checked against what came back. Plus the
user's-own-world path: `--model` and `--monitoring-output`.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.events_catalogue import EVENTS, Claim, catalogue

pytestmark = pytest.mark.integration

ROOT = EVENTS.parent
MLOPSCP = Path(sys.executable).with_name("mlopscp")
CATALOGUE = catalogue()


def replay(*args: str) -> tuple[int, dict[str, Any], str]:
    done = subprocess.run(
        [str(MLOPSCP), "replay", "--json", *args],
        capture_output=True,
        text=True,
        timeout=280,
        check=False,
        cwd=ROOT,
    )
    assert done.stdout.strip(), done.stderr[-3000:]
    return done.returncode, json.loads(done.stdout), done.stderr


def check(claim: Claim, result: dict[str, Any]) -> None:
    actions = result["actions"]
    if claim.verb == "ledger":
        model, action = claim.text.split()
        found = [(e["model_id"], e["action"]) for e in actions["ledger"]]
        assert (model, action) in found, found
    elif claim.verb == "page":
        firsts = [page["body"].splitlines()[0] for page in actions["notifications"]]
        assert any(claim.text in line for line in firsts), firsts
    elif claim.verb == "ignored":
        reasons = [
            str(call["result"].get("reason", ""))
            for call in result["invocations"]
            if isinstance(call["result"], dict) and call["result"].get("status") == "ignored"
        ]
        assert any(claim.text in reason for reason in reasons), result["invocations"]
        assert actions["ledger"] == [], actions["ledger"]
    elif claim.verb == "dead-letter":
        reasons = result["dead_letter_reasons"]
        assert any(claim.text in reason for reason in reasons), reasons


@pytest.mark.parametrize("name", sorted(CATALOGUE), ids=str)
def test_the_event_does_what_the_catalogue_says(name: str) -> None:
    code, result, err = replay(f"events/{name}")
    claims = CATALOGUE[name]
    for claim in claims:
        check(claim, result)
    # One clear outcome: no function failed (so none was retried), and the dead-letter queue
    # holds something exactly when the catalogue says so, which is when replay exits 1.
    assert [c["error"] for c in result["invocations"] if c["error"]] == []
    rejected = any(c.verb == "dead-letter" for c in claims)
    assert bool(result["dead_letter_reasons"]) is rejected, result["dead_letter_reasons"]
    assert code == (1 if rejected else 0), err[-2000:]
    if rejected:
        assert "the event ended in the dead-letter queue: " in err


def test_a_replay_meets_the_users_own_model_and_monitoring_history(tmp_path: Path) -> None:
    """An alarm from the user's account about an endpoint the demo world does not have: with
    their configuration and one endpoint's Model Monitor history, triage decides for it."""
    model = tmp_path / "acme.yaml"
    model.write_text(
        yaml.safe_dump(
            {
                "model_id": "acme",
                "endpoint_name": "acme-prod",
                "monitoring_output_uri": "s3://acme-monitoring/models/acme-prod",
            }
        )
    )
    # case-000 of the labelled triage cases: a sudden drift jump, labelled "investigate"
    case = ROOT / "examples" / "triage-cases" / "dev" / "case-000"
    history = tmp_path / "history"  # as Model Monitor left it: the case without its label
    shutil.copytree(case, history, ignore=shutil.ignore_patterns("expected.json"))
    schedule = sorted(p.name for p in history.iterdir())[0]
    event = json.loads((EVENTS / "model-monitor-alarm.json").read_text())
    dimensions = event["detail"]["configuration"]["metrics"][0]["metricStat"]["metric"]
    dimensions["dimensions"] = {"Endpoint": "acme-prod", "MonitoringSchedule": schedule}
    # captured in the user's own account: replay moves it into the emulated one
    event = json.loads(json.dumps(event).replace("123456789012", "444455556666"))
    alarm = tmp_path / "alarm.json"
    alarm.write_text(json.dumps(event))

    code, result, err = replay(
        str(alarm), "--model", str(model), "--monitoring-output", str(history)
    )

    assert code == 0, err[-2000:]
    assert result["models"] == ["acme"]
    assert result["account_moved_from"] == "444455556666"
    decided = {entry["action"] for entry in result["decision"]}
    assert "incident_opened" in decided, result["decision"]
    assert all(entry["model_id"] == "acme" for entry in result["decision"])
    triaged = [
        call["result"]
        for call in result["invocations"]
        if call["function"] == "DriftTriageFunction"
    ]
    assert [run["decision"] for run in triaged] == ["investigate"]
    assert "replay: copied " in err
    assert "s3://acme-monitoring/models/acme-prod" in err


def test_a_bad_model_file_is_one_line_before_anything_starts(tmp_path: Path) -> None:
    model = tmp_path / "bad.yaml"
    model.write_text("model_id: acme\n")  # no endpoint_name
    done = subprocess.run(
        [str(MLOPSCP), "replay", "events/drift-signal.json", "--model", str(model)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=ROOT,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    # The same words as `models put`: the file, the line and the field.
    assert done.stderr.startswith(f"mlopscp: error: {model}:1: endpoint_name: required")
    assert done.stderr.count("\n") == 1
    assert "replay: deploying" not in done.stderr
