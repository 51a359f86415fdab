"""The control plane deployed on the embedded emulator, with a small SageMaker world to act on.

Used by `mlopscp demo`, `mlopscp replay` and the end-to-end tests: everything is created through
AWS APIs (the template through CloudFormation, the worlds of :mod:`mlopscp.worlds` through
SageMaker, S3, SNS, SQS and the control plane's own `models put`), and everything the scenarios
claim is read back the same way.
"""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from mlops_core.monitoring import MonitorType, load_history
from mlops_runtime.model_config import ModelConfig, records
from mlops_runtime.store import from_attributes
from mlopscp_emulator import sagemaker_ext

from mlopscp.pipelines import load_definition, upload_code, upsert_pipeline
from mlopscp.slack_standin import SlackStandIn
from mlopscp.worlds import training
from mlopscp.worlds.common import ACCOUNT, MONITORING_BUCKET, ROOT, SAGEMAKER_ROLE, envelope, serve
from mlopscp.worlds.drift import MODELS, DemoModel, seed_history
from mlopscp.worlds.promotion import DEPLOYER_ROLES, PRODUCTION, STAGING, PromotionWorld
from mlopscp.worlds.xaccount import LoopWorld

STACK = "mlopscp-local"
# The local Slack workspace (tooling/mlopscp/slack_standin.py): who is who.
SLACK_USERS = {"U0ADA": "ada", "U0GRACE": "grace", "U0MALLORY": "mallory"}
SLACK_GROUPS = {"S0MLONCALL": ["U0GRACE"]}


class LocalControlPlane:
    """Deploys template.yaml into an emulator and seeds the demo world."""

    def __init__(self, emulator: Any) -> None:
        self.emu = emulator
        self.stack: Any = None
        self.inbox_url = ""
        self.approval_inbox_url = ""
        self.slack: Any = None  # the Slack stand-in, started by up()
        self.promotion: Any = None  # issue 3: mlopscp.worlds.promotion.PromotionWorld, by up()
        self.loop: Any = None  # issue 10: mlopscp.worlds.xaccount.LoopWorld, by up()

    # -- setting up ---------------------------------------------------------------------------

    def up(self) -> LocalControlPlane:
        self.stack = self.emu.deploy(
            ROOT / "template.yaml",
            stack_name=STACK,
            parameters={
                "Stage": "local",
                "MonitoringBucketPattern": MONITORING_BUCKET,
                # The roles handed on, by exact ARN, as a real deployment lists them.
                "TrainingRoleArns": SAGEMAKER_ROLE,
                "PromotionDeployerRoleArns": ",".join(DEPLOYER_ROLES.values()),
                "WorkloadReaderRoleArns": ",".join(
                    f"arn:aws:iam::{account}:role/mlopscp-reader"
                    for account in (STAGING, PRODUCTION)
                ),
                # issue 10: the workload accounts whose events the control plane's bus takes
                "WorkloadAccountIds": f"{STAGING},{PRODUCTION}",
                **self._start_slack(),
            },
        )
        self.emu.client("s3").create_bucket(Bucket=MONITORING_BUCKET)
        self.inbox_url = self._subscribe_inbox()
        self.approval_inbox_url = self._subscribe_inbox("ApprovalTopicArn", "approval-inbox")
        for model in MODELS.values():
            self._seed(model)
        self._seed_training()
        self.promotion = PromotionWorld(self).seed()  # staging + production accounts, registry
        self.loop = LoopWorld(self).seed()  # issue 10: forecast, monitored in production
        return self

    @property
    def outputs(self) -> dict[str, str]:
        return dict(self.stack.outputs)

    def _start_slack(self) -> dict[str, str]:
        """The Slack stand-in on loopback, its bot token and signing secret in Secrets Manager
        (fresh random values per run): the stack parameters that point the stack at it."""
        token, signing = f"xoxb-local-{secrets.token_hex(12)}", secrets.token_hex(16)
        self.slack = SlackStandIn(token, signing, SLACK_USERS, SLACK_GROUPS).start()
        self.emu.add_cleanup(self.slack.stop)
        manager = self.emu.client("secretsmanager")
        return {
            "SlackBotTokenSecretArn": manager.create_secret(
                Name="mlopscp-local/slack-bot-token", SecretString=token
            )["ARN"],
            "SlackSigningSecretArn": manager.create_secret(
                Name="mlopscp-local/slack-signing-secret", SecretString=signing
            )["ARN"],
            "SlackApiUrl": self.slack.api_url,
        }

    def _subscribe_inbox(
        self, topic_output: str = "NotificationTopicArn", queue: str = "notification-inbox"
    ) -> str:
        """An SQS queue subscribed to a topic: how the demo reads pages (and emails) back."""
        sqs, sns = self.emu.client("sqs"), self.emu.client("sns")
        url = sqs.create_queue(QueueName=queue)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        sns.subscribe(
            TopicArn=self.outputs[topic_output],
            Protocol="sqs",
            Endpoint=arn,
            Attributes={"RawMessageDelivery": "true"},
        )
        return str(url)

    def _seed(self, model: DemoModel) -> None:
        sagemaker = self.emu.client("sagemaker")
        sagemaker.create_model(
            ModelName=f"{model.model_id}-v1",
            ExecutionRoleArn=SAGEMAKER_ROLE,
            PrimaryContainer={
                "Image": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1",
                "ModelDataUrl": f"s3://{MONITORING_BUCKET}/models/{model.model_id}/model.tar.gz",
            },
        )
        serve(
            sagemaker,
            model.endpoint,
            f"{model.model_id}-v1",
            1,
            f"s3://{MONITORING_BUCKET}/capture",
        )
        self._upload_history(model)
        self.seed_pipeline(model)
        self._put_config(model)

    def _seed_training(self) -> None:
        """Training jobs, a training pipeline and an enforcing model (issue 5's scenarios)."""
        training.seed(self)

    def _upload_history(self, model: DemoModel) -> None:
        seed_history(self.emu, model, model.output_uri, SAGEMAKER_ROLE)

    def seed_pipeline(self, model: DemoModel) -> None:
        """The reference retraining blueprint (pipelines/retrain), bound to this account."""
        base = f"s3://{MONITORING_BUCKET}/retrain/{model.model_id}"
        code = upload_code(self.emu.client("s3"), f"{base}/code")
        upsert_pipeline(
            self.emu.client("sagemaker"),
            model.pipeline,
            SAGEMAKER_ROLE,
            load_definition(),
            {
                "CodePrefix": code,
                "InputDataUri": f"{base}/data",
                "ArtifactPrefix": f"{base}/artifacts",
                "ModelPackageGroupName": model.model_id,
            },
        )

    def _put_config(self, model: DemoModel) -> None:
        config = ModelConfig.model_validate(
            {
                "model_id": model.model_id,
                "endpoint_name": model.endpoint,
                "monitoring_output_uri": model.output_uri,
                "retrain": {
                    "pipeline_name": model.pipeline,
                    "require_approval": model.approvals is not None,
                },
                "approvals": model.approvals,
            }
            | ({"incidents": model.incidents} if model.incidents else {})
        )
        self.put_config(config)

    def put_config(self, config: ModelConfig) -> None:
        """Store a model configuration with the items `mlopscp models put` writes."""
        dynamodb = self.emu.client("dynamodb")
        for key, value in records(config).items():
            dynamodb.put_item(
                TableName=self.outputs["ModelConfigTableName"],
                Item={"id": {"S": key}, "value": {"S": value}},
            )

    def upload_tree(self, folder: Path, uri: str) -> int:
        """Every file under ``folder`` to the same relative key under ``uri`` (its bucket is
        created when the emulated account has none of that name); how many files."""
        bucket, _, prefix = uri.removeprefix("s3://").partition("/")
        s3 = self.emu.client("s3")
        if bucket not in {b["Name"] for b in s3.list_buckets().get("Buckets", [])}:
            s3.create_bucket(Bucket=bucket)
        files = sorted(p for p in folder.rglob("*") if p.is_file())
        for path in files:
            key = "/".join(
                part for part in (prefix.strip("/"), path.relative_to(folder).as_posix()) if part
            )
            s3.put_object(Bucket=bucket, Key=key, Body=path.read_bytes())
        return len(files)

    # -- events as AWS would send them ----------------------------------------------------------

    def monitoring_execution_event(
        self,
        model: DemoModel,
        schedule: str | None = None,
        status: str = "CompletedWithViolations",
        failure_reason: str | None = None,
        account: str = ACCOUNT,
        output_uri: str | None = None,
        at: datetime | None = None,
    ) -> dict[str, Any]:
        """Record a monitoring execution of the hour `at` (default: the newest hour in the
        history; in `account`, its output under `output_uri`, default the model's) and return
        the Processing Job State Change event SageMaker emits there for it (detail mirrors the
        job)."""
        history = load_history(model.files())
        chosen = next(
            s
            for s in history.schedules
            if schedule in (None, s.name)
            and s.monitor_type == (MonitorType.DATA_QUALITY if schedule is None else s.monitor_type)
        )
        at = at or chosen.latest.at
        job = sagemaker_ext.record_monitoring_execution(
            chosen.name,
            at,
            status=status,
            failure_reason=failure_reason,
            output_uri=f"{output_uri or model.output_uri}/{chosen.name}/{at:%Y/%m/%d/%H}",
            account_id=account,
        )
        described = self.emu.client("sagemaker", account=account).describe_processing_job(
            ProcessingJobName=job["ProcessingJobName"]
        )
        described.pop("ResponseMetadata", None)
        detail = json.loads(json.dumps(described, default=_epoch_ms))
        return envelope(
            "aws.sagemaker",
            "SageMaker Processing Job State Change",
            detail,
            [described["ProcessingJobArn"]],
            account,
        )

    def pipeline_status_event(self, execution_arn: str) -> dict[str, Any]:
        sagemaker = self.emu.client("sagemaker")
        described = sagemaker.describe_pipeline_execution(PipelineExecutionArn=execution_arn)
        detail = {
            "pipelineArn": described["PipelineArn"],
            "pipelineExecutionArn": execution_arn,
            "pipelineExecutionDisplayName": described.get("PipelineExecutionDisplayName"),
            "currentPipelineExecutionStatus": described["PipelineExecutionStatus"],
            "previousPipelineExecutionStatus": "Executing",
            "executionStartTime": _iso(described["CreationTime"]),
            "executionEndTime": _iso(described["LastModifiedTime"]),
        }
        if described.get("FailureReason"):
            detail["failureReason"] = described["FailureReason"]
        return envelope(
            "aws.sagemaker",
            "SageMaker Model Building Pipeline Execution Status Change",
            detail,
            [described["PipelineArn"], execution_arn],
        )

    # -- reading back -------------------------------------------------------------------------

    def pipeline_executions(self, model: DemoModel) -> list[dict[str, Any]]:
        sagemaker = self.emu.client("sagemaker")
        summaries = sagemaker.list_pipeline_executions(PipelineName=model.pipeline)[
            "PipelineExecutionSummaries"
        ]
        result = []
        for summary in summaries:
            arn = summary["PipelineExecutionArn"]
            params = sagemaker.list_pipeline_parameters_for_execution(PipelineExecutionArn=arn)[
                "PipelineParameters"
            ]
            result.append(
                {
                    "arn": arn,
                    "status": summary["PipelineExecutionStatus"],
                    "parameters": {p["Name"]: p["Value"] for p in params},
                }
            )
        return result

    def ledger(self, model_id: str) -> list[dict[str, Any]]:
        dynamodb = self.emu.client("dynamodb")
        items = dynamodb.query(
            TableName=self.outputs["LedgerTableName"],
            IndexName="by-time",
            KeyConditionExpression="model_id = :m",
            ExpressionAttributeValues={":m": {"S": model_id}},
        )["Items"]
        return [{k: next(iter(v.values())) for k, v in item.items()} for item in items]

    def drain(self, queue_url: str, account: str | None = None) -> list[dict[str, Any]]:
        """Every message now in the queue (of `account`, default tooling), removed as read."""
        sqs = self.emu.client("sqs", account=account)
        found: list[dict[str, Any]] = []
        while True:
            batch = sqs.receive_message(
                QueueUrl=queue_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
            ).get("Messages", [])
            if not batch:
                return found
            for message in batch:
                found.append(
                    {
                        "body": message["Body"],
                        "attributes": {
                            k: v.get("StringValue")
                            for k, v in message.get("MessageAttributes", {}).items()
                        },
                    }
                )
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])

    def notifications(self) -> list[dict[str, Any]]:
        return self.drain(self.inbox_url)

    def dead_letters(self) -> list[dict[str, Any]]:
        return self.drain(self.outputs["DeadLetterQueueUrl"])

    # -- approvals (issue 4) ------------------------------------------------------------------

    def approval_emails(self) -> list[dict[str, Any]]:
        """What the approvals topic sent (one message per email approver, or a notice)."""
        return self.drain(self.approval_inbox_url)

    def approvals(self, model_id: str | None = None) -> list[dict[str, Any]]:
        """Approvals as stored, oldest first, without their token ciphertext."""
        pages = (
            self.emu.client("dynamodb")
            .get_paginator("scan")
            .paginate(
                TableName=self.outputs["ApprovalTableName"],
                FilterExpression="begins_with(pk, :p)",
                ExpressionAttributeValues={":p": {"S": "APPROVAL#"}},
            )
        )
        found = [
            {k: v for k, v in from_attributes(item).items() if k != "token"}
            for page in pages
            for item in page.get("Items", [])
        ]
        found = [a for a in found if model_id in (None, a["model_id"])]
        return sorted(found, key=lambda a: str(a["created_at"]))

    def sweep(self) -> dict[str, Any]:
        """Run the approval sweeper now (its schedule never fires in the emulator)."""
        response = self.emu.client("lambda").invoke(
            FunctionName=self.outputs["ApprovalSweeperFunctionName"]
        )
        return dict(json.loads(response["Payload"].read()))

    def move_deadline(self, approval_id: str, deadline: datetime) -> None:
        """Time travel for the demo: rather than wait 20 hours, move an approval's deadline
        (and its reminder, 4 hours before) the way the sweeper would then see it."""
        stamp = deadline.strftime("%Y-%m-%dT%H:%M:%SZ")
        reminder = (deadline - timedelta(hours=4)).strftime("%Y-%m-%dT%H:%M:%SZ")
        self.emu.client("dynamodb").update_item(
            TableName=self.outputs["ApprovalTableName"],
            Key={"pk": {"S": f"APPROVAL#{approval_id}"}},
            UpdateExpression="SET deadline = :d, reminder_at = :r",
            ExpressionAttributeValues={":d": {"S": stamp}, ":r": {"S": reminder}},
        )


def _epoch_ms(value: Any) -> Any:
    if isinstance(value, datetime):
        return int(value.timestamp() * 1000)
    raise TypeError(type(value))


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
