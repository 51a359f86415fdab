"""Our rollback, where SageMaker's deployment guardrails do not apply (a serverless endpoint, or
an update that changes the endpoint's kind: mlops_core.promotion.endpoint_kinds).

``check_deployment`` hands over once the endpoint is InService on the new config: for the bake
time (``deployment.bake_seconds``) every check reads the two rollback alarms; one in ALARM
updates the endpoint back to the previous config (kept until the promotion ends) and records
it, and the checks then wait for the endpoint to be InService on it (``rolled_back``). A quiet
bake is ``deployed``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from mlops_core.ledger import Action
from mlops_core.promotion.endpoint_kinds import bake_alarm

from mlops_runtime.aws import translated_errors
from mlops_runtime.promotion_workflow import Promotion, call_aws, passed


def bake(p: Promotion, deploy: dict[str, Any], status: str) -> dict[str, Any]:
    """The endpoint serves the new config: bake it, watching the alarms."""
    if deploy.get("bake_until") is None:
        until = datetime.now(UTC) + timedelta(seconds=p.config.deployment.bake_seconds)
        deploy["bake_until"] = until.strftime("%Y-%m-%dT%H:%M:%SZ")
    target, account = p.config.production, p.account("production")
    cloudwatch, sagemaker = account.client("cloudwatch"), account.client("sagemaker")
    with translated_errors():
        alarms = cloudwatch.describe_alarms(AlarmNames=deploy["alarms"])
    states = {a["AlarmName"]: a["StateValue"] for a in alarms.get("MetricAlarms", [])}
    reason = bake_alarm(states, deploy["old_config"], target.endpoint_name)
    if reason is None:
        if passed(deploy["bake_until"]):
            return deploy | {"deployed": True, "status": status}
        return deploy | {"status": "Baking"}
    call_aws(
        f"UpdateEndpoint {target.endpoint_name} back to {deploy['old_config']}",
        sagemaker.update_endpoint,
        EndpointName=target.endpoint_name,
        EndpointConfigName=deploy["old_config"],
    )
    p.record(
        Action.PRODUCTION_ROLLBACK_STARTED,
        reason,
        {
            "endpoint": target.endpoint_name,
            "from": deploy["config"],
            "to": deploy["old_config"],
            "alarms": states,
        },
    )
    # The endpoint goes Updating on the old config: CheckDeployment waits for it.
    return deploy | {"status": "RollingBack", "failure_reason": reason}
