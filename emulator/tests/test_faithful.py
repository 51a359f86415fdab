"""Every response our fakes produce, checked against botocore's service model.

One scenario drives each operation the extensions add or change once (in the statuses its
lifecycle shows), recording two things per call: what botocore parsed from the wire (checked for
required members, types, enums, timestamps, lengths) and the raw result the extension handed to
moto's serialiser (checked for members the model does not define, which the serialiser would
drop silently). A newer botocore whose model no longer fits a fake fails here, naming the
operation and the member.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.config import Config
from mlopscp_emulator import Emulator, Stack
from mlopscp_emulator import sagemaker_ext as sm_ext
from moto.core.responses import ActionResult

from .model_check import problems
from .test_sagemaker_ext import (
    ROLE,
    candidate_package,
    endpoint_config,
    in_service_endpoint,
    model,
    pipeline,
    schedule,
    shadow_test,
    training_job,
)

pytestmark = pytest.mark.integration

# The operations each extension answers (added, or changed on moto's own), as AWS names them.
SAGEMAKER = sorted(
    {
        "AddTags",
        "CreateEndpoint",
        "CreateEndpointConfig",
        "CreateModel",
        "CreateModelPackage",
        "CreateTrainingJob",
        "DeleteTags",
        "DescribeEndpoint",
        "DescribeEndpointConfig",
        "DescribePipelineExecution",
        "DescribeProcessingJob",
        "DescribeTrainingJob",
        "ListPipelineExecutions",
        "ListTags",
        "StartPipelineExecution",
        "UpdateEndpointWeightsAndCapacities",
    }
    | {"".join(part.capitalize() for part in name.split("_")) for name in sm_ext._NEW_OPERATIONS}
)
OTHERS = [
    ("cloudwatch", "GetMetricData"),  # cloudwatch_ext: percentiles
    ("sts", "AssumeRole"),  # sts_ext: trust policies
    ("sts", "GetCallerIdentity"),  # sts_ext: signatures
    ("lambda", "GetFunctionUrlConfig"),  # cfn_ext: AWS::Lambda::Url
    # autoscaling_ext: the dimensions of botocore's model (provisioned concurrency)
    ("application-autoscaling", "RegisterScalableTarget"),
    ("application-autoscaling", "DescribeScalableTargets"),
]
OPERATIONS = [("sagemaker", name) for name in SAGEMAKER] + OTHERS
# Operations whose whole answer the extension builds (a dict): its members are checked before
# moto's serialiser drops the ones the model does not define.
OWN_RESULTS = {
    ("sagemaker", "".join(p.capitalize() for p in name.split("_")))
    for name in sm_ext._NEW_OPERATIONS
}
# Deviations kept on purpose, each with its reason; an exemption no longer needed fails.
EXEMPT = {
    ("lambda", "GetFunctionUrlConfig"): {
        # The URL must be the loopback one that serves it; AWS's are 40+ characters long.
        "FunctionUrl: length 23 below the model's min 40",
    },
}


class Recorder:
    def __init__(self) -> None:
        self.parsed: dict[tuple[str, str], list[Any]] = defaultdict(list)
        self.wire: dict[tuple[str, str], list[Any]] = defaultdict(list)
        self.raw: dict[tuple[str, str], list[Any]] = defaultdict(list)
        self.lock = threading.Lock()

    def before_parse(self, operation_model: Any, response_dict: dict[str, Any], **_: Any) -> None:
        """The JSON body as sent: members the client's parser would drop are still in it."""
        content_type = response_dict["headers"].get("content-type", "")
        if response_dict["status_code"] >= 300 or "json" not in content_type:
            return
        key = (operation_model.service_model.service_name, operation_model.name)
        with self.lock:
            self.wire[key].append(json.loads(response_dict["body"] or b"{}"))

    def after_call(self, http_response: Any, parsed: Any, model: Any, **_: Any) -> None:
        if http_response.status_code >= 300:
            return  # an error: the scenario's calls all succeed, so it raises anyway
        with self.lock:
            self.parsed[(model.service_model.service_name, model.name)].append(parsed)

    def client(self, emulator: Emulator, service: str) -> Any:
        client = boto3.client(
            service,
            endpoint_url=emulator.endpoint_url,
            region_name=emulator.region,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=Config(retries={"max_attempts": 0}),
        )
        client.meta.events.register("after-call", self.after_call)
        client.meta.events.register("before-parse", self.before_parse)
        return client


@pytest.fixture(scope="module")
def recorded(emulator: Emulator, http_stack: Stack) -> Recorder:
    recorder = Recorder()
    original = ActionResult.execute_result

    def execute_result(self: ActionResult, context: Any) -> Any:
        key = (context.service_model.service_name, context.operation_model.name)
        with recorder.lock:
            recorder.raw[key].append(self.result)
        return original(self, context)

    ActionResult.execute_result = execute_result  # type: ignore[method-assign]
    try:
        sm_ext.configure(describes=1)
        _drive_sagemaker(recorder.client(emulator, "sagemaker"), uuid.uuid4().hex[:8])
        _drive_others(emulator, recorder, http_stack)
    finally:
        ActionResult.execute_result = original  # type: ignore[method-assign]
    return recorder


@pytest.mark.parametrize(("service", "operation"), OPERATIONS, ids=lambda v: str(v))
def test_responses_fit_botocores_model(recorded: Recorder, service: str, operation: str) -> None:
    output = (
        boto3.session.Session()
        .client(service, region_name="us-east-1")
        .meta.service_model.operation_model(operation)
        .output_shape
    )
    seen = recorded.parsed.get((service, operation), [])
    assert seen, f"{service}:{operation} was not driven by the scenario: add it"
    found = {p for response in seen for p in problems(output, response)}
    found |= {
        f"{p} (on the wire)"
        for body in recorded.wire.get((service, operation), [])
        for p in problems(output, body, unknown=True)
    }
    if (service, operation) in OWN_RESULTS:
        found |= {
            f"{p} (the extension's result)"
            for result in recorded.raw.get((service, operation), [])
            for p in problems(output, result, unknown=True)
        }
    exempt = EXEMPT.get((service, operation), set())
    assert exempt <= found, f"exemptions no longer needed: {sorted(exempt - found)}"
    found -= exempt
    assert not found, f"{service}:{operation} drifted from botocore's model:\n" + "\n".join(
        sorted(found)
    )


def test_the_walker_names_what_drifted() -> None:
    output = (
        boto3.session.Session()
        .client("sagemaker", region_name="us-east-1")
        .meta.service_model.operation_model("DescribeEndpoint")
        .output_shape
    )
    response = {
        "EndpointName": "e",
        "EndpointArn": "arn:aws:sagemaker:us-east-1:123456789012:endpoint/e",
        "EndpointStatus": "Warming",
        "CreationTime": datetime(2024, 1, 1),
        "ProductionVariants": [{"VariantName": "a", "CurrentInstanceCount": "1"}],
        "Colour": "blue",
    }
    assert sorted(problems(output, response)) == [
        "Colour: not a member of DescribeEndpointOutput in the model",
        "CreationTime: timestamp 2024-01-01 00:00:00 has no time zone",
        "EndpointStatus: 'Warming' is not one of the model's values "
        + str(sorted(output.members["EndpointStatus"].enum)),
        "LastModifiedTime: required by the model, missing",
        "ProductionVariants[0].CurrentInstanceCount: integer expected, got str '1'",
    ]
    assert problems(output, {"Colour": "blue", "EndpointName": "e"}, unknown=True) == [
        "Colour: not a member of DescribeEndpointOutput in the model"
    ]


# -- the scenario ------------------------------------------------------------------------------


def _drive_sagemaker(sagemaker: Any, unique: str) -> None:
    endpoint = in_service_endpoint(sagemaker, unique)  # CreateEndpoint, Describe (2 statuses)
    green = endpoint_config(
        sagemaker,
        f"green-{unique}",
        model(sagemaker, f"green-{unique}"),
        ShadowProductionVariants=[
            {
                "VariantName": "Shadow",
                "ModelName": f"green-{unique}",
                "InstanceType": "ml.m5.large",
                "InitialInstanceCount": 1,
            }
        ],
        DataCaptureConfig={
            "EnableCapture": True,
            "InitialSamplingPercentage": 20,
            "DestinationS3Uri": "s3://bucket/capture",
            "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
        },
    )
    sagemaker.describe_endpoint_config(EndpointConfigName=green)
    sm_ext.fail_next_update(endpoint, "Model container failed the ping health check")
    sagemaker.update_endpoint(EndpointName=endpoint, EndpointConfigName=green)
    for _ in range(3):  # Updating, RollingBack, InService with FailureReason
        sagemaker.describe_endpoint(EndpointName=endpoint)
    sagemaker.update_endpoint_weights_and_capacities(
        EndpointName=endpoint,
        DesiredWeightsAndCapacities=[{"VariantName": "AllTraffic", "DesiredInstanceCount": 2}],
    )
    sagemaker.describe_endpoint(EndpointName=endpoint)

    name = pipeline(sagemaker, unique)
    arn = sagemaker.start_pipeline_execution(PipelineName=name, ClientRequestToken=unique * 4)[
        "PipelineExecutionArn"
    ]
    sm_ext.set_pipeline_execution_status(arn, "Failed", failure_reason="Step Train failed")
    sm_ext.set_pipeline_execution_steps(
        arn,
        [
            {
                "StepName": "Train",
                "StepStatus": "Failed",
                "FailureReason": "ClientError: spot",
                "Metadata": {"TrainingJob": {"Arn": f"arn:aws:sagemaker:us-east-1:1:x/{unique}"}},
            }
        ],
    )
    sagemaker.describe_pipeline_execution(PipelineExecutionArn=arn)
    sagemaker.list_pipeline_executions(PipelineName=name)
    sagemaker.list_pipeline_execution_steps(PipelineExecutionArn=arn)
    sagemaker.retry_pipeline_execution(PipelineExecutionArn=arn, ClientRequestToken=unique * 4)
    sagemaker.stop_pipeline_execution(PipelineExecutionArn=arn, ClientRequestToken=unique * 5)
    sagemaker.describe_pipeline_execution(PipelineExecutionArn=arn)

    monitor = schedule(sagemaker, unique, endpoint)
    sagemaker.describe_monitoring_schedule(MonitoringScheduleName=monitor)
    hour = datetime(2024, 5, 1, 10, tzinfo=UTC)
    done = sm_ext.record_monitoring_execution(monitor, hour, output_uri="s3://bucket/r")
    sm_ext.record_monitoring_execution(
        monitor, hour + timedelta(hours=1), status="Failed", failure_reason="Job failed"
    )
    sagemaker.describe_processing_job(ProcessingJobName=done["ProcessingJobName"])
    sagemaker.describe_monitoring_schedule(MonitoringScheduleName=monitor)
    sagemaker.list_monitoring_schedules(EndpointName=endpoint)
    sagemaker.list_monitoring_executions(MonitoringScheduleName=monitor)
    sagemaker.stop_monitoring_schedule(MonitoringScheduleName=monitor)
    sagemaker.start_monitoring_schedule(MonitoringScheduleName=monitor)
    sagemaker.delete_monitoring_schedule(MonitoringScheduleName=monitor)

    _drive_shadow_test(sagemaker, unique, endpoint)

    group = f"g-{unique}"
    sagemaker.create_model_package_group(ModelPackageGroupName=group)
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "*",
                "Principal": {"AWS": "arn:aws:iam::222222222222:root"},
                "Resource": "*",
            }
        ],
    }
    sagemaker.put_model_package_group_policy(
        ModelPackageGroupName=group, ResourcePolicy=json.dumps(policy)
    )
    sagemaker.get_model_package_group_policy(ModelPackageGroupName=group)
    sagemaker.delete_model_package_group_policy(ModelPackageGroupName=group)
    package = candidate_package(sagemaker, group)
    sagemaker.add_tags(ResourceArn=package, Tags=[{"Key": "evaluated", "Value": "yes"}])
    sagemaker.list_tags(ResourceArn=package)
    sagemaker.delete_tags(ResourceArn=package, TagKeys=["evaluated"])
    sagemaker.create_model(
        ModelName=f"pkg-{unique}",
        ExecutionRoleArn=ROLE,
        PrimaryContainer={"ModelPackageName": package},
    )

    _drive_recommender(sagemaker, unique, package)

    training_job(sagemaker, f"t-{unique}")
    sagemaker.describe_training_job(TrainingJobName=f"t-{unique}")
    sagemaker.stop_training_job(TrainingJobName=f"t-{unique}")
    for _ in range(2):  # Stopping, Stopped
        sagemaker.describe_training_job(TrainingJobName=f"t-{unique}")
    training_job(sagemaker, f"f-{unique}")
    sm_ext.set_training_job_status(
        f"f-{unique}",
        "Failed",
        secondary_status="MaxWaitTimeExceeded",
        failure_reason="Spot capacity not available",
    )
    sagemaker.describe_training_job(TrainingJobName=f"f-{unique}")


def _drive_recommender(sagemaker: Any, unique: str, package: str) -> None:
    """A job that completes with a measured recommendation, listed; a second one stopped."""
    sm_ext.set_recommendation_results(
        package, {"ml.m5.large": {"MaxInvocations": 1500, "ModelLatency": 40, "CostPerHour": 0.1}}
    )
    for name in (f"ir-{unique}", f"irs-{unique}"):
        sagemaker.create_inference_recommendations_job(
            JobName=name,
            JobType="Default",
            RoleArn=ROLE,
            InputConfig={
                "ModelPackageVersionArn": package,
                "EndpointConfigurations": [{"InstanceType": "ml.m5.large"}],
            },
        )
    for _ in range(3):  # PENDING, IN_PROGRESS, COMPLETED with its recommendation
        sagemaker.describe_inference_recommendations_job(JobName=f"ir-{unique}")
    sagemaker.list_inference_recommendations_jobs(NameContains=unique)
    sagemaker.stop_inference_recommendations_job(JobName=f"irs-{unique}")
    for _ in range(2):  # STOPPING, STOPPED
        sagemaker.describe_inference_recommendations_job(JobName=f"irs-{unique}")


def _drive_shadow_test(sagemaker: Any, unique: str, endpoint: str) -> None:
    shadow_test(sagemaker, unique, endpoint)
    name = f"x-{unique}"
    for _ in range(2):  # Creating, Created
        sagemaker.describe_inference_experiment(Name=name)
    sagemaker.update_inference_experiment(Name=name, Description="shadow test")
    for _ in range(2):  # Updating, Created
        sagemaker.describe_inference_experiment(Name=name)
    sagemaker.start_inference_experiment(Name=name)
    for _ in range(2):  # Starting, Running
        sagemaker.describe_inference_experiment(Name=name)
    sagemaker.list_inference_experiments()
    sagemaker.stop_inference_experiment(
        Name=name,
        ModelVariantActions={"Challenger": "Promote", "AllTraffic": "Retain"},
        DesiredState="Completed",
        Reason="challenger wins",
    )
    for _ in range(2):  # Stopping, Completed
        sagemaker.describe_inference_experiment(Name=name)
    sagemaker.describe_endpoint(EndpointName=endpoint)


def _drive_others(emulator: Emulator, recorder: Recorder, http_stack: Stack) -> None:
    autoscaling = recorder.client(emulator, "application-autoscaling")
    target = {
        "ServiceNamespace": "sagemaker",
        "ResourceId": "endpoint/faithful/variant/AllTraffic",
        "ScalableDimension": "sagemaker:variant:DesiredProvisionedConcurrency",
    }
    autoscaling.register_scalable_target(**target, MinCapacity=1, MaxCapacity=4)
    autoscaling.describe_scalable_targets(
        ServiceNamespace="sagemaker", ScalableDimension=target["ScalableDimension"]
    )
    cloudwatch = recorder.client(emulator, "cloudwatch")
    dimensions = [{"Name": "EndpointName", "Value": "faithful"}]
    cloudwatch.put_metric_data(
        Namespace="AWS/SageMaker",
        MetricData=[
            {
                "MetricName": "ModelLatency",
                "Dimensions": dimensions,
                "Values": [1.0, 2.0],
                "Counts": [3.0, 1.0],
                "Unit": "Microseconds",
            }
        ],
    )
    now = datetime.now(UTC)
    stat = {
        "Metric": {
            "Namespace": "AWS/SageMaker",
            "MetricName": "ModelLatency",
            "Dimensions": dimensions,
        },
        "Period": 600,
    }
    cloudwatch.get_metric_data(
        MetricDataQueries=[
            {"Id": "p99", "MetricStat": stat | {"Stat": "p99"}},
            {"Id": "mx", "MetricStat": stat | {"Stat": "Maximum"}},
        ],
        StartTime=now - timedelta(minutes=5),
        EndTime=now + timedelta(minutes=5),
    )
    iam = emulator.client("iam", account="454545454545")
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "sts:AssumeRole",
                "Principal": {"AWS": f"arn:aws:iam::{emulator.account}:root"},
            }
        ],
    }
    role = iam.create_role(
        RoleName=f"faithful-{uuid.uuid4().hex[:6]}", AssumeRolePolicyDocument=json.dumps(trust)
    )["Role"]["Arn"]
    sts = recorder.client(emulator, "sts")
    sts.assume_role(RoleArn=role, RoleSessionName="faithful")
    sts.get_caller_identity()
    function = next(iter(http_stack.functions.values()))
    recorder.client(emulator, "lambda").get_function_url_config(FunctionName=function.name)
