"""Acting on a serving finding, after an approval: the opt-in rules and the re-check, as plain
data (docs/serving.md#acting-on-findings).

Serving findings are advisory. A model that opts in (``guardrails.serving.act``) lets one
finding lead to one action, in the environments it names (staging unless production is named):
today ``endpoint.idle`` -> delete the endpoint, keeping its endpoint config and models so it can
be recreated. The sweep proposes (:func:`propose`); a workflow asks the model's approvers, then
re-checks (:func:`recheck`) that nothing changed while it waited, and only then acts.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from typing import Any

from mlops_core.guardrails import Finding
from mlops_core.messages import Notification
from mlops_core.serving_policy import ACTIONS, ServingPolicy

APPROVAL_KIND = "endpoint_deletion"  # ApprovalRequest.kind: pages say "Endpoint deletion of ..."


@dataclass(frozen=True, slots=True)
class Proposal:
    """What the workflow asks approval for, and what it acts on: the state machine's input."""

    action: str  # "delete_endpoint"
    rule: str
    model_id: str
    endpoint: str
    endpoint_config: str
    environment: str
    account_id: str
    region: str
    message: str  # the finding's evidence: days idle, monthly cost
    monthly_usd: float | None = None

    @property
    def subject(self) -> str:
        return f"endpoint/{self.endpoint}@{self.endpoint_config}#{self.rule}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Proposal:
        fields: dict[str, Any] = {k: data.get(k) for k in cls.__dataclass_fields__}
        return cls(**fields)


def environment_of(
    endpoint: str,
    own_endpoint: str,
    own_environment: str,
    staging_endpoint: str | None = None,
    production_endpoint: str | None = None,
) -> str | None:
    """Which environment of a model ``endpoint`` is: its ``endpoint_name`` is what the model's
    ``environment`` says; its promotion's staging and production endpoints are what they are;
    any other endpoint is not the model's (None: never acted on)."""
    if staging_endpoint and endpoint == staging_endpoint:
        return "staging"
    if production_endpoint and endpoint == production_endpoint:
        return "production"
    if endpoint == own_endpoint:
        return own_environment
    return None


def refusal(finding_rule: str, policy: ServingPolicy, environment: str | None) -> str | None:
    """Why the model does not let this finding be acted on (None: it does)."""
    opt_in = policy.opt_in(finding_rule)
    if opt_in is None or finding_rule not in ACTIONS:
        return f"the model does not opt in to act on {finding_rule}"
    if environment is None:
        return "the endpoint is none of the model's environments"
    if environment not in opt_in.environments:
        allowed = ", ".join(sorted(opt_in.environments))
        return f"{environment} endpoints are not acted on ({finding_rule} acts in: {allowed})"
    return None


def propose(
    finding: Finding,
    policy: ServingPolicy,
    *,
    model_id: str,
    endpoint_config: str,
    environment: str | None,
    account_id: str,
    region: str,
) -> Proposal | None:
    """The action to ask approval for, or None when the model does not opt in to it here."""
    rule = str(finding.rule)
    if not finding.resource.startswith("endpoint/") or "/variant/" in finding.resource:
        return None
    if refusal(rule, policy, environment) is not None:
        return None
    return Proposal(
        action=ACTIONS[rule],
        rule=rule,
        model_id=model_id,
        endpoint=finding.resource.removeprefix("endpoint/"),
        endpoint_config=endpoint_config,
        environment=str(environment),
        account_id=account_id,
        region=region,
        message=finding.message,
        monthly_usd=finding.monthly_usd,
    )


def execution_name(p: Proposal) -> str:
    """One workflow per endpoint config and finding: Step Functions refuses a second execution
    of the same name (for 90 days), so a later sweep never asks again."""
    digest = hashlib.sha256(
        f"{p.account_id}|{p.region}|{p.endpoint}|{p.endpoint_config}|{p.rule}".encode()
    ).hexdigest()[:12]
    return f"{p.rule.split('.')[-1]}-{p.endpoint_config}"[:60] + f"-{digest}"


def recreate_command(p: Proposal) -> str:
    return (
        f"aws sagemaker create-endpoint --endpoint-name {p.endpoint} "
        f"--endpoint-config-name {p.endpoint_config} --region {p.region}"
    )


def approval_request(p: Proposal) -> dict[str, Any]:
    """The RequestApproval task's ``request``: what will be done, where, and why."""
    return {
        "kind": APPROVAL_KIND,
        "model_id": p.model_id,
        "subject": p.subject[:200],
        "title": f"Delete idle {p.environment} endpoint {p.endpoint} in account {p.account_id}?"[
            :150
        ],
        "verdict": f"{p.rule}: {p.message}"[:500],
        "versions": {"endpoint": p.endpoint, "endpoint config": p.endpoint_config},
        "reasons": [
            f"Approving deletes endpoint {p.endpoint} ({p.environment}, account {p.account_id}, "
            f"{p.region}); nothing else is deleted.",
            f"Kept: endpoint config {p.endpoint_config} and its models, to recreate it with: "
            f"{recreate_command(p)}",
            f"Evidence: {p.message}",
            "Before deleting, the endpoint is checked again: still there, still on "
            f"{p.endpoint_config}, still idle, and no promotion using it; otherwise nothing is "
            "done.",
            "Rejecting, or nobody answering by the deadline, deletes nothing.",
        ],
    }


@dataclass(frozen=True, slots=True)
class Current:
    """The endpoint as the workflow finds it after the approval."""

    exists: bool
    config: str | None = None
    status: str | None = None
    refusal: str | None = None  # the model's configuration no longer allows it (refusal())
    promotion: str | None = None  # a running promotion of the model (it may use the endpoint)
    still_idle: bool = False


def recheck(p: Proposal, now: Current) -> str | None:
    """Why the approved action must not run now (None: act)."""
    if not now.exists:
        return f"endpoint {p.endpoint} no longer exists"
    if now.config != p.endpoint_config:
        return (
            f"endpoint {p.endpoint} now runs endpoint config {now.config}, not the approved "
            f"{p.endpoint_config}"
        )
    if now.status != "InService":
        return f"endpoint {p.endpoint} is {now.status}, not InService"
    if now.refusal:
        return now.refusal
    if now.promotion:
        return f"promotion {now.promotion} of {p.model_id} is running and may use it"
    if not now.still_idle:
        return f"endpoint {p.endpoint} was invoked since it was flagged: it is not idle any more"
    return None


def deleted_notice(p: Proposal, approved_by: str) -> Notification:
    return Notification(
        kind="endpoint_deleted",
        model_id=p.model_id,
        subject_id=p.subject,
        title=f"[serving] deleted idle {p.environment} endpoint {p.endpoint} of {p.model_id}",
        lines=[
            f"{p.rule}: {p.message}",
            f"approved by {approved_by}; kept: endpoint config {p.endpoint_config} and its models",
            f"recreate it: {recreate_command(p)}",
        ],
        facts={"endpoint": p.endpoint, "account": p.account_id, "region": p.region},
    )
