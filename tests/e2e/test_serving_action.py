"""Acting on an idle endpoint, through the whole local stack (the real ServingAction ASL,
RequestApproval, Slack, the decider, the sweeper): a rejection or an expiry deletes nothing, and
an endpoint that got traffic while the approval waited is skipped, saying why. The approved
path is the demo's serving_cost scenario (test_demo.py)."""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from mlops_runtime.model_config import ModelConfig
from mlopscp.demo.serving import idle_endpoint
from mlopscp.local import LocalControlPlane
from mlopscp.worlds.promotion import APPROVER, PROMOTION_CHANNEL
from mlopscp_emulator import Emulator

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def plane() -> Iterator[LocalControlPlane]:
    warnings.filterwarnings("ignore", message=".*moto does not enforce.*")
    with Emulator() as emulator:
        yield LocalControlPlane(emulator).up()


def idle_staging_endpoint(plane: LocalControlPlane, model_id: str) -> str:
    """``<model>-staging``, a month old and never called, of a model that opted in."""
    endpoint = f"{model_id}-staging"
    plane.put_config(
        ModelConfig.model_validate(
            {
                "model_id": model_id,
                "endpoint_name": endpoint,
                "environment": "staging",
                "guardrails": {"serving": {"act": [{"finding": "endpoint.idle"}]}},
                "approvals": {"slack_channel": PROMOTION_CHANNEL, "slack_approvers": [APPROVER]},
            }
        )
    )
    idle_endpoint(plane.emu, endpoint, 1)
    return endpoint


def asked(plane: LocalControlPlane, model_id: str) -> dict[str, Any]:
    digest = plane.outputs["GuardrailDigestFunctionName"]
    plane.emu.client("lambda").invoke(FunctionName=digest, Payload=b"{}")
    plane.emu.wait_idle(timeout=120)
    (approval,) = plane.approvals(model_id)
    assert approval["status"] == "pending"
    return approval


def click(plane: LocalControlPlane, approval_id: str, action: str) -> None:
    message = next(
        m for m in plane.slack.messages(PROMOTION_CHANNEL) if approval_id in json.dumps(m.blocks)
    )
    url = plane.emu.http_url("ApprovalCallbackFunctionUrl") + "slack/interactions"
    assert plane.slack.click(message, APPROVER, action, url).status == 200
    plane.emu.wait_idle(timeout=120)


def outcome(plane: LocalControlPlane, model_id: str) -> tuple[str, dict[str, Any]]:
    """The last serving-action entry of the model, and its evidence."""
    kinds = {"endpoint_deleted", "serving_action_declined", "serving_action_skipped"}
    entries = [e for e in plane.ledger(model_id) if e["action"] in kinds]
    assert entries, f"no serving action recorded for {model_id}"
    return entries[-1]["action"], dict(json.loads(entries[-1]["evidence"]))


def endpoints(plane: LocalControlPlane) -> list[str]:
    return [e["EndpointName"] for e in plane.emu.client("sagemaker").list_endpoints()["Endpoints"]]


def test_a_rejection_deletes_nothing(plane: LocalControlPlane) -> None:
    endpoint = idle_staging_endpoint(plane, "quotes")
    approval = asked(plane, "quotes")
    click(plane, approval["approval_id"], "approval.reject")
    action, evidence = outcome(plane, "quotes")
    assert action == "serving_action_declined"
    assert evidence["reason"] == "the approval was rejected"
    assert endpoint in endpoints(plane)


def test_an_expired_approval_deletes_nothing(plane: LocalControlPlane) -> None:
    endpoint = idle_staging_endpoint(plane, "rates")
    approval = asked(plane, "rates")
    plane.move_deadline(approval["approval_id"], datetime.now(UTC) - timedelta(minutes=1))
    plane.sweep()
    plane.emu.wait_idle(timeout=120)
    action, evidence = outcome(plane, "rates")
    assert action == "serving_action_declined"
    assert evidence["reason"] == "the approval was expired"
    assert endpoint in endpoints(plane)


def test_an_endpoint_called_while_the_approval_waited_is_skipped(plane: LocalControlPlane) -> None:
    endpoint = idle_staging_endpoint(plane, "tiers")
    approval = asked(plane, "tiers")
    plane.emu.client("cloudwatch").put_metric_data(
        Namespace="AWS/SageMaker",
        MetricData=[
            {
                "MetricName": "Invocations",
                "Dimensions": [
                    {"Name": "EndpointName", "Value": endpoint},
                    {"Name": "VariantName", "Value": "AllTraffic"},
                ],
                "Timestamp": datetime.now(UTC) - timedelta(hours=2),
                "Value": 12,
            }
        ],
    )
    click(plane, approval["approval_id"], "approval.approve")
    action, evidence = outcome(plane, "tiers")
    assert action == "serving_action_skipped"
    assert "was invoked since it was flagged" in evidence["reason"]
    assert endpoint in endpoints(plane)
