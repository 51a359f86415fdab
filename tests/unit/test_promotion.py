"""The promotion rules: version order, quality gate, shadow verdict, deployment, how it ended."""

from __future__ import annotations

import base64
import json

import pytest
from mlops_core import promotion as p

POLICY = p.ShadowPolicy(min_invocations=1000, min_compared_predictions=200)


def stats(invocations=2000, e4=0, e5=0, p99=40.0) -> p.VariantStats:
    return p.VariantStats(invocations, e4, e5, p99)


def pairs(compared=500, agreeing=495) -> p.AgreementStats:
    return p.AgreementStats(compared, agreeing)


# ---------------------------------------------------------------- versions and names


@pytest.mark.parametrize(
    ("candidate", "production", "refused_because"),
    [
        (2, 1, None),
        (7, None, None),  # nothing in production yet
        (3, 3, "already the version in production"),
        (1, 2, "older than version 2"),
    ],
)
def test_version_order(candidate: int, production: int | None, refused_because: str | None) -> None:
    refusal = p.order_refusal(candidate, production)
    if refused_because is None:
        assert refusal is None
    else:
        assert refusal is not None
        assert refused_because in refusal


def test_package_arn_is_parsed_and_other_arns_refused() -> None:
    ref = p.parse_package_arn("arn:aws:sagemaker:us-east-2:111122223333:model-package/churn/12")
    assert (ref.account, ref.region, ref.group, ref.version) == (
        "111122223333",
        "us-east-2",
        "churn",
        12,
    )
    with pytest.raises(ValueError, match="versioned model package"):
        p.parse_package_arn("arn:aws:sagemaker:us-east-2:111122223333:model-package/unversioned")


def test_execution_name_is_stable_per_package_and_distinct_across_packages() -> None:
    a = "arn:aws:sagemaker:us-east-1:123456789012:model-package/churn/2"
    b = "arn:aws:sagemaker:us-east-1:123456789012:model-package/churn-eu/2"
    assert p.execution_name("churn", 2, a) == p.execution_name("churn", 2, a)
    assert p.execution_name("churn", 2, a) != p.execution_name("churn", 2, b)
    assert len(p.execution_name("m" * 70, 2, a)) <= 80


def test_resource_names_fit_sagemaker_limits_and_keep_the_version() -> None:
    names = p.resource_names("m" * 70, 123, "s" * 63, "e" * 63)
    for value in names.to_dict().values():
        assert len(value) <= 63
        assert value.endswith("123")


@pytest.mark.parametrize(
    ("status", "notify", "action"),
    [
        ("Approved", False, p.IntakeAction.START),
        ("Rejected", False, p.IntakeAction.RECORD_REJECTED),
        ("PendingManualApproval", True, p.IntakeAction.NOTIFY_PENDING),
        ("PendingManualApproval", False, p.IntakeAction.IGNORE),
    ],
)
def test_intake_action(status: str, notify: bool, action: p.IntakeAction) -> None:
    assert p.intake_action(status, notify) is action


@pytest.mark.parametrize(
    ("status", "stale"),
    [("RUNNING", False), ("PENDING_REDRIVE", False), ("SUCCEEDED", True), (None, True)],
)
def test_a_lock_is_stale_once_its_execution_stopped(status: str | None, stale: bool) -> None:
    assert p.lock_is_stale(status) is stale


# ---------------------------------------------------------------- quality gate

SAGEMAKER_EVALUATION = {
    "binary_classification_metrics": {
        "auc": {"value": 0.91, "standard_deviation": 0.01},
        "accuracy": {"value": 0.88, "standard_deviation": 0.02},
        "confusion_matrix": {"0": {"0": 10, "1": 2}},
    }
}


def test_sagemaker_evaluation_report_is_flattened_without_its_std_deviations() -> None:
    assert p.flatten_quality(SAGEMAKER_EVALUATION) == {
        "auc": 0.91,
        "accuracy": 0.88,
        "0": 10.0,
        "1": 2.0,
    }
    assert p.flatten_quality({"regression_metrics": {"mse": {"value": 4.2}}}) == {"mse": 4.2}
    assert p.flatten_quality({"auc": 0.9, "flag": True, "nan": float("nan")}) == {"auc": 0.9}


@pytest.mark.parametrize(
    ("candidate", "production", "policy", "passed", "mentions"),
    [
        ({"auc": 0.92}, {"auc": 0.91}, {}, True, "no regression"),
        # 1% relative tolerance of 0.90 is 0.009: 0.892 is within, 0.890 is not.
        ({"auc": 0.892}, {"auc": 0.90}, {}, True, "no regression"),
        ({"auc": 0.890}, {"auc": 0.90}, {}, False, "auc regresses from 0.9 to 0.89"),
        ({"mse": 4.0}, {"mse": 4.2}, {}, True, "no regression"),  # lower is better
        ({"mse": 4.3}, {"mse": 4.2}, {}, False, "mse regresses"),
        ({"mse": 4.3}, {"mse": 4.2}, {"tolerance": 0.05}, True, "5.0%"),
        ({"auc": 0.95, "mse": 5.0}, {"auc": 0.9, "mse": 4.0}, {}, False, "mse"),
        (None, {"auc": 0.9}, {}, False, "no ModelQuality statistics"),
        (None, {"auc": 0.9}, {"require_metrics": False}, True, "allowed"),
        ({"auc": 0.9}, None, {}, True, "production has no ModelQuality"),
        ({"custom": 1.0}, {"other": 2.0}, {}, True, "no metric both packages report"),
        # A configured metric the candidate does not report is a refusal, not a pass.
        (
            {"auc": 0.9},
            {"auc": 0.9, "ndcg": 0.7},
            {"metrics": {"ndcg": "higher_is_better"}},
            False,
            "candidate package does not report it",
        ),
    ],
)
def test_quality_gate(candidate, production, policy, passed: bool, mentions: str) -> None:
    result = p.quality_gate(candidate, production, p.QualityPolicy.model_validate(policy))
    assert result.passed is passed, result.reasons
    assert mentions in " ".join(result.reasons)


def test_quality_gate_rows_carry_the_diff_shown_to_approvers() -> None:
    result = p.quality_gate({"auc": 0.93, "mse": 1.0}, {"auc": 0.9, "mse": 1.2}, p.QualityPolicy())
    assert [(r.name, r.before, r.after, r.higher_is_better) for r in result.rows] == [
        ("auc", 0.9, 0.93, True),
        ("mse", 1.2, 1.0, False),
    ]


# ---------------------------------------------------------------- shadow verdict


@pytest.mark.parametrize(
    ("production", "shadow", "agreement", "outcome", "mentions"),
    [
        (stats(), stats(), pairs(), "pass", "predictions agree on 99.00% of 500 pairs"),
        # Too little traffic is inconclusive, never a pass...
        (stats(10_000), stats(999), pairs(), "inconclusive", "too little traffic"),
        (stats(), stats(), pairs(199, 199), "inconclusive", "only 199 paired predictions"),
        (stats(), stats(p99=None), pairs(), "inconclusive", "no p99 ModelLatency"),
        (stats(), stats(0), pairs(0, 0), "inconclusive", "served 0 requests"),
        # ...but a breached threshold fails on whatever traffic there was.
        (stats(), stats(50, e5=20), pairs(10, 10), "fail", "5xx error rate 40.00%"),
        (stats(e5=2), stats(e5=2), pairs(), "pass", "5xx 0.10% vs 0.10%"),
        (stats(e5=0), stats(e5=4), pairs(), "fail", "5xx error rate 0.20% vs production 0.00%"),
        (stats(e4=10), stats(e4=25), pairs(), "pass", ""),  # 1.25% vs 0.5%: +0.75 points
        (stats(e4=0), stats(e4=21), pairs(), "fail", "4xx error rate"),
        (stats(p99=40), stats(p99=48), pairs(), "pass", "48.0 ms vs 40.0 ms"),
        (stats(p99=40), stats(p99=48.1), pairs(), "fail", "p99 ModelLatency 48.1 ms"),
        (stats(), stats(), pairs(500, 474), "fail", "predictions agree on 94.80% of 500"),
        (stats(), stats(), pairs(500, 475), "pass", "95.00%"),
    ],
)
def test_shadow_verdict(production, shadow, agreement, outcome: str, mentions: str) -> None:
    verdict = p.shadow_verdict(production, shadow, agreement, POLICY)
    assert str(verdict.outcome) == outcome, verdict.reasons
    assert mentions in " ".join(verdict.reasons)
    assert verdict.proceed is (outcome == "pass")


def test_the_4xx_limit_is_an_increase_over_production_not_an_absolute_rate() -> None:
    # 2.0% shadow vs 0.5% production: +1.5 points, over the default +1 point.
    verdict = p.shadow_verdict(stats(e4=10), stats(e4=40), pairs(), POLICY)
    assert verdict.outcome is p.VerdictOutcome.FAIL
    allowed = p.ShadowPolicy(max_4xx_rate_increase=0.02)
    assert p.shadow_verdict(stats(e4=10), stats(e4=40), pairs(), allowed).outcome == "pass"


def test_an_inconclusive_verdict_reaches_approvers_only_when_the_model_says_so() -> None:
    asks = POLICY.model_copy(update={"on_inconclusive": "ask_approver"})
    verdict = p.shadow_verdict(stats(), stats(10), pairs(), asks)
    assert verdict.outcome is p.VerdictOutcome.INCONCLUSIVE
    assert verdict.proceed
    assert not p.shadow_verdict(stats(), stats(10), pairs(), POLICY).proceed


def test_the_agreement_check_can_be_switched_off() -> None:
    no_capture = POLICY.model_copy(update={"min_compared_predictions": 0})
    verdict = p.shadow_verdict(stats(), stats(), pairs(0, 0), no_capture)
    assert verdict.outcome is p.VerdictOutcome.PASS
    assert "prediction agreement" not in [row.name for row in verdict.rows]


def test_verdict_carries_evidence_and_the_metric_diff() -> None:
    verdict = p.shadow_verdict(stats(p99=40), stats(400, p99=42), pairs(), POLICY).to_dict()
    assert verdict["outcome"] == "inconclusive"
    assert verdict["evidence"]["shadow"]["invocations"] == 400
    assert verdict["evidence"]["thresholds"]["min_invocations"] == 1000
    latency = next(m for m in verdict["metrics"] if m["name"] == "p99 latency (ms)")
    assert latency == {
        "name": "p99 latency (ms)",
        "before": 40,
        "after": 42,
        "higher_is_better": False,
    }
    assert verdict["headline"].startswith("shadow test was inconclusive: too little traffic")


# ---------------------------------------------------------------- data capture


def capture_line(
    output: str,
    encoding: str = "CSV",
    event_id: str = "e1",
    payload: str = "1,2,3",
    inference_id: str | None = None,
    content_type: str = "text/csv",
) -> str:
    metadata = {"eventId": event_id, "inferenceTime": "2026-11-25T10:00:00Z"}
    if inference_id:
        metadata["inferenceId"] = inference_id
    return json.dumps(
        {
            "captureData": {
                "endpointInput": {
                    "observedContentType": "text/csv",
                    "mode": "INPUT",
                    "data": payload,
                    "encoding": "CSV",
                },
                "endpointOutput": {
                    "observedContentType": content_type,
                    "mode": "OUTPUT",
                    "data": output,
                    "encoding": encoding,
                },
            },
            "eventMetadata": metadata,
            "eventVersion": "0",
        }
    )


@pytest.mark.parametrize(
    ("output", "encoding", "content_type", "prediction"),
    [
        ("0.73", "CSV", "text/csv", (0.73,)),
        ("0.7,0.3\n", "CSV", "text/csv", (0.7, 0.3)),
        ("[0.008645681664347649]", "JSON", "application/json", (0.008645681664347649,)),
        (
            '{"predictions": [{"score": 0.4}, {"score": 0.6}]}',
            "JSON",
            "application/json",
            (0.4, 0.6),
        ),
        ('{"label": "churn"}', "JSON", "application/json", ("churn",)),
        (base64.b64encode(b"0.25").decode(), "BASE64", "text/csv", (0.25,)),
        (base64.b64encode(b'{"score": 0.5}').decode(), "BASE64", "application/json", (0.5,)),
        ("{not json", "JSON", "application/json", None),
    ],
)
def test_capture_outputs_are_read_in_every_encoding(output, encoding, content_type, prediction):
    record = p.parse_capture_line(capture_line(output, encoding, content_type=content_type))
    assert record is not None
    assert record.prediction == prediction


def test_lines_that_are_not_capture_records_are_skipped() -> None:
    assert p.parse_capture_line("not json") is None
    assert p.parse_capture_line('{"eventVersion": "0"}') is None


@pytest.mark.parametrize(
    ("a", "b", "agree"),
    [
        ((0.80,), (0.82,), True),  # within 5% of 0.80
        ((0.80,), (0.85,), False),
        ((0.0,), (0.009,), True),  # the absolute tolerance covers values near zero
        ((1.0, 0.0), (1.0,), False),
        (("churn",), ("churn",), True),
        (("churn",), ("stay",), False),
    ],
)
def test_predictions_agree_within_tolerances(a, b, agree: bool) -> None:
    assert p.predictions_agree(a, b, POLICY) is agree


def test_shadow_records_pair_with_production_by_id_then_by_identical_request() -> None:
    production = [
        p.parse_capture_line(capture_line("0.9", event_id="p1", payload="a", inference_id="i1")),
        p.parse_capture_line(capture_line("0.1", event_id="p2", payload="b")),
        p.parse_capture_line(capture_line("0.5", event_id="p3", payload="b")),
    ]
    shadow = [
        # the same inference id (payload differs on purpose: the id wins)
        p.parse_capture_line(capture_line("0.9", event_id="s1", payload="zzz", inference_id="i1")),
        # the same request twice: paired in order with both production records of it
        p.parse_capture_line(capture_line("0.1", event_id="s2", payload="b")),
        p.parse_capture_line(capture_line("0.9", event_id="s3", payload="b")),
        p.parse_capture_line(capture_line("0.3", event_id="s4", payload="never-seen")),
        p.parse_capture_line(capture_line("{bad", "JSON", event_id="s5", payload="a")),
    ]
    result = p.agreement([r for r in production if r], [r for r in shadow if r], POLICY)
    assert (result.compared, result.agreeing, result.unpaired_shadow) == (3, 2, 2)


# ---------------------------------------------------------------- deployment and autoscaling


def test_canary_deployment_config_rolls_back_on_the_alarms() -> None:
    config = p.deployment_config(p.DeploymentPolicy(), ["a-5xx", "a-latency"])
    routing = config["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"]
    assert routing == {
        "Type": "CANARY",
        "WaitIntervalInSeconds": 300,
        "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": 10},
    }
    assert config["BlueGreenUpdatePolicy"]["TerminationWaitInSeconds"] == 600
    assert config["AutoRollbackConfiguration"] == {
        "Alarms": [{"AlarmName": "a-5xx"}, {"AlarmName": "a-latency"}]
    }


@pytest.mark.parametrize(
    ("policy", "timeout"),
    [
        ({"strategy": "linear", "linear_step_percent": 25, "wait_interval_seconds": 600}, 3600),
        ({"wait_interval_seconds": 0, "bake_seconds": 0}, 1200),
        ({"strategy": "linear", "linear_step_percent": 5, "wait_interval_seconds": 3600}, 14400),
    ],
)
def test_deployment_timeout_covers_every_shift_within_sagemaker_limits(policy, timeout) -> None:
    config = p.deployment_config(p.DeploymentPolicy.model_validate(policy), [])
    update = config["BlueGreenUpdatePolicy"]
    assert update["MaximumExecutionTimeoutInSeconds"] == timeout
    if policy.get("strategy") == "linear":
        assert (
            update["TrafficRoutingConfiguration"]["LinearStepSize"]["Value"]
            == policy["linear_step_percent"]
        )


def test_rollback_alarms_watch_the_variant_in_the_units_cloudwatch_uses() -> None:
    errors, latency = p.rollback_alarms("churn-prod", "AllTraffic", p.DeploymentPolicy())
    assert errors["AlarmName"] == "mlopscp-churn-prod-5xx-rate"
    assert errors["Threshold"] == 1.0
    assert errors["Metrics"][2]["ReturnData"] is True
    assert latency["ExtendedStatistic"] == "p99"
    assert latency["Threshold"] == 1_000_000
    assert {"Name": "VariantName", "Value": "AllTraffic"} in latency["Dimensions"]
    assert latency["TreatMissingData"] == "notBreaching"


@pytest.mark.parametrize(
    ("max_rps", "utilization", "target"), [(10, 0.7, 420.0), (2.5, 0.5, 75.0), (100, 1.0, 6000.0)]
)
def test_autoscaling_targets_70_percent_of_benchmarked_rps_per_minute(
    max_rps, utilization, target
) -> None:
    policy = p.AutoscalingPolicy(benchmarked_max_rps=max_rps, target_utilization=utilization)
    assert p.invocations_per_instance_target(policy) == target
    request = p.scaling_policy(policy, "mlopscp-target-tracking")
    tracking = request["TargetTrackingScalingPolicyConfiguration"]
    assert tracking["PredefinedMetricSpecification"]["PredefinedMetricType"] == (
        "SageMakerVariantInvocationsPerInstance"
    )
    assert (tracking["ScaleInCooldown"], tracking["ScaleOutCooldown"]) == (300, 60)


def test_autoscaling_bounds_are_validated() -> None:
    with pytest.raises(ValueError, match="min_instances"):
        p.AutoscalingPolicy(benchmarked_max_rps=5, min_instances=3, max_instances=2)


@pytest.mark.parametrize(
    ("status", "current", "state"),
    [
        ("Updating", "old", p.DeploymentState.IN_PROGRESS),
        ("RollingBack", "old", p.DeploymentState.IN_PROGRESS),
        ("InService", "new", p.DeploymentState.DEPLOYED),
        ("InService", "old", p.DeploymentState.ROLLED_BACK),
        ("InService", "someone-elses", p.DeploymentState.FAILED),
        ("Failed", "old", p.DeploymentState.FAILED),
    ],
)
def test_deployment_state(status: str, current: str, state: p.DeploymentState) -> None:
    assert p.deployment_state(status, current, "new", "old") is state


# ---------------------------------------------------------------- registry policy


def test_group_policy_sets_our_statements_and_keeps_the_others() -> None:
    theirs = {
        "Sid": "AuditReads",
        "Effect": "Allow",
        "Principal": {"AWS": "x"},
        "Action": "sagemaker:DescribeModelPackage",
        "Resource": "r",
    }
    stale = {"Sid": "MlopscppromotionOld", "Effect": "Allow"}
    existing = json.dumps(
        {"Version": "2012-10-17", "Statement": [theirs, stale, {"Sid": "MlopscpPromotionX"}]}
    )
    policy = json.loads(
        p.group_policy(existing, "arn:group", "arn:pkg/churn", ["333333333333", "222222222222"])
    )
    sids = [s["Sid"] for s in policy["Statement"]]
    assert sids == [
        "AuditReads",
        "MlopscppromotionOld",
        "MlopscpPromotionGroup",
        "MlopscpPromotionPackages",
    ]
    packages = policy["Statement"][-1]
    assert packages["Principal"]["AWS"] == [
        "arn:aws:iam::222222222222:root",
        "arn:aws:iam::333333333333:root",
    ]
    assert packages["Resource"] == "arn:pkg/churn/*"
    assert "sagemaker:UpdateModelPackage" not in packages["Action"]
    assert json.loads(p.group_policy(None, "g", "k", ["1"]))["Version"] == "2012-10-17"


# ---------------------------------------------------------------- how it ended


@pytest.mark.parametrize(
    ("state", "outcome", "stage", "mentions"),
    [
        ({"promotion": {"refusal": "version 1 is older"}}, "not_promoted", "prepare", "older"),
        (
            {"promotion": {}, "gate": {"passed": False, "summary": {"reasons": ["auc regresses"]}}},
            "not_promoted",
            "quality_gate",
            "auc regresses",
        ),
        (
            {
                "gate": {"passed": True},
                "verdict": {"proceed": False, "headline": "shadow test failed: 5xx"},
            },
            "not_promoted",
            "shadow",
            "5xx",
        ),
        (
            {
                "verdict": {"proceed": True},
                "approval": {
                    "outcome": "rejected",
                    "decided_by": "ada",
                    "channel": "slack",
                    "reason": "not now",
                },
            },
            "not_promoted",
            "approval",
            "rejected by ada via slack: not now",
        ),
        (
            {"verdict": {"proceed": True}, "approval": {"outcome": "expired"}},
            "not_promoted",
            "approval",
            "expired",
        ),
        (
            {
                "approval": {"outcome": "approved"},
                "deploy": {"rolled_back": True, "failure_reason": "alarm fired"},
            },
            "rolled_back",
            "deploy",
            "alarm fired",
        ),
        (
            {
                "deploy": {"deployed": True},
                "restore": {"restored": True},
                "error": {
                    "Error": "PromotionVerificationError",
                    "Cause": json.dumps({"errorMessage": "variant serves model v1"}),
                },
            },
            "rolled_back",
            "verify",
            "variant serves model v1",
        ),
        (
            {
                "staging": {"endpoint": "x"},
                "error": {"Error": "TargetAccountAccessError", "Cause": "denied"},
            },
            "failed",
            "staging",
            "TargetAccountAccessError: denied",
        ),
        (
            {"deploy": {"deployed": True}, "error": {"Error": "DeploymentError", "Cause": "boom"}},
            "failed",
            "verify",
            "production may serve the candidate",
        ),
        ({}, "failed", "start", "without a recorded reason"),
    ],
)
def test_ending(state, outcome: str, stage: str, mentions: str) -> None:
    end = p.ending(state)
    assert (str(end.outcome), end.stage) == (outcome, stage)
    assert mentions in end.reason
    assert end.severity == ("warning" if outcome == "not_promoted" else "critical")
