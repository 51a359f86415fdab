"""The registry intake on moto: one promotion per package version, refusals with reasons."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.aws_fixtures import LambdaContext, load_handler
from tests.integration.handlers.conftest import drain
from tests.integration.handlers.promotion_world import (
    World,
    ledger_actions,
    ledger_entry,
    put_config,
    world_fixture,  # noqa: F401 - provides the `world` fixture
)

EVENT = Path(__file__).resolve().parents[3] / "events" / "model-package-approved.json"
MACHINE = "mlopscp-local-promotion"


@pytest.fixture
def intake(world: World, monkeypatch: pytest.MonkeyPatch) -> Any:
    from moto.core.config import default_user_config

    # Started executions stay RUNNING (as a promotion waiting on its shadow test would), even
    # if an emulator in this session switched moto's interpreter on.
    monkeypatch.setitem(default_user_config, "stepfunctions", {"execute_state_machine": False})
    sfn = boto3.client("stepfunctions")
    arn = sfn.create_state_machine(
        name=MACHINE,
        definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}),
        roleArn="arn:aws:iam::123456789012:role/sfn",
    )["stateMachineArn"]
    monkeypatch.setenv("PROMOTION_STATE_MACHINE_ARN", arn)
    return load_handler("promotion_intake")


def event(version: int = 2, status: str = "Approved", event_id: str = "e-1") -> dict[str, Any]:
    body = json.loads(EVENT.read_text())
    body["id"] = event_id
    arn = f"arn:aws:sagemaker:us-east-1:123456789012:model-package/demand/{version}"
    body["detail"] |= {
        "ModelPackageVersion": version,
        "ModelPackageArn": arn,
        "ModelApprovalStatus": status,
    }
    return body


def executions() -> list[dict[str, Any]]:
    sfn = boto3.client("stepfunctions")
    arn = sfn.list_state_machines()["stateMachines"][0]["stateMachineArn"]
    return list(sfn.list_executions(stateMachineArn=arn)["executions"])


def test_an_approval_starts_one_promotion_whatever_the_deliveries(intake) -> None:
    first = intake.handler(event(), LambdaContext())
    assert first["status"] == "started"
    assert intake.handler(event(), LambdaContext()) == first  # the same event again
    assert intake.handler(event(event_id="e-2"), LambdaContext())["status"] == "duplicate"
    (execution,) = executions()
    described = boto3.client("stepfunctions").describe_execution(
        executionArn=execution["executionArn"]
    )
    assert json.loads(described["input"]) == {
        "promotion_id": "demand-v2",
        "model_id": "demand",
        "version": 2,
        "package_arn": "arn:aws:sagemaker:us-east-1:123456789012:model-package/demand/2",
    }
    assert execution["name"].startswith("demand-v2-")
    assert ledger_actions().count("promotion_started") == 1


def test_an_older_version_than_production_is_refused_with_the_reason(intake, world) -> None:
    from mlops_runtime.promotions import PromotionStore
    from mlops_runtime.store import StateStore

    StateStore("state").apply(
        PromotionStore("state").production_operation(
            "demand", "arn:...:model-package/demand/3", 3, "demand-v3"
        )
    )
    result = intake.handler(event(version=2), LambdaContext())
    assert result["status"] == "refused"
    assert "older than version 3, which production already serves" in result["reason"]
    assert executions() == []
    assert "older than version 3" in ledger_entry("promotion_refused")["summary"]
    (page,) = drain(world.topic_inbox)
    assert page["attributes"]["kind"] == "promotion_refused"
    assert "older than version 3" in page["body"]


def test_one_promotion_per_model_at_a_time_and_a_stale_lock_is_taken_over(intake) -> None:
    assert intake.handler(event(version=2), LambdaContext())["status"] == "started"
    busy = intake.handler(event(version=3, event_id="e-3"), LambdaContext())
    assert busy["status"] == "refused"
    assert "the promotion demand-v2 of this model is still running" in busy["reason"]
    # v2's execution ends without releasing the lock (say its last step crashed): stale.
    (running,) = executions()
    boto3.client("stepfunctions").stop_execution(executionArn=running["executionArn"])
    later = intake.handler(event(version=3, event_id="e-4"), LambdaContext())
    assert later["status"] == "started"
    assert later["promotion_id"] == "demand-v3"


def test_a_rejection_is_recorded_and_a_pending_version_notifies_when_asked(intake, world) -> None:
    assert intake.handler(event(status="Rejected"), LambdaContext())["status"] == (
        "recorded_rejection"
    )
    assert "model_package_rejected" in ledger_actions()
    assert (
        intake.handler(event(status="PendingManualApproval", event_id="e-5"), LambdaContext())[
            "status"
        ]
        == "ignored"
    )
    put_config(world, notify_pending_approval=True)
    intake = load_handler("promotion_intake")  # configuration is cached for a minute
    assert (
        intake.handler(event(status="PendingManualApproval", event_id="e-6"), LambdaContext())[
            "status"
        ]
        == "notified"
    )
    (page,) = drain(world.topic_inbox)
    assert page["attributes"]["kind"] == "promotion_pending"
    assert executions() == []


def test_a_group_no_model_promotes_is_ignored(intake) -> None:
    other = event()
    other["detail"]["ModelPackageGroupName"] = "nobodys"
    assert intake.handler(other, LambdaContext())["status"] == "ignored"


def _missing_status() -> dict[str, Any]:
    broken = event()
    del broken["detail"]["ModelApprovalStatus"]
    return broken


@pytest.mark.parametrize(
    "malformed",
    [_missing_status(), ["not", "an", "object"], "a string", None],
    ids=["no-status", "list", "string", "null"],
)
def test_a_malformed_event_goes_to_the_dead_letter_queue_with_its_reason(
    intake, malformed: Any
) -> None:
    result = intake.handler(malformed, LambdaContext())
    assert result["status"] == "rejected"
    (dead,) = drain(os.environ["DEAD_LETTER_QUEUE_URL"])
    body = json.loads(dead["body"])
    assert body["event"] == malformed, "the event is kept whole"
    assert body["reason"].startswith("malformed event")
    assert dead["attributes"]["source"] == "promotion-intake"
    assert ledger_actions("_unknown") == ["event_rejected"]
    assert executions() == []


@pytest.mark.parametrize(
    ("account", "package_account", "named"),
    [
        ("333333333333", "123456789012", "an event from account 333333333333"),
        ("123456789012", "333333333333", "arn:aws:sagemaker:us-east-1:333333333333:model-package"),
    ],
)
def test_only_the_registrys_own_account_speaks_for_its_packages(
    intake, world: World, account: str, package_account: str, named: str
) -> None:
    """The registry lives in the tooling account: an approval event from a workload account,
    or naming another account's package, starts, records and notifies nothing."""
    forged = event()
    forged["account"] = account
    forged["detail"]["ModelPackageArn"] = forged["detail"]["ModelPackageArn"].replace(
        "123456789012", package_account
    )
    result = intake.handler(forged, LambdaContext())
    assert result["status"] == "rejected"
    assert named in result["reason"]
    (dead,) = drain(os.environ["DEAD_LETTER_QUEUE_URL"])
    assert json.loads(dead["body"])["event"] == forged
    assert ledger_actions() == ["event_rejected"]
    assert executions() == []
    assert drain(world.topic_inbox) == []


# ---------------------------------------------------------------- the adapter alone


def test_a_version_whose_execution_could_not_start_is_unclaimed_for_the_retry(
    intake, world
) -> None:
    """PromotionStarter without a Lambda context: StartExecution fails, so the version's
    record and the model's lock are given back and the redelivered approval starts it."""
    from botocore.exceptions import ClientError
    from mlops_runtime.promotion_start import PromotionStarter
    from mlops_runtime.promotions import PromotionStore
    from mlops_runtime.store import Ledger

    machine = os.environ["PROMOTION_STATE_MACHINE_ARN"]
    topic = os.environ["NOTIFICATION_TOPIC_ARN"]
    request = {
        "event_id": "e-7",
        "model_id": "demand",
        "status": "Approved",
        "package_arn": "arn:aws:sagemaker:us-east-1:123456789012:model-package/demand/2",
        "version": 2,
        "notify_pending": False,
        "description": "",
    }
    store = PromotionStore("state")
    broken = PromotionStarter(
        Ledger("ledger"), store, machine.replace(MACHINE, "mlopscp-gone"), topic, None
    )
    with pytest.raises(ClientError, match="StateMachineDoesNotExist"):
        broken.handle(request)
    assert store.record("demand", 2) is None
    assert not (store.lock("demand") or {}).get("promotion_id")
    started = PromotionStarter(Ledger("ledger"), store, machine, topic, None).handle(request)
    assert started["status"] == "started"
    assert ledger_actions().count("promotion_started") == 1
