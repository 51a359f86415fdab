"""The promotion state machine's task: one step per invocation, named by ``step``.

The workflow (statemachines/promotion.asl.json) passes its whole state; the step returns the
part it owns. What each step does is in mlops_runtime.promotion_candidate (prepare, quality
gate, staging), mlops_runtime.promotion_rightsizing (the autoscaling target),
mlops_runtime.promotion_shadow (shadow test, verdict), mlops_runtime.promotion_first (a first
deployment: shadow skipped, endpoint created) and mlops_runtime.promotion_release (production
deploy, verify, restore, finish, abort).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from mlops_runtime import promotion_candidate as candidate
from mlops_runtime import promotion_first as first
from mlops_runtime import promotion_release as release
from mlops_runtime import promotion_rightsizing as rightsizing
from mlops_runtime import promotion_shadow as shadow
from mlops_runtime import promotion_workflow as workflow
from mlops_runtime import settings
from mlops_runtime.approvals import ApprovalStore
from mlops_runtime.model_config import ModelConfigStore
from mlops_runtime.promotions import PromotionStore
from mlops_runtime.store import Ledger
from pydantic import BaseModel, Field


class Settings(settings.NotifySettings):
    approval_table: str = Field(min_length=3, description="approvals, to confirm an approval")


class StepRequest(BaseModel):
    step: str
    state: dict[str, Any]


STEPS: dict[str, Callable[[workflow.Promotion], dict[str, Any]]] = {
    "prepare": candidate.prepare,
    "quality_gate": candidate.quality_gate,
    "start_rightsizing": rightsizing.start_rightsizing,
    "check_rightsizing": rightsizing.check_rightsizing,
    "deploy_staging": candidate.deploy_staging,
    "check_staging": candidate.check_staging,
    "start_shadow": shadow.start_shadow,
    "check_shadow": shadow.check_shadow,
    "verdict": shadow.verdict,
    "skip_shadow": first.skip_shadow,
    "create_production": first.create_production,
    "deploy_production": release.deploy_production,
    "check_deployment": release.check_deployment,
    "verify_production": release.verify_production,
    "restore_production": release.restore_production,
    "check_restore": release.check_restore,
    "finish": release.finish,
    "abort": release.abort,
}
SETTINGS = settings.load(Settings)
logger = Logger()
metrics = Metrics()
deps = workflow.Deps(
    ledger=Ledger(SETTINGS.ledger_table),
    store=PromotionStore(SETTINGS.state_table),
    models=ModelConfigStore(SETTINGS.model_config_table),
    approvals=ApprovalStore(SETTINGS.approval_table),
    topic_arn=SETTINGS.notification_topic_arn,
    slack_secret_arn=SETTINGS.slack_webhook_secret_arn or None,
)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = StepRequest.model_validate(event)
    if request.step not in STEPS:
        raise ValueError(f"unknown promotion step {request.step!r}: one of {', '.join(STEPS)}")
    promotion = workflow.Promotion(request.state, deps)
    logger.append_keys(promotion_id=promotion.id, step=request.step)
    result = STEPS[request.step](promotion)
    if request.step in ("finish", "abort"):  # one metric per outcome: promoted, rolled_back...
        metrics.add_metric(name=f"Promotions_{result['outcome']}", unit=MetricUnit.Count, value=1)
    logger.info("promotion step done", extra={"result": _brief(result)})
    return result


def _brief(result: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in result.items() if k not in ("approval_request", "evidence")}
