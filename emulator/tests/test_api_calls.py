"""Every request the server answers is counted by the service it was signed for and its
operation, whatever the protocol (JSON target, query Action, REST route); the emulator's own
clients are not the application and are not counted."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config
from mlopscp_emulator import Emulator


def _application_client(emulator: Emulator, service: str) -> Any:
    """A client as a handler builds it: plain boto3 at the endpoint, the emulator's fake key."""
    return boto3.client(
        service,
        endpoint_url=emulator.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # moto's fake credentials
        config=Config(retries={"max_attempts": 0}),
    )


def test_calls_are_counted_by_service_and_operation(emulator: Emulator, unique: str) -> None:
    before = emulator.api_calls.counts()
    sagemaker = _application_client(emulator, "sagemaker")
    sagemaker.list_endpoints()
    sagemaker.list_endpoints()
    _application_client(emulator, "sqs").create_queue(QueueName=f"q-{unique}")  # JSON protocol
    _application_client(emulator, "sts").get_caller_identity()  # query protocol (Action=)
    _application_client(emulator, "s3").create_bucket(Bucket=f"b-{unique}")  # REST

    called = emulator.api_calls.since(before)

    assert called[("sagemaker", "ListEndpoints")] == 2
    assert called[("sqs", "CreateQueue")] == 1
    assert called[("sts", "GetCallerIdentity")] == 1
    assert called[("s3", f"PUT /b-{unique}")] == 1
    assert sum(called.values()) == 5


def test_the_emulators_own_clients_are_not_counted(emulator: Emulator, unique: str) -> None:
    before = emulator.api_calls.counts()
    emulator.client("sagemaker").list_endpoints()
    emulator.client("s3").create_bucket(Bucket=f"own-{unique}")
    emulator.wait_idle(timeout=30)

    assert emulator.api_calls.since(before) == {}
