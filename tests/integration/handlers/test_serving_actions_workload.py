"""Acting on the idle staging endpoint of a promoted model, in its staging account: through that
account's deployer role (trust policy and ExternalId checked by the emulator's STS), which the
model's configuration names, never the workflow's input."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from mlops_core import serving_actions as core
from mlops_runtime.observe import Observer
from mlops_runtime.store import Ledger, to_attributes

from tests.aws_fixtures import LambdaContext, load_handler
from tests.integration.handlers.promotion_world import (
    STAGING,
    World,
    account_client,
    someone_elses_endpoint,
    world_fixture,  # noqa: F401 - provides the `world` fixture
)

pytestmark = pytest.mark.integration
APPROVAL_ID = "apv_" + "w" * 22
OPT_IN = {"serving": {"act": [{"finding": "endpoint.idle"}]}}


def proposal(endpoint: str = "demand-staging") -> core.Proposal:
    return core.Proposal(
        action="delete_endpoint",
        rule="endpoint.idle",
        model_id="demand",
        endpoint=endpoint,
        endpoint_config="theirs",
        environment="staging",
        account_id=STAGING,
        region="us-east-1",
        message="no invocations for 7 days; $83.95/month at list price",
        monthly_usd=83.95,
    )


def approved(p: core.Proposal) -> dict[str, Any]:
    request = {"kind": "endpoint_deletion", "model_id": "demand", "subject": p.subject}
    item = {
        "pk": f"APPROVAL#{APPROVAL_ID}",
        "approval_id": APPROVAL_ID,
        "status": "approved",
        "model_id": "demand",
        "kind": "endpoint_deletion",
        "subject": p.subject,
        "request": json.dumps(request),
        "approvers": '{"emails": ["lead@example.com"]}',
        "deadline": "2030-01-01T00:00:00Z",
        "created_at": "2029-12-31T00:00:00Z",
    }
    boto3.client("dynamodb").put_item(TableName="approvals", Item=to_attributes(item))
    answer = {"approval_id": APPROVAL_ID, "outcome": "approved", "decided_by": "lead@example.com"}
    return {"proposal": p.to_dict(), "approval": answer}


def act(state: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.setenv("TOOLING_ACCOUNT_ID", "123456789012")
    handler = load_handler("serving_action")
    return handler.handler({"step": "act", "state": state}, LambdaContext())  # type: ignore[no-any-return]


def opt_in(world: World) -> None:
    from mlops_runtime.model_config import ModelConfig, ModelConfigStore

    world.config["guardrails"] = OPT_IN  # demand-staging is its promotion's staging endpoint
    ModelConfigStore("model-config", max_age=0).put(ModelConfig.model_validate(world.config))


def idle_in_staging() -> None:
    """demand-staging in the staging account, a month old and never called."""
    from mlopscp_emulator.sagemaker_ext.state import backend_for, put

    someone_elses_endpoint(STAGING, "demand-staging")
    sagemaker = account_client("sagemaker", STAGING)
    sagemaker.describe_endpoint(EndpointName="demand-staging")  # Creating -> InService
    created = datetime.now(UTC) - timedelta(days=30)
    put(backend_for(STAGING, "us-east-1").endpoints["demand-staging"], creation_time=created)


def test_the_staging_endpoint_is_deleted_through_the_staging_deployer_role(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    opt_in(world)
    idle_in_staging()
    result = act(approved(proposal()), monkeypatch)
    assert result["outcome"] == "deleted", result
    staging = account_client("sagemaker", STAGING)
    assert staging.list_endpoints()["Endpoints"] == []
    assert [
        c["EndpointConfigName"] for c in staging.list_endpoint_configs()["EndpointConfigs"]
    ] == ["theirs"]
    (deleted,) = [
        e for e in Ledger("ledger").entries("demand") if e["action"] == "endpoint_deleted"
    ]
    assert deleted["evidence"]["account_id"] == STAGING


def test_a_refused_deployer_role_deletes_nothing_and_says_why(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    opt_in(world)
    idle_in_staging()
    boto3.client("secretsmanager").put_secret_value(
        SecretId=world.secret_arn, SecretString="a-stale-external-id"
    )
    result = act(approved(proposal()), monkeypatch)
    assert result["outcome"] == "skipped"
    assert f"cannot assume the deployer role of account {STAGING}" in result["summary"]
    staging = account_client("sagemaker", STAGING)
    assert [e["EndpointName"] for e in staging.list_endpoints()["Endpoints"]] == ["demand-staging"]


def test_a_sweep_of_the_staging_account_proposes_there(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a sweep of a workload account passes: the endpoint's account, not the stack's."""
    from mlops_core.guardrails import Finding, Rule
    from mlops_runtime.findings import FindingStore
    from mlops_runtime.model_config import ModelConfig
    from mlops_runtime.serving_actions import ServingActions
    from mlops_runtime.serving_usage import ServingEndpoint
    from mlops_runtime.store import StateStore

    opt_in(world)
    arn = boto3.client("stepfunctions").create_state_machine(
        name="stack-serving-action",
        definition='{"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}',
        roleArn="arn:aws:iam::123456789012:role/states",
    )["stateMachineArn"]
    findings = FindingStore(Ledger("ledger"), StateStore("state"))
    actions = ServingActions(findings, Observer(False, findings.ledger, findings.state), arn,
                             "123456789012")  # fmt: skip
    idle = Finding(Rule.ENDPOINT_IDLE, "endpoint/demand-staging", "no invocations for 7 days")
    found = ServingEndpoint("demand-staging", "theirs", datetime.now(UTC), ())
    model = ModelConfig.model_validate(world.config)
    assert actions.propose(idle, model, found, "us-east-1", account_id=STAGING) == "requested"
    (execution,) = boto3.client("stepfunctions").list_executions(stateMachineArn=arn)["executions"]
    described = boto3.client("stepfunctions").describe_execution(
        executionArn=execution["executionArn"]
    )
    state = json.loads(described["input"])
    assert state["proposal"]["account_id"] == STAGING
    assert "in account 222222222222?" in state["approval_request"]["title"]
