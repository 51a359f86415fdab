"""The serving sweep's plan: which accounts are read, through which role, and who owns what."""

from __future__ import annotations

from dataclasses import replace

from mlops_core import guardrails
from mlops_core.guardrails import Finding, Rule
from mlops_core.serving_accounts import Claim, plan

TOOLING, PRODUCTION, STAGING = "123456789012", "333333333333", "222222222222"
READER = f"arn:aws:iam::{PRODUCTION}:role/mlopscp-reader"
SECRET = "arn:aws:secretsmanager:us-east-1:123456789012:secret:mlopscp/promotion/external-id-Ab"


def workload(model: str, endpoint: str, account: str = PRODUCTION, **changes: str) -> Claim:
    reader = changes.get("role", f"arn:aws:iam::{account}:role/mlopscp-reader")
    return Claim(model, endpoint, account, reader, changes.get("secret", SECRET))


def test_the_tooling_account_first_then_each_workload_account_once_with_its_owners() -> None:
    claims = [
        workload("fraud", "fraud-prod"),
        Claim("churn", "churn-prod"),
        workload("offers", "offers-prod", STAGING),
        workload("demand", "demand-prod"),
    ]
    tooling, staging, production = plan(claims, TOOLING)
    assert (tooling.account_id, tooling.tooling, tooling.reader_role_arn) == (TOOLING, True, None)
    assert tooling.owners == {"churn-prod": "churn"}
    assert (staging.account_id, staging.owners) == (STAGING, {"offers-prod": "offers"})
    assert production.account_id == PRODUCTION
    assert (production.reader_role_arn, production.external_id_secret_arn) == (READER, SECRET)
    assert production.owners == {"demand-prod": "demand", "fraud-prod": "fraud"}
    assert not production.tooling
    assert production.label == f"account {PRODUCTION} (role {READER})"
    assert (tooling.notes, staging.notes, production.notes) == ((), (), ())


def test_without_models_only_the_tooling_account_is_swept() -> None:
    (only,) = plan([], TOOLING)
    assert (only.account_id, only.tooling, dict(only.owners)) == (TOOLING, True, {})


def test_a_model_configured_in_the_tooling_account_by_id_is_read_with_the_own_clients() -> None:
    (only,) = plan([workload("churn", "churn-prod", TOOLING)], TOOLING)
    assert only.tooling
    assert only.owners == {"churn-prod": "churn"}


def test_disagreeing_readers_use_the_first_models_and_say_so() -> None:
    other = f"arn:aws:iam::{PRODUCTION}:role/another-reader"
    _, production = plan(
        [workload("b-model", "b-prod", role=other), workload("a-model", "a-prod")], TOOLING
    )
    assert production.reader_role_arn == READER  # a-model comes first by id
    (note,) = production.notes
    assert "model b-model names another reader role or secret" in note
    assert "swept with a-model's" in note


def test_an_endpoint_claimed_twice_in_one_account_is_listed_under_the_first_model() -> None:
    _, production = plan(
        [workload("b-model", "shared-prod"), workload("a-model", "shared-prod")], TOOLING
    )
    assert production.owners == {"shared-prod": "a-model"}
    (note,) = production.notes
    assert "configured by models a-model and b-model" in note


def test_the_same_endpoint_name_in_two_accounts_belongs_to_each_accounts_model() -> None:
    tooling, production = plan(
        [Claim("legacy", "scoring-prod"), workload("scoring", "scoring-prod")], TOOLING
    )
    assert tooling.owners == {"scoring-prod": "legacy"}
    assert production.owners == {"scoring-prod": "scoring"}


def test_the_digest_names_each_findings_account_and_every_account_not_swept() -> None:
    idle = Finding(
        Rule.ENDPOINT_IDLE,
        "endpoint/scoring-prod",
        "no invocations for 7 days; $83.95/month at list price",
        monthly_usd=83.95,
        fix="delete it",
    )
    items = [
        replace(idle, account_id=TOOLING).to_dict() | {"model_id": "legacy"},
        replace(idle, account_id=PRODUCTION).to_dict() | {"model_id": "_unknown"},
    ]
    refused = f"account 444444444444 (role {READER}): cannot assume the reader role"
    note = guardrails.digest("d-1", items, [refused])
    assert note.lines == [
        f"endpoint/scoring-prod in account {TOOLING} (legacy) endpoint.idle: no invocations "
        "for 7 days; $83.95/month at list price. Fix: delete it",
        f"endpoint/scoring-prod in account {PRODUCTION} (no model) endpoint.idle: no invocations "
        "for 7 days; $83.95/month at list price. Fix: delete it",
        f"not swept: {refused}",
    ]
    assert note.title == (
        "[guardrails] 2 finding(s) on 2 resource(s), $167.90/month at list price in flagged "
        "endpoints; 1 account(s) not swept"
    )
    assert note.severity == "warning"
    assert note.facts["accounts_not_swept"] == "1"


def test_a_digest_without_accounts_not_swept_is_informational() -> None:
    item = {"resource": "endpoint/a", "rule": "endpoint.idle", "message": "m", "model_id": "a"}
    note = guardrails.digest("d-2", [item])
    assert note.severity == "info"
    assert "not swept" not in note.title
    assert note.lines == ["endpoint/a (a) endpoint.idle: m"]
