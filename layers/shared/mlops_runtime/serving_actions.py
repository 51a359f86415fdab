"""Acting on serving findings after an approval (mlops_core.serving_actions decides).

- :meth:`ServingActions.propose` (the serving sweep, for each finding of a model that opts in):
  starts the ServingAction workflow under a name derived from the endpoint config and the
  finding, so a second sweep while it waits (or after it ended) asks nobody again; an
  observe-only model gets ``would_delete_endpoint`` instead.
- :func:`act` (the workflow, once approved): confirms the approval with its record, re-checks the
  endpoint in its account, then deletes the endpoint only, recording what was kept and how to
  recreate it. :func:`declined`: a rejection or expiry, recorded.
"""

from __future__ import annotations

import json
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

from mlops_runtime import notify, serving_usage
from mlops_runtime.approvals import ApprovalStore
from mlops_runtime.aws import client, error_code, translated_errors
from mlops_runtime.findings import FindingStore
from mlops_runtime.model_config import ModelConfig, ModelConfigStore
from mlops_runtime.observe import Observer
from mlops_runtime.promotions import PromotionStore
from mlops_runtime.serving_usage import ServingEndpoint
from mlops_runtime.store import Ledger
from mlops_runtime.target_accounts import TargetAccount, describe_or_none

SESSION = "mlopscp-serving-action"


def environment(model: ModelConfig, endpoint: str) -> str | None:
    promotion = model.promotion
    return core.environment_of(
        endpoint,
        model.endpoint_name,
        model.environment,
        promotion.staging.endpoint_name if promotion else None,
        promotion.production.endpoint_name if promotion else None,
    )


def policy_of(model: ModelConfig) -> GuardrailPolicy:
    return model.guardrails or GuardrailPolicy()


@dataclass
class ServingActions:
    findings: FindingStore
    observer: Observer
    state_machine_arn: str
    account_id: str  # the account the stack (and the sweep) runs in

    @classmethod
    def of(cls, findings: FindingStore, settings: Any) -> ServingActions:
        """From the function's ServingSweepSettings."""
        observer = Observer(settings.observe_only, findings.ledger, findings.state)
        return cls(findings, observer, settings.serving_action_machine, settings.tooling_account_id)

    def propose(
        self, finding: Finding, model: ModelConfig | None, endpoint: ServingEndpoint, region: str
    ) -> str | None:
        """Ask approval for the model's opted-in action on ``finding``: "requested", "observed",
        "asked before", or None when the model does not opt in to it here."""
        if model is None or not self.state_machine_arn:
            return None
        proposal = core.propose(
            finding,
            policy_of(model).serving,
            model_id=model.model_id,
            endpoint_config=endpoint.config,
            environment=environment(model, endpoint.name),
            account_id=self.account_id,
            region=region,
        )
        if proposal is None:
            return None
        evidence = proposal.to_dict() | {"recreate": core.recreate_command(proposal)}
        if by := self.observer.by(model):
            summary = f"delete idle {proposal.environment} endpoint {proposal.endpoint}"
            entry = LedgerEntry(
                Action.ENDPOINT_DELETED, model.model_id, proposal.subject, summary, evidence
            )
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
            f"waits for approval: delete idle {proposal.environment} endpoint "
            f"{proposal.endpoint} ({proposal.message})",
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
    """Approved: confirm, re-check, delete the endpoint (only), record and notify."""
    p = core.Proposal.from_dict(state["proposal"])
    answer = state.get("approval") or {}
    model = deps.models.get(p.model_id)
    why = _unconfirmed(p, answer, deps) or _unreachable(p, model)
    try:
        if why is None and model is not None:
            why = _recheck_and_delete(p, model, deps)
    except (ClientError, TargetAccountAccessError) as error:  # refused: retrying will not help
        why = f"{p.endpoint} could not be checked or deleted: {error}"
    if why is not None:
        return _record(deps, p, Action.SERVING_ACTION_SKIPPED, f"not deleted: {why}", answer)
    by = str(answer.get("decided_by") or "?")
    summary = f"deleted idle {p.environment} endpoint {p.endpoint}, approved by {by}"
    result = _record(deps, p, Action.ENDPOINT_DELETED, summary, answer)
    notify.send_and_record(
        core.deleted_notice(p, by), deps.ledger, deps.topic_arn, deps.slack_secret_arn
    )
    return result


def declined(state: dict[str, Any], deps: Deps) -> dict[str, Any]:
    """Rejected, expired, or nobody could be asked: nothing is deleted."""
    p = core.Proposal.from_dict(state["proposal"])
    answer = state.get("approval") or {}
    if error := state.get("error"):
        why = f"nobody could be asked: {error.get('Error')}: {str(error.get('Cause', ''))[:300]}"
    else:
        why = f"the approval was {answer.get('outcome', 'expired')}"
    return _record(deps, p, Action.SERVING_ACTION_DECLINED, f"not deleted: {why}", answer)


def _recheck_and_delete(p: core.Proposal, model: ModelConfig, deps: Deps) -> str | None:
    """Why not (None: deleted). Throttling and AWS's own failures propagate: the workflow
    retries them."""
    sagemaker, cloudwatch, why = _clients(p, model, deps.account_id)
    if why is not None:
        return why
    why = core.recheck(p, _current(p, model, sagemaker, cloudwatch, deps))
    if why is None:
        with translated_errors():
            sagemaker.delete_endpoint(EndpointName=p.endpoint)
    return why


def _unconfirmed(p: core.Proposal, answer: dict[str, Any], deps: Deps) -> str | None:
    """A forged or replayed workflow input deletes nothing: the record must agree."""
    record = deps.approvals.get(str(answer.get("approval_id", "")))
    if (
        answer.get("outcome") != "approved"
        or record is None
        or record.status != "approved"
        or record.model_id != p.model_id
        or record.request.kind != core.APPROVAL_KIND
        or record.request.subject != p.subject[:200]
    ):
        return "no approval record confirms it"
    return None


def _unreachable(p: core.Proposal, model: ModelConfig | None) -> str | None:
    if model is None:
        return f"model {p.model_id} is no longer configured"
    return core.refusal(p.rule, policy_of(model).serving, environment(model, p.endpoint))


def _clients(p: core.Proposal, model: ModelConfig, own: str) -> tuple[Any, Any, str | None]:
    """This account's clients, or the deployer role of the model's promotion target in that
    account: which role is read from the model's configuration, never from the workflow's
    input. The third value says why there is none."""
    if p.account_id == own:
        return client("sagemaker"), client("cloudwatch"), None
    promotion = model.promotion
    targets = [promotion.staging, promotion.production] if promotion else []
    target = next((t for t in targets if t.account_id == p.account_id), None)
    if promotion is None or target is None:
        return None, None, f"no deployer role of {model.model_id} in account {p.account_id}"
    account = TargetAccount(target, promotion.external_id_secret_arn, SESSION)
    return account.client("sagemaker"), account.client("cloudwatch"), None


def _current(
    p: core.Proposal, model: ModelConfig, sagemaker: Any, cloudwatch: Any, deps: Deps
) -> core.Current:
    endpoint = describe_or_none(sagemaker.describe_endpoint, EndpointName=p.endpoint)
    if endpoint is None:
        return core.Current(exists=False)
    lock = deps.promotions.lock(p.model_id)
    current = core.Current(
        exists=True,
        config=str(endpoint["EndpointConfigName"]),
        status=endpoint.get("EndpointStatus"),
        promotion=str(lock.get("promotion_id", "?")) if lock else None,
        still_idle=True,  # until the metrics say otherwise
    )
    if core.recheck(p, current) is not None:  # changed or in use: no need to read metrics
        return current
    now = datetime.now(UTC)
    policy = policy_of(model).serving
    with translated_errors():
        found = serving_usage.described(sagemaker, p.endpoint)
    (usage,) = serving_usage.usage(cloudwatch, [found], p.region, policy.idle_days, now)
    idle = any(str(f.rule) == p.rule for f in serving.check_usage(usage, policy, now))
    return replace(current, still_idle=idle)


def _record(
    deps: Deps, p: core.Proposal, action: Action, summary: str, answer: dict[str, Any]
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
    else:
        evidence["reason"] = summary.removeprefix("not deleted: ")
    deps.ledger.record(LedgerEntry(action, p.model_id, p.subject, summary, evidence))
    outcome = {Action.ENDPOINT_DELETED: "deleted", Action.SERVING_ACTION_SKIPPED: "skipped"}
    return {"outcome": outcome.get(action, "declined"), "summary": summary}
