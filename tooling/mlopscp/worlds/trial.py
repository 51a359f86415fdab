"""The trial world: a team trials the control plane on two of its models before letting it act
(README "Trial mode (observe-only)").

- ``<prefix>-churn``: an endpoint with a gradual-drift Model Monitor history while AUC falls
  (examples/triage-cases/dev/case-003), its retraining pipeline, and retrains that need a Slack
  approval;
- ``<prefix>-demand``: a model package group in the registry, version 1 Approved, version 2
  awaiting approval, promoted into the promotion world's staging and production accounts.

Both are configured with the given ``mode`` (``observe`` for a model-level trial; ``act`` under
a stack deployed with ``ObserveOnly=true``). Everything is created through the AWS APIs, as the
other worlds are; the demo's ``observe_only`` scenario and the integration tests read it back.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError
from mlops_runtime.model_config import ModelConfig, records

from mlopscp.worlds.common import ACCOUNT, MONITORING_BUCKET
from mlopscp.worlds.drift import CASES, DemoModel
from mlopscp.worlds.promotion import (
    DEPLOYER_ROLES,
    MODELS_BUCKET,
    PRODUCTION,
    STAGING,
    PromotionModel,
    PromotionWorld,
    capture_bucket,
)

APPROVALS = {"slack_channel": "C0APPROVALS", "slack_approvers": ["U0ADA"]}


def _regression(mse: float, r2: float) -> dict[str, Any]:
    return {"regression_metrics": {"mse": {"value": mse}, "r2": {"value": r2}}}


class TrialWorld:
    def __init__(self, plane: Any, prefix: str = "trial", mode: str = "observe") -> None:
        self.plane, self.emu, self.mode = plane, plane.emu, mode
        self.drift = DemoModel(
            f"{prefix}-churn",
            f"{prefix}-churn-prod",
            CASES / "case-003",
            "gradual drift on tenure_months while AUC falls; its retrains need an approval",
            approvals=APPROVALS,
        )
        self.promotion = PromotionModel(
            f"{prefix}-demand",
            "version 2 of a demand forecaster is approved in the registry (mse 4.1 -> 3.6)",
            {1: _regression(4.1, 0.81), 2: _regression(3.6, 0.84)},
        )
        self.registry = PromotionWorld(plane)  # its registry helpers, not its accounts

    def seed(self) -> TrialWorld:
        for bucket in (MONITORING_BUCKET, MODELS_BUCKET):
            try:
                self.emu.client("s3").create_bucket(Bucket=bucket)
            except ClientError as error:  # another world of this emulator made it
                if error.response["Error"]["Code"] != "BucketAlreadyOwnedByYou":
                    raise
        self.plane._seed(self.drift)  # endpoint, monitoring history, pipeline, configuration
        self._put(self._drift_config())
        sagemaker = self.emu.client("sagemaker")
        sagemaker.create_model_package_group(ModelPackageGroupName=self.promotion.model_id)
        for version, report in sorted(self.promotion.metrics.items()):
            self.registry.register_version(self.promotion, version, report)
        self._put(self._promotion_config())
        return self

    def approve(self, version: int = 2) -> dict[str, Any]:
        """The registry event of a version approved there."""
        return self.registry.approve_in_registry(self.promotion, version)

    def _drift_config(self) -> ModelConfig:
        model = self.drift
        return ModelConfig.model_validate(
            {
                "model_id": model.model_id,
                "endpoint_name": model.endpoint,
                "mode": self.mode,
                "monitoring_output_uri": model.output_uri,
                "retrain": {"pipeline_name": model.pipeline, "require_approval": True},
                "approvals": APPROVALS,
            }
        )

    def _promotion_config(self) -> ModelConfig:
        model = self.promotion
        secret = self.emu.client("secretsmanager").create_secret(
            Name=f"{model.model_id}/external-id", SecretString="trial-external-id"
        )["ARN"]

        def target(account: str, endpoint: str) -> dict[str, Any]:
            return {
                "account_id": account,
                "deployer_role_arn": DEPLOYER_ROLES[account],
                "execution_role_arn": f"arn:aws:iam::{account}:role/mlopscp-sagemaker-execution",
                "endpoint_name": endpoint,
                "data_capture_uri": f"s3://{capture_bucket(account)}/{model.model_id}",
            }

        return ModelConfig.model_validate(
            {
                "model_id": model.model_id,
                "endpoint_name": model.endpoint,
                "mode": self.mode,
                "approvals": APPROVALS,
                "promotion": {
                    "model_package_group": model.model_id,
                    "external_id_secret_arn": secret,
                    "staging": target(STAGING, model.staging_endpoint),
                    "production": target(PRODUCTION, model.endpoint),
                },
            }
        )

    def _put(self, config: ModelConfig) -> None:
        """What `mlopscp models put` writes: the document and its aliases."""
        table, dynamodb = self.plane.outputs["ModelConfigTableName"], self.emu.client("dynamodb")
        for key, value in records(config).items():
            dynamodb.put_item(TableName=table, Item={"id": {"S": key}, "value": {"S": value}})

    # -- reading back -------------------------------------------------------------------------

    def staging_endpoints(self) -> list[str]:
        """Endpoints named after the promotion model in any account it could reach."""
        found = []
        for account in (ACCOUNT, STAGING, PRODUCTION):
            try:
                listed = self.emu.client("sagemaker", account=account).list_endpoints(
                    NameContains=self.promotion.model_id
                )["Endpoints"]
            except ClientError:
                continue
            found += [e["EndpointName"] for e in listed]
        return found

    def promotion_executions(self) -> list[dict[str, Any]]:
        sfn = self.emu.client("stepfunctions")
        machine = self.plane.stack.state_machines["PromotionStateMachine"]
        listed = sfn.list_executions(stateMachineArn=machine)["executions"]
        return [e for e in listed if e["name"].startswith(f"{self.promotion.model_id}-v")]
