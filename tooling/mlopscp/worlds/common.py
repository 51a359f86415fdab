"""What every world of the local stack shares: the tooling account (the emulator's default), its
region, bucket and SageMaker role; endpoints as SageMaker serves them; events as EventBridge
delivers them; and what a world needs of the control plane it seeds."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

ROOT = Path(__file__).resolve().parents[3]
ACCOUNT = "123456789012"
REGION = "us-east-1"
MONITORING_BUCKET = f"sagemaker-{REGION}-{ACCOUNT}"
SAGEMAKER_ROLE = f"arn:aws:iam::{ACCOUNT}:role/mlopscp-sagemaker-execution"


class Plane(Protocol):
    """The control plane a world seeds (:class:`mlopscp.local.LocalControlPlane`): the emulator
    it runs on and its stack's outputs."""

    emu: Any

    @property
    def outputs(self) -> dict[str, str]: ...


def serve(sagemaker: Any, endpoint: str, model_name: str, instances: int, capture_uri: str) -> None:
    """An endpoint serving one model, capturing requests and responses as Model Monitor needs."""
    sagemaker.create_endpoint_config(
        EndpointConfigName=f"{endpoint}-v1",
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": model_name,
                "InitialInstanceCount": instances,
                "InstanceType": "ml.m5.large",
            }
        ],
        DataCaptureConfig={
            "EnableCapture": True,
            "InitialSamplingPercentage": 100,
            "DestinationS3Uri": capture_uri,
            "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
        },
    )
    sagemaker.create_endpoint(EndpointName=endpoint, EndpointConfigName=f"{endpoint}-v1")


def envelope(
    source: str,
    detail_type: str,
    detail: dict[str, Any],
    resources: list[str],
    account: str = ACCOUNT,
) -> dict[str, Any]:
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": detail_type,
        "source": source,
        "account": account,
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": REGION,
        "resources": resources,
        "detail": detail,
    }
