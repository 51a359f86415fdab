"""The ServingAction workflow's task (statemachines/serving_action.asl.json), one step per call.

``act``: the approvers said yes; the approval is confirmed with its record, the endpoint is
checked again in its account (still there, same endpoint config, the finding still holds, no
promotion running), then the idle endpoint is deleted (its config and models kept) or the
underused variant scaled in; ``declined``: rejected or expired, nothing changes. Both record
what happened and why (mlops_runtime.serving_actions).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from mlops_runtime import serving_actions, settings
from mlops_runtime.approvals import ApprovalStore
from mlops_runtime.model_config import ModelConfigStore
from mlops_runtime.promotions import PromotionStore
from mlops_runtime.store import Ledger
from pydantic import BaseModel, ConfigDict


class Settings(settings.NotifySettings, settings.ApprovalSettings, settings.AccountSettings):
    pass


class StepRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    step: str
    state: dict[str, Any]


STEPS = {"act": serving_actions.act, "declined": serving_actions.declined}
SETTINGS = settings.load(Settings)
logger = Logger()
metrics = Metrics()
deps = serving_actions.Deps(
    ledger=Ledger(SETTINGS.ledger_table),
    models=ModelConfigStore(SETTINGS.model_config_table),
    approvals=ApprovalStore(SETTINGS.approval_table),
    promotions=PromotionStore(SETTINGS.state_table),
    topic_arn=SETTINGS.notification_topic_arn,
    slack_secret_arn=SETTINGS.slack_webhook_secret_arn or None,
    account_id=SETTINGS.tooling_account_id,
)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = StepRequest.model_validate(event)
    if request.step not in STEPS:
        raise ValueError(f"unknown serving action step {request.step!r}: one of {', '.join(STEPS)}")
    result = STEPS[request.step](request.state, deps)
    metrics.add_metric(name=f"ServingActions_{result['outcome']}", unit=MetricUnit.Count, value=1)
    logger.info("serving action step done", extra={"step": request.step, "result": result})
    return result
