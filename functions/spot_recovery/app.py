"""Spot recovery: a training job ran out of Spot wait time or capacity; get it finished anyway.

A Training Job State Change or a pipeline's training Step Status Change becomes one decision
(mlops_core.spot.decide), applied here: resume a copy from the last checkpoint, fall back, retry
the pipeline execution, or give up and page. Three guards keep it to one action per failure:
Powertools idempotency on (lineage, job, ending, trigger); copy names derived from the lineage and
attempt, which SageMaker refuses twice; and the lineage record's conditional write, made in one
transaction with the ledger entry.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import ClientError
from mlops_core import spot
from mlops_core.errors import EventRejectedError, PipelineExecutionBusyError
from mlops_core.ledger import UNKNOWN_MODEL, Action, LedgerEntry
from mlops_core.spot import Recovery, Step
from mlops_core.trust import account_refusal
from mlops_runtime import notify, settings, training
from mlops_runtime.aws import idempotency_store
from mlops_runtime.dead_letters import reject
from mlops_runtime.events import (
    TRAINING_DETAIL_TYPES,
    PipelineStepStatusChange,
    TrainingEvent,
    parse_one_of,
)
from mlops_runtime.model_config import ModelConfigStore
from mlops_runtime.store import Ledger, StateStore
from pydantic import Field


class Settings(
    training.TrainingPolicySettings, settings.NotifySettings, settings.IdempotentSettings
):
    dead_letter_queue_url: str = Field(pattern=r"^https?://")


SETTINGS = settings.load(Settings)
logger = Logger()
metrics = Metrics()
ledger = Ledger(SETTINGS.ledger_table)
state = StateStore(SETTINGS.state_table)
models = ModelConfigStore(SETTINGS.model_config_table)
idempotency = IdempotencyConfig(event_key_jmespath="key", expires_after_seconds=7 * 86400)
persistence = idempotency_store(SETTINGS.idempotency_table)
# step -> (ledger action, metric)
OUTCOMES = {
    Step.RESUME: (Action.TRAINING_RESUMED, "TrainingResumed"),
    Step.RETRY_PIPELINE: (Action.TRAINING_RESUMED, "PipelineRetried"),
    Step.FALLBACK: (Action.TRAINING_FALLBACK, "TrainingFallback"),
    Step.GIVE_UP: (Action.TRAINING_GIVEN_UP, "TrainingGivenUp"),
}


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    idempotency.register_lambda_context(context)
    try:
        parsed = parse_one_of(event, TrainingEvent, TRAINING_DETAIL_TYPES)
    except EventRejectedError as error:
        metrics.add_metric(name="EventsRejected", unit=MetricUnit.Count, value=1)
        return reject(event, error, SETTINGS.dead_letter_queue_url, ledger, "spot-recovery")
    # Training runs (and is recovered) in this account only.
    subject = getattr(parsed.detail, "TrainingJobName", None) or parsed.detail.pipelineExecutionArn
    if why := account_refusal(parsed.account, subject, SETTINGS.tooling_account_id, "training"):
        rejected = EventRejectedError(why)
        return reject(event, rejected, SETTINGS.dead_letter_queue_url, ledger, "spot-recovery")
    request = _request(parsed)
    if request is None:
        return {"status": "ignored", "reason": "not a failed training step"}
    return recover(request=request)


def _request(parsed: Any) -> dict[str, Any] | None:
    """The described job, and the business key of this ending: lineage, job, what happened
    (each Spot interruption counts on its own) and which event said so."""
    execution, name, trigger = None, None, "job"
    if isinstance(parsed, PipelineStepStatusChange):
        step, trigger = parsed.detail, "step"
        if step.currentStepStatus == "Failed" and step.metadata.trainingJob:
            execution = step.pipelineExecutionArn
            name = training.job_name(step.metadata.trainingJob.arn)
    else:
        name = parsed.detail.TrainingJobName
    if name is None:
        return None
    job = training.describe_job(name)
    lineage_id, _ = spot.lineage_of(job, execution)
    ending = spot.classify(
        job["TrainingJobStatus"], job.get("SecondaryStatus"), job.get("FailureReason")
    )
    if ending == spot.Ending.INTERRUPTED:
        ending = f"{ending}-{spot.interruptions(job)}"
    key = f"{lineage_id}|{name}|{ending}|{trigger}"
    return {"key": key, "job": job, "execution": execution, "trigger": trigger}


@idempotent_function(
    data_keyword_argument="request", config=idempotency, persistence_store=persistence
)
def recover(request: dict[str, Any]) -> dict[str, Any]:
    job, trigger = request["job"], request["trigger"]
    execution = request["execution"] or spot.tags_of(job).get(spot.PIPELINE_EXECUTION_TAG)
    model_id = _model_id(job, execution)
    lineage_id, _ = spot.lineage_of(job, execution)
    lineage = state.get(f"TRAINING_LINEAGE#{lineage_id}", "LINEAGE")
    decision = spot.decide(job, lineage, _policy(model_id), execution)
    logger.info("recovery decided", extra={"step": decision.step, "reason": decision.reason})
    if decision.step == Step.NOTHING:
        return {"status": "nothing", "reason": decision.reason}
    if decision.step == Step.RECORD_INTERRUPTION:
        return _interrupted(decision, job, model_id)
    if decision.step == Step.RETRY_PIPELINE:
        blocked = _retry_pipeline(decision, trigger)
        if blocked:
            return {"status": "not_retried", "reason": blocked}
    elif decision.request is not None:
        decision = _start_copy(decision)
    return _record(decision, job, lineage, model_id)


def _model_id(job: dict[str, Any], execution: str | None) -> str:
    tagged = spot.tags_of(job).get(spot.MODEL_TAG)
    link = state.get(f"PIPELINE_EXECUTION#{execution}", "INCIDENT") if execution else None
    return tagged or (link or {}).get("model_id") or UNKNOWN_MODEL


def _policy(model_id: str) -> spot.SpotPolicy:
    model = models.get(model_id) if model_id != UNKNOWN_MODEL else None
    return SETTINGS.spot_policy_for(model)


def _interrupted(decision: Recovery, job: dict[str, Any], model_id: str) -> dict[str, Any]:
    count = spot.interruptions(job)
    recorded = ledger.record(
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


def _retry_pipeline(decision: Recovery, trigger: str) -> str | None:
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


def _start_copy(decision: Recovery) -> Recovery:
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
    decision: Recovery, job: dict[str, Any], lineage: dict[str, Any] | None, model_id: str
) -> dict[str, Any]:
    record = spot.next_lineage(lineage, decision, job, model_id)
    key = {"pk": f"TRAINING_LINEAGE#{decision.lineage_id}", "sk": "LINEAGE"}
    if lineage is None:
        write = state.put_operation(key | record, "attribute_not_exists(pk)")
    else:
        write = state.put_operation(
            key | record, "#v = :v", {"#v": "version"}, **{":v": lineage["version"]}
        )
    action, metric = OUTCOMES[decision.step]
    what = "given-up" if decision.step == Step.GIVE_UP else f"attempt-{decision.attempt}"
    recorded = ledger.record(
        LedgerEntry(
            action=action,
            model_id=model_id,
            subject=f"{decision.lineage_id}#{what}",
            summary=decision.reason,
            evidence=_evidence(decision, job),
        ),
        write,
    )
    if not recorded:
        return {"status": "duplicate", "step": str(decision.step), "lineage": decision.lineage_id}
    metrics.add_metric(name=metric, unit=MetricUnit.Count, value=1)
    page = spot.notice(decision, model_id)
    if page:
        notify.send_and_record(
            page, ledger, SETTINGS.notification_topic_arn, SETTINGS.slack_webhook_secret_arn or None
        )
    return {
        "status": "applied",
        "step": str(decision.step),
        "lineage": decision.lineage_id,
        "job": decision.copy_name,
    }


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
