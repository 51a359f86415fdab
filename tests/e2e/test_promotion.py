"""Promotion endings the demo does not show, on the full local stack, and `mlopscp promotions`.

One emulator for the module (the demo's scenarios run in test_demo.py with their own); each test
promotes a different model, so their workers' caches never hold another test's configuration.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import urllib.request
import warnings
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
from mlopscp import cli
from mlopscp.local import STACK, LocalControlPlane
from mlopscp.worlds.promotion import (
    EMAIL_APPROVER,
    HIDDEN,
    LINK,
    PRODUCTION,
    PROMOTION_MODELS,
    PromotionWorld,
)
from mlopscp_emulator import Emulator

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def plane() -> Iterator[LocalControlPlane]:
    warnings.filterwarnings("ignore", message=".*moto does not enforce.*")
    with Emulator() as emulator:
        yield LocalControlPlane(emulator).up()


def ended(plane: LocalControlPlane, model_id: str) -> tuple[str, str]:
    (execution,) = plane.promotion.executions(PROMOTION_MODELS[model_id])
    arn = execution["executionArn"]
    status = plane.emu.client("stepfunctions").describe_execution(executionArn=arn)["status"]
    return status, plane.emu.execution_states(arn)[-1]


def last(plane: LocalControlPlane, model_id: str, action: str) -> dict[str, Any]:
    entries = [e for e in plane.ledger(model_id) if e["action"] == action]
    assert entries, f"no {action} for {model_id}"
    return dict(json.loads(entries[-1]["evidence"]))


def test_a_denied_deployer_role_ends_the_promotion_before_it_touches_anything(
    plane: LocalControlPlane,
) -> None:
    world, upsell = plane.promotion, PROMOTION_MODELS["upsell"]
    # upsell's promotions now read an ExternalId the target accounts do not trust.
    wrong = plane.emu.client("secretsmanager").create_secret(
        Name="mlopscp/promotion/stale-external-id", SecretString="an-outdated-external-id"
    )["ARN"]
    config = world.config(upsell)
    config["promotion"]["external_id_secret_arn"] = wrong
    plane.emu.client("dynamodb").put_item(
        TableName=plane.outputs["ModelConfigTableName"],
        Item={"id": {"S": "model#upsell"}, "value": {"S": json.dumps(config)}},
    )
    plane.emu.put_event(world.approve_in_registry(upsell, 2))
    plane.emu.wait_idle(timeout=120)
    assert ended(plane, "upsell") == ("FAILED", "PromotionFailed")
    failure = last(plane, "upsell", "promotion_failed")
    assert failure["stage"] == "start"
    assert "TargetAccountAccessError" in failure["reason"]
    assert f"cannot assume the deployer role of account {PRODUCTION}" in failure["reason"]
    assert "AccessDenied" in failure["reason"]
    assert world.serving(upsell)["config"] == "upsell-prod-v1"
    assert world.staging_endpoints(upsell) == []
    pages = [p for p in plane.notifications() if p["attributes"].get("model_id") == "upsell"]
    assert [p["body"].splitlines()[0] for p in pages] == ["[promotion failed] upsell v2"]


def test_a_rejected_approval_is_not_promoted_and_staging_is_cleaned(
    plane: LocalControlPlane,
) -> None:
    world, eta = plane.promotion, PROMOTION_MODELS["eta"]
    plane.emu.put_event(world.approve_in_registry(eta, 2))
    world.wait_for_shadow(eta)
    world.shadow_traffic(eta, 2)
    plane.emu.wait_idle(timeout=120)
    assert world.staging_endpoints(eta) == ["eta-staging"]
    approval = world.pending_approval(eta)
    answer = _reject_by_email(world, approval["approval_id"], "the canary window is closed")
    assert answer == 200
    plane.emu.wait_idle(timeout=120)
    assert ended(plane, "eta") == ("SUCCEEDED", "NotPromoted")
    failure = last(plane, "eta", "promotion_failed")
    assert failure["stage"] == "approval"
    assert failure["reason"] == (
        f"rejected by {EMAIL_APPROVER} via email: the canary window is closed"
    )
    assert world.staging_endpoints(eta) == []
    serving = world.serving(eta)
    assert (serving["config"], serving["shadow_variants"]) == ("eta-prod-v1", [])


def test_the_cli_lists_promotions_with_their_step_and_verdict_evidence(
    plane: LocalControlPlane, monkeypatch: pytest.MonkeyPatch
) -> None:
    world, demand = plane.promotion, PROMOTION_MODELS["demand"]
    plane.emu.put_event(world.approve_in_registry(demand, 2))
    world.wait_for_shadow(demand)
    world.shadow_traffic(demand, 2)
    plane.emu.wait_idle(timeout=120)
    waiting = _promotions(plane, monkeypatch, "--model", "demand")
    assert re.search(r"demand-v2\s+running\s+step shadow_verdict", waiting)
    assert "verdict   shadow test passed" in waiting
    assert re.search(r"invocations\s+3000\s+1500", waiting)
    assert re.search(r"p99 latency ms\s+38\.0\s+37\.0", waiting)
    assert "agreement       1500/1500 paired predictions (100.00%)" in waiting
    world.approve_in_slack(world.pending_approval(demand)["approval_id"])
    plane.emu.wait_idle(timeout=120)
    done = _promotions(plane, monkeypatch, "--model", "demand")
    assert re.search(r"demand-v2\s+promoted\s+step done", done)
    records = json.loads(_promotions(plane, monkeypatch, "--json"))  # all of stdout
    assert {r["promotion_id"]: r["status"] for r in records} == {
        "demand-v2": "promoted",
        "eta-v2": "not_promoted",
        "upsell-v2": "failed",
    }


def _promotions(plane: LocalControlPlane, monkeypatch: pytest.MonkeyPatch, *args: str) -> str:
    """`mlopscp promotions ARGS --stack mlopscp-local --endpoint-url <emulator>`, its stdout."""
    for key, value in (
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
        ("AWS_ENDPOINT_URL", plane.emu.endpoint_url),
    ):
        monkeypatch.setenv(key, value)  # restored after the test, also what the CLI sets
    from mlops_runtime import aws

    aws.client.cache_clear()
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = cli.main(
            ["promotions", *args, "--stack", STACK, "--endpoint-url", plane.emu.endpoint_url]
        )
    aws.client.cache_clear()
    assert code == 0
    return out.getvalue()


def _reject_by_email(world: PromotionWorld, approval_id: str, reason: str) -> int:
    email = next(
        e
        for e in world.plane.approval_emails()
        if e["attributes"].get("approval_id") == approval_id
    )
    link = next(m.group(0) for m in LINK.finditer(email["body"]) if m.group(2) == "reject")
    with urllib.request.urlopen(link, timeout=30) as page:
        fields = dict(HIDDEN.findall(page.read().decode()))
    body = urlencode(fields | {"confirm": "reject", "reason": reason}).encode()
    request = urllib.request.Request(link.split("?")[0], data=body, method="POST")
    with urllib.request.urlopen(request, timeout=30) as answer:
        return int(answer.status)


def test_a_first_deployment_whose_endpoint_fails_leaves_production_empty(
    plane: LocalControlPlane,
) -> None:
    from mlopscp_emulator import sagemaker_ext

    world, returns = plane.promotion, PROMOTION_MODELS["returns"]
    plane.emu.put_event(world.approve_in_registry(returns, 1))
    plane.emu.wait_idle(timeout=120)
    approval = world.pending_approval(returns)
    sagemaker_ext.fail_next_create(
        returns.endpoint, "The primary container did not pass the ping health check", PRODUCTION
    )
    world.approve_in_slack(approval["approval_id"])
    plane.emu.wait_idle(timeout=120)
    status, state = ended(plane, "returns")
    assert (status, state) == ("FAILED", "PromotionFailed")
    (execution,) = world.executions(returns)
    states = plane.emu.execution_states(execution["executionArn"])
    assert "SkipShadowTest" in states
    assert "StartShadowTest" not in states
    assert states[states.index("Approved") + 1] == "CreateProduction"
    failure = last(plane, "returns", "promotion_failed")
    assert failure["stage"] == "deploy"
    assert "ping health check" in failure["reason"]
    removed = "no endpoint returns-prod (first deployment: removed)"
    assert failure["cleanup"]["production"] == removed
    assert world.production_endpoints(returns) == []
    cloudwatch = plane.emu.client("cloudwatch", account=PRODUCTION)
    alarms = cloudwatch.describe_alarms(AlarmNamePrefix="mlopscp-returns")["MetricAlarms"]
    assert alarms == []
    sagemaker = plane.emu.client("sagemaker", account=PRODUCTION)
    models = [m["ModelName"] for m in sagemaker.list_models()["Models"]]
    assert [m for m in models if m.startswith("returns")] == []
    assert world.staging_endpoints(returns) == []
    pages = [p for p in plane.notifications() if p["attributes"].get("model_id") == "returns"]
    assert [p["body"].splitlines()[0] for p in pages] == ["[promotion failed] returns v1"]
