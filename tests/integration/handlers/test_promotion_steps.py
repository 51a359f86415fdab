"""The promotion steps against moto in three accounts: what each one creates, refuses, cleans."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from mlops_core.approvals import ApprovalRequest
from mlops_core.errors import DeploymentError, PromotionVerificationError, TargetAccountAccessError
from mlops_runtime import promotion_candidate as candidate
from mlops_runtime import promotion_release as release
from mlops_runtime import promotion_shadow as shadow
from mlops_runtime import promotion_workflow as workflow

from tests.aws_fixtures import LambdaContext, load_handler
from tests.integration.handlers.conftest import drain
from tests.integration.handlers.promotion_world import (
    ENDPOINT,
    PRODUCTION,
    STAGING,
    account_client,
    approve,
    ledger_actions,
    ledger_entry,
    prepared,
    put_config,
    register,
    run,
    serving,
    shadow_running,
    someone_elses_endpoint,
    traffic,
    until,
    verdict_passed,
    world_fixture,  # noqa: F401 - provides the `world` fixture
)

# ---------------------------------------------------------------- prepare and quality gate


def test_prepare_reads_production_and_shares_the_group_keeping_other_statements(world) -> None:
    foreign = {
        "Sid": "Audit",
        "Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::1:root"},
        "Action": "sagemaker:DescribeModelPackage",
        "Resource": "*",
    }
    boto3.client("sagemaker").put_model_package_group_policy(
        ModelPackageGroupName="demand",
        ResourcePolicy=json.dumps({"Version": "2012-10-17", "Statement": [foreign]}),
    )
    info = prepared(world)["promotion"]
    assert info["refusal"] is None
    assert (info["production"]["version"], info["production"]["config"]) == (1, "demand-prod-v1")
    policy = json.loads(
        boto3.client("sagemaker").get_model_package_group_policy(ModelPackageGroupName="demand")[
            "ResourcePolicy"
        ]
    )
    assert policy["Statement"][0] == foreign
    assert set(policy["Statement"][-1]["Principal"]["AWS"]) == {
        f"arn:aws:iam::{STAGING}:root",
        f"arn:aws:iam::{PRODUCTION}:root",
    }


def test_prepare_refuses_the_version_production_already_serves(world) -> None:
    info = prepared(world, version=1)["promotion"]
    assert "already the version in production" in info["refusal"]


def test_a_wrong_external_id_is_denied_naming_the_account_and_the_role(world) -> None:
    from aws_lambda_powertools.utilities import parameters

    boto3.client("secretsmanager").put_secret_value(
        SecretId=world.secret_arn, SecretString="not-the-external-id"
    )
    parameters.clear_caches()
    with pytest.raises(TargetAccountAccessError) as error:
        run(candidate.prepare, world.state())
    assert f"account {PRODUCTION} (role arn:aws:iam::{PRODUCTION}:role/mlopscp-deployer)" in str(
        error.value
    )
    assert "AccessDenied" in str(error.value)


def test_the_quality_gate_refuses_a_regression_and_records_it(world) -> None:
    register(3, {"mse": 4.5, "r2": 0.80})  # mse 12.5% worse than production's 4.0
    state = prepared(world, version=3)
    gate = run(candidate.quality_gate, state)
    assert gate["passed"] is False
    assert "mse regresses from 4 to 4.5" in " ".join(gate["summary"]["reasons"])
    assert "quality_gate_checked" in ledger_actions()


# ---------------------------------------------------------------- staging


def test_staging_gets_tagged_resources_built_from_the_package(world) -> None:
    state = prepared(world)
    state["staging"] = run(candidate.deploy_staging, state)
    assert state["staging"]["ready"] is False
    until(candidate.check_staging, state, "ready", "staging")
    sagemaker = account_client("sagemaker", STAGING)
    endpoint = sagemaker.describe_endpoint(EndpointName="demand-staging")
    config = sagemaker.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
    assert config["DataCaptureConfig"]["DestinationS3Uri"] == f"s3://capture-{STAGING}/demand"
    model = sagemaker.describe_model(ModelName=config["ProductionVariants"][0]["ModelName"])
    assert model["Containers"][0]["ModelPackageName"].endswith("model-package/demand/2")
    tags = sagemaker.list_tags(ResourceArn=endpoint["EndpointArn"])["Tags"]
    assert {"Key": "mlopscp:promotion", "Value": "demand-v2"} in tags
    assert "staging_deployed" in ledger_actions()


def test_staging_refuses_an_endpoint_it_did_not_create(world) -> None:
    sagemaker = account_client("sagemaker", STAGING)
    someone_elses_endpoint(STAGING, "demand-staging")
    state = prepared(world)
    with pytest.raises(DeploymentError, match="was not created by demand-v2"):
        run(candidate.deploy_staging, state)
    state["error"] = {"Error": "DeploymentError", "Cause": "exists"}
    report = run(release.abort, state)
    assert report["outcome"] == "failed"
    assert (
        sagemaker.describe_endpoint(EndpointName="demand-staging")["EndpointConfigName"] == "theirs"
    )
    cleanup = ledger_entry("promotion_failed")["evidence"]["cleanup"]
    assert "endpoint demand-staging: not created by demand-v2, kept" in cleanup["left"]


# ---------------------------------------------------------------- shadow test and verdict


def test_the_verdict_reads_both_variants_and_closes_the_shadow(world) -> None:
    state = shadow_running(world)
    experiment = account_client("sagemaker", PRODUCTION).describe_inference_experiment(
        Name="demand-shadow-v2"
    )
    assert experiment["ShadowModeConfig"]["ShadowModelVariants"][0]["SamplingPercentage"] == 20
    traffic(200)
    state["verdict"] = run(shadow.verdict, state)
    evidence = state["verdict"]["evidence"]
    assert evidence["shadow"] == {
        "invocations": 200.0,
        "errors_4xx": 0.0,
        "errors_5xx": 0.0,
        "p99_latency_ms": 30.0,
    }
    assert evidence["agreement"]["compared"] == 40  # paired by identical requests
    request = state["verdict"]["approval_request"]
    assert request["versions"] == {"production": "v1", "candidate": "v2"}
    # The metric diff is the quality gate's before/after only; the shadow's numbers are a
    # side-by-side with production (never "invocations -80%, worse").
    assert {m["name"] for m in request["metrics"]} == {"mse", "r2"}
    comparison = ApprovalRequest.model_validate(
        {"kind": "promotion", "model_id": "demand", "subject": "x"} | request
    ).comparison
    assert comparison[0].startswith("invocations: production ")
    assert "p99 latency ms: production 30.0, shadow 30.0" in comparison
    until(shadow.check_shadow, state, "ended", "shadow")
    assert (
        not account_client("sagemaker", PRODUCTION)
        .describe_endpoint(EndpointName=ENDPOINT)
        .get("ShadowProductionVariants")
    )


def test_too_little_traffic_is_inconclusive_and_ends_without_promotion(world) -> None:
    state = shadow_running(world)
    traffic(50)
    state["verdict"] = run(shadow.verdict, state)
    assert (state["verdict"]["outcome"], state["verdict"]["proceed"]) == ("inconclusive", False)
    until(shadow.check_shadow, state, "ended", "shadow")
    ended = run(release.abort, state)
    assert (ended["outcome"], ended["stage"]) == ("not_promoted", "shadow")
    assert serving() == ("InService", "demand-prod-v1")
    models = account_client("sagemaker", PRODUCTION).list_models()["Models"]
    assert [m["ModelName"] for m in models] == ["demand-v1"]  # the candidate's model is gone


# ---------------------------------------------------------------- production


def test_deploy_refuses_without_an_approval_record_of_this_promotion(world) -> None:
    state = verdict_passed(world)
    approve(state, subject="demand-v9")  # a record of another promotion
    with pytest.raises(DeploymentError, match="no approval record confirms"):
        run(release.deploy_production, state)
    state["approval"]["approval_id"] = "apv_" + "B" * 22  # no record at all
    with pytest.raises(DeploymentError, match="no approval record confirms"):
        run(release.deploy_production, state)
    assert serving() == ("InService", "demand-prod-v1")


def test_deploy_refuses_when_production_changed_since_the_promotion_began(world) -> None:
    state = verdict_passed(world)
    state["promotion"]["production"]["config"] = "demand-prod-v0"
    with pytest.raises(DeploymentError, match="production changed since the promotion began"):
        run(release.deploy_production, state)


def test_a_rollback_restores_the_autoscaling_the_instance_type_change_removed(world) -> None:
    from mlopscp_emulator import sagemaker_ext

    autoscaling = account_client("application-autoscaling", PRODUCTION)
    resource = f"endpoint/{ENDPOINT}/variant/AllTraffic"
    dimension = "sagemaker:variant:DesiredInstanceCount"
    autoscaling.register_scalable_target(
        ServiceNamespace="sagemaker",
        ResourceId=resource,
        ScalableDimension=dimension,
        MinCapacity=1,
        MaxCapacity=3,
    )
    autoscaling.put_scaling_policy(
        PolicyName="theirs",
        ServiceNamespace="sagemaker",
        ResourceId=resource,
        ScalableDimension=dimension,
        PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration={
            "TargetValue": 100.0,
            "PredefinedMetricSpecification": {
                "PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"
            },
        },
    )
    production = world.config["promotion"]["production"] | {"instance_type": "ml.c5.xlarge"}
    put_config(world, production=production)
    state = verdict_passed(world)
    # The new fleet's 5xx alarm fires during the canary: SageMaker rolls the update back.
    sagemaker_ext.fail_next_update(
        ENDPOINT, "alarm mlopscp-demand-prod-5xx-rate fired", account_id=PRODUCTION
    )
    state["deploy"] = run(release.deploy_production, state)
    assert state["deploy"]["deregistered"] is True  # AWS refuses the type change otherwise
    assert not autoscaling.describe_scalable_targets(ServiceNamespace="sagemaker")[
        "ScalableTargets"
    ]
    until(release.check_deployment, state, "rolled_back", "deploy")
    ended = run(release.abort, state)
    assert (ended["outcome"], ended["stage"]) == ("rolled_back", "deploy")
    assert serving() == ("InService", "demand-prod-v1")
    (target,) = autoscaling.describe_scalable_targets(ServiceNamespace="sagemaker")[
        "ScalableTargets"
    ]
    assert (target["MinCapacity"], target["MaxCapacity"]) == (1, 3)
    policies = autoscaling.describe_scaling_policies(ServiceNamespace="sagemaker")[
        "ScalingPolicies"
    ]
    assert [p["PolicyName"] for p in policies] == ["theirs"]
    assert "deployment_rolled_back" in ledger_actions()
    pages = drain(world.topic_inbox)
    assert pages[-1]["attributes"]["kind"] == "promotion_rolled_back"


def test_verification_failure_puts_production_back_on_the_old_config(world) -> None:
    state = verdict_passed(world)
    state["deploy"] = run(release.deploy_production, state)
    until(release.check_deployment, state, "deployed", "deploy")
    sagemaker = account_client("sagemaker", PRODUCTION)
    # Someone else's deployment lands in between: the endpoint no longer serves the candidate.
    sagemaker.create_endpoint_config(
        EndpointConfigName="hotfix",
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": "demand-v1",
                "InitialInstanceCount": 1,
                "InstanceType": "ml.m5.large",
            }
        ],
    )
    sagemaker.update_endpoint(EndpointName=ENDPOINT, EndpointConfigName="hotfix")
    sagemaker.describe_endpoint(EndpointName=ENDPOINT)
    sagemaker.describe_endpoint(EndpointName=ENDPOINT)
    with pytest.raises(PromotionVerificationError, match="serving demand-v1, not demand-v2"):
        run(release.verify_production, state)
    state["error"] = {"Error": "PromotionVerificationError", "Cause": "serving demand-v1"}
    state["restore"] = run(release.restore_production, state)
    until(release.check_restore, state, "restored", "restore")
    assert serving() == ("InService", "demand-prod-v1")
    ended = run(release.abort, state)
    assert (ended["outcome"], ended["stage"]) == ("rolled_back", "verify")


def test_finish_records_what_production_serves_and_removes_staging(world) -> None:
    state = verdict_passed(world)
    state["deploy"] = run(release.deploy_production, state)
    until(release.check_deployment, state, "deployed", "deploy")
    state["verified"] = run(release.verify_production, state)
    assert state["verified"]["autoscaling"] is None  # no autoscaling section configured
    assert run(release.finish, state)["outcome"] == "promoted"
    assert serving() == ("InService", "demand-prod-v2")
    assert not account_client("sagemaker", STAGING).list_endpoints()["Endpoints"]
    from mlops_runtime.promotions import PromotionStore

    production = PromotionStore("state").production("demand")
    assert (production["version"], production["promotion_id"]) == (2, "demand-v2")
    assert "model_promoted" in ledger_actions()


# ---------------------------------------------------------------- the handler


def test_the_handler_runs_a_named_step_and_refuses_unknown_ones(world) -> None:
    app = load_handler("promotion_step")
    result = app.handler({"step": "prepare", "state": world.state()}, LambdaContext())
    assert result["production"]["config"] == "demand-prod-v1"
    with pytest.raises(ValueError, match="unknown promotion step 'deploy'"):
        app.handler({"step": "deploy", "state": world.state()}, LambdaContext())


def test_deadlines_are_in_utc_and_in_the_future() -> None:
    moment = datetime.fromisoformat(workflow.deadline(5).replace("Z", "+00:00"))
    assert timedelta(minutes=4) < moment - datetime.now(UTC) <= timedelta(minutes=5)
    assert workflow.passed("2000-01-01T00:00:00Z")


def test_staging_needs_the_group_policy_the_control_plane_manages(world) -> None:
    from tests.integration.handlers.promotion_world import share_group_with

    state = prepared(world)  # sets the policy: both accounts may read demand's packages
    share_group_with(PRODUCTION)  # someone narrows it again before staging deploys
    with pytest.raises(DeploymentError) as error:
        run(candidate.deploy_staging, state)
    assert "CreateModel demand-staging-v2 from" in str(error.value)
    assert f"arn:aws:iam::{STAGING}:root is not authorized" in str(error.value)
    assert not account_client("sagemaker", STAGING).list_models()["Models"]
