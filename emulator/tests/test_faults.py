"""Fault injection at the server's front: real clients see AWS's error shapes, per protocol."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore import xform_name
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectionClosedError, ReadTimeoutError
from mlopscp_emulator import Emulator


@pytest.fixture(autouse=True)
def no_faults_left(emulator: Emulator) -> Iterator[None]:
    yield
    emulator.faults.clear()


def _retrying_client(emulator: Emulator, service: str, **config: Any) -> Any:
    """A client as applications build them: standard retries (the emulator's own retry none)."""
    return boto3.client(
        service,
        endpoint_url=emulator.endpoint_url,
        region_name=emulator.region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"mode": "standard", "max_attempts": 3}, **config),
    )


@pytest.mark.parametrize(
    ("service", "operation", "call", "kind", "code", "status"),
    [
        ("sagemaker", "ListEndpoints", {}, "throttling", "ThrottlingException", 400),
        ("dynamodb", "ListTables", {}, "access_denied", "AccessDeniedException", 400),
        ("sts", "GetCallerIdentity", {}, "throttling", "Throttling", 400),
        # the operation's model names its own error for the kind: that one
        ("sns", "ListTopics", {}, "access_denied", "AuthorizationError", 403),
        ("s3", "ListBuckets", {}, "server_error", "InternalError", 500),
        ("cloudwatch", "ListMetrics", {}, "throttling", "ThrottlingException", 400),
        ("lambda", "ListFunctions", {}, "throttling", "TooManyRequestsException", 429),
        ("kms", "ListKeys", {}, "server_error", "KMSInternalException", 500),
        ("sts", "GetCallerIdentity", {}, "access_denied", "AccessDenied", 403),
    ],
)
def test_each_protocol_answers_in_aws_error_shape(
    emulator: Emulator,
    service: str,
    operation: str,
    call: dict[str, Any],
    kind: str,
    code: str,
    status: int,
) -> None:
    fault = emulator.faults.inject(f"{service}:{operation}", kind, times=1)
    client = emulator.client(service)
    method = getattr(client, xform_name(operation))
    with pytest.raises(ClientError) as raised:
        method(**call)
    assert raised.value.response["Error"]["Code"] == code
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == status
    assert "Injected" in raised.value.response["Error"]["Message"]
    assert fault.hits == 1
    assert fault.spent
    method(**call)  # spent: the next call reaches moto
    assert fault.hits == 1


def test_limit_exceeded_answers_with_the_operations_quota_error(emulator: Emulator) -> None:
    fault = emulator.faults.inject("sagemaker:StartPipelineExecution", "limit_exceeded", times=1)
    sagemaker = emulator.client("sagemaker")
    with pytest.raises(sagemaker.exceptions.ResourceLimitExceeded) as raised:
        sagemaker.start_pipeline_execution(PipelineName="absent", ClientRequestToken="t" * 32)
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert fault.hits == 1
    with pytest.raises(ClientError) as missing:  # spent: moto answers (no such pipeline)
        sagemaker.start_pipeline_execution(PipelineName="absent", ClientRequestToken="t" * 32)
    assert missing.value.response["Error"]["Code"] != "ResourceLimitExceeded"
    with pytest.raises(ValueError, match="no quota error"):
        emulator.faults.inject("sts:GetCallerIdentity", "limit_exceeded")


def test_only_the_named_operation_fails(emulator: Emulator, unique: str) -> None:
    s3 = emulator.client("s3")
    s3.create_bucket(Bucket=f"faults-{unique}")
    s3.put_object(Bucket=f"faults-{unique}", Key="a/b.json", Body=b"{}")
    emulator.faults.inject("s3:GetObject", "access_denied", times=None)
    assert s3.head_object(Bucket=f"faults-{unique}", Key="a/b.json")["ContentLength"] == 2
    assert s3.list_objects_v2(Bucket=f"faults-{unique}")["KeyCount"] == 1
    with pytest.raises(ClientError, match="AccessDenied"):
        s3.get_object(Bucket=f"faults-{unique}", Key="a/b.json")
    with pytest.raises(ClientError, match="AccessDenied"):  # times=None: until cleared
        s3.get_object(Bucket=f"faults-{unique}", Key="a/b.json")
    emulator.faults.clear()
    assert s3.get_object(Bucket=f"faults-{unique}", Key="a/b.json")["Body"].read() == b"{}"


def test_retrying_clients_retry_and_the_hits_count_every_attempt(
    emulator: Emulator, unique: str
) -> None:
    client = _retrying_client(emulator, "sagemaker")
    transient = emulator.faults.inject("sagemaker:ListEndpoints", "server_error", times=2)
    client.list_endpoints()  # two 500s, then moto
    assert transient.hits == 2
    throttled = emulator.faults.inject("sagemaker:ListEndpoints", "throttling", times=None)
    with pytest.raises(ClientError) as raised:
        client.list_endpoints()
    assert throttled.hits == 4  # botocore's max_attempts counts retries: 1 call + 3 retries
    assert raised.value.response["ResponseMetadata"]["RetryAttempts"] == 3


def test_a_timeout_closes_the_connection_without_an_answer(emulator: Emulator) -> None:
    fault = emulator.faults.inject("dynamodb:ListTables", "timeout", times=1)
    with pytest.raises(ConnectionClosedError):
        emulator.client("dynamodb").list_tables()
    assert fault.hits == 1
    slow = emulator.faults.inject("dynamodb:ListTables", "timeout", times=1, delay=1.5)
    hasty = boto3.client(
        "dynamodb",
        endpoint_url=emulator.endpoint_url,
        region_name=emulator.region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"max_attempts": 0}, read_timeout=0.5),
    )
    with pytest.raises(ReadTimeoutError):
        hasty.list_tables()
    assert slow.hits == 1


def test_faults_reach_the_step_functions_interpreters_sdk_calls(
    emulator: Emulator, unique: str
) -> None:
    sfn = emulator.client("stepfunctions")
    definition = {
        "StartAt": "Describe",
        "States": {
            "Describe": {
                "Type": "Task",
                "Resource": "arn:aws:states:::aws-sdk:sagemaker:listEndpoints",
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}],
                "End": True,
            },
            "Caught": {"Type": "Pass", "End": True},
        },
    }
    machine = sfn.create_state_machine(
        name=f"faults-{unique}",
        definition=json.dumps(definition),
        roleArn="arn:aws:iam::123456789012:role/sfn",
    )["stateMachineArn"]
    fault = emulator.faults.inject("sagemaker:ListEndpoints", "access_denied", times=None)
    execution = sfn.start_execution(stateMachineArn=machine, name=unique)["executionArn"]
    emulator.wait_idle(timeout=30)
    assert emulator.execution_states(execution) == ["Describe", "Caught"]
    assert fault.hits >= 1


def test_account_scoped_faults_spare_other_accounts(emulator: Emulator) -> None:
    emulator.faults.inject(
        "sts:GetCallerIdentity", "access_denied", times=None, account="343434343434"
    )
    assert emulator.client("sts").get_caller_identity()["Account"] == emulator.account
    with pytest.raises(ClientError, match="AccessDenied"):
        emulator.client("sts", account="343434343434").get_caller_identity()


def test_a_wrong_target_is_refused_when_injected(emulator: Emulator) -> None:
    with pytest.raises(ValueError, match="no operation 'GetObjekt'"):
        emulator.faults.inject("s3:GetObjekt", "throttling")
    with pytest.raises(ValueError, match="fault kind"):
        emulator.faults.inject("s3:GetObject", "flaky")
