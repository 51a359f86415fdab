"""Observe-only mode on the emulator: the real template, handlers and state machines, deployed
twice — a stack that acts with its models in ``mode: observe``, and a stack deployed with
``ObserveOnly=true`` whose models say ``mode: act`` (the stack switch wins). In both, a
gradual-drift history gives ``would_start_retrain`` and no pipeline execution, and a registry
approval gives ``would_promote`` with no promotion, endpoint or approval request; nobody is
paged; the digest lists what would have happened.
"""

from __future__ import annotations

import json
import warnings
from typing import Any

import pytest
from mlopscp.local import LocalControlPlane
from mlopscp.worlds.common import MONITORING_BUCKET, ROOT
from mlopscp.worlds.trial import TrialWorld
from mlopscp_emulator import Emulator

pytestmark = pytest.mark.integration

# who switched it on -> (stack parameter ObserveOnly, the models' mode)
SWITCHES = {"model": ("false", "observe"), "stack": ("true", "act")}


@pytest.fixture(scope="module", params=sorted(SWITCHES))
def trial(emulator: Emulator, request: pytest.FixtureRequest) -> dict[str, Any]:
    by = str(request.param)
    observe_only, mode = SWITCHES[by]
    plane = LocalControlPlane(emulator)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # resources the emulator cannot honour, listed once
        plane.stack = emulator.deploy(
            ROOT / "template.yaml",
            stack_name=f"observe-{by}",
            parameters={
                "Stage": "dev",
                "MonitoringBucketPattern": MONITORING_BUCKET,
                "ObserveOnly": observe_only,
            },
        )
    plane.inbox_url = plane._subscribe_inbox(queue=f"observe-{by}-inbox")
    world = TrialWorld(plane, prefix=f"obs-{by}", mode=mode).seed()
    emulator.put_event(plane.monitoring_execution_event(world.drift))
    emulator.wait_idle(timeout=120)
    emulator.put_event(world.approve())
    emulator.wait_idle(timeout=120)
    return {"by": by, "plane": plane, "world": world}


def entries(plane: LocalControlPlane, model_id: str, action: str) -> list[dict[str, Any]]:
    found = [e for e in plane.ledger(model_id) if e["action"] == action]
    return [e | {"evidence": json.loads(e["evidence"])} for e in found]


def test_gradual_drift_is_recorded_as_would_start_retrain_and_starts_nothing(trial) -> None:
    plane, world = trial["plane"], trial["world"]
    (would,) = entries(plane, world.drift.model_id, "would_start_retrain")
    assert would["evidence"]["observe_only"] == trial["by"]
    assert would["evidence"]["pipeline_name"] == world.drift.pipeline
    assert would["evidence"]["approval_required"] is True
    assert would["evidence"]["triage"]["decision"] == "retrain"
    assert plane.pipeline_executions(world.drift) == []
    assert entries(plane, world.drift.model_id, "retrain_started") == []
    assert plane.approvals(world.drift.model_id) == [], "no approval request was sent"
    (ended,) = entries(plane, world.drift.model_id, "incident_resolved")
    assert ended["subject"] == would["subject"]
    assert "observe-only" in ended["summary"], "the retrain incident ends, saying why"


def test_a_registry_approval_is_recorded_as_would_promote_and_deploys_nothing(trial) -> None:
    plane, world = trial["plane"], trial["world"]
    (would,) = entries(plane, world.promotion.model_id, "would_promote")
    assert would["subject"] == f"{world.promotion.model_id}-v2"
    assert would["evidence"]["observe_only"] == trial["by"]
    assert would["evidence"]["package_arn"] == world.promotion.package_arn(2)
    assert world.promotion_executions() == []
    assert world.staging_endpoints() == []
    assert plane.approvals(world.promotion.model_id) == []


def test_nobody_is_paged_and_the_digest_lists_the_would_have_actions(trial) -> None:
    plane, world = trial["plane"], trial["world"]
    assert plane.notifications() == []
    invoked = plane.emu.client("lambda").invoke(
        FunctionName=plane.outputs["GuardrailDigestFunctionName"], Payload=b"{}"
    )
    assert json.loads(invoked["Payload"].read())["status"] == "sent"
    (digest,) = plane.notifications()
    assert digest["attributes"]["kind"] == "guardrail_digest"
    assert "2 observe-only action(s)" in digest["body"]
    assert (
        f"({world.drift.model_id}) observe-only ({trial['by']}): would start retrain"
        in (digest["body"])
    )
    assert (
        f"({world.promotion.model_id}) observe-only ({trial['by']}): would promote"
        in (digest["body"])
    )
