"""The serving sweep across workload accounts on moto (issue 14): the tooling account with its
own clients, the production account through its reader role (trust and ExternalId enforced by
the emulator's STS), and a third account whose reader role refuses us."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from mlops_runtime.store import Ledger

from tests.aws_fixtures import LambdaContext, load_handler
from tests.integration.handlers.conftest import drain, put_model
from tests.integration.handlers.promotion_world import account_client
from tests.integration.handlers.test_serving_guardrails import endpoint

pytestmark = pytest.mark.integration

TOOLING, PRODUCTION, BROKEN = "123456789012", "333333333333", "444444444444"
EXTERNAL_ID = "reader-external-id-of-the-sweep"


def reader_role(account: str, external_id: str) -> str:
    """``mlopscp-reader`` in ``account``, trusting the tooling account with ``external_id``."""
    trust = {
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{TOOLING}:root"},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"sts:ExternalId": external_id}},
            }
        ]
    }
    return str(
        account_client("iam", account).create_role(
            RoleName="mlopscp-reader", AssumeRolePolicyDocument=json.dumps(trust)
        )["Role"]["Arn"]
    )


def workload_model(model_id: str, endpoint: str, account: str, role: str, secret: str) -> None:
    account_section = {
        "account_id": account,
        "reader_role_arn": role,
        "external_id_secret_arn": secret,
    }
    put_model(None, model_id=model_id, endpoint_name=endpoint, account=account_section)


@pytest.fixture
def accounts(training_cloud: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """churn-prod idle in the tooling account; in production fraud-prod (model fraud) and
    orphan-prod (no model) idle, read through a reader role that trusts us; demand's account
    has a reader role that wants another ExternalId."""
    from mlopscp_emulator import sts_ext

    sts_ext.install()
    try:
        secret = boto3.client("secretsmanager").create_secret(
            Name="mlopscp/promotion/external-id", SecretString=EXTERNAL_ID
        )["ARN"]
        put_model(None)  # churn, churn-prod, in the tooling account
        endpoint("churn-prod")
        production = reader_role(PRODUCTION, EXTERNAL_ID)
        workload_model("fraud", "fraud-prod", PRODUCTION, production, secret)
        endpoint("fraud-prod", account=PRODUCTION)
        endpoint("orphan-prod", instances=2, account=PRODUCTION)
        broken = reader_role(BROKEN, "an-external-id-we-do-not-have")
        workload_model("demand", "demand-prod", BROKEN, broken, secret)
        endpoint("demand-prod", account=BROKEN)
        yield training_cloud | {"production_reader": production, "broken_reader": broken}
    finally:
        sts_ext.uninstall()


def digest() -> dict[str, Any]:
    result: dict[str, Any] = load_handler("guardrail_digest").handler({}, LambdaContext())
    return result


def test_workload_endpoints_are_flagged_with_their_account_and_a_refusing_account_is_reported(
    accounts: dict[str, Any],
) -> None:
    sent = digest()

    swept = sent["serving"]
    assert swept["accounts"] == {TOOLING: 1, PRODUCTION: 2}  # the refusing one is not counted
    assert (swept["status"], swept["endpoints"], swept["new"]) == ("swept", 3, 3)
    (refused,) = swept["not_swept"]
    assert refused.startswith(f"account {BROKEN} (role {accounts['broken_reader']}): ")
    assert "AccessDenied" in refused
    ledger = Ledger("ledger")
    (fraud,) = ledger.entries("fraud")
    assert fraud["evidence"]["rule"] == "endpoint.idle"
    assert fraud["evidence"]["account_id"] == PRODUCTION
    assert fraud["evidence"]["monthly_usd"] == pytest.approx(83.95)  # 1 x ml.m5.large
    (orphan,) = ledger.entries("_unknown")  # unowned: swept all the same
    assert orphan["evidence"]["resource"] == "endpoint/orphan-prod"
    assert orphan["evidence"]["account_id"] == PRODUCTION
    assert orphan["evidence"]["monthly_usd"] == pytest.approx(167.9)
    (churn,) = ledger.entries("churn")
    assert churn["evidence"]["account_id"] == TOOLING
    assert ledger.entries("demand") == []

    (page,) = drain(accounts["inbox"])
    body = page["body"]
    assert f"endpoint/fraud-prod in account {PRODUCTION} (fraud) endpoint.idle" in body
    assert f"endpoint/orphan-prod in account {PRODUCTION} (no model) endpoint.idle" in body
    assert f"endpoint/churn-prod in account {TOOLING} (churn) endpoint.idle" in body
    assert f"not swept: account {BROKEN}" in body
    assert "$335.80/month at list price in flagged endpoints; 1 account(s) not swept" in body


def test_a_second_run_records_nothing_twice_and_still_reports_the_refusing_account(
    accounts: dict[str, Any],
) -> None:
    digest()
    drain(accounts["inbox"])
    again = digest()
    assert again["serving"]["new"] == 0
    assert again["findings"] == 0
    (page,) = drain(accounts["inbox"])  # sent for the account it could not sweep
    assert f"not swept: account {BROKEN}" in page["body"]


def test_a_missing_external_id_secret_is_reported_for_that_account_only(
    accounts: dict[str, Any],
) -> None:
    gone = "arn:aws:secretsmanager:us-east-1:123456789012:secret:mlopscp/promotion/gone-AbCdEf"
    workload_model("fraud", "fraud-prod", PRODUCTION, accounts["production_reader"], gone)
    swept = digest()["serving"]
    assert swept["accounts"] == {TOOLING: 1}
    refused = sorted(swept["not_swept"])
    assert len(refused) == 2
    assert refused[0].startswith(f"account {PRODUCTION} ")
    assert f"cannot read the ExternalId secret {gone}" in refused[0]
    assert refused[1].startswith(f"account {BROKEN} ")
