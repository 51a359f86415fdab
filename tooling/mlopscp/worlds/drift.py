"""The drift world: models whose endpoints have a Model Monitor history (from
examples/triage-cases), each a story the demo tells, and how a history is laid down in S3 and
SageMaker as Model Monitor would have left it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlops_core.monitoring import MonitorType, load_history

from mlopscp.worlds.common import MONITORING_BUCKET, ROOT

_MONITORING_TYPE_NAMES = {
    MonitorType.DATA_QUALITY: "DataQuality",
    MonitorType.MODEL_QUALITY: "ModelQuality",
    MonitorType.BIAS_DRIFT: "ModelBias",
    MonitorType.FEATURE_ATTRIBUTION_DRIFT: "ModelExplainability",
}


@dataclass(frozen=True)
class DemoModel:
    model_id: str
    endpoint: str
    history: Path  # one endpoint's Model Monitor output, as in examples/triage-cases
    story: str
    approvals: dict[str, Any] | None = None  # an approvals section: its retrains need approval
    incidents: dict[str, Any] | None = None  # an incidents section (issue 17), else defaults

    @property
    def pipeline(self) -> str:
        return f"{self.model_id}-retrain"

    @property
    def output_uri(self) -> str:
        return f"s3://{MONITORING_BUCKET}/monitoring/{self.endpoint}"

    def files(self) -> dict[str, bytes]:
        """The history with schedules named by type (churn-data-quality, ...), as in events/."""
        raw = {
            str(p.relative_to(self.history)): p.read_bytes()
            for p in self.history.rglob("*.json")
            if p.name != "expected.json"
        }
        names = {
            s.name: f"{self.model_id}-{str(s.monitor_type).replace('_', '-')}"
            for s in load_history(raw).schedules
        }
        return {names[k.split("/", 1)[0]] + "/" + k.split("/", 1)[1]: v for k, v in raw.items()}


CASES = ROOT / "examples" / "triage-cases" / "dev"
MODELS = {
    m.model_id: m
    for m in (
        DemoModel(
            "churn",
            "churn-prod",
            CASES / "case-003",
            "gradual drift on tenure_months while AUC falls",
        ),
        DemoModel(
            "fraud",
            "fraud-prod",
            CASES / "case-015",
            "a column disappeared from the inputs (schema break)",
        ),
        DemoModel(
            "pricing",
            "pricing-prod",
            CASES / "case-009",
            "slow drift on two features, quality steady",
        ),
        # ---- approvals (issue 4): retrains of these wait for a human
        DemoModel(
            "credit",
            "credit-prod",
            CASES / "case-006",
            "sustained attribution drift while quality falls; retrains need approval in Slack",
            approvals={
                "slack_channel": "C0APPROVALS",
                "slack_approvers": ["U0ADA"],
                "email_approvers": ["risk-lead@example.com"],
            },
        ),
        DemoModel(
            "ranking",
            "ranking-prod",
            CASES / "case-010",
            "sustained attribution drift while quality falls; retrains need approval by email",
            approvals={"email_approvers": ["ranking-owner@example.com"]},
        ),
        DemoModel(
            "search",
            "search-prod",
            CASES / "case-018",
            "sustained drift on credit_score while quality falls; the ML on-call group is asked",
            approvals={
                "slack_channel": "C0APPROVALS",
                "slack_approver_groups": ["S0MLONCALL"],
                "email_approvers": ["ml-oncall@example.com"],
            },
        ),
        # ---- the incident lifecycle (issue 17): monitored hourly, see mlopscp.worlds.hourly
        DemoModel(
            "orders",
            "orders-prod",
            CASES / "case-015",
            "an upstream release drops latency_ms at 00:00 and nobody fixes it for a day",
            incidents={"slack_channel": "C0INCIDENTS", "resolve_after": 3},
        ),
    )
}


def seed_history(
    emu: Any, model: DemoModel, output_uri: str, role: str, account: str | None = None
) -> None:
    """An endpoint's Model Monitor history under `output_uri` and its monitoring schedules,
    in `account` (default: the tooling account), as Model Monitor would have left them."""
    files = model.files()
    bucket, _, prefix = output_uri.removeprefix("s3://").partition("/")
    s3, sagemaker = emu.client("s3", account=account), emu.client("sagemaker", account=account)
    for relative, body in files.items():
        s3.put_object(Bucket=bucket, Key=f"{prefix}/{relative}", Body=body)
    for schedule in load_history(files).schedules:
        sagemaker.create_monitoring_schedule(
            MonitoringScheduleName=schedule.name,
            MonitoringScheduleConfig={
                "ScheduleConfig": {"ScheduleExpression": "cron(0 * ? * * *)"},
                "MonitoringType": _MONITORING_TYPE_NAMES[schedule.monitor_type],
                "MonitoringJobDefinition": {
                    "MonitoringInputs": [
                        {
                            "EndpointInput": {
                                "EndpointName": model.endpoint,
                                "LocalPath": "/opt/ml/processing/input",
                            }
                        }
                    ],
                    "MonitoringOutputConfig": {
                        "MonitoringOutputs": [
                            {
                                "S3Output": {
                                    "S3Uri": output_uri,
                                    "LocalPath": "/opt/ml/processing/output",
                                }
                            }
                        ]
                    },
                    "MonitoringResources": {
                        "ClusterConfig": {
                            "InstanceCount": 1,
                            "InstanceType": "ml.m5.xlarge",
                            "VolumeSizeInGB": 20,
                        }
                    },
                    "MonitoringAppSpecification": {
                        "ImageUri": "156813124566.dkr.ecr.us-east-1.amazonaws.com/"
                        "sagemaker-model-monitor-analyzer"
                    },
                    "RoleArn": role,
                },
            },
        )
