"""The drift loop across accounts (issue 10): a model served and monitored in the production
account, retrained in the tooling account, promoted back to production.

- production (333333333333): ``forecast-prod`` serving version 1 (built from the registry's
  package forecast/1, by the promotion world), its Model Monitor history in the production
  account's own bucket, its monitoring schedules there. accounts/target-account.yaml, deployed
  there by the promotion world, forwards its monitoring events to the control plane's workload
  bus and lets the control plane read that bucket through ``mlopscp-reader``;
- tooling (123456789012): the registry group ``forecast`` (version 1), the retraining pipeline
  ``forecast-retrain``, and the model's configuration naming its account, reader role and
  monitoring location;
- outsider (444444444444): an account of nobody's WorkloadAccountIds with the same template,
  whose forwarded events the control plane's bus refuses.

Everything is created through the APIs of the account it belongs to, and read back the same way.
"""

from __future__ import annotations

from typing import Any

from mlopscp.worlds.common import ROOT
from mlopscp.worlds.drift import CASES, DemoModel, seed_history
from mlopscp.worlds.promotion import (
    MODELS_BUCKET,
    PRODUCTION,
    PROMOTION_MODELS,
    PromotionModel,
    capture_bucket,
)

OUTSIDER = "444444444444"
FORECAST: PromotionModel = PROMOTION_MODELS["forecast"]
# The same endpoint's Model Monitor history (a gradual drift while quality declines).
HISTORY = DemoModel(
    "forecast",
    FORECAST.endpoint,
    CASES / "case-018",
    "gradual drift on one feature while quality declines, in the production account",
)
# What the retrain's evaluation step reports for version 2 (version 1: mse 8.2, r2 0.78).
RETRAINED = {
    "regression_metrics": {
        "mse": {"value": 7.1, "standard_deviation": 0.05},
        "r2": {"value": 0.82, "standard_deviation": 0.01},
    }
}
MONITORING_BUCKET = f"mlopscp-monitoring-{PRODUCTION}"


class LoopWorld:
    def __init__(self, plane: Any) -> None:
        self.plane = plane
        self.emu = plane.emu
        self.output_uri = f"s3://{MONITORING_BUCKET}/monitoring/{FORECAST.endpoint}"

    def seed(self) -> LoopWorld:
        promotion = self.plane.promotion
        self.emu.client("s3", account=PRODUCTION).create_bucket(Bucket=MONITORING_BUCKET)
        role = promotion.roles[PRODUCTION]["ExecutionRoleArn"]
        seed_history(self.emu, HISTORY, self.output_uri, role, account=PRODUCTION)
        self.plane.seed_pipeline(HISTORY)
        self._put_config()
        self.emu.client("s3", account=OUTSIDER).create_bucket(Bucket=capture_bucket(OUTSIDER))
        self.emu.deploy(
            ROOT / "accounts" / "target-account.yaml",
            stack_name="mlopscp-target",
            account=OUTSIDER,
            parameters={
                "AccountPurpose": "production",
                "ToolingAccountId": self.emu.account,
                "ExternalId": promotion.external_id,
                "ModelArtifactsBucket": MODELS_BUCKET,
                "DataCaptureBucket": capture_bucket(OUTSIDER),
                "ControlPlaneEventBusArn": self.plane.outputs["WorkloadEventBusArn"],
            },
        )
        return self

    def config(self) -> dict[str, Any]:
        """Promotion (as the promotion world's models), plus where it is served and monitored
        and how it is retrained."""
        promotion = self.plane.promotion
        return promotion.config(FORECAST) | {
            "account": {
                "account_id": PRODUCTION,
                "reader_role_arn": promotion.roles[PRODUCTION]["ReaderRoleArn"],
            },
            "monitoring_output_uri": self.output_uri,
            "retrain": {"pipeline_name": HISTORY.pipeline},
        }

    def _put_config(self) -> None:
        """What `mlopscp models put` stores: the document and every alias (records())."""
        from mlops_runtime.model_config import ModelConfig, records

        config = ModelConfig.model_validate(self.config())
        table = self.plane.outputs["ModelConfigTableName"]
        for key, value in records(config).items():
            self.emu.client("dynamodb").put_item(
                TableName=table, Item={"id": {"S": key}, "value": {"S": value}}
            )

    # -- what happens in the production account -------------------------------------------

    def drift_in_production(self) -> dict[str, Any]:
        """A monitoring execution of forecast-prod ran in production (output in production's
        bucket); the Processing Job State Change SageMaker emits there."""
        return dict(
            self.plane.monitoring_execution_event(
                HISTORY, account=PRODUCTION, output_uri=self.output_uri
            )
        )

    # -- what the retraining pipeline does in the tooling account ----------------------------

    def register_retrained(self, execution_arn: str, incident: str) -> str:
        """The pipeline's Register step: version 2 with its evaluation report, awaiting
        approval, tied to the incident and execution that produced it."""
        return str(
            self.plane.promotion.register_version(
                FORECAST,
                2,
                RETRAINED,
                metadata={"IncidentId": incident, "PipelineExecutionArn": execution_arn},
            )
        )

    def pipeline_succeeded(self, execution_arn: str) -> dict[str, Any]:
        from mlopscp_emulator import sagemaker_ext

        sagemaker_ext.set_pipeline_execution_status(execution_arn, "Succeeded")
        return dict(self.plane.pipeline_status_event(execution_arn))

    # -- reading back ------------------------------------------------------------------------

    def retrains(self) -> list[dict[str, Any]]:
        return list(self.plane.pipeline_executions(HISTORY))

    def triage_report(self, incident: str) -> dict[str, Any]:
        """The triage report of the run that started the incident's retrain (its ledger entry
        names it: a report belongs to a run, an incident may span several)."""
        import json

        started = [
            e
            for e in self.plane.ledger("forecast")
            if e["action"] == "retrain_started" and e["subject"] == incident
        ]
        if not started:
            return {}
        uri = json.loads(started[0]["evidence"])["report_uri"]
        bucket, key = uri.removeprefix("s3://").split("/", 1)
        body = self.emu.client("s3").get_object(Bucket=bucket, Key=key)["Body"]
        return dict(json.loads(body.read()))

    def drift_executions(self) -> list[dict[str, Any]]:
        sfn = self.emu.client("stepfunctions")
        machine = self.plane.stack.state_machines["DriftResponseStateMachine"]
        listed = sfn.list_executions(stateMachineArn=machine)["executions"]
        return [e for e in listed if e["name"].startswith("forecast-")]

    def forwarding_dead_letters(self, account: str) -> list[dict[str, Any]]:
        """What a workload account's forwarding rules could not deliver, with EventBridge's
        attributes (ERROR_CODE, RULE_ARN, ...)."""
        sqs = self.emu.client("sqs", account=account)
        url = sqs.get_queue_url(QueueName="mlopscp-forwarding-dead-letters")["QueueUrl"]
        return list(self.plane.drain(url, account))
