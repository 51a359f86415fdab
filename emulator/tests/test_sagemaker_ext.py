"""The SageMaker extension through boto3: AWS's shapes, lifecycles and the test hooks."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.client import BaseClient
from botocore.exceptions import ClientError
from mlopscp_emulator import Emulator
from mlopscp_emulator import sagemaker_ext as sm_ext
from mlopscp_emulator.sagemaker_ext import state

pytestmark = pytest.mark.integration
ROLE = "arn:aws:iam::123456789012:role/sagemaker"
FAST = {"Delay": 0, "MaxAttempts": 5}


@pytest.fixture
def sagemaker(emulator: Emulator) -> BaseClient:
    return emulator.client("sagemaker")


def model(sagemaker: BaseClient, name: str) -> str:
    sagemaker.create_model(
        ModelName=name, ExecutionRoleArn=ROLE, PrimaryContainer={"Image": "123.dkr.ecr/model:1"}
    )
    return name


def endpoint_config(sagemaker: BaseClient, name: str, model_name: str, **extra: Any) -> str:
    sagemaker.create_endpoint_config(
        EndpointConfigName=name,
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": model_name,
                "InstanceType": "ml.m5.large",
                "InitialInstanceCount": 1,
                "InitialVariantWeight": 1.0,
            }
        ],
        **extra,
    )
    return name


def in_service_endpoint(sagemaker: BaseClient, unique: str) -> str:
    config = endpoint_config(sagemaker, f"blue-{unique}", model(sagemaker, f"blue-{unique}"))
    sagemaker.create_endpoint(EndpointName=f"ep-{unique}", EndpointConfigName=config)
    sagemaker.get_waiter("endpoint_in_service").wait(EndpointName=f"ep-{unique}", WaiterConfig=FAST)
    return f"ep-{unique}"


def candidate_package(sagemaker: BaseClient, group: str, **fields: Any) -> str:
    """A version pending approval in `group`, tagged stage=candidate; `fields` are added to
    CreateModelPackage's request."""
    arn: str = sagemaker.create_model_package(
        ModelPackageGroupName=group,
        ModelApprovalStatus="PendingManualApproval",
        InferenceSpecification={
            "Containers": [{"Image": "123.dkr.ecr/model:1"}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
        Tags=[{"Key": "stage", "Value": "candidate"}],
        **fields,
    )["ModelPackageArn"]
    return arn


def statuses(sagemaker: BaseClient, endpoint: str, count: int) -> list[tuple[str, str]]:
    described = [sagemaker.describe_endpoint(EndpointName=endpoint) for _ in range(count)]
    return [(d["EndpointStatus"], d["EndpointConfigName"]) for d in described]


# -- endpoints ---------------------------------------------------------------------------------


def test_create_endpoint_goes_creating_then_in_service(sagemaker: BaseClient, unique: str) -> None:
    config = endpoint_config(sagemaker, f"c-{unique}", model(sagemaker, f"m-{unique}"))
    sagemaker.create_endpoint(EndpointName=f"ep-{unique}", EndpointConfigName=config)
    assert statuses(sagemaker, f"ep-{unique}", 2) == [("Creating", config), ("InService", config)]


def test_update_endpoint_goes_updating_then_in_service_on_the_new_config(
    sagemaker: BaseClient, unique: str
) -> None:
    endpoint = in_service_endpoint(sagemaker, unique)
    green = endpoint_config(sagemaker, f"green-{unique}", model(sagemaker, f"green-{unique}"))
    deployment = {
        "BlueGreenUpdatePolicy": {
            "TrafficRoutingConfiguration": {
                "Type": "CANARY",
                "WaitIntervalInSeconds": 300,
                "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": 10},
            },
            "TerminationWaitInSeconds": 0,
            "MaximumExecutionTimeoutInSeconds": 1800,
        },
        "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": f"no-such-alarm-{unique}"}]},
    }
    sagemaker.update_endpoint(
        EndpointName=endpoint, EndpointConfigName=green, DeploymentConfig=deployment
    )
    updating = sagemaker.describe_endpoint(EndpointName=endpoint)
    assert updating["EndpointStatus"] == "Updating"
    assert updating["PendingDeploymentSummary"]["EndpointConfigName"] == green
    with pytest.raises(ClientError, match="Cannot update in-progress endpoint"):
        sagemaker.update_endpoint(EndpointName=endpoint, EndpointConfigName=green)
    sagemaker.get_waiter("endpoint_in_service").wait(EndpointName=endpoint, WaiterConfig=FAST)
    done = sagemaker.describe_endpoint(EndpointName=endpoint)
    assert done["EndpointConfigName"] == green
    assert done["LastDeploymentConfig"] == deployment
    assert "FailureReason" not in done


def test_a_failed_update_rolls_back_to_the_old_config(sagemaker: BaseClient, unique: str) -> None:
    endpoint = in_service_endpoint(sagemaker, unique)
    green = endpoint_config(sagemaker, f"green-{unique}", model(sagemaker, f"green-{unique}"))
    sm_ext.fail_next_update(endpoint, "Model container failed the ping health check")
    sagemaker.update_endpoint(EndpointName=endpoint, EndpointConfigName=green)
    assert statuses(sagemaker, endpoint, 3) == [
        ("Updating", f"blue-{unique}"),
        ("RollingBack", f"blue-{unique}"),
        ("InService", f"blue-{unique}"),
    ]
    described = sagemaker.describe_endpoint(EndpointName=endpoint)
    assert described["FailureReason"] == "Model container failed the ping health check"


def test_an_instance_based_endpoint_is_not_updated_to_serverless(
    sagemaker: BaseClient, unique: str
) -> None:
    endpoint = in_service_endpoint(sagemaker, unique)
    sagemaker.create_endpoint_config(
        EndpointConfigName=f"sl-{unique}",
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": f"blue-{unique}",
                "ServerlessConfig": {"MemorySizeInMB": 2048, "MaxConcurrency": 5},
            }
        ],
    )
    with pytest.raises(ClientError, match="serverless endpoint config"):
        sagemaker.update_endpoint(EndpointName=endpoint, EndpointConfigName=f"sl-{unique}")
    described = sagemaker.describe_endpoint(EndpointName=endpoint)
    assert (described["EndpointStatus"], described["EndpointConfigName"]) == (
        "InService",
        f"blue-{unique}",
    )


def test_an_auto_rollback_alarm_in_alarm_rolls_the_update_back(
    emulator: Emulator, sagemaker: BaseClient, unique: str
) -> None:
    cloudwatch = emulator.client("cloudwatch")
    cloudwatch.put_metric_alarm(
        AlarmName=f"latency-{unique}",
        Namespace="AWS/SageMaker",
        MetricName="ModelLatency",
        Statistic="Average",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1.0,
        ComparisonOperator="GreaterThanThreshold",
    )
    endpoint = in_service_endpoint(sagemaker, unique)
    green = endpoint_config(sagemaker, f"green-{unique}", model(sagemaker, f"green-{unique}"))
    sagemaker.update_endpoint(
        EndpointName=endpoint,
        EndpointConfigName=green,
        DeploymentConfig={
            "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": f"latency-{unique}"}]}
        },
    )
    sagemaker.describe_endpoint(EndpointName=endpoint)  # Updating: the baking period
    cloudwatch.set_alarm_state(
        AlarmName=f"latency-{unique}", StateValue="ALARM", StateReason="latency up"
    )
    sagemaker.get_waiter("endpoint_in_service").wait(EndpointName=endpoint, WaiterConfig=FAST)
    described = sagemaker.describe_endpoint(EndpointName=endpoint)
    assert described["EndpointConfigName"] == f"blue-{unique}"
    assert f"latency-{unique}" in described["FailureReason"]


def test_endpoint_configs_keep_shadow_variants_and_data_capture(
    sagemaker: BaseClient, unique: str
) -> None:
    capture = {
        "EnableCapture": True,
        "InitialSamplingPercentage": 20,
        "DestinationS3Uri": "s3://bucket/capture",
        "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
    }
    shadow = {
        "VariantName": "Shadow",
        "ModelName": model(sagemaker, f"s-{unique}"),
        "InstanceType": "ml.m5.large",
        "InitialInstanceCount": 1,
        "InitialVariantWeight": 1.0,
    }
    endpoint_config(
        sagemaker,
        f"c-{unique}",
        model(sagemaker, f"p-{unique}"),
        DataCaptureConfig=capture,
        ShadowProductionVariants=[shadow],
    )
    described = sagemaker.describe_endpoint_config(EndpointConfigName=f"c-{unique}")
    assert described["ShadowProductionVariants"] == [shadow]
    assert described["DataCaptureConfig"] == capture


def test_a_create_can_fail_as_an_unhealthy_endpoint_does(
    sagemaker: BaseClient, unique: str
) -> None:
    config = endpoint_config(sagemaker, f"c-{unique}", model(sagemaker, f"m-{unique}"))
    sm_ext.fail_next_create(f"ep-{unique}", "The primary container did not pass the ping check")
    sagemaker.create_endpoint(EndpointName=f"ep-{unique}", EndpointConfigName=config)
    assert statuses(sagemaker, f"ep-{unique}", 2) == [("Creating", config), ("Failed", config)]
    described = sagemaker.describe_endpoint(EndpointName=f"ep-{unique}")
    assert described["FailureReason"] == "The primary container did not pass the ping check"
    sagemaker.delete_endpoint(EndpointName=f"ep-{unique}")  # what AWS then asks for


def test_an_aware_time_put_on_an_endpoint_keeps_list_endpoints_sorting(
    sagemaker: BaseClient, unique: str
) -> None:
    old, new = (
        in_service_endpoint(sagemaker, f"old-{unique}"),
        in_service_endpoint(sagemaker, f"new-{unique}"),
    )
    month_ago = datetime.now(UTC) - timedelta(days=30)  # aware, as a caller would write it
    state.put(
        state.backend_for("123456789012", "us-east-1").endpoints[old], creation_time=month_ago
    )
    names = [
        e["EndpointName"]
        for e in sagemaker.list_endpoints(SortBy="CreationTime", SortOrder="Ascending")["Endpoints"]
        if unique in e["EndpointName"]
    ]
    assert names == [old, new]  # moto compared aware with naive times and answered 500


def test_describe_endpoint_summarises_the_data_capture_as_aws_does(
    sagemaker: BaseClient, unique: str
) -> None:
    capture = {
        "EnableCapture": True,
        "InitialSamplingPercentage": 100,
        "DestinationS3Uri": "s3://capture/demand",
        "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
    }
    config = endpoint_config(
        sagemaker, f"c-{unique}", model(sagemaker, f"m-{unique}"), DataCaptureConfig=capture
    )
    sagemaker.create_endpoint(EndpointName=f"ep-{unique}", EndpointConfigName=config)
    described = sagemaker.describe_endpoint(EndpointName=f"ep-{unique}")
    assert described["DataCaptureConfig"] == {
        "EnableCapture": True,
        "CaptureStatus": "Started",
        "CurrentSamplingPercentage": 100,
        "DestinationS3Uri": "s3://capture/demand",
    }
    assert described["ProductionVariants"][0]["CurrentInstanceCount"] == 1


def test_scaling_a_variant_keeps_its_weight_and_a_new_config_sets_the_fleet(
    sagemaker: BaseClient, unique: str
) -> None:
    endpoint = in_service_endpoint(sagemaker, unique)
    # What Application Auto Scaling calls when a policy scales the variant out.
    sagemaker.update_endpoint_weights_and_capacities(
        EndpointName=endpoint,
        DesiredWeightsAndCapacities=[{"VariantName": "AllTraffic", "DesiredInstanceCount": 4}],
    )
    assert sagemaker.describe_endpoint(EndpointName=endpoint)["EndpointStatus"] == "Updating"
    with pytest.raises(ClientError, match="Cannot update in-progress endpoint"):
        sagemaker.update_endpoint_weights_and_capacities(
            EndpointName=endpoint,
            DesiredWeightsAndCapacities=[{"VariantName": "AllTraffic", "DesiredInstanceCount": 5}],
        )
    sagemaker.get_waiter("endpoint_in_service").wait(EndpointName=endpoint, WaiterConfig=FAST)
    (variant,) = sagemaker.describe_endpoint(EndpointName=endpoint)["ProductionVariants"]
    assert (variant["CurrentInstanceCount"], variant["DesiredInstanceCount"]) == (4, 4)
    assert (variant["CurrentWeight"], variant["DesiredWeight"]) == (1.0, 1.0)
    # RetainAllVariantProperties keeps the 4 instances; a plain update takes the config's count.
    retained = endpoint_config(sagemaker, f"r-{unique}", model(sagemaker, f"r-{unique}"))
    sagemaker.update_endpoint(
        EndpointName=endpoint, EndpointConfigName=retained, RetainAllVariantProperties=True
    )
    sagemaker.get_waiter("endpoint_in_service").wait(EndpointName=endpoint, WaiterConfig=FAST)
    live = sagemaker.describe_endpoint(EndpointName=endpoint)["ProductionVariants"][0]
    assert live["CurrentInstanceCount"] == 4
    green = endpoint_config(sagemaker, f"g-{unique}", model(sagemaker, f"g-{unique}"))
    sagemaker.update_endpoint(EndpointName=endpoint, EndpointConfigName=green)
    sagemaker.get_waiter("endpoint_in_service").wait(EndpointName=endpoint, WaiterConfig=FAST)
    live = sagemaker.describe_endpoint(EndpointName=endpoint)["ProductionVariants"][0]
    assert live["CurrentInstanceCount"] == 1


def test_application_auto_scaling_of_a_variant_round_trips_in_moto(
    emulator: Emulator, unique: str
) -> None:
    autoscaling = emulator.client("application-autoscaling")
    resource = f"endpoint/ep-{unique}/variant/AllTraffic"
    dimension = "sagemaker:variant:DesiredInstanceCount"
    autoscaling.register_scalable_target(
        ServiceNamespace="sagemaker",
        ResourceId=resource,
        ScalableDimension=dimension,
        MinCapacity=2,
        MaxCapacity=8,
    )
    tracking = {
        "TargetValue": 1050.0,
        "PredefinedMetricSpecification": {
            "PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"
        },
        "ScaleInCooldown": 300,
        "ScaleOutCooldown": 60,
    }
    autoscaling.put_scaling_policy(
        PolicyName="tracking",
        ServiceNamespace="sagemaker",
        ResourceId=resource,
        ScalableDimension=dimension,
        PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration=tracking,
    )
    (target,) = autoscaling.describe_scalable_targets(
        ServiceNamespace="sagemaker", ResourceIds=[resource], ScalableDimension=dimension
    )["ScalableTargets"]
    assert (target["MinCapacity"], target["MaxCapacity"]) == (2, 8)
    (policy,) = autoscaling.describe_scaling_policies(
        ServiceNamespace="sagemaker", ResourceId=resource, ScalableDimension=dimension
    )["ScalingPolicies"]
    assert policy["TargetTrackingScalingPolicyConfiguration"] == tracking
    autoscaling.delete_scaling_policy(
        PolicyName="tracking",
        ServiceNamespace="sagemaker",
        ResourceId=resource,
        ScalableDimension=dimension,
    )
    autoscaling.deregister_scalable_target(
        ServiceNamespace="sagemaker", ResourceId=resource, ScalableDimension=dimension
    )
    assert not autoscaling.describe_scalable_targets(
        ServiceNamespace="sagemaker", ResourceIds=[resource]
    )["ScalableTargets"]


# -- pipelines ---------------------------------------------------------------------------------


def pipeline(sagemaker: BaseClient, unique: str) -> str:
    sagemaker.create_pipeline(
        PipelineName=f"p-{unique}",
        RoleArn=ROLE,
        PipelineDefinition=json.dumps({"Version": "2020-12-01", "Steps": []}),
    )
    return f"p-{unique}"


def test_the_same_client_request_token_starts_one_execution(
    sagemaker: BaseClient, unique: str
) -> None:
    name = pipeline(sagemaker, unique)
    parameters = [{"Name": "ModelPackageGroup", "Value": "churn"}]
    token = uuid.uuid4().hex
    first = sagemaker.start_pipeline_execution(
        PipelineName=name, ClientRequestToken=token, PipelineParameters=parameters
    )
    again = sagemaker.start_pipeline_execution(
        PipelineName=name, ClientRequestToken=token, PipelineParameters=parameters
    )
    assert first["PipelineExecutionArn"] == again["PipelineExecutionArn"]
    listed = sagemaker.list_pipeline_executions(PipelineName=name)["PipelineExecutionSummaries"]
    assert [s["PipelineExecutionStatus"] for s in listed] == ["Executing"]
    kept = sagemaker.list_pipeline_parameters_for_execution(
        PipelineExecutionArn=first["PipelineExecutionArn"]
    )["PipelineParameters"]
    assert kept == parameters


def test_a_pipeline_execution_fails_is_retried_and_stopped(
    sagemaker: BaseClient, unique: str
) -> None:
    name = pipeline(sagemaker, unique)
    arn = sagemaker.start_pipeline_execution(
        PipelineName=name, ClientRequestToken=uuid.uuid4().hex
    )["PipelineExecutionArn"]
    retry_token = uuid.uuid4().hex
    training_arn = f"arn:aws:sagemaker:us-east-1:123456789012:training-job/t-{unique}"
    sm_ext.set_pipeline_execution_status(arn, "Failed", failure_reason="Step Train failed")
    sm_ext.set_pipeline_execution_steps(
        arn,
        [
            {
                "StepName": "Train",
                "StepStatus": "Failed",
                "FailureReason": "ClientError: spot",
                "Metadata": {"TrainingJob": {"Arn": training_arn}},
            }
        ],
    )
    failed = sagemaker.describe_pipeline_execution(PipelineExecutionArn=arn)
    assert (failed["PipelineExecutionStatus"], failed["FailureReason"]) == (
        "Failed",
        "Step Train failed",
    )
    summary = sagemaker.list_pipeline_executions(PipelineName=name)["PipelineExecutionSummaries"]
    assert summary[0]["PipelineExecutionFailureReason"] == "Step Train failed"
    (step,) = sagemaker.list_pipeline_execution_steps(PipelineExecutionArn=arn)[
        "PipelineExecutionSteps"
    ]
    assert step["Metadata"]["TrainingJob"]["Arn"] == training_arn

    for _ in range(2):  # idempotent on the token
        retried = sagemaker.retry_pipeline_execution(
            PipelineExecutionArn=arn, ClientRequestToken=retry_token
        )
        assert retried["PipelineExecutionArn"] == arn
    executing = sagemaker.describe_pipeline_execution(PipelineExecutionArn=arn)
    assert executing["PipelineExecutionStatus"] == "Executing"
    assert "FailureReason" not in executing
    with pytest.raises(ClientError, match="ConflictException"):
        sagemaker.retry_pipeline_execution(
            PipelineExecutionArn=arn, ClientRequestToken=uuid.uuid4().hex
        )

    sagemaker.stop_pipeline_execution(PipelineExecutionArn=arn, ClientRequestToken=uuid.uuid4().hex)
    seen = [
        sagemaker.describe_pipeline_execution(PipelineExecutionArn=arn)["PipelineExecutionStatus"]
        for _ in range(2)
    ]
    assert seen == ["Stopping", "Stopped"]


# -- monitoring --------------------------------------------------------------------------------


def schedule(sagemaker: BaseClient, unique: str, endpoint: str) -> str:
    sagemaker.create_monitoring_schedule(
        MonitoringScheduleName=f"ms-{unique}",
        MonitoringScheduleConfig={
            "ScheduleConfig": {"ScheduleExpression": "cron(0 * ? * * *)"},
            "MonitoringType": "DataQuality",
            "MonitoringJobDefinition": {
                "MonitoringInputs": [
                    {
                        "EndpointInput": {
                            "EndpointName": endpoint,
                            "LocalPath": "/opt/ml/processing/input",
                        }
                    }
                ],
                "MonitoringOutputConfig": {
                    "MonitoringOutputs": [
                        {
                            "S3Output": {
                                "S3Uri": "s3://bucket/reports",
                                "LocalPath": "/opt/ml/processing/output",
                            }
                        }
                    ]
                },
                "MonitoringResources": {
                    "ClusterConfig": {
                        "InstanceCount": 1,
                        "InstanceType": "ml.m5.large",
                        "VolumeSizeInGB": 20,
                    }
                },
                "MonitoringAppSpecification": {"ImageUri": "156813124566.dkr.ecr/analyzer"},
                "RoleArn": ROLE,
            },
        },
        Tags=[{"Key": "team", "Value": "ml"}],
    )
    return f"ms-{unique}"


def test_monitoring_schedules_round_trip(sagemaker: BaseClient, unique: str) -> None:
    name = schedule(sagemaker, unique, f"churn-{unique}")
    described = sagemaker.describe_monitoring_schedule(MonitoringScheduleName=name)
    assert described["MonitoringScheduleStatus"] == "Pending"
    assert described["EndpointName"] == f"churn-{unique}"
    assert described["MonitoringScheduleArn"].endswith(f":monitoring-schedule/{name}")
    assert (
        sagemaker.describe_monitoring_schedule(MonitoringScheduleName=name)[
            "MonitoringScheduleStatus"
        ]
        == "Scheduled"
    )
    listed = sagemaker.list_monitoring_schedules(
        EndpointName=f"churn-{unique}", MonitoringTypeEquals="DataQuality"
    )
    assert [s["MonitoringScheduleName"] for s in listed["MonitoringScheduleSummaries"]] == [name]
    assert (
        sagemaker.list_monitoring_schedules(
            EndpointName=f"churn-{unique}", MonitoringTypeEquals="ModelQuality"
        )["MonitoringScheduleSummaries"]
        == []
    )
    sagemaker.delete_monitoring_schedule(MonitoringScheduleName=name)
    with pytest.raises(ClientError, match="ResourceNotFound"):
        sagemaker.describe_monitoring_schedule(MonitoringScheduleName=name)


def test_monitoring_executions_are_listed_newest_first_with_their_processing_jobs(
    sagemaker: BaseClient, unique: str
) -> None:
    name = schedule(sagemaker, unique, f"churn-{unique}")
    hour = datetime(2024, 5, 1, 10, tzinfo=UTC)
    older = sm_ext.record_monitoring_execution(name, hour, status="Completed")
    newer = sm_ext.record_monitoring_execution(
        name, hour + timedelta(hours=1), output_uri=f"s3://bucket/reports/{unique}"
    )
    executions = sagemaker.list_monitoring_executions(MonitoringScheduleName=name)[
        "MonitoringExecutionSummaries"
    ]
    assert [e["ProcessingJobArn"] for e in executions] == [
        newer["ProcessingJobArn"],
        older["ProcessingJobArn"],
    ]
    assert executions[0]["MonitoringExecutionStatus"] == "CompletedWithViolations"
    assert executions[0]["ScheduledTime"] == hour + timedelta(hours=1)
    by_endpoint = sagemaker.list_monitoring_executions(EndpointName=f"churn-{unique}")
    assert len(by_endpoint["MonitoringExecutionSummaries"]) == 2
    job = sagemaker.describe_processing_job(ProcessingJobName=newer["ProcessingJobName"])
    assert job["MonitoringScheduleArn"].endswith(f":monitoring-schedule/{name}")
    assert job["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"] == (
        f"s3://bucket/reports/{unique}"
    )
    assert job["ExitMessage"].startswith("CompletedWithViolations")
    last = sagemaker.describe_monitoring_schedule(MonitoringScheduleName=name)
    assert last["LastMonitoringExecutionSummary"]["ProcessingJobArn"] == newer["ProcessingJobArn"]


# -- shadow tests ------------------------------------------------------------------------------


def shadow_test(sagemaker: BaseClient, unique: str, endpoint: str) -> str:
    """Shadow test ``x-<unique>`` of a new model (returned) beside ``blue-<unique>``, scheduled
    to start tomorrow (so it waits for StartInferenceExperiment)."""
    challenger = model(sagemaker, f"challenger-{unique}")
    infrastructure = {
        "InfrastructureType": "RealTimeInference",
        "RealTimeInferenceConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1},
    }
    sagemaker.create_inference_experiment(
        Name=f"x-{unique}",
        Type="ShadowMode",
        RoleArn=ROLE,
        EndpointName=endpoint,
        Schedule={
            "StartTime": datetime.now(UTC) + timedelta(days=1),
            "EndTime": datetime.now(UTC) + timedelta(days=8),
        },
        ModelVariants=[
            {
                "ModelName": f"blue-{unique}",
                "VariantName": "AllTraffic",
                "InfrastructureConfig": infrastructure,
            },
            {
                "ModelName": challenger,
                "VariantName": "Challenger",
                "InfrastructureConfig": infrastructure,
            },
        ],
        ShadowModeConfig={
            "SourceModelVariantName": "AllTraffic",
            "ShadowModelVariants": [
                {"ShadowModelVariantName": "Challenger", "SamplingPercentage": 50}
            ],
        },
        DataStorageConfig={"Destination": "s3://bucket/shadow"},
    )
    return challenger


def test_a_shadow_test_runs_and_promotes_the_shadow_model(
    sagemaker: BaseClient, unique: str
) -> None:
    sm_ext.configure(describes=0)  # every transition settles on the next Describe
    try:
        endpoint = in_service_endpoint(sagemaker, unique)
        challenger = shadow_test(sagemaker, unique, endpoint)
        seen = [sagemaker.describe_inference_experiment(Name=f"x-{unique}")["Status"]]
        sagemaker.start_inference_experiment(Name=f"x-{unique}")
        seen += [sagemaker.describe_inference_experiment(Name=f"x-{unique}")["Status"]]
        assert seen == ["Created", "Running"]
        running = sagemaker.describe_inference_experiment(Name=f"x-{unique}")
        assert running["EndpointMetadata"]["EndpointName"] == endpoint
        assert {v["VariantName"]: v["Status"] for v in running["ModelVariants"]} == {
            "AllTraffic": "InService",
            "Challenger": "InService",
        }
        listed = sagemaker.list_inference_experiments(StatusEquals="Running")
        assert f"x-{unique}" in [e["Name"] for e in listed["InferenceExperiments"]]

        sagemaker.stop_inference_experiment(
            Name=f"x-{unique}",
            ModelVariantActions={"Challenger": "Promote", "AllTraffic": "Retain"},
            DesiredState="Completed",
            Reason="challenger wins",
        )
        done = sagemaker.describe_inference_experiment(Name=f"x-{unique}")
        assert (done["Status"], done["StatusReason"]) == ("Completed", "challenger wins")
        assert "CompletionTime" in done
        config = sagemaker.describe_endpoint(EndpointName=endpoint)["EndpointConfigName"]
        variants = sagemaker.describe_endpoint_config(EndpointConfigName=config)[
            "ProductionVariants"
        ]
        assert [(v["VariantName"], v["ModelName"]) for v in variants] == [
            ("Challenger", challenger)
        ]
    finally:
        sm_ext.configure(describes=1)


def test_an_inference_experiment_goes_creating_then_created(
    sagemaker: BaseClient, unique: str
) -> None:
    endpoint = in_service_endpoint(sagemaker, unique)
    sagemaker.create_inference_experiment(
        Name=f"x-{unique}",
        Type="ShadowMode",
        RoleArn=ROLE,
        EndpointName=endpoint,
        ModelVariants=[
            {
                "ModelName": f"blue-{unique}",
                "VariantName": "AllTraffic",
                "InfrastructureConfig": {
                    "InfrastructureType": "RealTimeInference",
                    "RealTimeInferenceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1},
                },
            }
        ],
        ShadowModeConfig={
            "SourceModelVariantName": "AllTraffic",
            "ShadowModelVariants": [
                {"ShadowModelVariantName": "AllTraffic", "SamplingPercentage": 10}
            ],
        },
    )
    seen = [sagemaker.describe_inference_experiment(Name=f"x-{unique}")["Status"] for _ in range(2)]
    assert seen == ["Creating", "Created"]
    with pytest.raises(ClientError, match="ResourceNotFound"):
        sagemaker.describe_inference_experiment(Name=f"nope-{unique}")


# -- model registry ----------------------------------------------------------------------------


def test_an_approval_keeps_the_packages_customer_metadata(
    sagemaker: BaseClient, unique: str
) -> None:
    group = f"meta-{unique}"
    sagemaker.create_model_package_group(ModelPackageGroupName=group)
    package = candidate_package(
        sagemaker,
        group,
        CustomerMetadataProperties={"IncidentId": "inc-1", "Team": "forecasting"},
    )
    sagemaker.update_model_package(ModelPackageArn=package, ModelApprovalStatus="Approved")
    sagemaker.update_model_package(
        ModelPackageArn=package,
        CustomerMetadataProperties={"Reviewed": "yes"},
        CustomerMetadataPropertiesToRemove=["Team"],
    )
    described = sagemaker.describe_model_package(ModelPackageName=package)
    assert described["ModelApprovalStatus"] == "Approved"
    assert described["CustomerMetadataProperties"] == {"IncidentId": "inc-1", "Reviewed": "yes"}


def test_model_package_group_policies_and_model_package_tags(
    sagemaker: BaseClient, unique: str
) -> None:
    group = f"g-{unique}"
    sagemaker.create_model_package_group(ModelPackageGroupName=group)
    policy = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": "arn:aws:iam::222222222222:root"},
                    "Action": ["sagemaker:DescribeModelPackage"],
                    "Resource": "*",
                }
            ],
        }
    )
    put = sagemaker.put_model_package_group_policy(
        ModelPackageGroupName=group, ResourcePolicy=policy
    )
    assert put["ModelPackageGroupArn"].endswith(f":model-package-group/{group}")
    assert (
        sagemaker.get_model_package_group_policy(ModelPackageGroupName=group)["ResourcePolicy"]
        == policy
    )
    sagemaker.delete_model_package_group_policy(ModelPackageGroupName=group)
    with pytest.raises(ClientError):
        sagemaker.get_model_package_group_policy(ModelPackageGroupName=group)

    package = candidate_package(sagemaker, group)
    sagemaker.add_tags(ResourceArn=package, Tags=[{"Key": "evaluated", "Value": "yes"}])
    tags = sagemaker.list_tags(ResourceArn=package)["Tags"]
    assert {t["Key"]: t["Value"] for t in tags} == {"stage": "candidate", "evaluated": "yes"}


# -- training ----------------------------------------------------------------------------------


def training_job(sagemaker: BaseClient, name: str) -> None:
    sagemaker.create_training_job(
        TrainingJobName=name,
        RoleArn=ROLE,
        AlgorithmSpecification={
            "TrainingImage": "123.dkr.ecr/train:1",
            "TrainingInputMode": "File",
        },
        OutputDataConfig={"S3OutputPath": "s3://bucket/models"},
        ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 10},
        StoppingCondition={"MaxRuntimeInSeconds": 3600, "MaxWaitTimeInSeconds": 7200},
        EnableManagedSpotTraining=True,
        CheckpointConfig={"S3Uri": "s3://bucket/checkpoints", "LocalPath": "/opt/ml/checkpoints"},
        Tags=[{"Key": "pipeline", "Value": "churn"}],
    )


def test_training_jobs_keep_spot_settings_and_follow_the_hooks(
    sagemaker: BaseClient, unique: str
) -> None:
    training_job(sagemaker, f"t-{unique}")
    job = sagemaker.describe_training_job(TrainingJobName=f"t-{unique}")
    assert job["TrainingJobStatus"] == "InProgress"
    assert job["EnableManagedSpotTraining"] is True
    assert job["StoppingCondition"]["MaxWaitTimeInSeconds"] == 7200
    assert job["CheckpointConfig"]["S3Uri"] == "s3://bucket/checkpoints"
    assert sagemaker.list_tags(ResourceArn=job["TrainingJobArn"])["Tags"] == [
        {"Key": "pipeline", "Value": "churn"}
    ]
    sm_ext.set_training_job_status(
        f"t-{unique}",
        "Failed",
        secondary_status="MaxWaitTimeExceeded",
        failure_reason="Spot capacity not available",
    )
    for _ in range(2):  # the hook wins over the automatic lifecycle
        failed = sagemaker.describe_training_job(TrainingJobName=f"t-{unique}")
        assert (
            failed["TrainingJobStatus"],
            failed["SecondaryStatus"],
            failed["FailureReason"],
        ) == ("Failed", "MaxWaitTimeExceeded", "Spot capacity not available")


def test_stop_training_job_goes_stopping_then_stopped(sagemaker: BaseClient, unique: str) -> None:
    training_job(sagemaker, f"t-{unique}")
    sagemaker.stop_training_job(TrainingJobName=f"t-{unique}")
    seen = [
        sagemaker.describe_training_job(TrainingJobName=f"t-{unique}")["TrainingJobStatus"]
        for _ in range(2)
    ]
    assert seen == ["Stopping", "Stopped"]
    with pytest.raises(ClientError, match="status Stopped"):
        sagemaker.stop_training_job(TrainingJobName=f"t-{unique}")


def test_an_untouched_training_job_completes(sagemaker: BaseClient, unique: str) -> None:
    training_job(sagemaker, f"t-{unique}")
    sagemaker.get_waiter("training_job_completed_or_stopped").wait(
        TrainingJobName=f"t-{unique}", WaiterConfig=FAST
    )
    job = sagemaker.describe_training_job(TrainingJobName=f"t-{unique}")
    assert (job["TrainingJobStatus"], job["SecondaryStatus"]) == ("Completed", "Completed")


def test_a_training_job_name_is_refused_twice_as_aws_does(
    sagemaker: BaseClient, unique: str
) -> None:
    training_job(sagemaker, f"t-{unique}")
    sm_ext.set_training_job_status(f"t-{unique}", "Stopped", secondary_status="MaxWaitTimeExceeded")
    with pytest.raises(ClientError) as refused:
        training_job(sagemaker, f"t-{unique}")
    assert refused.value.response["Error"]["Code"] == "ResourceInUse"
    assert "must be unique" in refused.value.response["Error"]["Message"]
    # the first job is untouched, not replaced
    job = sagemaker.describe_training_job(TrainingJobName=f"t-{unique}")
    assert job["SecondaryStatus"] == "MaxWaitTimeExceeded"


def test_training_jobs_keep_the_request_fields_moto_drops(
    sagemaker: BaseClient, unique: str
) -> None:
    metrics = [{"Name": "validation:auc", "Regex": "auc=(\\S+)"}]
    sagemaker.create_training_job(
        TrainingJobName=f"t-{unique}",
        RoleArn=ROLE,
        AlgorithmSpecification={
            "TrainingImage": "123.dkr.ecr/train:1",
            "TrainingInputMode": "File",
            "MetricDefinitions": metrics,
        },
        OutputDataConfig={"S3OutputPath": "s3://bucket/models"},
        ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 10},
        StoppingCondition={"MaxRuntimeInSeconds": 3600},
        Environment={"MODEL": "churn"},
        RetryStrategy={"MaximumRetryAttempts": 2},
    )
    job = sagemaker.describe_training_job(TrainingJobName=f"t-{unique}")
    assert job["AlgorithmSpecification"]["MetricDefinitions"] == metrics
    assert job["Environment"] == {"MODEL": "churn"}
    assert job["RetryStrategy"] == {"MaximumRetryAttempts": 2}
