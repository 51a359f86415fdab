"""Acting on serving findings on moto: the digest's sweep starts one ServingAction workflow per
endpoint config and finding for a model that opted in (once, however often it sweeps; an
observe-only model records would_delete_endpoint), and the workflow's step deletes the endpoint
only after a confirmed approval and a re-check, keeping the config and the model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from mlops_core import serving_actions as core
from mlops_runtime.store import Ledger, to_attributes

from tests.aws_fixtures import LambdaContext, create_template_tables, load_handler
from tests.integration.handlers.conftest import put_model
from tests.integration.handlers.test_serving_guardrails import endpoint, traffic

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]
APPROVAL_ID = "apv_" + "s" * 22
OPT_IN = {"serving": {"act": [{"finding": "endpoint.idle"}]}}
APPROVERS = {"slack_channel": "C0APPROVALS", "slack_approvers": ["U0ADA"]}


def configure(**changes: Any) -> None:
    """churn serves churn-staging, as its staging endpoint, opted in; ``changes`` override."""
    config = {
        "endpoint_name": "churn-staging",
        "environment": "staging",
        "guardrails": OPT_IN,
        "approvals": APPROVERS,
    }
    put_model(pipeline=None, **{k: v for k, v in (config | changes).items() if v is not None})


@pytest.fixture
def acting(training_cloud: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> str:
    """The ServingAction state machine (not executed here: its steps are called directly) and
    the approval table; churn-staging is churn's idle staging endpoint and it opted in."""
    create_template_tables(boto3.client("dynamodb"), {"ApprovalTable": "approvals"})
    definition = (ROOT / "statemachines" / "serving_action.asl.json").read_text()
    arn = boto3.client("stepfunctions").create_state_machine(
        name="stack-serving-action",
        definition=definition,
        roleArn="arn:aws:iam::123456789012:role/states",
    )["stateMachineArn"]
    monkeypatch.setenv("SERVING_ACTION_MACHINE", arn)
    configure()
    endpoint("churn-staging")  # a month old, never called
    return arn


def digest() -> dict[str, Any]:
    return load_handler("guardrail_digest").handler({}, LambdaContext())  # type: ignore[no-any-return]


def executions(arn: str) -> list[dict[str, Any]]:
    return boto3.client("stepfunctions").list_executions(stateMachineArn=arn)["executions"]


def started_state(arn: str) -> dict[str, Any]:
    (execution,) = executions(arn)
    described = boto3.client("stepfunctions").describe_execution(
        executionArn=execution["executionArn"]
    )
    return dict(json.loads(described["input"]))


def actions(model_id: str = "churn") -> list[str]:
    """The model's ledger, oldest first."""
    return [e["action"] for e in reversed(Ledger("ledger").entries(model_id))]


def store_approval(
    status: str, subject: str, model_id: str = "churn", kind: str = "endpoint_deletion"
) -> None:
    request = {"kind": kind, "model_id": model_id, "subject": subject}
    item = {
        "pk": f"APPROVAL#{APPROVAL_ID}",
        "approval_id": APPROVAL_ID,
        "status": status,
        "model_id": model_id,
        "kind": kind,
        "subject": subject,
        "request": json.dumps(request),
        "approvers": '{"slack_users": ["U0ADA"]}',
        "deadline": "2030-01-01T00:00:00Z",
        "created_at": "2029-12-31T00:00:00Z",
    }
    boto3.client("dynamodb").put_item(TableName="approvals", Item=to_attributes(item))


def answer(outcome: str) -> dict[str, Any]:
    return {
        "approval_id": APPROVAL_ID,
        "outcome": outcome,
        "decided_by": "U0ADA",
        "channel": "slack",
        "reason": "",
        "decided_at": "2029-12-31T01:00:00Z",
    }


def step(name: str, state: dict[str, Any]) -> dict[str, Any]:
    handler = load_handler("serving_action")
    return handler.handler({"step": name, "state": state}, LambdaContext())  # type: ignore[no-any-return]


def sagemaker_names() -> tuple[list[str], list[str], list[str]]:
    sm = boto3.client("sagemaker")
    return (
        [e["EndpointName"] for e in sm.list_endpoints()["Endpoints"]],
        [c["EndpointConfigName"] for c in sm.list_endpoint_configs()["EndpointConfigs"]],
        [m["ModelName"] for m in sm.list_models()["Models"]],
    )


def test_the_sweep_asks_once_per_endpoint_config_and_finding(acting: str) -> None:
    first = digest()
    assert first["serving"]["actions"] == {"requested": 1}
    state = started_state(acting)
    assert state["proposal"]["endpoint"] == "churn-staging"
    assert state["proposal"]["endpoint_config"] == "churn-staging-v1"
    assert state["proposal"]["environment"] == "staging"
    assert state["proposal"]["account_id"] == "123456789012"
    assert state["approval_request"]["title"] == (
        "Delete idle staging endpoint churn-staging in account 123456789012?"
    )
    assert state["approval_timeout_seconds"] == 25 * 3600  # the 24 h deadline + the backstop
    assert sorted(actions()) == ["guardrail_flagged", "serving_action_requested"]
    assert "1 action(s) waiting for approval" in first_page_title(acting)

    again = digest()  # the workflow still waits: nobody is asked again
    assert again["serving"]["actions"] == {"asked before": 1}
    assert len(executions(acting)) == 1
    assert actions().count("serving_action_requested") == 1


def first_page_title(arn: str) -> str:
    from tests.integration.handlers.conftest import drain

    queue = boto3.client("sqs").get_queue_url(QueueName="inbox")["QueueUrl"]
    pages = drain(queue)
    return str(pages[0]["body"].splitlines()[0]) if pages else ""


def test_production_endpoints_are_not_acted_on_unless_named(acting: str) -> None:
    configure(environment=None)
    assert "actions" not in digest()["serving"]  # churn-staging is production by default now
    assert executions(acting) == []
    named = {"serving": {"act": [{"finding": "endpoint.idle", "environments": ["production"]}]}}
    configure(environment=None, guardrails=named)
    assert digest()["serving"]["actions"] == {"requested": 1}


def test_an_observe_only_model_records_would_delete_endpoint_and_starts_nothing(
    acting: str,
) -> None:
    configure(mode="observe")
    assert digest()["serving"]["actions"] == {"observed": 1}
    assert executions(acting) == []
    assert sorted(actions()) == ["guardrail_flagged", "would_delete_endpoint"]
    assert sagemaker_names()[0] == ["churn-staging"]


def test_approved_deletes_the_endpoint_only_and_records_how_to_recreate_it(acting: str) -> None:
    digest()
    state = started_state(acting)
    store_approval("approved", state["approval_request"]["subject"])
    result = step("act", state | {"approval": answer("approved")})
    assert result["outcome"] == "deleted"
    assert sagemaker_names() == ([], ["churn-staging-v1"], ["churn-staging-m"])
    deleted = next(
        e for e in Ledger("ledger").entries("churn") if e["action"] == "endpoint_deleted"
    )
    evidence = deleted["evidence"]
    assert evidence["kept"] == {"endpoint_config": "churn-staging-v1"}
    assert evidence["recreate"] == (
        "aws sagemaker create-endpoint --endpoint-name churn-staging "
        "--endpoint-config-name churn-staging-v1 --region us-east-1"
    )
    assert evidence["approval"]["decided_by"] == "U0ADA"
    assert actions()[-2:] == ["endpoint_deleted", "notification_sent"]


@pytest.mark.parametrize("outcome", ["rejected", "expired"])
def test_rejected_or_expired_deletes_nothing(acting: str, outcome: str) -> None:
    digest()
    state = started_state(acting)
    assert step("declined", state | {"approval": answer(outcome)})["outcome"] == "declined"
    assert sagemaker_names()[0] == ["churn-staging"]
    declined = Ledger("ledger").entries("churn")[0]  # the newest
    assert declined["action"] == "serving_action_declined"
    assert declined["evidence"]["reason"] == f"the approval was {outcome}"


def test_an_endpoint_that_got_traffic_meanwhile_is_skipped(acting: str) -> None:
    digest()
    state = started_state(acting)
    store_approval("approved", state["approval_request"]["subject"])
    traffic("churn-staging", [12], 5, days=2)  # yesterday noon, within the 7 days
    result = step("act", state | {"approval": answer("approved")})
    assert result["outcome"] == "skipped"
    assert "was invoked since it was flagged" in result["summary"]
    assert sagemaker_names()[0] == ["churn-staging"]
    assert actions()[-1] == "serving_action_skipped"


def test_an_unconfirmed_approval_or_a_running_promotion_deletes_nothing(acting: str) -> None:
    digest()
    state = started_state(acting)
    forged = step("act", state | {"approval": answer("approved")})  # no approval record
    assert forged["outcome"] == "skipped"
    assert "no approval record confirms it" in forged["summary"]
    store_approval("approved", "endpoint/other@other-v1#endpoint.idle")
    assert step("act", state | {"approval": answer("approved")})["outcome"] == "skipped"

    store_approval("approved", state["approval_request"]["subject"])
    lock = {"pk": "MODEL#churn", "sk": "PROMOTION_LOCK", "promotion_id": "churn-v4"}
    boto3.client("dynamodb").put_item(TableName="state", Item=to_attributes(lock))
    running = step("act", state | {"approval": answer("approved")})
    assert running["outcome"] == "skipped"
    assert "promotion churn-v4 of churn is running" in running["summary"]
    assert sagemaker_names()[0] == ["churn-staging"]


def test_an_endpoint_moved_to_another_config_or_a_model_that_opted_out_is_skipped(
    acting: str,
) -> None:
    digest()
    state = started_state(acting)
    store_approval("approved", state["approval_request"]["subject"])
    configure(guardrails=None)
    opted_out = step("act", state | {"approval": answer("approved")})
    assert "does not opt in" in opted_out["summary"]
    configure()
    moved = state | {"proposal": state["proposal"] | {"endpoint_config": "churn-staging-v0"}}
    store_approval("approved", core.Proposal.from_dict(moved["proposal"]).subject)
    result = step("act", moved | {"approval": answer("approved")})
    assert "now runs endpoint config churn-staging-v1" in result["summary"]
    assert sagemaker_names()[0] == ["churn-staging"]


def test_an_endpoint_in_an_account_without_a_deployer_role_is_skipped(acting: str) -> None:
    digest()
    state = started_state(acting)
    store_approval("approved", state["approval_request"]["subject"])
    elsewhere = state | {"proposal": state["proposal"] | {"account_id": "999999999999"}}
    result = step("act", elsewhere | {"approval": answer("approved")})
    assert result["outcome"] == "skipped"
    assert "no deployer role of churn in account 999999999999" in result["summary"]
    assert sagemaker_names()[0] == ["churn-staging"]


SCALE_IN = {"serving": {"act": [{"finding": "endpoint.underused"}]}}
VARIANT = "endpoint/churn-staging/variant/AllTraffic"


def underused_with_autoscaling(minimum: int) -> None:
    """churn-staging on 4 x ml.m5.large, its busiest hour at 3% of their CPUs, autoscaled
    between ``minimum`` and 6 instances."""
    boto3.client("sagemaker").delete_endpoint(EndpointName="churn-staging")
    boto3.client("sagemaker").delete_endpoint_config(EndpointConfigName="churn-staging-v1")
    boto3.client("sagemaker").delete_model(ModelName="churn-staging-m")
    endpoint("churn-staging", instances=4)
    traffic("churn-staging", list(range(24)), 500, cpu=6.0)
    boto3.client("application-autoscaling").register_scalable_target(
        ServiceNamespace="sagemaker",
        ResourceId=VARIANT,
        ScalableDimension="sagemaker:variant:DesiredInstanceCount",
        MinCapacity=minimum,
        MaxCapacity=6,
    )


def scalable_target() -> tuple[int, int]:
    (target,) = boto3.client("application-autoscaling").describe_scalable_targets(
        ServiceNamespace="sagemaker", ResourceIds=[VARIANT]
    )["ScalableTargets"]
    return target["MinCapacity"], target["MaxCapacity"]


def instances() -> int:
    described = boto3.client("sagemaker").describe_endpoint(EndpointName="churn-staging")
    return int(described["ProductionVariants"][0]["DesiredInstanceCount"])


def test_an_approved_scale_in_lowers_the_autoscaling_minimum_then_the_count(acting: str) -> None:
    configure(guardrails=SCALE_IN)
    underused_with_autoscaling(minimum=3)
    assert digest()["serving"]["actions"] == {"requested": 1}
    state = started_state(acting)
    assert (state["proposal"]["variant"], state["proposal"]["instances"]) == ("AllTraffic", 4)
    assert state["proposal"]["target_count"] == 1
    assert state["approval_request"]["kind"] == "variant_scale_in"
    store_approval("approved", state["approval_request"]["subject"], kind="variant_scale_in")
    result = step("act", state | {"approval": answer("approved")})
    assert result["outcome"] == "scaled_in", result
    assert instances() == 1
    assert scalable_target() == (1, 6)  # the maximum (and the policies) kept
    scaled = Ledger("ledger").entries("churn")[1]  # newest first: then notification_sent
    assert scaled["action"] == "variant_scaled_in"
    assert scaled["evidence"]["autoscaling_min"] == {"before": 3, "after": 1}
    assert scaled["evidence"]["instances"] == {"before": 4, "after": 1}
    assert "DesiredInstanceCount=4" in scaled["evidence"]["undo"]


def test_a_scale_in_approved_for_a_busier_variant_is_skipped(acting: str) -> None:
    configure(guardrails=SCALE_IN)
    underused_with_autoscaling(minimum=1)
    digest()
    state = started_state(acting)
    store_approval("approved", state["approval_request"]["subject"], kind="variant_scale_in")
    traffic("churn-staging", [12], 500, days=2, cpu=150.0)  # a busy hour yesterday
    result = step("act", state | {"approval": answer("approved")})
    assert result["outcome"] == "skipped"
    assert "not underused any more" in result["summary"]
    assert instances() == 4
