"""Every error our fakes answer, checked against botocore's service model (error_check.py).

Two sources: the errors the extensions raise (SageMaker, s3_ext, sts_ext; cloudwatch_ext raises
none), driven once each over the wire by a scenario and recorded as the client received them;
and the faults the fault hook injects (faults.py), for every kind, every protocol the service
speaks, and each operation the fault matrix fails. Each must parse with botocore's own parser
into ``Error.Code`` and ``Error.Message``, carry a code the operation's model names (or a common
error, error_check.COMMON_ERRORS, each with its source) and the status the model gives it.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections import defaultdict
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from mlopscp_emulator import Emulator
from mlopscp_emulator import sagemaker_ext as sm_ext
from mlopscp_emulator.faults import KINDS, Faults, error_response

from .error_check import error_problems, modelled_errors, parse_error, service_model
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
OTHER_ACCOUNT = "565656565656"

# (service, operation, code): each error the extensions raise, as the scenario drives it.
DRIVEN = [
    ("sagemaker", "CreateTrainingJob", "ResourceInUse"),  # training: a name taken
    ("sagemaker", "StopTrainingJob", "ValidationException"),  # training: not InProgress
    ("sagemaker", "DescribeInferenceExperiment", "ResourceNotFound"),  # state.member
    ("sagemaker", "CreateInferenceExperiment", "ResourceInUse"),
    ("sagemaker", "CreateInferenceExperiment", "ValidationException"),  # no such endpoint
    ("sagemaker", "StartInferenceExperiment", "ConflictException"),
    ("sagemaker", "StopInferenceExperiment", "ConflictException"),
    ("sagemaker", "UpdateInferenceExperiment", "ConflictException"),
    ("sagemaker", "UpdateEndpoint", "ValidationException"),  # an update in progress
    ("sagemaker", "UpdateEndpointWeightsAndCapacities", "ValidationException"),
    ("sagemaker", "RetryPipelineExecution", "ConflictException"),  # not Failed
    ("sagemaker", "CreateMonitoringSchedule", "ResourceInUse"),
    ("sagemaker", "DescribeMonitoringSchedule", "ResourceNotFound"),
    ("sagemaker", "CreateInferenceRecommendationsJob", "ResourceInUse"),
    ("sagemaker", "StopInferenceRecommendationsJob", "ValidationException"),  # stopped
    ("sagemaker", "DescribeInferenceRecommendationsJob", "ResourceNotFound"),
    ("sagemaker", "GetModelPackageGroupPolicy", "ValidationException"),  # no policy
    ("sagemaker", "CreateModel", "AccessDeniedException"),  # registry: cross-account package
    ("s3", "GetObject", "AccessDenied"),  # s3_ext: another account's bucket
    ("sts", "AssumeRole", "AccessDenied"),  # sts_ext: the trust policy refuses
    ("sts", "GetCallerIdentity", "InvalidClientTokenId"),  # sts_ext: a key nobody issued
]
# Each operation the fault matrix (tests/e2e/test_fault_matrix.py) fails, and a few more.
FAULTED = [
    ("s3", "GetObject"),
    ("dynamodb", "PutItem"),
    ("sagemaker", "StartPipelineExecution"),
    ("sagemaker", "CreateEndpointConfig"),
    ("sagemaker", "UpdateEndpoint"),
    ("sns", "Publish"),
    ("sts", "AssumeRole"),
    ("cloudwatch", "GetMetricData"),
    ("kms", "Decrypt"),
    ("stepfunctions", "SendTaskSuccess"),
    ("lambda", "Invoke"),
    ("secretsmanager", "GetSecretValue"),
    ("sqs", "SendMessage"),
    ("events", "PutEvents"),
]


def _protocol(service: str, headers: Any) -> str:
    """The protocol of an answer (CloudWatch speaks three: the header says which)."""
    model = service_model(service)
    spoken = model.metadata.get("protocols") or [model.protocol]
    content = str(headers.get("content-type", ""))
    if len(spoken) == 1:
        return str(spoken[0])
    if headers.get("smithy-protocol") == "rpc-v2-cbor" or "cbor" in content:
        return "smithy-rpc-v2-cbor"
    return "json" if "json" in content else "query"


class Errors:
    """The error responses clients received, as they came off the wire."""

    def __init__(self) -> None:
        self.seen: dict[tuple[str, str], list[tuple[int, dict[str, str], bytes]]] = defaultdict(
            list
        )
        self.lock = threading.Lock()

    def before_parse(self, operation_model: Any, response_dict: dict[str, Any], **_: Any) -> None:
        if response_dict["status_code"] < 300:
            return
        key = (operation_model.service_model.service_name, operation_model.name)
        answer = (
            response_dict["status_code"],
            dict(response_dict["headers"].items()),
            response_dict["body"],
        )
        with self.lock:
            self.seen[key].append(answer)

    def client(self, emulator: Emulator, service: str, account: str | None = None) -> Any:
        client = emulator.client(service, account=account)
        client.meta.events.register("before-parse", self.before_parse)
        return client

    def codes(self, service: str, operation: str) -> set[str]:
        return {
            str(parse_error(service, operation, _protocol(service, h), s, h, b).get("Code") or "")
            for s, h, b in self.seen.get((service, operation), [])
        }


def _fails(call: Any, **kwargs: Any) -> None:
    try:
        call(**kwargs)
    except ClientError:
        return
    raise AssertionError(f"{call.__name__}({kwargs}) did not fail: the scenario drifted")


@pytest.fixture(scope="module")
def errors(emulator: Emulator) -> Errors:
    recorder = Errors()
    sm_ext.configure(describes=1)
    unique = uuid.uuid4().hex[:8]
    _drive_sagemaker(recorder.client(emulator, "sagemaker"), emulator, recorder, unique)
    _drive_s3_and_sts(emulator, recorder, unique)
    return recorder


@pytest.mark.parametrize(("service", "operation", "code"), DRIVEN, ids=lambda v: str(v))
def test_the_extensions_errors_fit_botocores_model(
    errors: Errors, service: str, operation: str, code: str
) -> None:
    assert code in errors.codes(service, operation), (
        f"{service}:{operation} never answered {code}: the scenario no longer drives it"
    )
    found = {
        p
        for status, headers, body in errors.seen[(service, operation)]
        for p in error_problems(
            service, operation, _protocol(service, headers), status, headers, body
        )
    }
    assert not found, f"{service}:{operation} answered errors AWS would not:\n" + "\n".join(
        sorted(found)
    )


@pytest.mark.parametrize(("service", "operation"), FAULTED, ids=lambda v: str(v))
def test_injected_faults_fit_botocores_model(service: str, operation: str) -> None:
    model = service_model(service)
    faults = Faults()
    found = []
    for kind in (k for k in KINDS if k != "timeout"):  # a timeout answers nothing
        try:
            fault = faults.inject(f"{service}:{operation}", kind)
        except ValueError:  # only an operation whose service models a quota error takes it
            assert kind == "limit_exceeded", f"{service}:{operation} refused {kind}"
            continue
        for protocol in model.metadata.get("protocols") or [model.protocol]:
            status, headers, body = error_response(fault, protocol)
            found += [
                f"{kind} ({protocol}): {p}"
                for p in error_problems(
                    service, operation, protocol, int(status.split()[0]), headers, body
                )
            ]
    assert not found, "\n".join(found)


def test_a_fault_answers_the_operations_own_error_where_its_model_names_one() -> None:
    faults = Faults()
    assert "AuthorizationError" in modelled_errors("sns", "Publish")
    denied = faults.inject("sns:Publish", "access_denied")
    assert (denied.code, denied.status) == ("AuthorizationError", 403)
    assert faults.inject("dynamodb:PutItem", "server_error").code == "InternalServerError"
    throttled = faults.inject("lambda:Invoke", "throttling")
    assert (throttled.code, throttled.status) == ("TooManyRequestsException", 429)
    # none modelled: AWS's common error for the protocol
    assert faults.inject("sagemaker:UpdateEndpoint", "throttling").code == "ThrottlingException"
    assert faults.inject("sts:AssumeRole", "access_denied").status == 403


def test_the_check_names_what_aws_would_not_answer() -> None:
    body = json.dumps({"__type": "TeapotException", "message": "short and stout"}).encode()
    headers = {"Content-Type": "application/x-amz-json-1.1"}
    assert error_problems("sagemaker", "UpdateEndpoint", "json", 400, headers, body) == [
        "TeapotException is not an error of UpdateEndpoint in botocore's model "
        "(['ResourceLimitExceeded']) nor a common error"
    ]
    xml = (
        b"<ErrorResponse><Error><Type>Sender</Type><Code>AuthorizationError</Code>"
        b"<Message>no</Message></Error><RequestId>1</RequestId></ErrorResponse>"
    )
    assert error_problems("sns", "Publish", "query", 400, {"Content-Type": "text/xml"}, xml) == [
        "AuthorizationError: HTTP 400, the model says 403"
    ]
    silent = json.dumps({"__type": "ThrottlingException"}).encode()
    assert error_problems("sagemaker", "UpdateEndpoint", "json", 400, headers, silent) == [
        f"no Error.Message in {silent!r}"
    ]


# -- the scenario ------------------------------------------------------------------------------


def _drive_sagemaker(sagemaker: Any, emulator: Emulator, errors: Errors, unique: str) -> None:
    training_job(sagemaker, f"t-{unique}")
    _fails(
        sagemaker.create_training_job,
        TrainingJobName=f"t-{unique}",
        AlgorithmSpecification={"TrainingImage": "1.dkr.ecr/x:1", "TrainingInputMode": "File"},
        RoleArn=ROLE,
        OutputDataConfig={"S3OutputPath": "s3://bucket/out"},
        ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1},
        StoppingCondition={"MaxRuntimeInSeconds": 60},
    )
    sagemaker.stop_training_job(TrainingJobName=f"t-{unique}")
    for _ in range(2):  # Stopping, Stopped
        sagemaker.describe_training_job(TrainingJobName=f"t-{unique}")
    _fails(sagemaker.stop_training_job, TrainingJobName=f"t-{unique}")

    endpoint = in_service_endpoint(sagemaker, unique)
    _fails(sagemaker.describe_inference_experiment, Name=f"none-{unique}")
    shadow_test(sagemaker, unique, endpoint)
    name = f"x-{unique}"
    _fails(
        sagemaker.create_inference_experiment,
        **_experiment_request(sagemaker, unique, name, endpoint),
    )
    _fails(
        sagemaker.create_inference_experiment,
        **_experiment_request(sagemaker, unique, f"y-{unique}", f"none-{unique}"),
    )
    for _ in range(2):  # Creating, Created
        sagemaker.describe_inference_experiment(Name=name)
    sagemaker.start_inference_experiment(Name=name)
    _fails(sagemaker.start_inference_experiment, Name=name)
    sagemaker.stop_inference_experiment(
        Name=name,
        ModelVariantActions={"Challenger": "Remove", "AllTraffic": "Retain"},
        DesiredState="Cancelled",
    )
    for _ in range(3):
        sagemaker.describe_inference_experiment(Name=name)
    _fails(
        sagemaker.stop_inference_experiment,
        Name=name,
        ModelVariantActions={"Challenger": "Remove", "AllTraffic": "Retain"},
    )
    _fails(sagemaker.update_inference_experiment, Name=name, Description="late")

    green = endpoint_config(sagemaker, f"g-{unique}", model(sagemaker, f"g-{unique}"))
    sagemaker.update_endpoint(EndpointName=endpoint, EndpointConfigName=green)
    _fails(sagemaker.update_endpoint, EndpointName=endpoint, EndpointConfigName=green)
    _fails(
        sagemaker.update_endpoint_weights_and_capacities,
        EndpointName=endpoint,
        DesiredWeightsAndCapacities=[{"VariantName": "AllTraffic", "DesiredInstanceCount": 2}],
    )

    execution = sagemaker.start_pipeline_execution(PipelineName=pipeline(sagemaker, unique))
    _fails(
        sagemaker.retry_pipeline_execution,
        PipelineExecutionArn=execution["PipelineExecutionArn"],
        ClientRequestToken=unique * 4,
    )

    monitor = schedule(sagemaker, unique, endpoint)
    _fails(
        sagemaker.create_monitoring_schedule,
        MonitoringScheduleName=monitor,
        MonitoringScheduleConfig=sagemaker.describe_monitoring_schedule(
            MonitoringScheduleName=monitor
        )["MonitoringScheduleConfig"],
    )
    _fails(sagemaker.describe_monitoring_schedule, MonitoringScheduleName=f"none-{unique}")

    group = f"g-{unique}"
    sagemaker.create_model_package_group(ModelPackageGroupName=group)
    _fails(sagemaker.get_model_package_group_policy, ModelPackageGroupName=group)
    package = candidate_package(sagemaker, group)
    _drive_recommender(sagemaker, unique, package)
    _fails(
        errors.client(emulator, "sagemaker", OTHER_ACCOUNT).create_model,
        ModelName=f"shared-{unique}",
        ExecutionRoleArn=ROLE,
        PrimaryContainer={"ModelPackageName": package},
    )


def _experiment_request(sagemaker: Any, unique: str, name: str, endpoint: str) -> dict[str, Any]:
    described = sagemaker.describe_inference_experiment(Name=f"x-{unique}")
    return {
        "Name": name,
        "Type": "ShadowMode",
        "RoleArn": ROLE,
        "EndpointName": endpoint,
        "ModelVariants": [
            {k: v for k, v in variant.items() if k != "Status"}
            for variant in described["ModelVariants"]
        ],
        "ShadowModeConfig": {
            "SourceModelVariantName": "AllTraffic",
            "ShadowModelVariants": [
                {"ShadowModelVariantName": "Challenger", "SamplingPercentage": 50}
            ],
        },
    }


def _drive_recommender(sagemaker: Any, unique: str, package: str) -> None:
    sm_ext.set_recommendation_results(
        package, {"ml.m5.large": {"MaxInvocations": 1500, "ModelLatency": 40, "CostPerHour": 0.1}}
    )
    job = {
        "JobName": f"ir-{unique}",
        "JobType": "Default",
        "RoleArn": ROLE,
        "InputConfig": {
            "ModelPackageVersionArn": package,
            "EndpointConfigurations": [{"InstanceType": "ml.m5.large"}],
        },
    }
    sagemaker.create_inference_recommendations_job(**job)
    _fails(sagemaker.create_inference_recommendations_job, **job)
    sagemaker.stop_inference_recommendations_job(JobName=f"ir-{unique}")
    for _ in range(2):  # STOPPING, STOPPED
        sagemaker.describe_inference_recommendations_job(JobName=f"ir-{unique}")
    _fails(sagemaker.stop_inference_recommendations_job, JobName=f"ir-{unique}")
    _fails(sagemaker.describe_inference_recommendations_job, JobName=f"none-{unique}")


def _drive_s3_and_sts(emulator: Emulator, errors: Errors, unique: str) -> None:
    owner = emulator.client("s3", account=OTHER_ACCOUNT)
    owner.create_bucket(Bucket=f"private-{unique}")
    owner.put_object(Bucket=f"private-{unique}", Key="k", Body=b"secret")
    _fails(errors.client(emulator, "s3").get_object, Bucket=f"private-{unique}", Key="k")

    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "sts:AssumeRole",
                "Principal": {"AWS": "arn:aws:iam::999999999999:root"},
            }
        ],
    }
    role = emulator.client("iam", account=OTHER_ACCOUNT).create_role(
        RoleName=f"closed-{unique}", AssumeRolePolicyDocument=json.dumps(trust)
    )["Role"]["Arn"]
    _fails(errors.client(emulator, "sts").assume_role, RoleArn=role, RoleSessionName="denied")

    stranger = boto3.client(
        "sts",
        endpoint_url=emulator.endpoint_url,
        region_name=emulator.region,
        aws_access_key_id="AKIANOBODYISSUEDTHIS",
        aws_secret_access_key="nobody",
        config=Config(retries={"max_attempts": 0}),
    )
    stranger.meta.events.register("before-parse", errors.before_parse)
    _fails(stranger.get_caller_identity)
