"""The production deployment: the blue/green ``DeploymentConfig`` (canary or linear traffic
shifting, auto rollback on the control plane's alarms), the two rollback alarms, and where an
update (or a first deployment's create) stands."""

from __future__ import annotations

import math
from collections.abc import Iterable
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from mlops_core.promotion.names import ALARM_PREFIX


class DeploymentPolicy(BaseModel):
    """The production deployment: blue/green traffic shifting and its rollback alarms."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    strategy: Literal["canary", "linear"] = "canary"
    canary_percent: int = Field(10, ge=1, le=99, description="first traffic share (canary)")
    linear_step_percent: int = Field(
        20, ge=5, le=50, description="traffic share moved per step (linear)"
    )
    wait_interval_seconds: int = Field(
        300, ge=0, le=3600, description="bake time after each traffic shift"
    )
    bake_seconds: int = Field(
        600, ge=0, le=3600, description="after all traffic moved, how long the old fleet stays"
    )
    rollback_5xx_percent: float = Field(
        1.0, gt=0, le=100, description="auto-rollback alarm: 5xx share of invocations, per minute"
    )
    rollback_p99_latency_ms: float = Field(
        1000.0, gt=0, description="auto-rollback alarm: p99 ModelLatency, per minute"
    )
    alarm_evaluation_minutes: int = Field(
        2, ge=1, le=10, description="consecutive breaching minutes before an alarm fires"
    )


def alarm_names(endpoint: str) -> dict[str, str]:
    """The control plane's rollback alarms of one endpoint (one pair, reused by promotions)."""
    return {
        "5xx": f"{ALARM_PREFIX}-{endpoint}-5xx-rate",
        "latency": f"{ALARM_PREFIX}-{endpoint}-p99-latency",
    }


def rollback_alarms(endpoint: str, variant: str, policy: DeploymentPolicy) -> list[dict[str, Any]]:
    """PutMetricAlarm requests of the two auto-rollback alarms (5xx rate, p99 latency)."""
    names = alarm_names(endpoint)
    dimensions = [
        {"Name": "EndpointName", "Value": endpoint},
        {"Name": "VariantName", "Value": variant},
    ]
    common = {
        "EvaluationPeriods": policy.alarm_evaluation_minutes,
        "DatapointsToAlarm": policy.alarm_evaluation_minutes,
        "ComparisonOperator": "GreaterThanThreshold",
        # No traffic during a shift is not a failure of the new fleet.
        "TreatMissingData": "notBreaching",
    }

    def metric(query_id: str, name: str) -> dict[str, Any]:
        return {
            "Id": query_id,
            "ReturnData": False,
            "MetricStat": {
                "Metric": {
                    "Namespace": "AWS/SageMaker",
                    "MetricName": name,
                    "Dimensions": dimensions,
                },
                "Period": 60,
                "Stat": "Sum",
            },
        }

    return [
        {
            "AlarmName": names["5xx"],
            "AlarmDescription": f"mlops-control-plane: 5xx share of {endpoint}/{variant} "
            "invocations; rolls a blue/green deployment back",
            "Metrics": [
                metric("errors", "Invocation5XXErrors"),
                metric("invocations", "Invocations"),
                {
                    "Id": "rate",
                    "Expression": "IF(invocations > 0, 100 * errors / invocations, 0)",
                    "Label": "5xx percent",
                    "ReturnData": True,
                },
            ],
            "Threshold": policy.rollback_5xx_percent,
            **common,
        },
        {
            "AlarmName": names["latency"],
            "AlarmDescription": f"mlops-control-plane: p99 ModelLatency of {endpoint}/{variant}; "
            "rolls a blue/green deployment back",
            "Namespace": "AWS/SageMaker",
            "MetricName": "ModelLatency",
            "Dimensions": dimensions,
            "ExtendedStatistic": "p99",
            "Period": 60,
            "Unit": "Microseconds",
            "Threshold": policy.rollback_p99_latency_ms * 1000,  # ModelLatency is in µs
            **common,
        },
    ]


def deployment_config(policy: DeploymentPolicy, alarms: Iterable[str]) -> dict[str, Any]:
    """UpdateEndpoint's DeploymentConfig: blue/green with canary or linear traffic shifting,
    auto-rollback on ``alarms``."""
    routing: dict[str, Any] = {
        "Type": policy.strategy.upper(),
        "WaitIntervalInSeconds": policy.wait_interval_seconds,
    }
    if policy.strategy == "canary":
        routing["CanarySize"] = {"Type": "CAPACITY_PERCENT", "Value": policy.canary_percent}
        shifts = 1
    else:
        step = policy.linear_step_percent
        routing["LinearStepSize"] = {"Type": "CAPACITY_PERCENT", "Value": step}
        shifts = math.ceil(100 / policy.linear_step_percent) - 1
    # The whole deployment must fit SageMaker's 600..14400 s limit; fleets take minutes to start.
    needed = 1200 + shifts * policy.wait_interval_seconds + policy.bake_seconds
    return {
        "BlueGreenUpdatePolicy": {
            "TrafficRoutingConfiguration": routing,
            "TerminationWaitInSeconds": policy.bake_seconds,
            "MaximumExecutionTimeoutInSeconds": min(max(needed, 600), 14400),
        },
        "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": name} for name in alarms]},
    }


class DeploymentState(StrEnum):
    IN_PROGRESS = "in_progress"
    DEPLOYED = "deployed"
    ROLLED_BACK = "rolled_back"
    FAILED = "failed"


def deployment_state(
    status: str, current_config: str, new_config: str, old_config: str | None
) -> DeploymentState:
    """Where an UpdateEndpoint (or a first deployment's CreateEndpoint: no ``old_config``)
    stands, from DescribeEndpoint's status and config name."""
    if status in ("Creating", "Updating", "RollingBack", "SystemUpdating"):
        return DeploymentState.IN_PROGRESS
    if status == "InService":
        if current_config == new_config:
            return DeploymentState.DEPLOYED
        if old_config is not None and current_config == old_config:
            return DeploymentState.ROLLED_BACK
    return DeploymentState.FAILED
