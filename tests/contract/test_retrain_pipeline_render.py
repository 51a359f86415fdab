"""The committed definitions (retrain and monitor blueprints) are exactly what the code renders,
and rendering stays offline.

Needs the SageMaker SDK, which lives in .venv-sdk. Skipped where the SDK is missing, unless
MLOPSCP_REQUIRE_SDK=1 (CI sets it), where a missing SDK is a failure: a check that silently
skips in CI would let the committed file drift from the code.

The comparison is byte for byte: render_definition sorts keys and fixes the indent, and the
definition holds no names or times the SDK generates, so any difference is a real change.
"""

from __future__ import annotations

import importlib.util
import os
import socket
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "pipelines" / "retrain" / "definition.json"

if importlib.util.find_spec("sagemaker") is None:
    if os.environ.get("MLOPSCP_REQUIRE_SDK") == "1":
        pytest.fail(
            "MLOPSCP_REQUIRE_SDK=1 but the sagemaker SDK is not installed: run these tests "
            "with .venv-sdk/bin/python (see docs/retrain-pipeline.md)",
            pytrace=False,
        )
    pytest.skip(
        "the sagemaker SDK is not installed (it lives in .venv-sdk)", allow_module_level=True
    )


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Refuse and record every connection and name lookup (the SDK swallows telemetry
    failures, so refusing alone would not show an attempt)."""
    attempts: list[Any] = []

    def refuse(*args: Any, **kwargs: Any) -> Any:
        attempts.append(args)
        raise OSError("network is off while rendering")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    return attempts


@pytest.fixture
def hostile_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Credentials and an SDK config file that would change the output if they leaked in."""
    config = tmp_path / "config.yaml"
    config.write_text(
        "SchemaVersion: '1.0'\n"
        "SageMaker:\n"
        "  TrainingJob:\n"
        "    EnableNetworkIsolation: true\n"
        "    Tags:\n"
        "    - {Key: leaked, Value: from-user-config}\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("SAGEMAKER_USER_CONFIG_OVERRIDE", str(config))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAREALLOOKING00000")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-a-real-secret")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")


@pytest.mark.usefixtures("hostile_environment")
def test_committed_definition_is_what_the_code_renders_offline(no_network: list[Any]) -> None:
    from mlopscp.pipelines.retrain import render_definition  # needs the SDK

    rendered = render_definition()

    assert no_network == [], "rendering tried to reach the network"
    assert rendered == COMMITTED.read_text(encoding="utf-8"), (
        "pipelines/retrain/definition.json is stale: run .venv-sdk/bin/mlopscp pipeline render "
        "and commit the result"
    )


@pytest.mark.usefixtures("hostile_environment")
def test_committed_monitor_definition_is_what_the_code_renders_offline(
    no_network: list[Any],
) -> None:
    from mlopscp.pipelines.monitor import render_definition  # needs the SDK

    rendered = render_definition()

    assert no_network == [], "rendering tried to reach the network"
    assert rendered == (ROOT / "pipelines" / "monitor" / "definition.json").read_text(), (
        "pipelines/monitor/definition.json is stale: run .venv-sdk/bin/mlopscp monitor render "
        "and commit the result"
    )
