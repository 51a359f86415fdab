"""Spot recovery policy: which step follows which ending, and what the copy looks like."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest
from mlops_core import spot
from mlops_core.spot import Ending, SpotPolicy, Step
from pydantic import ValidationError

CAPACITY = (
    "CapacityError: Unable to provision requested ML compute capacity. Please retry using a "
    "different ML instance type."
)
NAME_PATTERN = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
EXECUTION = "arn:aws:sagemaker:us-east-1:123456789012:pipeline/churn-retrain/execution/8fk3k2m9x1qa"


def job(
    name: str = "churn-train",
    *,
    spot_on: bool = True,
    checkpoint: bool = True,
    status: str = "Stopped",
    secondary: str | None = "MaxWaitTimeExceeded",
    reason: str | None = None,
    instance_type: str = "ml.m5.xlarge",
    tags: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A DescribeTrainingJob response (plus Tags), as the handler hands it to the policy."""
    described: dict[str, Any] = {
        "TrainingJobName": name,
        "TrainingJobArn": f"arn:aws:sagemaker:us-east-1:123456789012:training-job/{name}",
        "TrainingJobStatus": status,
        "SecondaryStatus": secondary,
        "RoleArn": "arn:aws:iam::123456789012:role/sm",
        "AlgorithmSpecification": {"TrainingImage": "img:1", "TrainingInputMode": "File"},
        "OutputDataConfig": {"S3OutputPath": "s3://b/out"},
        "ResourceConfig": {"InstanceType": instance_type, "InstanceCount": 1, "VolumeSizeInGB": 30},
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
        "EnableManagedSpotTraining": spot_on,
        "Tags": [{"Key": k, "Value": v} for k, v in (tags or {"team": "retention"}).items()],
    }
    if spot_on:
        described["StoppingCondition"]["MaxWaitTimeInSeconds"] = 7200
    if checkpoint:
        described["CheckpointConfig"] = {"S3Uri": "s3://b/ckpt", "LocalPath": "/opt/ml/checkpoints"}
    if reason:
        described["FailureReason"] = reason
    return described


def fails(request: dict[str, Any], how: str = "wait") -> dict[str, Any]:
    """The copy SageMaker started from ``request``, after it ran out of capacity too."""
    described = copy.deepcopy(request)
    described["TrainingJobArn"] = f"arn:...:training-job/{request['TrainingJobName']}"
    if how == "wait":
        described |= {"TrainingJobStatus": "Stopped", "SecondaryStatus": "MaxWaitTimeExceeded"}
    else:
        described |= {
            "TrainingJobStatus": "Failed",
            "SecondaryStatus": "Failed",
            "FailureReason": CAPACITY,
        }
    return described


def play(policy: SpotPolicy, first: dict[str, Any], limit: int = 12) -> list[spot.Recovery]:
    """Every copy fails again: the decisions the policy takes until it stops starting copies."""
    decisions, lineage, current = [], None, first
    for number in range(limit):
        decision = spot.decide(current, lineage, policy)
        decisions.append(decision)
        lineage = spot.next_lineage(lineage, decision, current, "churn")
        if decision.request is None:
            return decisions
        current = fails(decision.request, "wait" if number % 2 else "capacity")
    raise AssertionError(f"the policy never stopped: {[d.step for d in decisions]}")


# ---------------------------------------------------------------- endings


@pytest.mark.parametrize(
    ("status", "secondary", "reason", "ending"),
    [
        ("InProgress", "Interrupted", None, Ending.INTERRUPTED),
        ("Stopped", "MaxWaitTimeExceeded", None, Ending.OUT_OF_WAIT_TIME),
        ("Failed", "Failed", CAPACITY, Ending.NO_CAPACITY),
        (
            "Failed",
            "Failed",
            "Unable to provision requested ML compute capacity due to "
            "InsufficientInstanceCapacity error. Please retry using a different ML instance type.",
            Ending.NO_CAPACITY,
        ),
        ("Failed", "Failed", "InsufficientCapacityError: no ml.p3.2xlarge", Ending.NO_CAPACITY),
        ("Failed", "Failed", "AlgorithmError: ExecuteUserScriptError", Ending.OTHER),
        (
            "Failed",
            "Failed",
            "ResourceLimitExceeded: The account-level service limit 'ml.p3.2xlarge for training "
            "job usage' is 0 Instances",
            Ending.OTHER,
        ),
        ("Failed", "Failed", None, Ending.OTHER),
        ("Stopped", "Stopped", None, Ending.OTHER),  # a person stopped it
        ("Stopped", "MaxRuntimeExceeded", None, Ending.OTHER),  # ran too long: not capacity
        ("InProgress", "Training", None, Ending.OTHER),
        ("Completed", "Completed", None, Ending.OTHER),
    ],
)
def test_classify(status: str, secondary: str, reason: str | None, ending: Ending) -> None:
    assert spot.classify(status, secondary, reason) == ending


# ---------------------------------------------------------------- the policy table


@pytest.mark.parametrize(
    ("policy", "steps", "last"),
    [
        (SpotPolicy(), ["resume", "resume", "fallback", "give_up"], "on-demand"),
        (SpotPolicy(fallback="give_up"), ["resume", "resume", "give_up"], None),
        (SpotPolicy(max_spot_attempts=1), ["fallback", "give_up"], "on-demand"),
        (
            SpotPolicy(
                fallback="next_instance_type",
                fallback_instance_types=("ml.m5.xlarge", "ml.m5.2xlarge", "ml.c5.2xlarge"),
            ),
            ["resume", "resume", "fallback"] * 2 + ["resume", "resume", "give_up"],
            "instance-type:ml.c5.2xlarge",
        ),
    ],
    ids=["on_demand", "give_up", "one_spot_attempt", "next_instance_type"],
)
def test_every_copy_failing_walks_the_policy_to_its_end(
    policy: SpotPolicy, steps: list[str], last: str | None
) -> None:
    decisions = play(policy, job())
    assert [str(d.step) for d in decisions] == steps
    fallbacks = [d for d in decisions if d.step == Step.FALLBACK]
    if last:
        tags = spot.tags_of(fallbacks[-1].request or {})
        assert tags[spot.FALLBACK_TAG] == last
    assert decisions[-1].step == Step.GIVE_UP
    assert [d.attempt for d in decisions[:-1]] == list(range(2, len(decisions) + 1))


def test_third_failure_falls_back_to_on_demand_without_max_wait() -> None:
    *_, fallback, _ = play(SpotPolicy(), job())
    request = fallback.request or {}
    assert fallback.step == Step.FALLBACK
    assert fallback.attempt == 4
    assert request["EnableManagedSpotTraining"] is False
    assert "MaxWaitTimeInSeconds" not in request["StoppingCondition"]
    assert request["CheckpointConfig"] == job()["CheckpointConfig"]
    assert fallback.changes == {"EnableManagedSpotTraining": [True, False]}
    assert "falling back" in fallback.reason


def test_resume_keeps_checkpoint_and_links_the_copy_to_its_lineage() -> None:
    decision = spot.decide(job(), None, SpotPolicy())
    request = decision.request or {}
    assert decision.step == Step.RESUME
    assert decision.copy_name == request["TrainingJobName"] == "churn-train-a2"
    assert request["CheckpointConfig"] == job()["CheckpointConfig"]
    assert request["EnableManagedSpotTraining"] is True
    assert spot.tags_of(request) == {
        "team": "retention",
        spot.LINEAGE_TAG: "churn-train",
        spot.ATTEMPT_TAG: "2",
        spot.RESUMED_FROM_TAG: "churn-train",
    }
    assert decision.from_checkpoint
    assert "Spot attempt 2 of 3" in decision.reason


def test_max_wait_of_a_copy_keeps_the_ratio_to_max_runtime() -> None:
    original = job()
    original["StoppingCondition"] = {"MaxRuntimeInSeconds": 5400, "MaxWaitTimeInSeconds": 5400}
    request = spot.decide(original, None, SpotPolicy(wait_time_ratio=2.0)).request or {}
    assert request["StoppingCondition"] == {
        "MaxRuntimeInSeconds": 5400,
        "MaxWaitTimeInSeconds": 10800,
    }
    without_runtime = job()
    without_runtime["StoppingCondition"] = {"MaxWaitTimeInSeconds": 100}
    request = spot.decide(without_runtime, None, SpotPolicy(wait_time_ratio=1.5)).request or {}
    assert request["StoppingCondition"] == {"MaxWaitTimeInSeconds": 129600}  # 1.5 x one day


@pytest.mark.parametrize(
    ("without_checkpoint", "step"), [("restart", Step.RESUME), ("notify", Step.GIVE_UP)]
)
def test_without_checkpoint_the_policy_decides_and_says_why(
    without_checkpoint: str, step: Step
) -> None:
    policy = SpotPolicy.model_validate({"without_checkpoint": without_checkpoint})
    decision = spot.decide(job(checkpoint=False), None, policy)
    assert decision.step == step
    assert not decision.from_checkpoint
    if step == Step.RESUME:
        assert "restarts from zero" in decision.reason
        assert "CheckpointConfig" not in (decision.request or {})
    else:
        assert "no CheckpointConfig" in decision.reason
        assert "restart from zero" in decision.reason
        assert decision.request is None


def test_a_capacity_failure_is_recovered_like_running_out_of_wait_time() -> None:
    failed = job(status="Failed", secondary="Failed", reason=CAPACITY)
    decision = spot.decide(failed, None, SpotPolicy())
    assert decision.step == Step.RESUME
    assert decision.ending == Ending.NO_CAPACITY
    assert "CapacityError" in decision.reason


# ---------------------------------------------------------------- duplicates and order


def test_the_same_failure_decided_twice_starts_nothing_the_second_time() -> None:
    failed = job()
    first = spot.decide(failed, None, SpotPolicy())
    lineage = spot.next_lineage(None, first, failed, "churn")
    again = spot.decide(failed, lineage, SpotPolicy())
    assert again.step == Step.NOTHING
    assert "already handled" in again.reason


def test_a_decision_made_concurrently_asks_for_the_same_copy_name() -> None:
    # two deliveries read the lineage before either wrote it: SageMaker refuses the second name
    first, second = (spot.decide(job(), None, SpotPolicy()) for _ in range(2))
    assert first.copy_name == second.copy_name
    assert first.request == second.request


def test_a_stale_event_of_an_earlier_attempt_starts_nothing() -> None:
    decisions = play(SpotPolicy(fallback="give_up"), job())
    lineage: dict[str, Any] | None = None
    current = job()
    for decision in decisions[:2]:
        lineage = spot.next_lineage(lineage, decision, current, "churn")
        current = fails(decision.request or {})
    # the copy of attempt 2 reported failing again, but under an older attempt tag
    stale = copy.deepcopy(current)
    stale["TrainingJobName"] = "churn-train-old"
    stale["Tags"] = [
        {"Key": spot.LINEAGE_TAG, "Value": "churn-train"},
        {"Key": spot.ATTEMPT_TAG, "Value": "2"},
    ]
    decision = spot.decide(stale, lineage, SpotPolicy())
    assert decision.step == Step.NOTHING
    assert "stale" in decision.reason


def test_a_given_up_lineage_starts_nothing_more() -> None:
    *_, given_up = play(SpotPolicy(fallback="give_up"), job())
    lineage = {"lineage_id": "churn-train", "status": spot.GIVEN_UP, "handled": [], "attempt": 3}
    decision = spot.decide(job("churn-train-a9"), lineage, SpotPolicy())
    assert given_up.step == Step.GIVE_UP
    assert decision.step == Step.NOTHING
    assert "given up" in decision.reason


def test_an_interruption_is_recorded_and_nothing_is_started() -> None:
    interrupted = job(status="InProgress", secondary="Interrupted")
    interrupted["SecondaryStatusTransitions"] = [
        {"Status": "Training"},
        {"Status": "Interrupted"},
        {"Status": "Training"},
        {"Status": "Interrupted"},
    ]
    decision = spot.decide(interrupted, None, SpotPolicy())
    assert decision.step == Step.RECORD_INTERRUPTION
    assert "2 so far" in decision.reason
    assert decision.request is None


@pytest.mark.parametrize(
    ("policy", "step"),
    [
        (SpotPolicy(), Step.NOTHING),
        (
            SpotPolicy(fallback="next_instance_type", fallback_instance_types=("ml.c5.2xlarge",)),
            Step.FALLBACK,
        ),
    ],
)
def test_an_on_demand_job_is_only_moved_when_the_policy_has_instance_types(
    policy: SpotPolicy, step: Step
) -> None:
    failed = job(spot_on=False, status="Failed", secondary="Failed", reason=CAPACITY)
    decision = spot.decide(failed, None, policy)
    assert decision.step == step
    if step == Step.FALLBACK:
        request = decision.request or {}
        assert request["ResourceConfig"]["InstanceType"] == "ml.c5.2xlarge"
        assert request["EnableManagedSpotTraining"] is False


def test_our_on_demand_fallback_failing_for_capacity_is_given_up() -> None:
    *_, fallback, given_up = play(SpotPolicy(), job())
    assert fallback.step == Step.FALLBACK
    assert given_up.step == Step.GIVE_UP
    assert "no fallback left" in given_up.reason


def test_a_heterogeneous_cluster_has_no_instance_type_to_move() -> None:
    failed = job()
    failed["ResourceConfig"] = {"InstanceGroups": [{"InstanceType": "ml.m5.xlarge"}]}
    policy = SpotPolicy(
        max_spot_attempts=1,
        fallback="next_instance_type",
        fallback_instance_types=("ml.c5.2xlarge",),
    )
    assert spot.decide(failed, None, policy).step == Step.GIVE_UP


# ---------------------------------------------------------------- pipelines


def test_a_pipeline_job_is_retried_through_its_execution_then_given_up() -> None:
    tags = {spot.PIPELINE_EXECUTION_TAG: EXECUTION, spot.MODEL_TAG: "churn"}
    policy, lineage, steps = SpotPolicy(), None, []
    for number in range(1, 4):
        failed = job(f"pipelines-8fk3k2m9x1qa-TrainModel-{number}", tags=tags)
        decision = spot.decide(failed, lineage, policy)
        steps.append((decision.step, decision.attempt))
        assert decision.lineage_id == EXECUTION
        assert decision.request is None  # a pipeline step is never copied
        lineage = spot.next_lineage(lineage, decision, failed, "churn")
    assert steps == [(Step.RETRY_PIPELINE, 2), (Step.RETRY_PIPELINE, 3), (Step.GIVE_UP, 3)]
    assert lineage is not None
    assert lineage["kind"] == "pipeline"
    assert lineage["status"] == spot.GIVEN_UP


def test_a_step_event_names_the_execution_even_when_the_job_has_no_tag() -> None:
    decision = spot.decide(job("pipelines-x-Train-1"), None, SpotPolicy(), EXECUTION)
    assert decision.step == Step.RETRY_PIPELINE
    assert decision.pipeline_execution_arn == EXECUTION


# ---------------------------------------------------------------- the copy is faithful


def full_description() -> dict[str, Any]:
    """Every CreateTrainingJob field DescribeTrainingJob returns, plus what it adds itself."""
    described = job(tags={"team": "retention", "aws:cloudformation:stack-name": "s"})
    described |= {
        "HyperParameters": {"eta": "0.2", "max_depth": "5"},
        "AlgorithmSpecification": {
            "TrainingImage": "img:1",
            "TrainingInputMode": "File",
            "MetricDefinitions": [{"Name": "auc", "Regex": "auc=(\\S+)"}],
            "EnableSageMakerMetricsTimeSeries": True,
        },
        "InputDataConfig": [
            {"ChannelName": "train", "DataSource": {"S3DataSource": {"S3Uri": "s3://b/t"}}}
        ],
        "VpcConfig": {"SecurityGroupIds": ["sg-1"], "Subnets": ["subnet-1"]},
        "EnableNetworkIsolation": True,
        "EnableInterContainerTrafficEncryption": True,
        "DebugHookConfig": {"S3OutputPath": "s3://b/debug"},
        "DebugRuleConfigurations": [
            {"RuleConfigurationName": "loss", "RuleEvaluatorImage": "rule:1"}
        ],
        "TensorBoardOutputConfig": {"S3OutputPath": "s3://b/tb"},
        "ExperimentConfig": {"ExperimentName": "churn", "TrialName": "t1"},
        "ProfilerConfig": {"S3OutputPath": "s3://b/prof"},
        "ProfilerRuleConfigurations": [
            {"RuleConfigurationName": "prof", "RuleEvaluatorImage": "rule:2"}
        ],
        "Environment": {"MODEL": "churn", "LOG_LEVEL": "info"},
        "RetryStrategy": {"MaximumRetryAttempts": 2},
        "RemoteDebugConfig": {"EnableRemoteDebug": False},
        "InfraCheckConfig": {"EnableInfraCheck": True},
        "ServerlessJobConfig": {"BaseModelArn": "arn:hub"},
        "MlflowConfig": {"MlflowResourceArn": "arn:mlflow"},
        "ModelPackageConfig": {"ModelPackageGroupArn": "arn:group"},
        # what only Describe says
        "ModelArtifacts": {"S3ModelArtifacts": "s3://b/out/model.tar.gz"},
        "SecondaryStatusTransitions": [{"Status": "MaxWaitTimeExceeded"}],
        "FinalMetricDataList": [{"MetricName": "auc", "Value": 0.9}],
        "BillableTimeInSeconds": 3000,
        "CreationTime": "2026-07-28T03:12:45Z",
        "WarmPoolStatus": {"Status": "Available"},
    }
    described["ResourceConfig"] |= {
        "SelectedInstanceType": "ml.m5.xlarge",
        "SelectedInstanceCount": 1,
        "KeepAlivePeriodInSeconds": 300,
    }
    return described


def test_the_copy_carries_every_field_create_training_job_accepts() -> None:
    described = full_description()
    untouched = copy.deepcopy(described)
    request = spot.decide(described, None, SpotPolicy()).request or {}

    assert described == untouched, "the decision must not change the description it was given"
    assert set(request) == {*spot.COPIED_FIELDS, "TrainingJobName", "Tags"}
    for key in set(spot.COPIED_FIELDS) - {"ResourceConfig", "StoppingCondition"}:
        assert request[key] == described[key], key
    assert request["ResourceConfig"] == {
        "InstanceType": "ml.m5.xlarge",
        "InstanceCount": 1,
        "VolumeSizeInGB": 30,
        "KeepAlivePeriodInSeconds": 300,
    }
    assert request["StoppingCondition"] == {
        "MaxRuntimeInSeconds": 3600,
        "MaxWaitTimeInSeconds": 7200,
    }
    tags = spot.tags_of(request)
    assert "aws:cloudformation:stack-name" not in tags  # reserved: SageMaker refuses it
    assert tags["team"] == "retention"


def test_empty_values_are_not_sent() -> None:
    described = job()
    described["VpcConfig"] = {}  # how events show "no VPC"
    described["HyperParameters"] = {}
    request = spot.decide(described, None, SpotPolicy()).request or {}
    assert "VpcConfig" not in request
    assert "HyperParameters" not in request


def test_moving_instance_type_drops_the_instance_preferences() -> None:
    described = job()
    described["ResourceConfig"]["InstancePreferences"] = [{"InstanceType": "ml.m5.xlarge"}]
    policy = SpotPolicy(
        max_spot_attempts=1,
        fallback="next_instance_type",
        fallback_instance_types=("ml.g5.xlarge",),
    )
    decision = spot.decide(described, None, policy)
    resources = (decision.request or {})["ResourceConfig"]
    assert resources["InstanceType"] == "ml.g5.xlarge"
    assert "InstancePreferences" not in resources
    assert decision.changes == {"InstanceType": ["ml.m5.xlarge", "ml.g5.xlarge"]}


def test_a_copy_over_the_tag_limit_is_given_up_with_the_reason() -> None:
    crowded = job(tags={f"k{i}": "v" for i in range(49)})
    decision = spot.decide(crowded, None, SpotPolicy())
    assert decision.step == Step.GIVE_UP
    assert "52 tags" in decision.reason


@pytest.mark.parametrize(
    "lineage", ["churn-train", "x" * 63, "a" * 40 + "-" + "b" * 40, "a" * 40 + "-" + "c" * 40]
)
def test_copy_names_are_valid_and_deterministic(lineage: str) -> None:
    name = spot.copy_name(lineage, 10)
    assert len(name) <= 63
    assert NAME_PATTERN.match(name)
    assert name == spot.copy_name(lineage, 10)
    assert name.endswith("-a10")


def test_long_lineages_sharing_a_prefix_get_different_copy_names() -> None:
    assert spot.copy_name("a" * 60 + "1", 2) != spot.copy_name("a" * 60 + "2", 2)


# ---------------------------------------------------------------- records and pages


def test_the_lineage_record_tracks_handled_jobs_attempts_and_version() -> None:
    first = spot.decide(job(), None, SpotPolicy())
    record = spot.next_lineage(None, first, job(), "churn")
    assert record == {
        "lineage_id": "churn-train",
        "kind": "standalone",
        "model_id": "churn",
        "handled": ["churn-train"],
        "tries": [
            {"job": "churn-train", "spot": True, "instance_type": "ml.m5.xlarge"},
            {"job": "churn-train-a2", "spot": True, "instance_type": "ml.m5.xlarge"},
        ],
        "attempt": 2,
        "status": spot.ACTIVE,
        "version": 1,
    }


def test_pages_go_out_for_fallbacks_and_giving_up_only() -> None:
    resume, _, fallback, given_up = play(SpotPolicy(), job())
    assert spot.notice(resume, "churn") is None
    fallback_page = spot.notice(fallback, "churn")
    given_up_page = spot.notice(given_up, "churn")
    assert fallback_page is not None
    assert given_up_page is not None
    assert fallback_page.kind == "training_fallback"
    assert fallback_page.facts["new job"] == fallback.copy_name
    assert given_up_page.severity == "critical"
    assert given_up.reason in given_up_page.as_text()


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"fallback": "next_instance_type"}, "needs fallback_instance_types"),
        ({"fallback_instance_types": ("m5.xlarge",)}, "ml.*"),
        ({"max_spot_attempts": 0}, "greater than or equal to 1"),
        ({"fallback": "spot_forever"}, "on_demand"),
    ],
)
def test_a_bad_policy_is_refused_with_a_reason(settings: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(message)):
        SpotPolicy(**settings)
