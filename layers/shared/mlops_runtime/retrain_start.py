"""Starting a model's retraining pipeline for a drift incident (functions/start_retrain).

Exactly once per incident: a conditional per-model lock in DynamoDB (never while a retrain
runs, never inside the cooldown: mlops_core.retrain decides) claimed before the start and
released if SageMaker refused it, and SageMaker's ClientRequestToken (one execution per
incident even if everything above were retried; the handler adds Powertools idempotency on
the incident id). A model that requires an approval retrains only when the flow's answer says
approved AND the approval record agrees.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from botocore.exceptions import ClientError
from mlops_core import retrain
from mlops_core.errors import (
    ModelNotConfiguredError,
    RetrainCapacityError,
    RetrainPipelineError,
    ThrottlingError,
    TransientAwsError,
)
from mlops_core.ledger import Action, LedgerEntry

from mlops_runtime.approvals import ApprovalStore
from mlops_runtime.aws import client, error_code, translated_errors
from mlops_runtime.model_config import ModelConfigStore, RetrainConfig
from mlops_runtime.observe import Observer
from mlops_runtime.store import Ledger, StateStore

logger = Logger(child=True)
# Powertools shares metrics across instances: the handler's log_metrics publishes these.
metrics = Metrics()


@dataclass
class RetrainStarter:
    ledger: Ledger
    state: StateStore
    models: ModelConfigStore
    approvals: ApprovalStore | None  # None: no approval table, so no retrain is confirmed
    default_cooldown_hours: float
    observer: Observer | None = None  # None: always acts (mlops_runtime.observe)

    def start(self, request: dict[str, Any]) -> dict[str, Any]:
        model_id, incident = request["model_id"], request["incident_id"]
        summary = request.get("summary", {})
        model = self.models.get(model_id)
        if model is None:
            raise ModelNotConfiguredError(f"model {model_id} has no configuration")
        if model.retrain is None:
            return self._skip(
                model_id, incident, "no retraining pipeline is configured for this model", summary
            )
        observed = self.observer.by(model) if self.observer else None
        # An observed model asks nobody (drift_triage): the entry says approval would be asked.
        if model.retrain.require_approval and not observed:
            refused = self._not_approved(request.get("approval"), model_id, incident)
            if refused:
                return self._skip(model_id, incident, refused, summary)

        now = datetime.now(UTC)
        cooldown = retrain.cooldown(model.retrain.cooldown_hours, self.default_cooldown_hours)
        lock_key = retrain.lock_key(model_id, observed=bool(observed))
        lock = self.state.get(*lock_key)
        if observed:  # what really runs or cools down counts too; its own lock holds the rest
            real = self.state.get(*retrain.lock_key(model_id))
            gate = retrain.observed_gate(real, lock, incident, now, cooldown)
        else:
            gate = retrain.retrain_gate(lock, incident, now, cooldown)
        if not gate.allowed:
            why = f"observe-only ({observed}): {gate.reason}" if observed else gate.reason
            return self._skip(model_id, incident, why, summary)
        if observed and self.observer:
            return self._would_start(
                self.observer, request, model.retrain, lock_key, lock, now, observed
            )

        # Claim the lock only if it is still what the gate saw: two incidents racing get one start.
        claimed = self._claim(lock_key, lock, incident, now)
        if not claimed:
            return self._skip(
                model_id, incident, "another incident claimed the retrain first", summary
            )

        reason = _reason(request)
        arn = self._start_pipeline(model.retrain, request, lock_key, reason)
        self._record_started(
            model_id, incident, arn, model.retrain.pipeline_name, reason, request, now
        )
        metrics.add_metric(name="RetrainsStarted", unit=MetricUnit.Count, value=1)
        return {"status": "started", "pipeline_execution_arn": arn}

    def _start_pipeline(
        self, config: RetrainConfig, request: dict[str, Any], lock_key: tuple[str, str], reason: str
    ) -> str:
        """StartPipelineExecution under the claimed lock; the lock is released when it fails."""
        incident = request["incident_id"]
        try:
            with translated_errors():
                return str(
                    client("sagemaker").start_pipeline_execution(
                        PipelineName=config.pipeline_name,
                        PipelineExecutionDisplayName=incident[:82],
                        PipelineExecutionDescription=reason[:3072],
                        PipelineParameters=retrain.pipeline_parameters(
                            incident, reason, request.get("data_window"), config.parameters
                        ),
                        ClientRequestToken=retrain.client_request_token(incident),
                    )["PipelineExecutionArn"]
                )
        except ClientError as error:
            self._release(lock_key, incident)
            if error_code(error) == "ResourceLimitExceeded":
                # The account's concurrent executions are all taken: nothing started, and the
                # state machine's long jittered retry spreads the fleet's waiting starts.
                raise RetrainCapacityError(
                    f"pipeline {config.pipeline_name} not started yet: the account is at its "
                    f"limit of concurrent pipeline executions ({error})"
                ) from error
            raise RetrainPipelineError(
                f"could not start pipeline {config.pipeline_name}: {error}"
            ) from error
        except (ThrottlingError, TransientAwsError):
            # The state machine retries this: the retry must find the lock free again, or it
            # would skip the retrain as "already starting" and nobody would hear of it.
            # (Had the start reached SageMaker, the same ClientRequestToken returns it again.)
            self._release(lock_key, incident)
            raise

    def _would_start(
        self,
        observer: Observer,
        request: dict[str, Any],
        config: RetrainConfig,
        key: tuple[str, str],
        lock: dict[str, Any] | None,
        now: datetime,
        by: str,
    ) -> dict[str, Any]:
        """Record what would have started, and hold the observed retrains' own cooldown."""
        model_id, incident = request["model_id"], request["incident_id"]
        reason = _reason(request)
        hold = self._lock_write(
            key, lock, status=retrain.OBSERVED, incident_id=incident, started_at=now.isoformat()
        )
        entry = LedgerEntry(
            action=Action.RETRAIN_STARTED,
            model_id=model_id,
            subject=incident,
            summary=f"{config.pipeline_name}: {reason}",
            evidence={
                "pipeline_name": config.pipeline_name,
                "pipeline_parameters": retrain.pipeline_parameters(
                    incident, reason, request.get("data_window"), config.parameters
                ),
                "approval_required": config.require_approval,
                "triage": request.get("summary", {}),
                "report_uri": request.get("report_uri"),
                "data_window": request.get("data_window"),
            },
            at=now,
        )
        if not observer.record(entry, by, hold):
            return self._skip(
                model_id, incident, f"observe-only ({by}): another incident came first", {}
            )
        metrics.add_metric(name="RetrainsObserved", unit=MetricUnit.Count, value=1)
        return {"status": "observed", "reason": f"observe-only ({by}): would start {entry.summary}"}

    def _not_approved(
        self, answer: dict[str, Any] | None, model_id: str, incident: str
    ) -> str | None:
        """The retrain gate: the flow's answer must say approved AND the approval record agree.

        The record check means a forged or replayed state machine input cannot start a retrain.
        """
        answer = answer or {}
        if answer.get("outcome") != "approved":
            reason = f": {answer['reason']}" if answer.get("reason") else ""
            return (
                f"retrain not approved: {answer.get('outcome', 'no answer')} by "
                f"{answer.get('decided_by', 'nobody')} via {answer.get('channel', '-')}{reason}"
            )
        approval_id = str(answer.get("approval_id", ""))
        record = self.approvals.get(approval_id) if self.approvals is not None else None
        if (
            record is None
            or record.status != "approved"
            or record.model_id != model_id
            or record.request.subject != incident
        ):
            return "the approval record does not confirm an approved retrain of this incident"
        return None

    def _claim(
        self, key: tuple[str, str], lock: dict[str, Any] | None, incident: str, now: datetime
    ) -> bool:
        return self.state.apply(
            self._lock_write(
                key,
                lock,
                status=retrain.STARTING,
                incident_id=incident,
                claimed_at=now.isoformat(),
                started_at=(lock or {}).get("started_at"),
            )
        )

    def _lock_write(
        self, key: tuple[str, str], lock: dict[str, Any] | None, **fields: Any
    ) -> dict[str, Any]:
        """Optimistic lock: the write succeeds only if the lock is still the version the gate
        saw."""
        version = int((lock or {}).get("version", 0))
        item = {"pk": key[0], "sk": key[1], "version": version + 1, **fields}
        if lock is None:
            return self.state.put_operation(item, "attribute_not_exists(pk)")
        return self.state.put_operation(item, "#v = :seen", {"#v": "version"}, **{":seen": version})

    def _release(self, key: tuple[str, str], incident: str) -> None:
        """The start failed before anything began: let a retry of this incident try again."""
        self.state.apply(
            self.state.update_operation(
                *key, {"status": retrain.NOT_STARTED}, "incident_id = :i", **{":i": incident}
            )
        )

    def _record_started(
        self,
        model_id: str,
        incident: str,
        arn: str,
        pipeline: str,
        reason: str,
        request: dict[str, Any],
        now: datetime,
    ) -> None:
        started = now.isoformat()
        self.ledger.record(
            LedgerEntry(
                action=Action.RETRAIN_STARTED,
                model_id=model_id,
                subject=incident,
                summary=f"started {pipeline}: {reason}",
                evidence={
                    "pipeline_execution_arn": arn,
                    "triage": request.get("summary", {}),
                    "report_uri": request.get("report_uri"),
                    "data_window": request.get("data_window"),
                },
            ),
            self.state.update_operation(
                f"MODEL#{model_id}",
                "RETRAIN",
                {"status": retrain.RUNNING, "pipeline_execution_arn": arn, "started_at": started},
                "incident_id = :i",
                **{":i": incident},
            ),
            self.state.put_operation(
                dict(zip(("pk", "sk"), retrain.execution_link_key(arn), strict=True))
                | {"model_id": model_id, "incident_id": incident}
            ),
        )

    def _skip(
        self, model_id: str, incident: str, reason: str, summary: dict[str, Any]
    ) -> dict[str, Any]:
        self.ledger.record(
            LedgerEntry(
                action=Action.RETRAIN_SKIPPED,
                model_id=model_id,
                subject=incident,
                summary=reason,
                evidence={"triage": summary},
            )
        )
        metrics.add_metric(name="RetrainsSkipped", unit=MetricUnit.Count, value=1)
        logger.info("retrain skipped", extra={"reason": reason, "incident_id": incident})
        return {"status": "skipped", "reason": reason}


def _reason(request: dict[str, Any]) -> str:
    reasons = (request.get("summary") or {}).get("reasons", [])
    return "; ".join(reasons[:2]) or "drift response decided to retrain"
