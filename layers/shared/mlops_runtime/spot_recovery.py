"""Spot recovery applied (functions/spot_recovery): a training job ran out of Spot wait time or
capacity; the decision (mlops_core.spot.decide) is carried out here: resume a copy from the last
checkpoint, fall back, retry the pipeline execution, or give up and page.

One action per failure: copy names derived from the lineage and attempt, which SageMaker refuses
twice, and the lineage record's conditional write, made in one transaction with the ledger entry
(the handler adds Powertools idempotency on the business key :meth:`SpotRecovery.request_of`
builds).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from botocore.exceptions import ClientError
from mlops_core import spot
from mlops_core.errors import PipelineExecutionBusyError
from mlops_core.ledger import UNKNOWN_MODEL, Action, LedgerEntry
from mlops_core.spot import Recovery, SpotPolicy, Step

from mlops_runtime import notify, training
from mlops_runtime.events.pipeline import PipelineStepStatusChange
from mlops_runtime.incident_tracking import end_retrain_incident
from mlops_runtime.incidents import IncidentStore
from mlops_runtime.model_config import ModelConfig, ModelConfigStore
from mlops_runtime.observe import Observer
from mlops_runtime.store import Ledger, StateStore

logger = Logger(child=True)
# Powertools shares metrics across instances: the handler's log_metrics publishes these.
metrics = Metrics()
# step -> (ledger action, metric)
OUTCOMES = {
    Step.RESUME: (Action.TRAINING_RESUMED, "TrainingResumed"),
    Step.RETRY_PIPELINE: (Action.TRAINING_RESUMED, "PipelineRetried"),
    Step.FALLBACK: (Action.TRAINING_FALLBACK, "TrainingFallback"),
    Step.GIVE_UP: (Action.TRAINING_GIVEN_UP, "TrainingGivenUp"),
}


@dataclass
class SpotRecovery:
    ledger: Ledger
    state: StateStore
    models: ModelConfigStore
    policy_for: Callable[[ModelConfig | None], SpotPolicy]
    topic_arn: str
    slack_secret_arn: str | None
    observer: Observer | None = None  # None: always acts (mlops_runtime.observe)

    def request_of(self, parsed: Any) -> dict[str, Any] | str:
        """The job and the business key of this ending (lineage, job, what happened: each Spot
        interruption counts on its own; which event said so), or why there is nothing to do.

        A Training Job State Change carries the job's description: it is decided from that.
        A pipeline step's event names the job only, which is described."""
        execution, trigger = None, "job"
        if isinstance(parsed, PipelineStepStatusChange):
            step = parsed.detail
            if step.currentStepStatus != "Failed" or not step.metadata.trainingJob:
                return "not a failed training step"
            execution, trigger = step.pipelineExecutionArn, "step"
            job = training.describe_job(training.job_name(step.metadata.trainingJob.arn))
        else:
            job = parsed.detail.model_dump(exclude_none=True)
        name = str(job["TrainingJobName"])
        ending = spot.classify(
            job["TrainingJobStatus"], job.get("SecondaryStatus"), job.get("FailureReason")
        )
        if ending == spot.Ending.OTHER:
            status = f"{job['TrainingJobStatus']}/{job.get('SecondaryStatus')}"
            return f"training job {name} is {status}: not a Spot or capacity ending"
        lineage_id, _ = spot.lineage_of(job, execution)
        if ending == spot.Ending.INTERRUPTED:
            ending = f"{ending}-{spot.interruptions(job)}"
        key = f"{lineage_id}|{name}|{ending}|{trigger}"
        return {"key": key, "job": job, "execution": execution, "trigger": trigger}

    def recover(self, request: dict[str, Any]) -> dict[str, Any]:
        job, trigger = request["job"], request["trigger"]
        decision, lineage, model_id = self._decide(job, request["execution"])
        if decision.starts_something and trigger == "job":
            # Acting: the copy's role, image, data and lineage come from our own read.
            job = training.as_described(job, decision.job_name)
            decision, lineage, model_id = self._decide(job, request["execution"])
        model = self.models.get(model_id) if model_id != UNKNOWN_MODEL else None
        logger.info("recovery decided", extra={"step": decision.step, "reason": decision.reason})
        if decision.step == Step.NOTHING:
            return {"status": "nothing", "reason": decision.reason}
        if decision.step == Step.RECORD_INTERRUPTION:
            return self._interrupted(decision, job, model_id)
        if self.observer and (observed := self.observer.by(model)):
            return self._would(self.observer, decision, job, model_id, observed)
        if decision.step == Step.RETRY_PIPELINE:
            blocked = self._retry_pipeline(decision, trigger)
            if blocked:
                return {"status": "not_retried", "reason": blocked}
        elif decision.request is not None:
            decision = self._start_copy(decision)
        return self._record(decision, job, lineage, model_id)

    def _decide(
        self, job: dict[str, Any], execution: str | None
    ) -> tuple[Recovery, dict[str, Any] | None, str]:
        """The decision about ``job``, its lineage record and its model."""
        execution = execution or spot.tags_of(job).get(spot.PIPELINE_EXECUTION_TAG)
        model_id = self._model_id(job, execution)
        lineage_id, _ = spot.lineage_of(job, execution)
        lineage = self.state.get(f"TRAINING_LINEAGE#{lineage_id}", "LINEAGE")
        model = self.models.get(model_id) if model_id != UNKNOWN_MODEL else None
        return spot.decide(job, lineage, self.policy_for(model), execution), lineage, model_id

    def _model_id(self, job: dict[str, Any], execution: str | None) -> str:
        tagged = spot.tags_of(job).get(spot.MODEL_TAG)
        link = self.state.get(f"PIPELINE_EXECUTION#{execution}", "INCIDENT") if execution else None
        return tagged or (link or {}).get("model_id") or UNKNOWN_MODEL

    def _interrupted(
        self, decision: Recovery, job: dict[str, Any], model_id: str
    ) -> dict[str, Any]:
        count = spot.interruptions(job)
        recorded = self.ledger.record(
            LedgerEntry(
                action=Action.TRAINING_INTERRUPTED,
                model_id=model_id,
                subject=f"{decision.job_name}#interrupted-{count}",
                summary=decision.reason,
                evidence={"lineage": decision.lineage_id, "job": decision.job_name, "count": count},
            )
        )
        if recorded:
            metrics.add_metric(name="TrainingInterrupted", unit=MetricUnit.Count, value=1)
        return {"status": "recorded" if recorded else "duplicate", "step": str(decision.step)}

    def _retry_pipeline(self, decision: Recovery, trigger: str) -> str | None:
        """Retry the execution; a reason when it cannot be retried yet (the step event will)."""
        arn = str(decision.pipeline_execution_arn)
        status = training.pipeline_execution_status(arn)
        if status in training.PIPELINE_RUNNING:
            why = f"pipeline execution {arn} is still {status}"
            if trigger == "step":
                raise PipelineExecutionBusyError(why + "; retried once it has failed")
            return why + "; its failed step's status change event retries it"
        if status != "Failed":
            return f"pipeline execution {arn} is {status}: nothing to retry"
        training.retry_pipeline(arn, decision.attempt)
        return None

    def _start_copy(self, decision: Recovery) -> Recovery:
        """Create the copy; a refusal (bad request, missing permission) ends the lineage, paged."""
        try:
            created = training.create_copy(dict(decision.request or {}))
        except ClientError as error:
            reason = f"{decision.reason}; but CreateTrainingJob refused the copy: {error}"
            return Recovery(
                Step.GIVE_UP,
                reason,
                job_name=decision.job_name,
                lineage_id=decision.lineage_id,
                attempt=decision.attempt - 1,
                ending=decision.ending,
            )
        if not created:
            logger.info("copy already exists", extra={"copy": decision.copy_name})
        return decision

    def _record(
        self, decision: Recovery, job: dict[str, Any], lineage: dict[str, Any] | None, model_id: str
    ) -> dict[str, Any]:
        record = spot.next_lineage(lineage, decision, job, model_id)
        key = {"pk": f"TRAINING_LINEAGE#{decision.lineage_id}", "sk": "LINEAGE"}
        if lineage is None:
            write = self.state.put_operation(key | record, "attribute_not_exists(pk)")
        else:
            write = self.state.put_operation(
                key | record, "#v = :v", {"#v": "version"}, **{":v": lineage["version"]}
            )
        action, metric = OUTCOMES[decision.step]
        what = "given-up" if decision.step == Step.GIVE_UP else f"attempt-{decision.attempt}"
        recorded = self.ledger.record(
            LedgerEntry(
                action=action,
                model_id=model_id,
                subject=f"{decision.lineage_id}#{what}",
                summary=decision.reason,
                evidence=self._evidence(decision, job),
            ),
            write,
        )
        if decision.step == Step.GIVE_UP and decision.pipeline_execution_arn:
            self._end_retrain(decision)
        if not recorded:
            return {
                "status": "duplicate",
                "step": str(decision.step),
                "lineage": decision.lineage_id,
            }
        metrics.add_metric(name=metric, unit=MetricUnit.Count, value=1)
        page = spot.notice(decision, model_id)
        if page:
            notify.send_and_record(page, self.ledger, self.topic_arn, self.slack_secret_arn)
        return {
            "status": "applied",
            "step": str(decision.step),
            "lineage": decision.lineage_id,
            "job": decision.copy_name,
        }

    def _would(
        self, observer: Observer, decision: Recovery, job: dict[str, Any], model_id: str, by: str
    ) -> dict[str, Any]:
        """No copy, no pipeline retry, no page: what would have been done, with its evidence.
        No lineage record either, so the model's first real recovery starts at attempt 1."""
        action, _ = OUTCOMES[decision.step]
        what = "given-up" if decision.step == Step.GIVE_UP else f"attempt-{decision.attempt}"
        entry = LedgerEntry(
            action=action,
            model_id=model_id,
            subject=f"{decision.lineage_id}#{what}",
            summary=decision.reason,
            evidence=self._evidence(decision, job),
        )
        kind = {Step.RETRY_PIPELINE: Action.WOULD_RETRY_PIPELINE, Step.GIVE_UP: Action.WOULD_PAGE}
        recorded = observer.record(entry, by, kind=kind.get(decision.step))
        return {
            "status": "observed" if recorded else "duplicate",
            "step": str(decision.step),
            "lineage": decision.lineage_id,
        }

    def _end_retrain(self, decision: Recovery) -> None:
        """Nothing retries the pipeline any more: its retrain incident ends (pipeline_status
        left a capacity failure to this function)."""
        link = self.state.get(f"PIPELINE_EXECUTION#{decision.pipeline_execution_arn}", "INCIDENT")
        if link is not None:
            store = IncidentStore(self.state.table_name, self.ledger)
            end_retrain_incident(store, link["incident_id"], f"retrain given up: {decision.reason}")

    @staticmethod
    def _evidence(decision: Recovery, job: dict[str, Any]) -> dict[str, Any]:
        return {
            "lineage": decision.lineage_id,
            "attempt": decision.attempt,
            "failed_job": decision.job_name,
            "ending": str(decision.ending),
            "failure_reason": job.get("FailureReason"),
            "new_job": decision.copy_name,
            "pipeline_execution_arn": decision.pipeline_execution_arn,
            "from_checkpoint": decision.from_checkpoint,
            "checkpoint": (job.get("CheckpointConfig") or {}).get("S3Uri"),
            "changes": decision.changes,
        }
