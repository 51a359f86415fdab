"""Acting on a serving finding, after an approval: the opt-in rules and the re-check, as plain
data (docs/serving.md#acting-on-findings).

Serving findings are advisory. A model that opts in (``guardrails.serving.act``) lets one
finding lead to one action, in the environments it names (staging unless production is named):
``endpoint.idle`` -> delete the endpoint, keeping its endpoint config and models so it can be
recreated; ``endpoint.underused`` -> scale the variant in to the count its peak needs (through
its autoscaling minimum if it has one). The sweep proposes (:func:`propose`); a workflow asks
the model's approvers, then re-checks (:func:`recheck`) that nothing changed while it waited, and
only then acts.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from typing import Any

from mlops_core.guardrails import Finding
from mlops_core.messages import Notification
from mlops_core.serving_policy import ACTIONS, ServingPolicy

DELETE_ENDPOINT, SCALE_IN = "delete_endpoint", "scale_in"
# ApprovalRequest.kind of each action: pages say "Endpoint deletion of pricing"
APPROVAL_KINDS = {DELETE_ENDPOINT: "endpoint_deletion", SCALE_IN: "variant_scale_in"}


@dataclass(frozen=True, slots=True)
class Proposal:
    """What the workflow asks approval for, and what it acts on: the state machine's input."""

    action: str  # DELETE_ENDPOINT or SCALE_IN
    rule: str
    model_id: str
    endpoint: str
    endpoint_config: str
    environment: str
    account_id: str
    region: str
    message: str  # the finding's evidence: days idle or peak CPU, monthly cost
    monthly_usd: float | None = None
    variant: str | None = None  # SCALE_IN: the variant, its instances now and after
    instances: int | None = None
    target_count: int | None = None

    @property
    def resource(self) -> str:
        base = f"endpoint/{self.endpoint}"
        return f"{base}/variant/{self.variant}" if self.variant else base

    @property
    def subject(self) -> str:
        return f"{self.resource}@{self.endpoint_config}#{self.rule}"

    @property
    def approval_kind(self) -> str:
        return APPROVAL_KINDS[self.action]

    @property
    def what(self) -> str:
        """What the action does, in words."""
        if self.action == SCALE_IN:
            return (
                f"scale variant {self.variant} of {self.environment} endpoint {self.endpoint} in "
                f"from {self.instances} to {self.target_count} instance(s)"
            )
        return f"delete idle {self.environment} endpoint {self.endpoint}"

    @property
    def done(self) -> str:
        """What the action did, in words."""
        verb = "scale" if self.action == SCALE_IN else "delete"
        return self.what.replace(verb, f"{verb}d", 1)

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
    instances: int | None = None,
) -> Proposal | None:
    """The action to ask approval for, or None when the model does not opt in to it here.
    ``instances``: the flagged variant's count now (an underused variant's finding)."""
    rule = str(finding.rule)
    endpoint, _, variant = finding.resource.removeprefix("endpoint/").partition("/variant/")
    if not finding.resource.startswith("endpoint/") or refusal(rule, policy, environment):
        return None
    action = ACTIONS[rule]
    if action == SCALE_IN and not (
        variant and instances and finding.target_count and finding.target_count < instances
    ):
        return None
    if action == DELETE_ENDPOINT and variant:
        return None
    scale = action == SCALE_IN
    return Proposal(
        action=action,
        rule=rule,
        model_id=model_id,
        endpoint=endpoint,
        endpoint_config=endpoint_config,
        environment=str(environment),
        account_id=account_id,
        region=region,
        message=finding.message,
        monthly_usd=finding.monthly_usd,
        variant=variant if scale else None,
        instances=instances if scale else None,
        target_count=finding.target_count if scale else None,
    )


def execution_name(p: Proposal) -> str:
    """One workflow per endpoint config and finding: Step Functions refuses a second execution
    of the same name (for 90 days), so a later sweep never asks again."""
    digest = hashlib.sha256(
        f"{p.account_id}|{p.region}|{p.resource}|{p.endpoint_config}|{p.rule}".encode()
    ).hexdigest()[:12]
    return f"{p.rule.split('.')[-1]}-{p.endpoint_config}"[:60] + f"-{digest}"


def recreate_command(p: Proposal) -> str:
    """How to undo the action: recreate the endpoint, or scale the variant back out."""
    if p.action == SCALE_IN:
        return (
            f"aws sagemaker update-endpoint-weights-and-capacities --endpoint-name {p.endpoint} "
            f"--desired-weights-and-capacities VariantName={p.variant},"
            f"DesiredInstanceCount={p.instances} --region {p.region}"
        )
    return (
        f"aws sagemaker create-endpoint --endpoint-name {p.endpoint} "
        f"--endpoint-config-name {p.endpoint_config} --region {p.region}"
    )


def approval_request(p: Proposal) -> dict[str, Any]:
    """The RequestApproval task's ``request``: what will be done, where, and why."""
    where = f"({p.environment}, account {p.account_id}, {p.region})"
    if p.action == SCALE_IN:
        title = (
            f"Scale {p.variant} of {p.environment} endpoint {p.endpoint} in account "
            f"{p.account_id} from {p.instances} to {p.target_count} instances?"
        )
        doing = [
            f"Approving sets variant {p.variant} of endpoint {p.endpoint} {where} to "
            f"{p.target_count} instance(s) (UpdateEndpointWeightsAndCapacities); if Application "
            f"Auto Scaling manages it, its minimum is lowered to {p.target_count} first (its "
            "maximum and policies kept).",
            f"Undo: {recreate_command(p)} (and the autoscaling minimum, recorded in the ledger)",
        ]
        recheck = f"still on {p.endpoint_config}, still underused, still above {p.target_count}"
    else:
        title = f"Delete idle {p.environment} endpoint {p.endpoint} in account {p.account_id}?"
        doing = [
            f"Approving deletes endpoint {p.endpoint} {where}; nothing else is deleted.",
            f"Kept: endpoint config {p.endpoint_config} and its models, to recreate it with: "
            f"{recreate_command(p)}",
        ]
        recheck = f"still there, still on {p.endpoint_config}, still idle"
    return {
        "kind": p.approval_kind,
        "model_id": p.model_id,
        "subject": p.subject[:200],
        "title": title[:150],
        "verdict": f"{p.rule}: {p.message}"[:500],
        "versions": {"endpoint": p.endpoint, "endpoint config": p.endpoint_config},
        "reasons": [
            *doing,
            f"Evidence: {p.message}",
            f"Before acting, it is checked again: {recheck}, and no promotion using it; "
            "otherwise nothing is done.",
            "Rejecting, or nobody answering by the deadline, changes nothing.",
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
    still_flagged: bool = False  # the rule still finds the same thing (idle, underused)
    instances: int | None = None  # SCALE_IN: the variant's count now


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
    if p.action == SCALE_IN and (now.instances or 0) <= (p.target_count or 0):
        return f"variant {p.variant} already runs {now.instances} instance(s)"
    if not now.still_flagged and p.action == SCALE_IN:
        return f"variant {p.variant} is not underused any more: its busiest hour went up"
    if not now.still_flagged:
        return f"endpoint {p.endpoint} was invoked since it was flagged: it is not idle any more"
    return None


def done_notice(p: Proposal, approved_by: str) -> Notification:
    kept = (
        f"its autoscaling maximum and policies are kept; undo: {recreate_command(p)}"
        if p.action == SCALE_IN
        else f"kept: endpoint config {p.endpoint_config} and its models; recreate it: "
        f"{recreate_command(p)}"
    )
    return Notification(
        kind=p.approval_kind,
        model_id=p.model_id,
        subject_id=p.subject,
        title=f"[serving] {p.done} of {p.model_id}",
        lines=[f"{p.rule}: {p.message}", f"approved by {approved_by}", kept],
        facts={"endpoint": p.endpoint, "account": p.account_id, "region": p.region},
    )
