"""The promotion world of the local stack: three accounts, a model registry, production endpoints.

- tooling (the emulator's default account, 123456789012): the control plane, the model registry
  (a package group per model, version 1 Approved and in production, version 2 awaiting
  approval, each pointing to its evaluation report in S3) and the deployer roles' ExternalId in
  Secrets Manager;
- staging (222222222222) and production (333333333333): accounts/target-account.yaml deployed
  into each (the deployer role trusting the tooling account with that ExternalId, the SageMaker
  execution role), a data-capture bucket, and in production the endpoint serving version 1 (but
  for ``returns``, which has never been deployed: its version 1 awaits approval).

Everything is created through the APIs, in the account it belongs to; the scenarios read it back
the same way (``emu.client(service, account=...)``). :meth:`PromotionWorld.shadow_traffic`
plays the part of real requests during a shadow test: CloudWatch datapoints and data-capture
files in the production account, which the verdict then reads through the real APIs.
"""

from __future__ import annotations

import json
import re
import secrets
import time
import urllib.request
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from mlopscp.worlds.common import ACCOUNT, REGION, ROOT, envelope, serve

STAGING = "222222222222"
PRODUCTION = "333333333333"
# What accounts/target-account.yaml names its deployer role; the control plane may assume these.
DEPLOYER_ROLES = {a: f"arn:aws:iam::{a}:role/mlopscp-deployer" for a in (STAGING, PRODUCTION)}
MODELS_BUCKET = f"mlopscp-models-{ACCOUNT}"
SECRET_NAME = "mlopscp/promotion/external-id"  # noqa: S105 - a name, not a secret
IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
PROMOTION_CHANNEL = "C0PROMOTIONS"
APPROVER = "U0ADA"
EMAIL_APPROVER = "release-manager@example.com"
LINK = re.compile(r"https?://\S+/approvals/(apv_[A-Za-z0-9_-]{22})/(approve|reject)\?\S+")
HIDDEN = re.compile(r'<input type="hidden" name="([a-z]+)" value="([^"]*)">')


def capture_bucket(account: str) -> str:
    return f"mlopscp-capture-{account}"


@dataclass(frozen=True)
class PromotionModel:
    model_id: str
    story: str
    metrics: dict[int, dict[str, Any]]  # version -> its evaluation report
    approve_by: str = "slack"  # how the demo answers its promotion approval: slack | email
    in_production: bool = True  # False: no endpoint yet, its first version awaits approval
    thresholds: dict[str, float] | None = None  # quality.thresholds of its configuration
    autoscaling: dict[str, Any] | None = None  # its autoscaling section (default: an override)
    serverless: dict[str, Any] | None = None  # both targets serverless; v1 served serverless
    bake_seconds: int = 600  # deployment.bake_seconds

    @property
    def endpoint(self) -> str:
        return f"{self.model_id}-prod"

    @property
    def staging_endpoint(self) -> str:
        return f"{self.model_id}-staging"

    def package_arn(self, version: int) -> str:
        return f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package/{self.model_id}/{version}"


def _regression(mse: float, r2: float) -> dict[str, Any]:
    return {
        "regression_metrics": {
            "mse": {"value": mse, "standard_deviation": 0.05},
            "r2": {"value": r2, "standard_deviation": 0.01},
        }
    }


def _binary(auc: float, accuracy: float) -> dict[str, Any]:
    return {
        "binary_classification_metrics": {
            "auc": {"value": auc, "standard_deviation": 0.01},
            "accuracy": {"value": accuracy, "standard_deviation": 0.01},
        }
    }


PROMOTION_MODELS = {
    m.model_id: m
    for m in (
        PromotionModel(
            "demand",
            "a better demand forecaster (mse 4.1 -> 3.6)",
            {1: _regression(4.1, 0.81), 2: _regression(3.6, 0.84)},
        ),
        PromotionModel(
            "upsell",
            "an upsell scorer whose offline AUC improved but which fails in production",
            {1: _binary(0.86, 0.81), 2: _binary(0.88, 0.82)},
        ),
        PromotionModel(
            "eta",
            "a delivery-time model whose production update goes wrong",
            {1: _regression(12.0, 0.70), 2: _regression(11.2, 0.73)},
            approve_by="email",
        ),
        PromotionModel(
            "returns",
            "a returns-risk scorer that has never been in production (AUC 0.88, bar 0.85)",
            {1: _binary(0.88, 0.84)},
            in_production=False,
            thresholds={"auc": 0.85, "accuracy": 0.8},
        ),
        # issue 10: monitored in production, retrained in the tooling account, its version 2
        # registered by the retrain (mlopscp.worlds.xaccount)
        PromotionModel(
            "forecast",
            "a demand forecaster in production drifts, is retrained and promoted back",
            {1: _regression(8.2, 0.78)},
        ),
    )
}


class PromotionWorld:
    def __init__(self, plane: Any) -> None:
        self.plane = plane
        self.emu = plane.emu
        self.external_id = secrets.token_urlsafe(24)
        self.secret_arn = ""
        self.roles: dict[str, dict[str, str]] = {}  # account -> stack outputs

    # -- seeding ------------------------------------------------------------------------------

    def seed(self) -> PromotionWorld:
        self.emu.client("s3").create_bucket(Bucket=MODELS_BUCKET)
        self.secret_arn = self.emu.client("secretsmanager").create_secret(
            Name=SECRET_NAME, SecretString=self.external_id
        )["ARN"]
        for account, purpose in ((STAGING, "staging"), (PRODUCTION, "production")):
            self.emu.client("s3", account=account).create_bucket(Bucket=capture_bucket(account))
            stack = self.emu.deploy(
                ROOT / "accounts" / "target-account.yaml",
                stack_name="mlopscp-target",
                account=account,
                parameters={
                    "AccountPurpose": purpose,
                    "ToolingAccountId": ACCOUNT,
                    "ExternalId": self.external_id,
                    "ModelArtifactsBucket": MODELS_BUCKET,
                    "DataCaptureBucket": capture_bucket(account),
                    # issue 10: forward the events the control plane consumes to its bus
                    "ControlPlaneEventBusArn": self.plane.outputs["WorkloadEventBusArn"],
                },
            )
            self.roles[account] = dict(stack.outputs)
            if self.roles[account]["DeployerRoleArn"] != DEPLOYER_ROLES[account]:
                raise RuntimeError(
                    f"{account}'s deployer role is {self.roles[account]['DeployerRoleArn']}, "
                    f"not the {DEPLOYER_ROLES[account]} the control plane may assume"
                )
        for model in PROMOTION_MODELS.values():
            self.add_model(model)
        return self

    def add_model(self, model: PromotionModel) -> None:
        """Its package group and versions, version 1 serving if in production, its config."""
        self._register(model)
        if model.in_production:
            self._serve_version_1(model)
        self._put_config(model)

    def _register(self, model: PromotionModel) -> None:
        sagemaker = self.emu.client("sagemaker")
        group = sagemaker.create_model_package_group(ModelPackageGroupName=model.model_id)
        for version, report in sorted(model.metrics.items()):
            self.register_version(model, version, report)
        if not model.in_production:
            return  # the control plane shares the group with both accounts itself
        # How version 1 reached production before the control plane: the team let the
        # production account read the group (the control plane adds its own statements).
        sagemaker.put_model_package_group_policy(
            ModelPackageGroupName=model.model_id,
            ResourcePolicy=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "TeamProductionReads",
                            "Effect": "Allow",
                            "Principal": {"AWS": f"arn:aws:iam::{PRODUCTION}:root"},
                            "Action": ["sagemaker:DescribeModelPackage"],
                            "Resource": group["ModelPackageGroupArn"].replace(
                                ":model-package-group/", ":model-package/"
                            )
                            + "/*",
                        }
                    ],
                }
            ),
        )

    def register_version(
        self,
        model: PromotionModel,
        version: int,
        report: dict[str, Any],
        metadata: dict[str, str] | None = None,
    ) -> str:
        """A package version with its evaluation report (what a pipeline's Register step
        does); version 1 of a model in production is Approved (it serves), the others await
        approval. Returns its ARN."""
        sagemaker, s3 = self.emu.client("sagemaker"), self.emu.client("s3")
        key = f"{model.model_id}/v{version}/evaluation.json"
        s3.put_object(Bucket=MODELS_BUCKET, Key=key, Body=json.dumps(report).encode())
        serves = version == 1 and model.in_production
        created = sagemaker.create_model_package(
            ModelPackageGroupName=model.model_id,
            ModelPackageDescription=f"{model.model_id} version {version}",
            ModelApprovalStatus="Approved" if serves else "PendingManualApproval",
            InferenceSpecification={
                "Containers": [
                    {
                        "Image": IMAGE,
                        "ModelDataUrl": f"s3://{MODELS_BUCKET}/{model.model_id}/v{version}/model.tar.gz",
                    }
                ],
                "SupportedContentTypes": ["text/csv"],
                "SupportedResponseMIMETypes": ["text/csv"],
            },
            ModelMetrics={
                "ModelQuality": {
                    "Statistics": {
                        "ContentType": "application/json",
                        "S3Uri": f"s3://{MODELS_BUCKET}/{key}",
                    }
                }
            },
            **({"CustomerMetadataProperties": metadata} if metadata else {}),
        )
        return str(created["ModelPackageArn"])

    def _serve_version_1(self, model: PromotionModel) -> None:
        """What a team had running before the control plane: version 1 in production."""
        sagemaker = self.emu.client("sagemaker", account=PRODUCTION)
        sagemaker.create_model(
            ModelName=f"{model.model_id}-v1",
            ExecutionRoleArn=self.roles[PRODUCTION]["ExecutionRoleArn"],
            Containers=[{"ModelPackageName": model.package_arn(1)}],
        )
        if model.serverless:  # no data capture: serverless endpoints have none
            sagemaker.create_endpoint_config(
                EndpointConfigName=f"{model.endpoint}-v1",
                ProductionVariants=[
                    {
                        "VariantName": "AllTraffic",
                        "ModelName": f"{model.model_id}-v1",
                        "ServerlessConfig": {"MemorySizeInMB": 2048, "MaxConcurrency": 10},
                    }
                ],
            )
            sagemaker.create_endpoint(
                EndpointName=model.endpoint, EndpointConfigName=f"{model.endpoint}-v1"
            )
        else:
            serve(
                sagemaker,
                model.endpoint,
                f"{model.model_id}-v1",
                2,
                f"s3://{capture_bucket(PRODUCTION)}/monitoring",
            )
        waiter = sagemaker.get_waiter("endpoint_in_service")
        waiter.wait(EndpointName=model.endpoint, WaiterConfig={"Delay": 0, "MaxAttempts": 10})

    def config(self, model: PromotionModel) -> dict[str, Any]:
        def target(account: str, endpoint: str) -> dict[str, Any]:
            return {
                "account_id": account,
                "deployer_role_arn": self.roles[account]["DeployerRoleArn"],
                "execution_role_arn": self.roles[account]["ExecutionRoleArn"],
                "endpoint_name": endpoint,
                "instance_type": "ml.m5.large",
                "instance_count": 2,
                "data_capture_uri": f"s3://{capture_bucket(account)}/{model.model_id}",
                **({"serverless": model.serverless} if model.serverless else {}),
            }

        approvals: dict[str, Any] = (
            {"email_approvers": [EMAIL_APPROVER]}
            if model.approve_by == "email"
            else {"slack_channel": PROMOTION_CHANNEL, "slack_approvers": [APPROVER]}
        )
        return {
            "model_id": model.model_id,
            "endpoint_name": model.endpoint,
            "approvals": approvals,
            "promotion": {
                "model_package_group": model.model_id,
                "external_id_secret_arn": self.secret_arn,
                "staging": target(STAGING, model.staging_endpoint),
                "production": target(PRODUCTION, model.endpoint),
                # Seconds, not minutes: the emulator's lifecycles settle on the next Describe.
                "poll_interval_seconds": 1,
                "shadow": {
                    "duration_minutes": 0.1,
                    "sampling_percentage": 50,
                    "min_invocations": 1000,
                    "min_compared_predictions": 200,
                },
                "deployment": {
                    "strategy": "canary",
                    "canary_percent": 10,
                    "wait_interval_seconds": 300,
                    "bake_seconds": model.bake_seconds,
                },
                **(
                    {}
                    if model.serverless  # a serverless variant scales itself
                    else {
                        "autoscaling": model.autoscaling
                        or {"benchmarked_max_rps": 25, "min_instances": 2, "max_instances": 6}
                    }
                ),
                **({"quality": {"thresholds": model.thresholds}} if model.thresholds else {}),
            },
        }

    def _put_config(self, model: PromotionModel) -> None:
        from mlops_runtime.model_config import ModelConfig

        config = ModelConfig.model_validate(self.config(model))
        table = self.plane.outputs["ModelConfigTableName"]
        items = {
            f"model#{model.model_id}": config.model_dump_json(),
            f"endpoint#{model.endpoint}": model.model_id,
            f"package-group#{model.model_id}": model.model_id,
        }
        for key, value in items.items():
            self.emu.client("dynamodb").put_item(
                TableName=table, Item={"id": {"S": key}, "value": {"S": value}}
            )

    # -- events as SageMaker sends them --------------------------------------------------------

    def approve_in_registry(
        self, model: PromotionModel, version: int, status: str = "Approved"
    ) -> dict[str, Any]:
        """UpdateModelPackage in the registry; return the Model Package State Change event
        SageMaker emits for it (its detail mirrors DescribeModelPackage)."""
        sagemaker = self.emu.client("sagemaker")
        arn = model.package_arn(version)
        sagemaker.update_model_package(
            ModelPackageArn=arn, ModelApprovalStatus=status, ApprovalDescription="reviewed offline"
        )
        described = sagemaker.describe_model_package(ModelPackageName=arn)
        described.pop("ResponseMetadata", None)
        detail = json.loads(json.dumps(described, default=_iso))
        detail["UpdatedModelPackageFields"] = ["ModelApprovalStatus", "ApprovalDescription"]
        return envelope("aws.sagemaker", "SageMaker Model Package State Change", detail, [arn])

    # -- the shadow test's traffic --------------------------------------------------------------

    def wait_for_shadow(self, model: PromotionModel, timeout: float = 60) -> str:
        """The experiment's name once it is Running (listing does not move its lifecycle)."""
        sagemaker = self.emu.client("sagemaker", account=PRODUCTION)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for experiment in sagemaker.list_inference_experiments(
                NameContains=f"{model.model_id}-shadow"
            )["InferenceExperiments"]:
                if experiment["Status"] == "Running":
                    return str(experiment["Name"])
            time.sleep(0.05)
        raise TimeoutError(f"no running shadow test of {model.model_id} after {timeout}s")

    def shadow_traffic(
        self,
        model: PromotionModel,
        version: int,
        requests: int = 3000,
        shadow_5xx: int = 0,
        disagree_every: int = 0,
    ) -> None:
        """Requests served while the shadow test runs: production's variant answers all of
        them, the shadow gets its sampled half. CloudWatch gets what SageMaker would publish
        (AWS/SageMaker, EndpointName + VariantName; ModelLatency in microseconds), the capture
        bucket the JSON lines data capture writes for both variants."""
        shadow_variant = f"shadow-v{version}"
        sampled = requests // 2
        cloudwatch = self.emu.client("cloudwatch", account=PRODUCTION)
        for variant, count, errors_5xx, latency_ms in (
            ("AllTraffic", requests, 1, (18, 22, 25, 31, 38, 44)),
            (shadow_variant, sampled, shadow_5xx, (17, 21, 24, 30, 37, 42)),
        ):
            dimensions = [
                {"Name": "EndpointName", "Value": model.endpoint},
                {"Name": "VariantName", "Value": variant},
            ]
            weights = [0.3, 0.3, 0.2, 0.15, 0.04, 0.01]
            cloudwatch.put_metric_data(
                Namespace="AWS/SageMaker",
                MetricData=[
                    {
                        "MetricName": "Invocations",
                        "Dimensions": dimensions,
                        "Value": count,
                        "Unit": "None",
                    },
                    {
                        "MetricName": "Invocation4XXErrors",
                        "Dimensions": dimensions,
                        "Value": 2,
                        "Unit": "None",
                    },
                    {
                        "MetricName": "Invocation5XXErrors",
                        "Dimensions": dimensions,
                        "Value": errors_5xx,
                        "Unit": "None",
                    },
                    {
                        "MetricName": "ModelLatency",
                        "Dimensions": dimensions,
                        "Unit": "Microseconds",
                        "Values": [ms * 1000.0 for ms in latency_ms],
                        "Counts": [max(1.0, round(count * w)) for w in weights],
                    },
                ],
            )
        self._capture(model, "AllTraffic", sampled, None)
        self._capture(model, shadow_variant, sampled, disagree_every or None)

    def _capture(
        self, model: PromotionModel, variant: str, count: int, disagree_every: int | None
    ) -> None:
        now = datetime.now(UTC)
        lines = []
        for i in range(count):
            prediction = 0.1 + (i % 80) / 100
            if disagree_every and i % disagree_every == 0:
                prediction += 0.5  # the candidate answers differently on this request
            lines.append(
                json.dumps(
                    {
                        "captureData": {
                            "endpointInput": {
                                "observedContentType": "text/csv",
                                "mode": "INPUT",
                                "data": f"{i},{i % 7},{(i * 13) % 101}",
                                "encoding": "CSV",
                            },
                            "endpointOutput": {
                                "observedContentType": "text/csv",
                                "mode": "OUTPUT",
                                "data": f"{prediction:.4f}",
                                "encoding": "CSV",
                            },
                        },
                        "eventMetadata": {
                            "eventId": str(uuid.uuid4()),
                            "inferenceTime": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
                        },
                        "eventVersion": "0",
                    }
                )
            )
        key = (
            f"{model.model_id}/{model.endpoint}/{variant}/{now:%Y/%m/%d/%H}/"
            f"{now:%M-%S}-{uuid.uuid4().hex[:8]}.jsonl"
        )
        self.emu.client("s3", account=PRODUCTION).put_object(
            Bucket=capture_bucket(PRODUCTION), Key=key, Body="\n".join(lines).encode()
        )

    # -- answering the approval through the real callback path ---------------------------------

    def pending_approval(self, model: PromotionModel) -> dict[str, Any]:
        pending = [a for a in self.plane.approvals(model.model_id) if a["status"] == "pending"]
        if len(pending) != 1:
            raise AssertionError(f"{model.model_id}: expected one pending approval: {pending}")
        return pending[0]

    def approve_in_slack(self, approval_id: str, user: str = APPROVER) -> int:
        """Click Approve on the request's Slack message, as Slack would send it (signed)."""
        message = next(
            m
            for m in self.plane.slack.messages(PROMOTION_CHANNEL)
            if approval_id in json.dumps(m.blocks)
        )
        url = self.emu.http_url("ApprovalCallbackFunctionUrl") + "slack/interactions"
        return int(self.plane.slack.click(message, user, "approval.approve", url).status)

    def approve_by_email(self, approval_id: str) -> int:
        """Open the emailed approve link (a confirmation page), then confirm it (POST)."""
        email = next(
            e
            for e in self.plane.approval_emails()
            if e["attributes"].get("approval_id") == approval_id
        )
        link = next(m.group(0) for m in LINK.finditer(email["body"]) if m.group(2) == "approve")
        with urllib.request.urlopen(link, timeout=30) as page:  # noqa: S310 - loopback http
            fields = dict(HIDDEN.findall(page.read().decode()))
        body = urlencode(fields | {"confirm": "approve", "reason": "shadow looks fine"})
        request = urllib.request.Request(  # noqa: S310 - loopback http
            link.split("?")[0],
            data=body.encode(),
            method="POST",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
            return int(answer.status)

    # -- reading back ---------------------------------------------------------------------------

    def serving(self, model: PromotionModel) -> dict[str, Any]:
        """What the production account's endpoint serves: config, model, package, variants."""
        sagemaker = self.emu.client("sagemaker", account=PRODUCTION)
        endpoint = sagemaker.describe_endpoint(EndpointName=model.endpoint)
        config = sagemaker.describe_endpoint_config(
            EndpointConfigName=endpoint["EndpointConfigName"]
        )
        variant = config["ProductionVariants"][0]
        described = sagemaker.describe_model(ModelName=variant["ModelName"])
        containers = described.get("Containers") or [described.get("PrimaryContainer", {})]
        live = endpoint["ProductionVariants"][0]
        return {
            "status": endpoint["EndpointStatus"],
            "config": endpoint["EndpointConfigName"],
            "model": variant["ModelName"],
            "package": containers[0].get("ModelPackageName"),
            "shadow_variants": endpoint.get("ShadowProductionVariants") or [],
            "failure_reason": endpoint.get("FailureReason"),
            "deployment": endpoint.get("LastDeploymentConfig"),
            "data_capture": endpoint.get("DataCaptureConfig"),
            "instances": (variant["InitialInstanceCount"], live.get("CurrentInstanceCount")),
            "tags": sagemaker.list_tags(ResourceArn=endpoint["EndpointArn"])["Tags"],
        }

    def production_endpoints(self, model: PromotionModel) -> list[str]:
        listed = self.emu.client("sagemaker", account=PRODUCTION).list_endpoints(
            NameContains=model.endpoint
        )["Endpoints"]
        return [e["EndpointName"] for e in listed]

    def scale_production(self, model: PromotionModel, instances: int) -> None:
        """The variant scaled out, as Application Auto Scaling (or a person) does it:
        UpdateEndpointWeightsAndCapacities in the production account."""
        sagemaker = self.emu.client("sagemaker", account=PRODUCTION)
        sagemaker.update_endpoint_weights_and_capacities(
            EndpointName=model.endpoint,
            DesiredWeightsAndCapacities=[
                {"VariantName": "AllTraffic", "DesiredInstanceCount": instances}
            ],
        )
        waiter = sagemaker.get_waiter("endpoint_in_service")
        waiter.wait(EndpointName=model.endpoint, WaiterConfig={"Delay": 0, "MaxAttempts": 10})

    def staging_endpoints(self, model: PromotionModel) -> list[str]:
        listed = self.emu.client("sagemaker", account=STAGING).list_endpoints(
            NameContains=model.staging_endpoint
        )["Endpoints"]
        return [e["EndpointName"] for e in listed]

    def scalable_target(self, model: PromotionModel) -> dict[str, Any] | None:
        autoscaling = self.emu.client("application-autoscaling", account=PRODUCTION)
        resource = f"endpoint/{model.endpoint}/variant/AllTraffic"
        targets = autoscaling.describe_scalable_targets(
            ServiceNamespace="sagemaker", ResourceIds=[resource]
        )["ScalableTargets"]
        if not targets:
            return None
        policies = autoscaling.describe_scaling_policies(
            ServiceNamespace="sagemaker", ResourceId=resource
        )["ScalingPolicies"]
        return {
            "min": targets[0]["MinCapacity"],
            "max": targets[0]["MaxCapacity"],
            "policies": [p.get("TargetTrackingScalingPolicyConfiguration") for p in policies],
        }

    def executions(self, model: PromotionModel) -> list[dict[str, Any]]:
        sfn = self.emu.client("stepfunctions")
        machine = self.plane.stack.state_machines["PromotionStateMachine"]
        listed = sfn.list_executions(stateMachineArn=machine)["executions"]
        return [e for e in listed if e["name"].startswith(f"{model.model_id}-v")]

    def group_policy(self, model: PromotionModel) -> dict[str, Any]:
        return dict(
            json.loads(
                self.emu.client("sagemaker").get_model_package_group_policy(
                    ModelPackageGroupName=model.model_id
                )["ResourcePolicy"]
            )
        )


def _iso(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    raise TypeError(type(value))
