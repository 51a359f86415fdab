"""Per-model configuration: one DynamoDB table, one JSON document per model.

Hundreds of models fit comfortably: functions read a model's document by key (cached for a
minute per execution environment by Powertools Parameters) and find it from an endpoint name
through an alias item, so no scan is ever needed. `mlopscp models put` validates and writes both.

Items: ``{"id": "model#<model_id>", "value": "<ModelConfig JSON>"}`` and
``{"id": "endpoint#<endpoint_name>", "value": "<model_id>"}`` (plus, for a model with a
``promotion`` section, ``{"id": "package-group#<group>", "value": "<model_id>"}``, and for a
model in a workload account, ``{"id": "account#<account_id>", "value": "<AccountAccess JSON>"}``).
"""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.utilities.parameters.base import BaseProvider
from mlops_core.guardrails import GuardrailPolicy
from mlops_core.incident_policy import IncidentPolicy
from mlops_core.observe import Mode
from mlops_core.policy import TriagePolicy
from mlops_core.promotion import AutoscalingPolicy, DeploymentPolicy, QualityPolicy, ShadowPolicy
from mlops_core.promotion.async_inference import AsyncVariant
from mlops_core.promotion.serverless import ServerlessVariant
from mlops_core.serving_policy import Environment
from mlops_core.spot import SpotPolicy
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

MODEL_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$"
ENDPOINT_PATTERN = r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$"
SlackUserId = Annotated[str, StringConstraints(pattern=r"^[UW][A-Z0-9]{2,}$")]
SlackGroupId = Annotated[str, StringConstraints(pattern=r"^S[A-Z0-9]{2,}$")]
EmailAddress = Annotated[str, StringConstraints(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]


class RetrainConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    pipeline_name: str = Field(pattern=r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,255}$")
    parameters: dict[str, str] = Field(
        default_factory=dict, description="static pipeline parameters sent on every retrain"
    )
    cooldown_hours: float | None = Field(
        None, ge=0, description="minimum time between two retrains; the stack's default if unset"
    )
    require_approval: bool = Field(
        False, description="a human approves each retrain first (the model's approvals section)"
    )


class ApprovalsConfig(BaseModel):
    """Who approves this model's gated actions, over which channels, and how long they have.

    Approvers are frozen into each approval when it is requested; editing them later changes
    only the approvals asked afterwards.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    slack_channel: str | None = Field(
        None, pattern=r"^[CGD][A-Z0-9]{2,}$", description="Slack channel id to post requests in"
    )
    slack_approvers: list[SlackUserId] = Field(
        default_factory=list, description="Slack user ids (U.../W...) allowed to answer"
    )
    slack_approver_groups: list[SlackGroupId] = Field(
        default_factory=list, description="Slack user group ids (S...) whose members may answer"
    )
    email_approvers: list[EmailAddress] = Field(
        default_factory=list, description="addresses that get signed approve/reject links"
    )
    deadline_hours: float = Field(
        24.0, gt=0, le=720, description="unanswered after this, the request is rejected"
    )
    reminder_before_hours: float | None = Field(
        4.0, ge=0, description="remind the approvers this long before the deadline (0: never)"
    )

    @model_validator(mode="after")
    def _someone_can_answer(self) -> ApprovalsConfig:
        slack = self.slack_approvers or self.slack_approver_groups
        if slack and not self.slack_channel:
            raise ValueError("slack_channel is required when Slack approvers are named")
        if not slack and not self.email_approvers:
            raise ValueError("name at least one Slack approver, approver group or email approver")
        return self


ROLE_ARN_PATTERN = r"^arn:aws[a-z-]*:iam::\d{12}:role/[A-Za-z0-9+=,.@_/-]{1,512}$"
SECRET_ARN_PATTERN = r"^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+$"  # noqa: S105  # nosec B105  # a regex of secret ARNs


class PromotionTarget(BaseModel):
    """A staging or production account the model is promoted into (docs/promotion.md)."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    account_id: str = Field(pattern=r"^\d{12}$")
    deployer_role_arn: str = Field(
        pattern=ROLE_ARN_PATTERN,
        description="the role accounts/target-account.yaml creates there; assumed with the "
        "promotion's ExternalId",
    )
    execution_role_arn: str = Field(
        pattern=ROLE_ARN_PATTERN, description="the SageMaker execution role the model runs as"
    )
    endpoint_name: str = Field(pattern=ENDPOINT_PATTERN)
    variant_name: str = Field("AllTraffic", pattern=ENDPOINT_PATTERN)
    instance_type: str = Field("ml.m5.large", pattern=r"^ml\.[a-z0-9.-]+$")
    instance_count: int = Field(
        1,
        ge=1,
        le=100,
        description="staging's fleet; production's on a first deployment, and the least a "
        "production deployment starts with (it starts at the live variant's count)",
    )
    data_capture_uri: str = Field(
        pattern=r"^s3://[^/]+(/.*)?$",
        description="staging: the endpoint's data capture; production: the shadow test's, and "
        "the endpoint's when a first deployment creates it",
    )
    serverless: ServerlessVariant | None = Field(
        None,
        description="serve with ServerlessConfig instead of instance_type/instance_count: no "
        "data capture, no shadow test; production only by a first deployment (docs/serving.md)",
    )
    async_inference: AsyncVariant | None = Field(
        None,
        description="serve asynchronously (AsyncInferenceConfig), scaling on the queue, to zero "
        "by default; production only by a first deployment (docs/serving.md)",
    )

    @model_validator(mode="after")
    def _one_endpoint_type(self) -> PromotionTarget:
        if self.serverless is not None and self.async_inference is not None:
            raise ValueError("a variant is serverless or async, not both")
        return self

    @model_validator(mode="after")
    def _roles_in_the_account(self) -> PromotionTarget:
        for arn in (self.deployer_role_arn, self.execution_role_arn):
            if arn.split(":")[4] != self.account_id:
                raise ValueError(f"{arn} is not a role of account {self.account_id}")
        return self


class PromotionConfig(BaseModel):
    """How a model's approved versions reach production: registry, accounts, gates."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    model_package_group: str = Field(pattern=r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
    external_id_secret_arn: str = Field(
        pattern=SECRET_ARN_PATTERN,
        description="Secrets Manager secret holding the ExternalId the deployer roles require",
    )
    staging: PromotionTarget
    production: PromotionTarget
    notify_pending_approval: bool = Field(
        False, description="notify when a version of the group awaits approval in the registry"
    )
    poll_interval_seconds: int = Field(
        60, ge=1, le=3600, description="how often the workflow checks endpoints and experiments"
    )
    staging_timeout_minutes: float = Field(45, gt=0, le=1440)
    deployment_timeout_minutes: float = Field(
        300, gt=0, le=1440, description="the production blue/green deployment, bake time included"
    )
    quality: QualityPolicy = Field(default_factory=QualityPolicy)
    shadow: ShadowPolicy = Field(default_factory=ShadowPolicy)
    deployment: DeploymentPolicy = Field(default_factory=DeploymentPolicy)
    autoscaling: AutoscalingPolicy | None = Field(
        None, description="target tracking after the deployment; none: instance count is fixed"
    )

    @model_validator(mode="after")
    def _distinct_accounts(self) -> PromotionConfig:
        if self.staging.account_id == self.production.account_id:
            raise ValueError("staging and production must be different accounts")
        scaling = self.autoscaling
        if scaling is not None and self.production.async_inference is not None:
            raise ValueError(
                "an async production variant scales on its queue: set async_inference."
                "max_instances and target_backlog_per_instance instead of autoscaling"
            )
        if scaling is not None and self.production.serverless is not None:
            raise ValueError(
                "autoscaling applies to instance variants: a serverless production variant "
                "scales itself (serverless.max_concurrency, provisioned_concurrency)"
            )
        if scaling is not None and self.production.instance_count > scaling.max_instances:
            raise ValueError(
                f"production.instance_count ({self.production.instance_count}) is above "
                f"autoscaling.max_instances ({scaling.max_instances})"
            )
        return self


class WorkloadAccount(BaseModel):
    """The workload account a model is served and monitored in (docs/promotion.md): its
    events come from there, and triage reads its monitoring output there through the reader
    role accounts/target-account.yaml creates."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    account_id: str = Field(pattern=r"^\d{12}$")
    reader_role_arn: str = Field(
        pattern=ROLE_ARN_PATTERN, description="the read-only role of that account (ReaderRoleArn)"
    )
    external_id_secret_arn: str | None = Field(
        None,
        pattern=SECRET_ARN_PATTERN,
        description="the ExternalId the reader role requires; default: the promotion's",
    )

    @model_validator(mode="after")
    def _role_in_the_account(self) -> WorkloadAccount:
        if self.reader_role_arn.split(":")[4] != self.account_id:
            raise ValueError(f"{self.reader_role_arn} is not a role of account {self.account_id}")
        return self


class AccountAccess(BaseModel):
    """How the control plane reads in one workload account: the ``account#<id>`` item."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    account_id: str = Field(pattern=r"^\d{12}$")
    reader_role_arn: str = Field(pattern=ROLE_ARN_PATTERN)
    external_id_secret_arn: str = Field(pattern=SECRET_ARN_PATTERN)


# A model owner: a Slack user id, a Slack user-group id, an email address or a team name.
Owner = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True,
        pattern=r"^(?:[UW][A-Z0-9]{2,}|S[A-Z0-9]{2,}|[^@\s<>|]+@[^@\s<>|]+\.[^@\s<>|]+"
        r"|@?[A-Za-z0-9][A-Za-z0-9._-]{0,79})$",
    ),
]


class ModelConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    model_id: str = Field(pattern=MODEL_ID_PATTERN)
    endpoint_name: str = Field(pattern=ENDPOINT_PATTERN)
    mode: Mode = Field(
        Mode.ACT,
        description="observe: decide and record (would_* ledger entries), never start, deploy "
        "or page; the stack's ObserveOnly switch wins when it is on",
    )
    environment: Environment = Field(
        "production",
        description="what endpoint_name serves: staging or production (serving actions act on "
        "staging endpoints by default; docs/serving.md#acting-on-findings)",
    )
    account: WorkloadAccount | None = Field(
        None, description="the workload account the endpoint is in; none: the tooling account"
    )
    monitoring_output_uri: str | None = Field(
        None,
        pattern=r"^s3://[^/]+(/.*)?$",
        description="root of the endpoint's evidence streams (Model Monitor schedules, "
        "Evidently report streams); derived from the monitoring execution's output when not set",
    )
    monitoring_schedules: list[str] = Field(
        default_factory=list, description="only these streams (all under the root when empty)"
    )
    retrain: RetrainConfig | None = None
    triage: TriagePolicy = Field(default_factory=TriagePolicy)
    incidents: IncidentPolicy = Field(
        default_factory=IncidentPolicy,
        description="incident lifecycle: resolve, reopen, snooze limits, Slack channel",
    )
    owners: list[Owner] = Field(
        default_factory=list,
        max_length=20,
        description="who owns the model, named in its notifications: Slack user ids (U.../W...) "
        "and user-group ids (S...) are mentioned and may acknowledge incidents; an email address "
        "or a team name (@ml-platform) is shown as text",
    )
    runbook_url: str | None = Field(
        None,
        max_length=2000,
        pattern=r"^https://[^\s/?#]+[^\s]*$",
        description="what to do when this model pages: an https link in every incident message",
    )
    spot: SpotPolicy | None = Field(
        None, description="Spot recovery of the model's training jobs; the stack's default if unset"
    )
    guardrails: GuardrailPolicy | None = Field(
        None, description="guardrails of the model's jobs and endpoint; the stack default if unset"
    )
    approvals: ApprovalsConfig | None = Field(
        None, description="approvers of gated actions (retrain.require_approval, promotions)"
    )
    promotion: PromotionConfig | None = Field(
        None, description="registry approval -> shadow test -> approval -> production (issue 3)"
    )

    @model_validator(mode="after")
    def _approvers_for_gates(self) -> ModelConfig:
        if self.retrain and self.retrain.require_approval and self.approvals is None:
            raise ValueError("retrain.require_approval needs an approvals section")
        if self.promotion and self.approvals is None:
            raise ValueError("promotion needs an approvals section: a human approves each one")
        if self.guardrails and self.guardrails.serving.act and self.approvals is None:
            raise ValueError(
                "guardrails.serving.act needs an approvals section: a human approves each action"
            )
        return self

    @model_validator(mode="after")
    def _one_account(self) -> ModelConfig:
        if self.account is None:
            return self
        if not (self.account.external_id_secret_arn or self.promotion):
            raise ValueError("account.external_id_secret_arn is required without a promotion")
        production = self.promotion.production.account_id if self.promotion else None
        if production and production != self.account.account_id:
            raise ValueError(
                f"account.account_id {self.account.account_id} is not the promotion's "
                f"production account {production}: the model is monitored where it serves"
            )
        return self

    def account_id(self, tooling_account: str) -> str:
        """The account the model's endpoint, monitoring and events belong to."""
        return self.account.account_id if self.account else tooling_account

    def access(self) -> AccountAccess | None:
        """How to read in the model's account; None: the tooling account's own clients."""
        if self.account is None:
            return None
        secret = self.account.external_id_secret_arn
        if secret is None and self.promotion:
            secret = self.promotion.external_id_secret_arn
        return AccountAccess(
            account_id=self.account.account_id,
            reader_role_arn=self.account.reader_role_arn,
            external_id_secret_arn=str(secret),
        )


def model_key(model_id: str) -> str:
    return f"model#{model_id}"


def endpoint_key(endpoint_name: str) -> str:
    return f"endpoint#{endpoint_name}"


def package_group_key(group_name: str) -> str:
    return f"package-group#{group_name}"


def account_key(account_id: str) -> str:
    return f"account#{account_id}"


def records(config: ModelConfig) -> dict[str, str]:
    """Every item a model's configuration is stored as: its document and its aliases (the
    endpoint, the package group it promotes, how to read in its workload account)."""
    items = {
        model_key(config.model_id): config.model_dump_json(exclude_defaults=False),
        endpoint_key(config.endpoint_name): config.model_id,
    }
    if config.promotion:
        items[package_group_key(config.promotion.model_package_group)] = config.model_id
    if access := config.access():
        items[account_key(access.account_id)] = access.model_dump_json()
    return items


class ModelConfigStore:
    def __init__(self, table_name: str, max_age: int = 60) -> None:
        self._table = table_name
        self._provider = _ConfigProvider(table_name)
        self._max_age = max_age

    def get(self, model_id: str) -> ModelConfig | None:
        raw = self._fetch(model_key(model_id))
        return ModelConfig.model_validate_json(raw) if raw else None

    def by_endpoint(self, endpoint_name: str) -> ModelConfig | None:
        model_id = self._fetch(endpoint_key(endpoint_name))
        return self.get(model_id) if model_id else None

    def by_package_group(self, group_name: str) -> ModelConfig | None:
        """The model whose promotions a model package group's approvals start."""
        model_id = self._fetch(package_group_key(group_name))
        return self.get(model_id) if model_id else None

    def account_access(self, account_id: str) -> AccountAccess | None:
        """How to read in a workload account, before knowing which of its models an event is
        about (a monitoring execution names only its job); written by every model there."""
        raw = self._fetch(account_key(account_id))
        return AccountAccess.model_validate_json(raw) if raw else None

    def _fetch(self, key: str) -> str | None:
        from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

        try:
            value = self._provider.get(key, max_age=self._max_age)
        except GetParameterError:
            return None
        return value if isinstance(value, str) else None

    def put(self, config: ModelConfig) -> None:
        """Write the document and its aliases together, dropping stale ones. An account alias
        is kept: the account's other models may use it, and it grants nothing by itself."""
        from mlops_runtime.aws import client

        previous = self.get(config.model_id)
        wanted = records(config)
        stale = set(records(previous)) - set(wanted) if previous else set()
        items: list[dict[str, Any]] = [
            {"Put": {"TableName": self._table, "Item": {"id": {"S": k}, "value": {"S": v}}}}
            for k, v in wanted.items()
        ]
        items += [
            {"Delete": {"TableName": self._table, "Key": {"id": {"S": key}}}}
            for key in sorted(stale)
            if not key.startswith("account#")
        ]
        client("dynamodb").transact_write_items(TransactItems=items)


class _ConfigProvider(BaseProvider):
    """Powertools Parameters (TTL cache) over the function's one shared DynamoDB client.

    Powertools' own DynamoDBProvider builds a boto3 *resource* of its own at cold start; this
    reads the same ``id``/``value`` items through the low-level client every adapter shares.
    """

    def __init__(self, table_name: str) -> None:
        super().__init__()
        self.table_name = table_name

    def _get(self, name: str, **sdk_options: Any) -> str:
        from mlops_runtime.aws import client

        item = client("dynamodb").get_item(TableName=self.table_name, Key={"id": {"S": name}})
        if "Item" not in item:
            raise KeyError(name)
        return str(item["Item"]["value"]["S"])

    def _get_multiple(self, path: str, **sdk_options: Any) -> dict[str, str]:
        raise NotImplementedError("model configuration is read one key at a time")
