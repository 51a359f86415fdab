"""autoscaling_ext: Application Auto Scaling takes the scalable dimensions AWS documents
(botocore's model), not only moto's list; an unknown dimension is still refused. Driven through
the emulator (which installs the extension), as users call AWS."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError
from mlopscp_emulator import Emulator, autoscaling_ext

RESOURCE = "endpoint/quotes-ext/variant/AllTraffic"
PROVISIONED = "sagemaker:variant:DesiredProvisionedConcurrency"


@pytest.fixture(name="autoscaling")
def autoscaling_fixture(emulator: Emulator) -> Any:
    return emulator.client("application-autoscaling")


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
