"""autoscaling_ext: Application Auto Scaling takes the scalable dimensions AWS documents
(botocore's model), not only moto's list; an unknown dimension is still refused."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from mlopscp_emulator import autoscaling_ext
from moto import mock_aws

RESOURCE = "endpoint/quotes-prod/variant/AllTraffic"
PROVISIONED = "sagemaker:variant:DesiredProvisionedConcurrency"


@pytest.fixture(name="autoscaling")
def autoscaling_fixture() -> Iterator[Any]:
    with mock_aws():
        autoscaling_ext.install()
        try:
            yield boto3.client("application-autoscaling", region_name="us-east-1")
        finally:
            autoscaling_ext.uninstall()


def test_botocores_dimensions_include_what_moto_lacks() -> None:
    assert PROVISIONED in autoscaling_ext.aws_dimensions()
    assert "sagemaker:variant:DesiredInstanceCount" in autoscaling_ext.aws_dimensions()


def test_a_serverless_variants_provisioned_concurrency_is_scalable(autoscaling: Any) -> None:
    client = autoscaling
    target = {"ServiceNamespace": "sagemaker", "ResourceId": RESOURCE}
    client.register_scalable_target(
        **target, ScalableDimension=PROVISIONED, MinCapacity=2, MaxCapacity=10
    )
    client.put_scaling_policy(
        **target,
        ScalableDimension=PROVISIONED,
        PolicyName="mlopscp-target-tracking",
        PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration={
            "TargetValue": 0.7,
            "PredefinedMetricSpecification": {
                "PredefinedMetricType": "SageMakerVariantProvisionedConcurrencyUtilization"
            },
        },
    )
    (found,) = client.describe_scalable_targets(
        ServiceNamespace="sagemaker", ResourceIds=[RESOURCE], ScalableDimension=PROVISIONED
    )["ScalableTargets"]
    assert (found["MinCapacity"], found["MaxCapacity"]) == (2, 10)
    assert found["RoleARN"].endswith(
        ":role/aws-service-role/sagemaker.application-autoscaling.amazonaws.com/"
        "AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint"
    )


def test_an_unknown_dimension_is_still_refused(autoscaling: Any) -> None:
    with pytest.raises(ClientError, match="scalableDimension"):
        autoscaling.register_scalable_target(
            ServiceNamespace="sagemaker",
            ResourceId=RESOURCE,
            ScalableDimension="sagemaker:variant:DesiredMagic",
            MinCapacity=1,
            MaxCapacity=2,
        )


def test_uninstall_gives_moto_its_own_list_back() -> None:
    from moto.applicationautoscaling import models

    before = models.ScalableDimensionValueSet
    autoscaling_ext.install()
    assert models.ScalableDimensionValueSet is not before
    autoscaling_ext.uninstall()
    assert models.ScalableDimensionValueSet is before
