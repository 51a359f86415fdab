"""The emulator's other accounts (STS trust and signatures, S3 across accounts) and CloudWatch
percentiles, as promotions use them."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError
from botocore.httpsession import URLLib3Session
from mlopscp_emulator import Emulator
from mlopscp_emulator.cloudwatch_ext import percentile
from mlopscp_emulator.sts_ext import refusal

OWNER = "515151515151"  # an account of its own, owning a bucket


def _signed_identity_request(
    url: str, credentials: Credentials, signed_value: str, sent_value: str
) -> tuple[int, bytes]:
    """A GetCallerIdentity signed over a header, sent with that header's value changed or not."""
    body = "Action=GetCallerIdentity&Version=2011-06-15"
    headers = {"Content-Type": "application/x-www-form-urlencoded", "X-Bound": signed_value}
    request = AWSRequest(method="POST", url=url, data=body, headers=headers)
    SigV4Auth(credentials, "sts", "us-east-1").add_auth(request)
    sent = dict(request.headers.items()) | {"X-Bound": sent_value}
    response = URLLib3Session().send(AWSRequest("POST", url, data=body, headers=sent).prepare())
    return response.status_code, response.content


def test_sts_answers_who_signed_only_for_a_genuine_signature(emulator: Emulator) -> None:
    url = emulator.endpoint_url + "/"
    assumed = emulator.client("sts").assume_role(
        RoleArn="arn:aws:iam::123456789012:role/operator", RoleSessionName="ada"
    )["Credentials"]
    ada = Credentials(assumed["AccessKeyId"], assumed["SecretAccessKey"], assumed["SessionToken"])
    status, body = _signed_identity_request(url, ada, "decision-1", "decision-1")
    assert status == 200
    assert b"assumed-role/operator/ada" in body
    assert b"SignatureDoesNotMatch" in _signed_identity_request(url, ada, "decision-1", "other")[1]
    forged = Credentials(assumed["AccessKeyId"], "not-the-secret")
    assert b"SignatureDoesNotMatch" in _signed_identity_request(url, forged, "a", "a")[1]
    unknown = Credentials("AKIANOTISSUED0000000", "x")
    assert b"InvalidClientTokenId" in _signed_identity_request(url, unknown, "a", "a")[1]
    # The emulator's own clients still get their identity.
    assert emulator.client("sts").get_caller_identity()["Account"] == emulator.account


def test_roles_that_do_not_exist_keep_motos_behaviour(emulator: Emulator) -> None:
    assumed = emulator.client("sts").assume_role(
        RoleArn="arn:aws:iam::121212121212:role/anything", RoleSessionName="x1"
    )
    assert ":121212121212:" in assumed["AssumedRoleUser"]["Arn"]


@pytest.mark.parametrize(
    ("policy", "external_id", "allowed"),
    [
        ({"Principal": {"AWS": "123456789012"}}, None, True),
        ({"Principal": {"AWS": ["arn:aws:iam::123456789012:role/x"]}}, None, True),
        ({"Principal": {"AWS": "arn:aws:iam::1:root"}}, None, False),
        ({"Principal": {"Service": "sagemaker.amazonaws.com"}}, None, False),
        (
            {
                "Principal": {"AWS": "123456789012"},
                "Condition": {"StringEquals": {"sts:ExternalId": ["a", "b"]}},
            },
            "b",
            True,
        ),
        ({"Principal": {"AWS": "123456789012"}, "Effect": "Deny"}, None, False),
    ],
)
def test_trust_policy_rules(policy: dict, external_id: str | None, allowed: bool) -> None:
    statement = {"Effect": "Allow", "Action": "sts:AssumeRole"} | policy
    why = refusal({"Statement": [statement]}, "123456789012", external_id, "arn:role")
    assert (why is None) is allowed, why


@pytest.mark.parametrize(
    ("values", "rank", "expected"),
    [
        ([], 99, None),
        ([5.0], 99, 5.0),
        ([1.0, 2.0, 3.0, 4.0], 50, 2.0),
        ([1.0] * 99 + [100.0], 99, 1.0),
        ([1.0] * 98 + [100.0] * 2, 99, 100.0),
        ([3.0, 1.0, 2.0], 100, 3.0),
    ],
)
def test_nearest_rank_percentile(values: list[float], rank: float, expected: float | None) -> None:
    assert percentile(values, rank) == expected


def test_get_metric_data_answers_percentiles(emulator: Emulator, unique: str) -> None:
    cloudwatch = emulator.client("cloudwatch", account="333333333333")
    dimensions = [
        {"Name": "EndpointName", "Value": unique},
        {"Name": "VariantName", "Value": "AllTraffic"},
    ]
    cloudwatch.put_metric_data(
        Namespace="AWS/SageMaker",
        MetricData=[
            {
                "MetricName": "ModelLatency",
                "Dimensions": dimensions,
                "Values": [10_000.0, 20_000.0, 90_000.0],
                "Counts": [60.0, 38.0, 2.0],
                "Unit": "Microseconds",
            }
        ],
    )
    now = datetime.now(UTC)

    def query(stat: str) -> float:
        result = cloudwatch.get_metric_data(
            MetricDataQueries=[
                {
                    "Id": "q",
                    "MetricStat": {
                        "Metric": {
                            "Namespace": "AWS/SageMaker",
                            "MetricName": "ModelLatency",
                            "Dimensions": dimensions,
                        },
                        "Period": 600,
                        "Stat": stat,
                    },
                }
            ],
            StartTime=now - timedelta(minutes=5),
            EndTime=now + timedelta(minutes=5),
        )["MetricDataResults"][0]["Values"]
        return float(result[0])

    assert (query("p50"), query("p98"), query("p99"), query("Maximum")) == (
        10_000.0,
        20_000.0,
        90_000.0,
        90_000.0,
    )
    assert json.dumps(query("Average"))  # the other statistics are moto's, untouched


def test_s3_refuses_another_accounts_bucket_unless_its_policy_allows(emulator: Emulator) -> None:
    owner = emulator.client("s3", account=OWNER)
    owner.create_bucket(Bucket=f"monitoring-{OWNER}")
    owner.put_object(Bucket=f"monitoring-{OWNER}", Key="m/report.json", Body=b"{}")
    tooling = emulator.client("s3")
    with pytest.raises(ClientError, match="AccessDenied"):
        tooling.get_object(Bucket=f"monitoring-{OWNER}", Key="m/report.json")
    with pytest.raises(ClientError, match="AccessDenied"):
        tooling.list_objects_v2(Bucket=f"monitoring-{OWNER}")
    owner.put_bucket_policy(
        Bucket=f"monitoring-{OWNER}",
        Policy=json.dumps(
            {
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": f"arn:aws:iam::{emulator.account}:root"},
                        "Action": "s3:GetObject",
                        "Resource": f"arn:aws:s3:::monitoring-{OWNER}/*",
                    }
                ]
            }
        ),
    )
    body = tooling.get_object(Bucket=f"monitoring-{OWNER}", Key="m/report.json")["Body"]
    assert body.read() == b"{}"
