"""Acting on serving findings after an approval (mlops_core.serving_actions decides).

- :meth:`ServingActions.propose` (the serving sweep, for each finding of a model that opts in):
  starts the ServingAction workflow under a name derived from the endpoint config and the
  finding, so a second sweep while it waits (or after it ended) asks nobody again; an
  observe-only model gets ``would_delete_endpoint`` / ``would_scale_in`` instead.
- :func:`act` (the workflow, once approved): confirms the approval with its record, re-checks the
  endpoint in its account, then deletes the endpoint only (recording what was kept and how to
  recreate it) or scales the variant in (recording how to scale it back). :func:`declined`: a
  rejection or expiry, recorded.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError
from mlops_core import serving
from mlops_core import serving_actions as core
from mlops_core.approvals import backstop_seconds
from mlops_core.errors import TargetAccountAccessError
from mlops_core.guardrails import Finding, GuardrailPolicy
from mlops_core.ledger import Action, LedgerEntry
from mlops_core.promotion import scalable_resource_id

from mlops_runtime import notify, serving_usage, variant_scaling
from mlops_runtime.approvals import ApprovalStore
from mlops_runtime.aws import client, error_code, translated_errors
from mlops_runtime.findings import FindingStore
from mlops_runtime.model_config import ModelConfig, ModelConfigStore
from mlops_runtime.observe import Observer
from mlops_runtime.promotions import PromotionStore
from mlops_runtime.serving_usage import ServingEndpoint
from mlops_runtime.settings import ServingSweepSettings
from mlops_runtime.store import Ledger
from mlops_runtime.target_accounts import TargetAccount, describe_or_none

SESSION = "mlopscp-serving-action"
DONE = {core.DELETE_ENDPOINT: Action.ENDPOINT_DELETED, core.SCALE_IN: Action.VARIANT_SCALED_IN}


def environment(model: ModelConfig, endpoint: str) -> str | None:
    promotion = model.promotion
    return core.environment_of(
        endpoint,
        model.endpoint_name,
        model.environment,
        promotion.staging.endpoint_name if promotion else None,
        promotion.production.endpoint_name if promotion else None,
    )


def _instances(endpoint: ServingEndpoint, resource: str) -> int | None:
    """The count of the variant a finding names (None for an endpoint-wide finding)."""
    variant = resource.partition("/variant/")[2]
    return next((count for name, _, count in endpoint.variants if name == variant), None)


def policy_of(model: ModelConfig) -> GuardrailPolicy:
    return model.guardrails or GuardrailPolicy()


@dataclass
class ServingActions:
    findings: FindingStore
    observer: Observer
    state_machine_arn: str
    account_id: str  # the account the stack (and the sweep) runs in

    @classmethod
    def of(cls, findings: FindingStore, settings: ServingSweepSettings) -> ServingActions:
        observer = Observer(settings.observe_only, findings.ledger, findings.state)
        return cls(findings, observer, settings.serving_action_machine, settings.tooling_account_id)

    def propose(
        self,
        finding: Finding,
        model: ModelConfig | None,
        endpoint: ServingEndpoint,
        region: str,
        account_id: str | None = None,
    ) -> str | None:
        """Ask approval for the model's opted-in action on ``finding``: "requested", "observed",
        "asked before", or None when the model does not opt in to it here. ``account_id``: the
        endpoint's account when a sweep reads another account (default: the stack's)."""
        if model is None or not self.state_machine_arn:
            return None
        proposal = core.propose(
            finding,
            policy_of(model).serving,
            model_id=model.model_id,
            endpoint_config=endpoint.config,
            environment=environment(model, endpoint.name),
            account_id=account_id or self.account_id,
            region=region,
            instances=_instances(endpoint, finding.resource),
        )
        if proposal is None:
            return None
        undo = "undo" if proposal.action == core.SCALE_IN else "recreate"
        evidence = proposal.to_dict() | {undo: core.recreate_command(proposal)}
        if by := self.observer.by(model):
            done = DONE[proposal.action]
            entry = LedgerEntry(done, model.model_id, proposal.subject, proposal.what, evidence)
            self.observer.record(entry, by)
            return "observed"
        deadline = model.approvals.deadline_hours if model.approvals else 24.0
        state = {
            "proposal": proposal.to_dict(),
            "approval_request": core.approval_request(proposal),
            "approval_timeout_seconds": backstop_seconds(deadline),
        }
        try:
            with translated_errors():
                started = client("stepfunctions").start_execution(
                    stateMachineArn=self.state_machine_arn,
                    name=core.execution_name(proposal),
                    input=json.dumps(state, sort_keys=True),
                )
        except ClientError as error:
            if error_code(error) == "ExecutionAlreadyExists":
                return "asked before"
            raise
        entry = LedgerEntry(
            Action.SERVING_ACTION_REQUESTED,
            model.model_id,
            proposal.subject,
            f"waits for approval: {proposal.what} ({proposal.message})",
            evidence | {"execution": started["executionArn"]},
            # A repeated start of the running execution returns its start date: the same entry.
            # After Step Functions forgets the name (90 days) a new execution asks again.
            key=str(started["startDate"]),
        )
        # Step Functions answers a repeated start of a running execution (same name, same
        # input) with that execution: the entry, written once, tells whether this one is new.
        return "requested" if self.findings.entry(entry) else "asked before"


# ---------------------------------------------------------------- the workflow's steps


@dataclass(frozen=True)
class Deps:
    ledger: Ledger
    models: ModelConfigStore
    approvals: ApprovalStore
    promotions: PromotionStore
    topic_arn: str
    slack_secret_arn: str | None
    account_id: str  # the stack's


def act(state: dict[str, Any], deps: Deps) -> dict[str, Any]:
    """Approved: confirm, re-check, act (delete the endpoint only, or scale the variant in),
    record and notify."""
    p = core.Proposal.from_dict(state["proposal"])
    answer = state.get("approval") or {}
    model = deps.models.get(p.model_id)
    why = _unconfirmed(p, answer, deps) or _unreachable(p, model)
    done: dict[str, Any] = {}
    try:
        if why is None and model is not None:
            why = _recheck_and_apply(p, model, deps, done)
    except (ClientError, TargetAccountAccessError) as error:  # refused: retrying will not help
        why = f"{p.resource} could not be checked or changed: {error}"
    if why is not None:
        return _record(deps, p, Action.SERVING_ACTION_SKIPPED, f"nothing done: {why}", answer)
    by = str(answer.get("decided_by") or "?")
    result = _record(deps, p, DONE[p.action], f"{p.done}, approved by {by}", answer, done)
    notify.send_and_record(
        core.done_notice(p, by), deps.ledger, deps.topic_arn, deps.slack_secret_arn
    )
    return result


def declined(state: dict[str, Any], deps: Deps) -> dict[str, Any]:
    """Rejected, expired, or nobody could be asked: nothing is changed."""
    p = core.Proposal.from_dict(state["proposal"])
    answer = state.get("approval") or {}
    if error := state.get("error"):
        why = f"nobody could be asked: {error.get('Error')}: {str(error.get('Cause', ''))[:300]}"
    else:
        why = f"the approval was {answer.get('outcome', 'expired')}"
    return _record(deps, p, Action.SERVING_ACTION_DECLINED, f"nothing done: {why}", answer)


def _recheck_and_apply(
    p: core.Proposal, model: ModelConfig, deps: Deps, done: dict[str, Any]
) -> str | None:
    """Why not (None: done, and what was done in ``done``). Throttling and AWS's own failures
    propagate: the workflow retries them."""
    reach, why = _account(p, model, deps.account_id)
    if reach is None:
        return why
    sagemaker = reach("sagemaker")
    why = core.recheck(p, _current(p, model, sagemaker, reach("cloudwatch"), deps))
    if why is not None:
        return why
    with translated_errors():
        if p.action == core.SCALE_IN:
            done |= _scale_in(p, sagemaker, reach("application-autoscaling"))
        else:
            sagemaker.delete_endpoint(EndpointName=p.endpoint)
    return None


def _scale_in(p: core.Proposal, sagemaker: Any, autoscaling: Any) -> dict[str, Any]:
    """Lower the autoscaling minimum first (else Application Auto Scaling scales it back out),
    then the desired count."""
    target = int(p.target_count or 0)
    scaling = variant_scaling.read(autoscaling, p.endpoint, str(p.variant))
    done: dict[str, Any] = {"autoscaling": scaling.to_dict() if scaling else None}
    if scaling is not None and scaling.min > target:
        autoscaling.register_scalable_target(
            ServiceNamespace="sagemaker",
            ResourceId=scalable_resource_id(p.endpoint, str(p.variant)),
            ScalableDimension=variant_scaling.DIMENSION,
            MinCapacity=target,
            MaxCapacity=scaling.max,
        )
        done["autoscaling_min"] = {"before": scaling.min, "after": target}
    sagemaker.update_endpoint_weights_and_capacities(
        EndpointName=p.endpoint,
        DesiredWeightsAndCapacities=[{"VariantName": p.variant, "DesiredInstanceCount": target}],
    )
    return done | {"instances": {"before": p.instances, "after": target}}


def _unconfirmed(p: core.Proposal, answer: dict[str, Any], deps: Deps) -> str | None:
    """A forged or replayed workflow input changes nothing: the record must agree."""
    record = deps.approvals.get(str(answer.get("approval_id", "")))
    if (
        answer.get("outcome") != "approved"
        or record is None
        or record.status != "approved"
        or record.model_id != p.model_id
        or record.request.kind != p.approval_kind
        or record.request.subject != p.subject[:200]
    ):
        return "no approval record confirms it"
    return None


def _unreachable(p: core.Proposal, model: ModelConfig | None) -> str | None:
    if model is None:
        return f"model {p.model_id} is no longer configured"
    return core.refusal(p.rule, policy_of(model).serving, environment(model, p.endpoint))


def _account(
    p: core.Proposal, model: ModelConfig, own: str
) -> tuple[Callable[[str], Any] | None, str | None]:
    """Clients in the endpoint's account: this account's, or through the deployer role of the
    model's promotion target there (read from the model's configuration, never from the
    workflow's input); else None and why."""
    if p.account_id == own:
        return client, None
    promotion = model.promotion
    targets = [promotion.staging, promotion.production] if promotion else []
    target = next((t for t in targets if t.account_id == p.account_id), None)
    if promotion is None or target is None:
        return None, f"no deployer role of {model.model_id} in account {p.account_id}"
    return TargetAccount(target, promotion.external_id_secret_arn, SESSION).client, None


def _current(
    p: core.Proposal, model: ModelConfig, sagemaker: Any, cloudwatch: Any, deps: Deps
) -> core.Current:
    endpoint = describe_or_none(sagemaker.describe_endpoint, EndpointName=p.endpoint)
    if endpoint is None:
        return core.Current(exists=False)
    lock = deps.promotions.lock(p.model_id)
    live = {v["VariantName"]: v for v in endpoint.get("ProductionVariants", [])}
    variant = live.get(str(p.variant), {})
    current = core.Current(
        exists=True,
        config=str(endpoint["EndpointConfigName"]),
        status=endpoint.get("EndpointStatus"),
        promotion=str(lock.get("promotion_id", "?")) if lock else None,
        still_flagged=True,  # until the metrics say otherwise
        instances=variant.get("CurrentInstanceCount", variant.get("DesiredInstanceCount")),
    )
    if core.recheck(p, current) is not None:  # changed or in use: no need to read metrics
        return current
    now = datetime.now(UTC)
    policy = policy_of(model).serving
    with translated_errors():
        found = serving_usage.described(sagemaker, p.endpoint)
    (usage,) = serving_usage.usage(cloudwatch, [found], p.region, policy.idle_days, now)
    flagged = serving.check_usage(usage, policy, now)
    still = any(str(f.rule) == p.rule and f.resource == p.resource for f in flagged)
    return replace(current, still_flagged=still)


def _record(
    deps: Deps,
    p: core.Proposal,
    action: Action,
    summary: str,
    answer: dict[str, Any],
    done: dict[str, Any] | None = None,
) -> dict[str, Any]:
    keys = ("approval_id", "outcome", "decided_by", "channel", "reason")
    evidence = p.to_dict() | {"approval": {k: answer[k] for k in keys if answer.get(k)}}
    if action == Action.ENDPOINT_DELETED:
        evidence |= {
            "deleted": {"endpoint": p.endpoint},
            "kept": {"endpoint_config": p.endpoint_config},
            "recreate": core.recreate_command(p),
            "recreate_api": {
                "CreateEndpoint": {
                    "EndpointName": p.endpoint,
                    "EndpointConfigName": p.endpoint_config,
                }
            },
        }
    elif action == Action.VARIANT_SCALED_IN:
        evidence |= (done or {}) | {"undo": core.recreate_command(p)}
    else:
        evidence["reason"] = summary.removeprefix("nothing done: ")
    deps.ledger.record(LedgerEntry(action, p.model_id, p.subject, summary, evidence))
    outcome = {
        Action.ENDPOINT_DELETED: "deleted",
        Action.VARIANT_SCALED_IN: "scaled_in",
        Action.SERVING_ACTION_SKIPPED: "skipped",
    }
    return {"outcome": outcome.get(action, "declined"), "summary": summary}
