"""Acting on serving findings: the per-model opt-in, the proposal and its approval request, the
one-workflow-per-config name, and the re-check after the approval."""

from __future__ import annotations

from dataclasses import replace

import pytest
from mlops_core import observe, serving_actions
from mlops_core.guardrails import Finding, GuardrailPolicy, Rule
from mlops_core.ledger import Action
from mlops_core.serving_actions import Current, Proposal
from mlops_core.serving_policy import ServingPolicy
from pydantic import ValidationError

IDLE = Finding(
    Rule.ENDPOINT_IDLE,
    "endpoint/churn-staging",
    "no invocations for 7 days; $83.95/month at list price (1 x ml.m5.large, us-east-1, ...)",
    monthly_usd=83.95,
    fix="delete it",
)
OPTED_IN = ServingPolicy.model_validate({"act": [{"finding": "endpoint.idle"}]})


def propose(
    finding: Finding = IDLE, policy: ServingPolicy = OPTED_IN, environment: str | None = "staging"
) -> Proposal | None:
    return serving_actions.propose(
        finding,
        policy,
        model_id="churn",
        endpoint_config="churn-staging-v3",
        environment=environment,
        account_id="123456789012",
        region="us-east-1",
    )


def test_by_default_nothing_acts() -> None:
    assert ServingPolicy().act == ()
    assert propose(policy=ServingPolicy()) is None
    assert "does not opt in" in str(
        serving_actions.refusal("endpoint.idle", ServingPolicy(), "staging")
    )


def test_an_opt_in_acts_on_staging_only_unless_production_is_named() -> None:
    assert OPTED_IN.act[0].environments == frozenset({"staging"})
    assert propose(environment="staging") is not None
    assert propose(environment="production") is None
    why = serving_actions.refusal("endpoint.idle", OPTED_IN, "production")
    assert why == "production endpoints are not acted on (endpoint.idle acts in: staging)"
    both = ServingPolicy.model_validate(
        {"act": [{"finding": "endpoint.idle", "environments": ["staging", "production"]}]}
    )
    assert propose(policy=both, environment="production") is not None


def test_an_endpoint_that_is_none_of_the_models_environments_is_never_acted_on() -> None:
    assert propose(environment=None) is None
    assert serving_actions.environment_of("other", "churn-prod", "production") is None


@pytest.mark.parametrize(
    ("endpoint", "expected"),
    [
        ("churn-prod", "production"),  # the model's endpoint_name, as its environment says
        ("churn-staging", "staging"),  # the promotion's staging endpoint
        ("churn-live", "production"),  # the promotion's production endpoint
    ],
)
def test_environment_of_an_endpoint(endpoint: str, expected: str) -> None:
    found = serving_actions.environment_of(
        endpoint, "churn-prod", "production", "churn-staging", "churn-live"
    )
    assert found == expected
    assert serving_actions.environment_of("churn-dev", "churn-dev", "staging") == "staging"


def test_only_idle_and_underused_can_be_opted_in_and_each_once() -> None:
    for bad in (
        {"act": [{"finding": "endpoint.batch_traffic"}]},
        {"act": [{"finding": "endpoint.idle", "environments": []}]},
        {"act": [{"finding": "endpoint.idle", "environments": ["dev"]}]},
        {"act": [{"finding": "endpoint.idle"}, {"finding": "endpoint.idle"}]},
        {"act": [{"finding": "endpoint.idle", "action": "delete_everything"}]},
    ):
        with pytest.raises(ValidationError):
            ServingPolicy.model_validate(bad)
    GuardrailPolicy.model_validate({"serving": {"act": [{"finding": "endpoint.idle"}]}})


def test_other_findings_and_variant_findings_are_not_proposed() -> None:
    batch = Finding(Rule.ENDPOINT_BATCH_TRAFFIC, "endpoint/churn-staging", "90% at night")
    assert propose(batch) is None
    variant = Finding(Rule.ENDPOINT_IDLE, "endpoint/x/variant/AllTraffic", "idle")
    assert propose(variant) is None


def test_the_proposal_says_what_where_and_why_and_how_to_recreate() -> None:
    proposal = propose()
    assert proposal is not None
    assert proposal.action == "delete_endpoint"
    assert proposal.subject == "endpoint/churn-staging@churn-staging-v3#endpoint.idle"
    request = serving_actions.approval_request(proposal)
    assert request["kind"] == "endpoint_deletion"
    assert request["title"] == (
        "Delete idle staging endpoint churn-staging in account 123456789012?"
    )
    text = " ".join(request["reasons"])
    assert "deletes endpoint churn-staging (staging, account 123456789012, us-east-1)" in text
    assert "Kept: endpoint config churn-staging-v3 and its models" in text
    assert "$83.95/month" in text
    assert "no invocations for 7 days" in text
    assert serving_actions.recreate_command(proposal) == (
        "aws sagemaker create-endpoint --endpoint-name churn-staging "
        "--endpoint-config-name churn-staging-v3 --region us-east-1"
    )
    assert Proposal.from_dict(proposal.to_dict()) == proposal
    # the approval request is valid as the RequestApproval task takes it
    from mlops_core.approvals import ApprovalRequest

    assert ApprovalRequest.model_validate(request).headline == request["title"]


def test_one_workflow_name_per_endpoint_config_and_finding() -> None:
    proposal = propose()
    assert proposal is not None
    name = serving_actions.execution_name(proposal)
    assert name == serving_actions.execution_name(propose())  # type: ignore[arg-type]
    assert len(name) <= 80
    assert name.startswith("idle-churn-staging-v3-")
    moved = Proposal.from_dict(proposal.to_dict() | {"endpoint_config": "churn-staging-v4"})
    assert serving_actions.execution_name(moved) != name
    long = Proposal.from_dict(proposal.to_dict() | {"endpoint_config": "c" * 63})
    assert len(serving_actions.execution_name(long)) <= 80


STILL = Current(exists=True, config="churn-staging-v3", status="InService", still_flagged=True)


@pytest.mark.parametrize(
    ("now", "why"),
    [
        (STILL, None),
        (Current(exists=False), "endpoint churn-staging no longer exists"),
        (
            Current(exists=True, config="churn-staging-v4", status="InService", still_flagged=True),
            "now runs endpoint config churn-staging-v4, not the approved churn-staging-v3",
        ),
        (
            Current(exists=True, config="churn-staging-v3", status="Updating", still_flagged=True),
            "is Updating, not InService",
        ),
        (
            Current(
                exists=True,
                config="churn-staging-v3",
                status="InService",
                still_flagged=True,
                promotion="churn-v4",
            ),
            "promotion churn-v4 of churn is running",
        ),
        (
            Current(
                exists=True, config="churn-staging-v3", status="InService", still_flagged=False
            ),
            "was invoked since it was flagged",
        ),
        (
            Current(
                exists=True,
                config="churn-staging-v3",
                status="InService",
                still_flagged=True,
                refusal="the model does not opt in to act on endpoint.idle",
            ),
            "does not opt in",
        ),
    ],
)
def test_the_recheck_after_the_approval(now: Current, why: str | None) -> None:
    proposal = propose()
    assert proposal is not None
    found = serving_actions.recheck(proposal, now)
    if why is None:
        assert found is None
    else:
        assert found is not None
        assert why in found


def test_observe_only_records_would_delete_endpoint() -> None:
    assert observe.WOULD[Action.ENDPOINT_DELETED] == Action.WOULD_DELETE_ENDPOINT
    assert observe.is_would("would_delete_endpoint")


def test_the_deleted_notice_says_what_was_kept_and_how_to_recreate() -> None:
    proposal = propose()
    assert proposal is not None
    note = serving_actions.done_notice(proposal, "U0ADA")
    assert note.title == "[serving] deleted idle staging endpoint churn-staging of churn"
    (kept,) = [line for line in note.lines if line.startswith("kept:")]
    assert "endpoint config churn-staging-v3 and its models" in kept
    assert "recreate it: aws sagemaker create-endpoint --endpoint-name churn-staging" in kept


UNDERUSED = Finding(
    Rule.ENDPOINT_UNDERUSED,
    "endpoint/churn-staging/variant/AllTraffic",
    "4 x ml.m5.large, busiest hour used 3.0% of their CPUs; $335.80/month at list price",
    monthly_usd=335.8,
    fix="run 1 instance (lower the instance count or the autoscaling minimum): saves $251.85",
    target_count=1,
)
SCALING = ServingPolicy.model_validate({"act": [{"finding": "endpoint.underused"}]})


def scale_in(finding: Finding = UNDERUSED, instances: int | None = 4) -> Proposal | None:
    return serving_actions.propose(
        finding,
        SCALING,
        model_id="churn",
        endpoint_config="churn-staging-v3",
        environment="staging",
        account_id="123456789012",
        region="us-east-1",
        instances=instances,
    )


def test_an_underused_variant_is_proposed_for_a_scale_in_to_the_count_its_peak_needs() -> None:
    proposal = scale_in()
    assert proposal is not None
    assert (proposal.action, proposal.variant, proposal.instances, proposal.target_count) == (
        "scale_in",
        "AllTraffic",
        4,
        1,
    )
    assert proposal.subject == (
        "endpoint/churn-staging/variant/AllTraffic@churn-staging-v3#endpoint.underused"
    )
    request = serving_actions.approval_request(proposal)
    assert request["kind"] == "variant_scale_in"
    assert request["title"] == (
        "Scale AllTraffic of staging endpoint churn-staging in account 123456789012 from 4 to 1 "
        "instances?"
    )
    assert "its minimum is lowered to 1 first" in request["reasons"][0]
    assert serving_actions.recreate_command(proposal) == (
        "aws sagemaker update-endpoint-weights-and-capacities --endpoint-name churn-staging "
        "--desired-weights-and-capacities VariantName=AllTraffic,DesiredInstanceCount=4 "
        "--region us-east-1"
    )
    assert serving_actions.execution_name(proposal).startswith("underused-churn-staging-v3-")
    assert propose(UNDERUSED) is None  # a model opted in to idle only


def test_no_scale_in_without_a_smaller_count() -> None:
    assert scale_in(instances=None) is None
    assert scale_in(instances=1) is None
    assert scale_in(replace(UNDERUSED, target_count=None)) is None


def test_the_scale_in_recheck_wants_it_still_underused_and_above_the_target() -> None:
    proposal = scale_in()
    assert proposal is not None
    now = Current(
        exists=True, config="churn-staging-v3", status="InService", still_flagged=True, instances=4
    )
    assert serving_actions.recheck(proposal, now) is None
    assert "already runs 1 instance(s)" in str(
        serving_actions.recheck(proposal, replace(now, instances=1))
    )
    busier = serving_actions.recheck(proposal, replace(now, still_flagged=False))
    assert "not underused any more" in str(busier)


def test_a_model_that_opts_in_needs_approvers_and_may_say_its_environment() -> None:
    from mlops_runtime.model_config import ModelConfig

    base = {"model_id": "churn", "endpoint_name": "churn-staging"}
    act = {"guardrails": {"serving": {"act": [{"finding": "endpoint.idle"}]}}}
    with pytest.raises(ValidationError, match="needs an approvals section"):
        ModelConfig.model_validate(base | act)
    approvals = {"approvals": {"email_approvers": ["ml-lead@example.com"]}}
    config = ModelConfig.model_validate(base | act | approvals | {"environment": "staging"})
    assert config.environment == "staging"
    assert ModelConfig.model_validate(base).environment == "production"
    with pytest.raises(ValidationError):
        ModelConfig.model_validate(base | {"environment": "dev"})


def test_the_digest_lists_what_waits_for_approval_apart_from_findings() -> None:
    from mlops_core import guardrails

    items = [
        {
            "resource": "endpoint/churn-staging@churn-staging-v3#endpoint.idle",
            "rule": "serving_action_requested",
            "message": "waits for approval: delete idle staging endpoint churn-staging (...)",
            "model_id": "churn",
        },
        {"resource": "endpoint/x", "rule": "endpoint.idle", "message": "idle", "model_id": "x"},
    ]
    note = guardrails.digest("d1", items)
    assert note.title.startswith("[guardrails] 1 finding(s), 1 action(s) waiting for approval")
    assert (
        "endpoint/churn-staging@churn-staging-v3#endpoint.idle (churn) waits for approval: "
        "delete idle staging endpoint churn-staging (...)"
    ) in note.lines
