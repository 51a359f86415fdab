"""Spot training recovery: what to do when a training job ends because capacity ran out.

Plain data in (the job as DescribeTrainingJob returns it, with its tags as a list; the job's
lineage record from the state table; the policy), a :class:`Recovery` value out. The handler
applies it; nothing here talks to AWS.

A *lineage* is an original training job and every copy the control plane started for it. A
standalone job's lineage is named after the original job (copies carry it in a tag); a job run
by a SageMaker Pipeline belongs to its pipeline execution, which is retried instead of copied.
Copies get a name derived from the lineage and the attempt number, so the same decision made
twice (a redelivered event, two events about one failure) asks SageMaker for the same name and
SageMaker refuses the second: that, not a lock, is what keeps two copies from ever starting.
"""

from __future__ import annotations

import copy
import hashlib
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from mlops_core.notification import Notification

# Tags the control plane puts on the copies it starts; read back to find a copy's lineage.
LINEAGE_TAG = "mlopscp:lineage"
ATTEMPT_TAG = "mlopscp:attempt"
RESUMED_FROM_TAG = "mlopscp:resumed-from"
FALLBACK_TAG = "mlopscp:fallback"
# Optional tag a team puts on its training jobs so per-model policy applies.
MODEL_TAG = "mlopscp:model-id"
# SageMaker Pipelines tags every job a step runs with its execution.
PIPELINE_EXECUTION_TAG = "sagemaker:pipeline-execution-arn"
# Keys CreateTrainingJob refuses from a caller: the services set them themselves.
RESERVED_TAG_PREFIXES = ("aws:", "sagemaker:")
MAX_TAGS = 50

# Fields of CreateTrainingJob that DescribeTrainingJob also returns, copied as they are.
# (A contract test checks this list against botocore's model of both operations.)
COPIED_FIELDS = (
    "HyperParameters",
    "AlgorithmSpecification",
    "RoleArn",
    "InputDataConfig",
    "OutputDataConfig",
    "ResourceConfig",
    "VpcConfig",
    "StoppingCondition",
    "EnableNetworkIsolation",
    "EnableInterContainerTrafficEncryption",
    "EnableManagedSpotTraining",
    "CheckpointConfig",
    "DebugHookConfig",
    "DebugRuleConfigurations",
    "TensorBoardOutputConfig",
    "ExperimentConfig",
    "ProfilerConfig",
    "ProfilerRuleConfigurations",
    "Environment",
    "RetryStrategy",
    "RemoteDebugConfig",
    "InfraCheckConfig",
    "ServerlessJobConfig",
    "MlflowConfig",
    "ModelPackageConfig",
)
# ResourceConfig members DescribeTrainingJob reports but CreateTrainingJob refuses (read-only).
READ_ONLY_RESOURCE_FIELDS = ("SelectedInstanceType", "SelectedInstanceCount")
DEFAULT_MAX_RUNTIME = 86400  # SageMaker's default MaxRuntimeInSeconds: one day

# FailureReason wordings of a capacity shortage, as SageMaker writes them, e.g.
# "CapacityError: Unable to provision requested ML compute capacity. Please retry using a
# different ML instance type." and "... capacity due to InsufficientInstanceCapacity error".
CAPACITY_MARKERS = (
    "capacityerror",
    "insufficientcapacity",
    "insufficientinstancecapacity",
    "unable to provision requested ml compute capacity",
)

ACTIVE, GIVEN_UP = "ACTIVE", "GIVEN_UP"


class Ending(StrEnum):
    INTERRUPTED = "interrupted"  # InProgress/Interrupted: SageMaker retries by itself
    OUT_OF_WAIT_TIME = "out_of_wait_time"  # Stopped/MaxWaitTimeExceeded
    NO_CAPACITY = "no_capacity"  # Failed with a capacity reason
    OTHER = "other"  # not a Spot or capacity ending: none of our business


def classify(status: str, secondary_status: str | None, failure_reason: str | None) -> Ending:
    if status == "InProgress" and secondary_status == "Interrupted":
        return Ending.INTERRUPTED
    if status == "Stopped" and secondary_status == "MaxWaitTimeExceeded":
        return Ending.OUT_OF_WAIT_TIME
    reason = (failure_reason or "").lower()
    if status == "Failed" and any(marker in reason for marker in CAPACITY_MARKERS):
        return Ending.NO_CAPACITY
    return Ending.OTHER


class SpotPolicy(BaseModel):
    """How far the control plane goes to finish a training job that ran out of capacity."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    max_spot_attempts: int = Field(
        3,
        ge=1,
        le=10,
        description="Spot attempts per lineage and instance type, the original job included; "
        "the next failure falls back",
    )
    fallback: Literal["on_demand", "next_instance_type", "give_up"] = Field(
        "on_demand",
        description="after the Spot attempts: the same job on on-demand capacity, the next "
        "instance type of fallback_instance_types, or stop and notify",
    )
    fallback_instance_types: tuple[str, ...] = Field(
        (), description="instance types to move to, in order (fallback next_instance_type)"
    )
    without_checkpoint: Literal["restart", "notify"] = Field(
        "restart",
        description="a job without CheckpointConfig restarts from zero: start the copy anyway, "
        "or only notify",
    )
    wait_time_ratio: float = Field(
        2.0, ge=1.0, le=10.0, description="MaxWaitTimeInSeconds of a Spot copy, per MaxRuntime"
    )

    @model_validator(mode="after")
    def _types_for_next_instance_type(self) -> SpotPolicy:
        if self.fallback == "next_instance_type" and not self.fallback_instance_types:
            raise ValueError("fallback next_instance_type needs fallback_instance_types")
        bad = [t for t in self.fallback_instance_types if not t.startswith("ml.")]
        if bad:
            raise ValueError(f"not SageMaker instance types (ml.*): {bad}")
        return self


class Step(StrEnum):
    NOTHING = "nothing"
    RECORD_INTERRUPTION = "record_interruption"
    RETRY_PIPELINE = "retry_pipeline"
    RESUME = "resume"
    FALLBACK = "fallback"
    GIVE_UP = "give_up"


@dataclass(frozen=True, slots=True)
class Recovery:
    """What to do about one training job's ending, and why."""

    step: Step
    reason: str
    job_name: str
    lineage_id: str = ""
    attempt: int = 1  # the attempt this decision starts (resume, fallback, retry) or ends
    ending: Ending = Ending.OTHER
    copy_name: str | None = None
    request: dict[str, Any] | None = None  # CreateTrainingJob parameters of the copy
    pipeline_execution_arn: str | None = None
    from_checkpoint: bool = True
    changes: dict[str, list[Any]] = field(default_factory=dict)  # field: [before, after]

    @property
    def starts_something(self) -> bool:
        return self.step in (Step.RESUME, Step.FALLBACK, Step.RETRY_PIPELINE)


# ---------------------------------------------------------------- reading a job


def tags_of(job: dict[str, Any]) -> dict[str, str]:
    """Tags as a dict, from ListTags' list or an event's map."""
    tags = job.get("Tags") or []
    if isinstance(tags, dict):
        return {str(k): str(v) for k, v in tags.items()}
    return {str(t["Key"]): str(t.get("Value", "")) for t in tags}


def lineage_of(job: dict[str, Any], pipeline_execution_arn: str | None = None) -> tuple[str, int]:
    """(lineage id, attempt number) of a job: its pipeline execution, else its copy tags."""
    tags = tags_of(job)
    execution = pipeline_execution_arn or tags.get(PIPELINE_EXECUTION_TAG)
    if execution:
        return execution, 1
    attempt = tags.get(ATTEMPT_TAG, "1")
    lineage = tags.get(LINEAGE_TAG) or str(job["TrainingJobName"])
    return lineage, int(attempt) if attempt.isdigit() else 1


def interruptions(job: dict[str, Any]) -> int:
    """How many times Spot interrupted this job so far (at least one when it is interrupted)."""
    seen = sum(
        1 for t in job.get("SecondaryStatusTransitions") or [] if t.get("Status") == "Interrupted"
    )
    return max(seen, 1)


def copy_name(lineage_id: str, attempt: int) -> str:
    """``<lineage>-a<attempt>``; a long lineage is shortened with a hash to keep names unique
    within SageMaker's 63 characters."""
    suffix = f"-a{attempt}"
    room = 63 - len(suffix)
    base = lineage_id
    if len(base) > room:
        digest = hashlib.sha256(lineage_id.encode()).hexdigest()[:8]
        base = f"{lineage_id[: room - 9].rstrip('-')}-{digest}"
    return base + suffix


# ---------------------------------------------------------------- the decision


def decide(
    job: dict[str, Any],
    lineage: dict[str, Any] | None,
    policy: SpotPolicy,
    pipeline_execution_arn: str | None = None,
) -> Recovery:
    """The recovery step for ``job`` (DescribeTrainingJob + ``Tags``), given its lineage record
    (None before the first failure) and the model's policy."""
    name = str(job["TrainingJobName"])
    ending = classify(
        str(job.get("TrainingJobStatus")), job.get("SecondaryStatus"), job.get("FailureReason")
    )
    lineage_id, attempt = lineage_of(job, pipeline_execution_arn)
    base: dict[str, Any] = {
        "job_name": name,
        "lineage_id": lineage_id,
        "attempt": attempt,
        "ending": ending,
    }
    if ending == Ending.OTHER:
        status = f"{job.get('TrainingJobStatus')}/{job.get('SecondaryStatus')}"
        return Recovery(Step.NOTHING, f"{status} is not a Spot or capacity ending", **base)
    # Before anything else: an event is the job as it was when sent, and may arrive late.
    stale = _already_handled(name, attempt, lineage)
    if stale:
        return Recovery(Step.NOTHING, stale, **base)
    if ending == Ending.INTERRUPTED:
        return Recovery(
            Step.RECORD_INTERRUPTION,
            f"Spot interrupted {name} ({interruptions(job)} so far); SageMaker resumes it itself",
            **base,
        )
    execution = pipeline_execution_arn or tags_of(job).get(PIPELINE_EXECUTION_TAG)
    if execution:
        return _pipeline(job, lineage, policy, execution, base)
    return _standalone(job, lineage, policy, base)


def _already_handled(name: str, attempt: int, lineage: dict[str, Any] | None) -> str | None:
    if not lineage:
        return None
    if name in (lineage.get("handled") or []):
        return f"{name} was already handled (a duplicate, or an earlier change arriving late)"
    if lineage.get("status") == GIVEN_UP:
        return f"lineage {lineage.get('lineage_id')} was given up; nothing more is started"
    latest = int(lineage.get("attempt", 1))
    if latest > attempt and lineage.get("kind") != "pipeline":
        return f"attempt {latest} of this lineage already started after {name} (stale event)"
    return None


def _ending_text(job: dict[str, Any], ending: Ending) -> str:
    if ending == Ending.OUT_OF_WAIT_TIME:
        wait = (job.get("StoppingCondition") or {}).get("MaxWaitTimeInSeconds")
        return f"ran out of Spot wait time (MaxWaitTimeInSeconds {wait})"
    return f"failed for lack of capacity: {str(job.get('FailureReason', ''))[:200]}"


def _no_checkpoint_refusal(job: dict[str, Any], policy: SpotPolicy) -> str | None:
    if job.get("CheckpointConfig") or policy.without_checkpoint == "restart":
        return None
    return (
        f"{job['TrainingJobName']} has no CheckpointConfig: a copy would restart from zero and "
        "pay for the lost progress again; the policy says notify instead (without_checkpoint)"
    )


def _pipeline(
    job: dict[str, Any],
    lineage: dict[str, Any] | None,
    policy: SpotPolicy,
    execution: str,
    base: dict[str, Any],
) -> Recovery:
    # Attempt n of a pipeline lineage is the execution's (n-1)th retry.
    failures = len((lineage or {}).get("handled") or []) + 1
    why = _ending_text(job, base["ending"])
    ended = base | {"attempt": failures, "pipeline_execution_arn": execution}
    refusal = _no_checkpoint_refusal(job, policy)
    if refusal:
        return Recovery(Step.GIVE_UP, refusal, from_checkpoint=False, **ended)
    if failures >= policy.max_spot_attempts:
        return Recovery(
            Step.GIVE_UP,
            f"{job['TrainingJobName']} {why}; the pipeline's training steps failed for capacity "
            f"{failures} times (max_spot_attempts {policy.max_spot_attempts}). A pipeline step's "
            "Spot setting and instance type come from the pipeline definition: change it there",
            **ended,
        )
    return Recovery(
        Step.RETRY_PIPELINE,
        f"{job['TrainingJobName']} {why}; RetryPipelineExecution resumes the failed step "
        f"(retry {failures} of {policy.max_spot_attempts - 1})",
        from_checkpoint=bool(job.get("CheckpointConfig")),
        **(ended | {"attempt": failures + 1}),
    )


def _standalone(
    job: dict[str, Any], lineage: dict[str, Any] | None, policy: SpotPolicy, base: dict[str, Any]
) -> Recovery:
    name, ending = str(job["TrainingJobName"]), base["ending"]
    tries = _tries(job, lineage)
    spot = bool(job.get("EnableManagedSpotTraining"))
    instance_type = (job.get("ResourceConfig") or {}).get("InstanceType")
    why = f"{name} {_ending_text(job, ending)}"
    on_type = sum(1 for t in tries if t["spot"] and t["instance_type"] == instance_type)
    ours = LINEAGE_TAG in tags_of(job)
    nxt = base | {"attempt": base["attempt"] + 1}

    changes: dict[str, list[Any]] = {}
    if spot and on_type < policy.max_spot_attempts:
        step = Step.RESUME
        reason = f"{why}; Spot attempt {on_type + 1} of {policy.max_spot_attempts}"
    elif not spot and not ours and policy.fallback != "next_instance_type":
        return Recovery(Step.NOTHING, f"{why}; an on-demand job: no Spot to recover", **base)
    else:
        change = _fallback_change(job, policy, spot, instance_type)
        if change is None:
            return Recovery(
                Step.GIVE_UP,
                f"{why}; {on_type} Spot attempts on {instance_type} and no fallback left "
                f"(fallback {policy.fallback})",
                **base,
            )
        changes = change
        step = Step.FALLBACK
        reason = f"{why}; falling back: " + ", ".join(
            f"{k} {v[0]} -> {v[1]}" for k, v in changes.items()
        )
    refusal = _no_checkpoint_refusal(job, policy)
    if refusal:
        return Recovery(Step.GIVE_UP, refusal, from_checkpoint=False, **base)
    new_name = copy_name(base["lineage_id"], nxt["attempt"])
    request = copy_request(job, new_name, base["lineage_id"], nxt["attempt"], policy, changes)
    if len(request["Tags"]) > MAX_TAGS:
        return Recovery(
            Step.GIVE_UP,
            f"{why}; the copy would carry {len(request['Tags'])} tags (SageMaker allows "
            f"{MAX_TAGS}) once the lineage tags are added",
            **base,
        )
    if not job.get("CheckpointConfig"):
        reason += "; no CheckpointConfig: the copy restarts from zero"
    return Recovery(
        step,
        reason,
        copy_name=new_name,
        request=request,
        from_checkpoint=bool(job.get("CheckpointConfig")),
        changes=changes,
        **nxt,
    )


def _tries(job: dict[str, Any], lineage: dict[str, Any] | None) -> list[dict[str, Any]]:
    tries = list((lineage or {}).get("tries") or [])
    if all(t["job"] != job["TrainingJobName"] for t in tries):
        tries.append(try_of(job))
    return tries


def try_of(job: dict[str, Any]) -> dict[str, Any]:
    return {
        "job": str(job["TrainingJobName"]),
        "spot": bool(job.get("EnableManagedSpotTraining")),
        "instance_type": (job.get("ResourceConfig") or {}).get("InstanceType"),
    }


def _fallback_change(
    job: dict[str, Any], policy: SpotPolicy, spot: bool, instance_type: str | None
) -> dict[str, list[Any]] | None:
    if policy.fallback == "on_demand" and spot:
        return {"EnableManagedSpotTraining": [True, False]}
    if policy.fallback != "next_instance_type":
        return None
    if (job.get("ResourceConfig") or {}).get("InstanceGroups"):
        return None  # a heterogeneous cluster has no single instance type to move
    types = list(policy.fallback_instance_types)
    later = types[types.index(instance_type) + 1 :] if instance_type in types else types
    later = [t for t in later if t != instance_type]
    return {"InstanceType": [instance_type, later[0]]} if later else None


# ---------------------------------------------------------------- the copy


def copy_request(
    job: dict[str, Any],
    name: str,
    lineage_id: str,
    attempt: int,
    policy: SpotPolicy,
    changes: dict[str, list[Any]] | None = None,
) -> dict[str, Any]:
    """CreateTrainingJob parameters for a faithful copy of ``job`` under a new name.

    Everything CreateTrainingJob accepts is carried over (hyperparameters, environment, VPC,
    checkpoint, debugger and profiler settings, experiment, retry strategy...), empty values
    dropped; tags too, minus the reserved ones, plus the lineage tags. A Spot copy keeps
    MaxWaitTimeInSeconds at ``wait_time_ratio`` x MaxRuntimeInSeconds; an on-demand copy has none
    (CreateTrainingJob refuses it without Spot).
    """
    changes = changes or {}
    request: dict[str, Any] = {
        key: copy.deepcopy(job[key]) for key in COPIED_FIELDS if _present(job.get(key))
    }
    request["TrainingJobName"] = name
    resources = request.get("ResourceConfig") or {}
    for key in READ_ONLY_RESOURCE_FIELDS:
        resources.pop(key, None)
    if "InstanceType" in changes:
        resources["InstanceType"] = changes["InstanceType"][1]
        resources.pop("InstancePreferences", None)  # the choice is now ours, not SageMaker's
    if "EnableManagedSpotTraining" in changes:
        request["EnableManagedSpotTraining"] = changes["EnableManagedSpotTraining"][1]
    stopping = request.get("StoppingCondition") or {}
    if request.get("EnableManagedSpotTraining"):
        runtime = int(stopping.get("MaxRuntimeInSeconds", DEFAULT_MAX_RUNTIME))
        stopping["MaxWaitTimeInSeconds"] = max(runtime, round(runtime * policy.wait_time_ratio))
    else:
        stopping.pop("MaxWaitTimeInSeconds", None)
    if stopping:
        request["StoppingCondition"] = stopping
    request["Tags"] = _copy_tags(job, lineage_id, attempt, changes)
    return request


def _present(value: Any) -> bool:
    return value is not None and value != {} and value != []


def _copy_tags(
    job: dict[str, Any], lineage_id: str, attempt: int, changes: dict[str, list[Any]]
) -> list[dict[str, str]]:
    ours = {
        LINEAGE_TAG: lineage_id,
        ATTEMPT_TAG: str(attempt),
        RESUMED_FROM_TAG: str(job["TrainingJobName"]),
    }
    if "EnableManagedSpotTraining" in changes:
        ours[FALLBACK_TAG] = "on-demand"
    elif "InstanceType" in changes:
        ours[FALLBACK_TAG] = f"instance-type:{changes['InstanceType'][1]}"
    kept = {
        k: v
        for k, v in tags_of(job).items()
        if not k.startswith(RESERVED_TAG_PREFIXES) and k not in ours and k != FALLBACK_TAG
    }
    return [{"Key": k, "Value": v} for k, v in (kept | ours).items()]


# ---------------------------------------------------------------- the lineage record


def next_lineage(
    lineage: dict[str, Any] | None, recovery: Recovery, job: dict[str, Any], model_id: str
) -> dict[str, Any]:
    """The lineage record once ``recovery`` is applied (without the table's key attributes)."""
    record = dict(lineage or {})
    record.setdefault("lineage_id", recovery.lineage_id)
    record.setdefault("kind", "pipeline" if recovery.pipeline_execution_arn else "standalone")
    record.setdefault("model_id", model_id)
    record["handled"] = [*(record.get("handled") or []), recovery.job_name]
    tries = _tries(job, lineage)
    if recovery.request is not None and recovery.copy_name:
        tries.append(try_of(recovery.request | {"TrainingJobName": recovery.copy_name}))
    record["tries"] = tries
    record["attempt"] = max(int(record.get("attempt", 1)), recovery.attempt)
    record["status"] = GIVEN_UP if recovery.step == Step.GIVE_UP else ACTIVE
    record["version"] = int(record.get("version", 0)) + 1
    return record


# ---------------------------------------------------------------- what humans are told


def notice(recovery: Recovery, model_id: str) -> Notification | None:
    """A page for the steps a human should know about: a fallback (it costs more) and giving
    up (the training will not finish by itself). Resumes and retries are only recorded."""
    facts = {
        "lineage": recovery.lineage_id,
        "failed job": recovery.job_name,
        "attempt": str(recovery.attempt),
    }
    if recovery.step == Step.FALLBACK:
        return Notification(
            kind="training_fallback",
            model_id=model_id,
            subject_id=recovery.lineage_id,
            title=f"[spot fallback] {recovery.job_name}: started {recovery.copy_name}",
            lines=[recovery.reason, "the fallback costs more than Spot; the lineage continues"],
            severity="warning",
            facts=facts | {"new job": str(recovery.copy_name)},
        )
    if recovery.step == Step.GIVE_UP:
        return Notification(
            kind="training_given_up",
            model_id=model_id,
            subject_id=recovery.lineage_id,
            title=f"[spot given up] {recovery.job_name}: training will not finish on its own",
            lines=[recovery.reason, "nothing more is started for this lineage"],
            severity="critical",
            facts=facts,
        )
    return None
