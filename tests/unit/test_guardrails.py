"""Guardrail rules over training jobs and endpoints, enforcement and the digest."""

from __future__ import annotations

from typing import Any

import pytest
from mlops_core import guardrails, spot
from mlops_core.guardrails import GuardrailPolicy, Rule
from pydantic import ValidationError


def job(
    *,
    spot_on: bool = True,
    checkpoint: bool = True,
    runtime: int | None = 3600,
    wait: int | None = 7200,
    tags: dict[str, str] | None = None,
) -> dict[str, Any]:
    stopping = {
        k: v
        for k, v in {"MaxRuntimeInSeconds": runtime, "MaxWaitTimeInSeconds": wait}.items()
        if v is not None
    }
    described: dict[str, Any] = {
        "TrainingJobName": "churn-train",
        "TrainingJobStatus": "InProgress",
        "EnableManagedSpotTraining": spot_on,
        "StoppingCondition": stopping,
        "Tags": [{"Key": k, "Value": v} for k, v in (tags or {}).items()],
    }
    if checkpoint:
        described["CheckpointConfig"] = {"S3Uri": "s3://b/ckpt"}
    return described


def rules(found: list[guardrails.Finding]) -> set[Rule]:
    return {f.rule for f in found}


@pytest.mark.parametrize(
    ("described", "expected"),
    [
        (job(), set()),
        (job(spot_on=False, wait=None), {Rule.TRAINING_WITHOUT_SPOT}),
        (job(checkpoint=False), {Rule.TRAINING_WITHOUT_CHECKPOINT}),
        (
            job(spot_on=False, checkpoint=False, wait=None),
            {Rule.TRAINING_WITHOUT_SPOT, Rule.TRAINING_WITHOUT_CHECKPOINT},
        ),
        (job(wait=3600), {Rule.SPOT_WAIT_TIME}),  # 1x: no time to wait for capacity
        (job(wait=36000), {Rule.SPOT_WAIT_TIME}),  # 10x
        (job(wait=None), {Rule.SPOT_WAIT_TIME}),
        (job(wait=5400), set()),  # 1.5x: inside the 25% tolerance
        (job(wait=9000), set()),  # 2.5x
        (job(wait=5399), {Rule.SPOT_WAIT_TIME}),
        (job(runtime=None, wait=172800), set()),  # the default runtime is one day
        (job(spot_on=False, wait=None, runtime=60), {Rule.TRAINING_WITHOUT_SPOT}),
    ],
)
def test_training_job_rules(described: dict[str, Any], expected: set[Rule]) -> None:
    assert rules(guardrails.check_training_job(described, GuardrailPolicy())) == expected


def test_findings_say_what_is_wrong_and_what_it_costs() -> None:
    found = guardrails.check_training_job(job(wait=3600, checkpoint=False), GuardrailPolicy())
    by_rule = {f.rule: f for f in found}
    assert by_rule[Rule.SPOT_WAIT_TIME].message.startswith(
        "MaxWaitTimeInSeconds 3600 is 1.0x MaxRuntimeInSeconds 3600; the guide is 2x (7200 s)"
    )
    assert "interruptions are expected" in by_rule[Rule.TRAINING_WITHOUT_CHECKPOINT].message
    assert all(f.resource == "training-job/churn-train" for f in found)


def test_the_wait_ratio_follows_the_spot_policy() -> None:
    found = guardrails.check_training_job(job(wait=10800), GuardrailPolicy(), wait_time_ratio=3.0)
    assert found == []


def test_warnings_are_the_default_and_enforcement_is_opt_in() -> None:
    described = job(spot_on=False, checkpoint=False, wait=None)
    assert not any(f.enforced for f in guardrails.check_training_job(described, GuardrailPolicy()))
    policy = GuardrailPolicy(enforce=frozenset({Rule.TRAINING_WITHOUT_SPOT}))
    enforced = {f.rule: f.enforced for f in guardrails.check_training_job(described, policy)}
    assert enforced == {Rule.TRAINING_WITHOUT_SPOT: True, Rule.TRAINING_WITHOUT_CHECKPOINT: False}


def test_the_control_planes_own_copies_are_never_stopped_and_its_fallback_is_not_flagged() -> None:
    fallback = job(
        spot_on=False,
        wait=None,
        checkpoint=False,
        tags={spot.LINEAGE_TAG: "churn-train", spot.FALLBACK_TAG: "on-demand"},
    )
    policy = GuardrailPolicy(enforce=frozenset(guardrails.ENFORCEABLE))
    found = guardrails.check_training_job(fallback, policy)
    assert rules(found) == {Rule.TRAINING_WITHOUT_CHECKPOINT}
    assert not any(f.enforced for f in found)


def test_ignored_rules_are_not_checked() -> None:
    policy = GuardrailPolicy(ignore=frozenset({Rule.TRAINING_WITHOUT_SPOT}))
    found = guardrails.check_training_job(job(spot_on=False, wait=None), policy)
    assert found == []


def endpoint(**changes: Any) -> dict[str, Any]:
    facts: dict[str, Any] = {
        "EndpointName": "churn-prod",
        "EndpointConfigName": "churn-prod-v1",
        "DataCaptureConfig": {"EnableCapture": True, "InitialSamplingPercentage": 100},
        "MonitoringSchedules": ["churn-data-quality"],
        "Models": [{"ModelName": "churn-v1", "ModelPackageName": "arn:...:model-package/churn/3"}],
    }
    return facts | changes


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        (endpoint(), set()),
        (endpoint(DataCaptureConfig=None), {Rule.ENDPOINT_WITHOUT_DATA_CAPTURE}),
        (
            endpoint(DataCaptureConfig={"EnableCapture": False}),
            {Rule.ENDPOINT_WITHOUT_DATA_CAPTURE},
        ),
        # EnableCapture is optional in DataCaptureConfig and defaults to enabled
        (endpoint(DataCaptureConfig={"InitialSamplingPercentage": 10}), set()),
        (endpoint(MonitoringSchedules=[]), {Rule.ENDPOINT_WITHOUT_MONITORING}),
        (
            endpoint(Models=[{"ModelName": "churn-v1", "ModelPackageName": None}]),
            {Rule.ENDPOINT_MODEL_NOT_REGISTERED},
        ),
        (
            endpoint(
                DataCaptureConfig=None,
                MonitoringSchedules=[],
                Models=[
                    {"ModelName": "a", "ModelPackageName": "arn:pkg"},
                    {"ModelName": "b", "ModelPackageName": None},
                ],
            ),
            {
                Rule.ENDPOINT_WITHOUT_DATA_CAPTURE,
                Rule.ENDPOINT_WITHOUT_MONITORING,
                Rule.ENDPOINT_MODEL_NOT_REGISTERED,
            },
        ),
    ],
)
def test_endpoint_rules(facts: dict[str, Any], expected: set[Rule]) -> None:
    assert rules(guardrails.check_endpoint(facts, GuardrailPolicy())) == expected


def test_an_unregistered_variant_is_named() -> None:
    facts = endpoint(Models=[{"ModelName": "a", "ModelPackageName": "arn:pkg"}, {"ModelName": "b"}])
    (finding,) = guardrails.check_endpoint(facts, GuardrailPolicy())
    assert finding.message.startswith("serves b, not created from a Model Registry package")
    assert finding.resource == "endpoint/churn-prod"
    assert not finding.enforced


def test_endpoint_rules_cannot_be_enforced() -> None:
    with pytest.raises(ValidationError, match="taking production traffic away"):
        GuardrailPolicy(enforce=frozenset({Rule.ENDPOINT_WITHOUT_MONITORING}))


def test_policy_reads_rule_names() -> None:
    policy = GuardrailPolicy.model_validate({"enforce": ["training.no_spot"]})
    assert policy.enforce == {Rule.TRAINING_WITHOUT_SPOT}
    with pytest.raises(ValidationError):
        GuardrailPolicy.model_validate({"enforce": ["training.no_gpu"]})


def test_the_digest_is_one_notification_grouped_by_resource() -> None:
    items = [
        {
            "resource": "training-job/b",
            "rule": "training.no_spot",
            "message": "m1",
            "model_id": "churn",
        },
        {
            "resource": "endpoint/a",
            "rule": "endpoint.no_monitoring",
            "message": "m2",
            "model_id": "_unknown",
        },
        {
            "resource": "training-job/b",
            "rule": "training.no_checkpoint",
            "message": "m3",
            "model_id": "churn",
            "enforced": True,
        },
    ]
    page = guardrails.digest("digest-1", items)
    assert page.title == "[guardrails] 3 finding(s) on 2 resource(s)"
    assert page.lines == [
        "endpoint/a (no model) endpoint.no_monitoring: m2",
        "training-job/b (churn) [stopped] training.no_checkpoint: m3",
        "training-job/b (churn) training.no_spot: m1",
    ]
    assert page.kind == "guardrail_digest"
    assert page.model_id == guardrails.ALL_MODELS


def test_the_enforcement_page_lists_every_finding_of_the_job() -> None:
    policy = GuardrailPolicy(enforce=frozenset({Rule.TRAINING_WITHOUT_SPOT}))
    found = guardrails.check_training_job(job(spot_on=False, checkpoint=False, wait=None), policy)
    page = guardrails.enforcement_notice("churn", "training-job/churn-train", found)
    assert page.kind == "guardrail_enforced"
    assert len(page.lines) == 2
    assert page.lines[0].startswith("STOPPED training.no_spot")
    assert page.lines[1].startswith("training.no_checkpoint")
