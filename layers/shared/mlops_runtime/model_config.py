"""Per-model configuration: one DynamoDB table, one JSON document per model.

Hundreds of models fit comfortably: functions read a model's document by key (cached for a
minute per execution environment by Powertools Parameters) and find it from an endpoint name
through an alias item, so no scan is ever needed. `mlopscp models put` validates and writes both.

Items: ``{"id": "model#<model_id>", "value": "<ModelConfig JSON>"}`` and
``{"id": "endpoint#<endpoint_name>", "value": "<model_id>"}``.
"""

from __future__ import annotations

from typing import Any

from mlops_core.policy import TriagePolicy
from pydantic import BaseModel, ConfigDict, Field

MODEL_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$"
ENDPOINT_PATTERN = r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$"


class RetrainConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    pipeline_name: str = Field(pattern=r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,255}$")
    parameters: dict[str, str] = Field(
        default_factory=dict, description="static pipeline parameters sent on every retrain"
    )
    cooldown_hours: float | None = Field(
        None, ge=0, description="minimum time between two retrains; the stack's default if unset"
    )


class ModelConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    model_id: str = Field(pattern=MODEL_ID_PATTERN)
    endpoint_name: str = Field(pattern=ENDPOINT_PATTERN)
    monitoring_output_uri: str | None = Field(
        None,
        pattern=r"^s3://[^/]+(/.*)?$",
        description="prefix holding the endpoint's monitoring schedules; derived from the "
        "monitoring execution's output when not set",
    )
    monitoring_schedules: list[str] = Field(
        default_factory=list, description="only these schedules (all when empty)"
    )
    retrain: RetrainConfig | None = None
    triage: TriagePolicy = Field(default_factory=TriagePolicy)
    owners: list[str] = Field(default_factory=list, description="who to mention in notifications")


def model_key(model_id: str) -> str:
    return f"model#{model_id}"


def endpoint_key(endpoint_name: str) -> str:
    return f"endpoint#{endpoint_name}"


class ModelConfigStore:
    def __init__(self, table_name: str, max_age: int = 60) -> None:
        from aws_lambda_powertools.utilities.parameters import DynamoDBProvider

        self._table = table_name
        self._provider = DynamoDBProvider(table_name=table_name, key_attr="id", value_attr="value")
        self._max_age = max_age

    def get(self, model_id: str) -> ModelConfig | None:
        raw = self._fetch(model_key(model_id))
        return ModelConfig.model_validate_json(raw) if raw else None

    def by_endpoint(self, endpoint_name: str) -> ModelConfig | None:
        model_id = self._fetch(endpoint_key(endpoint_name))
        return self.get(model_id) if model_id else None

    def _fetch(self, key: str) -> str | None:
        from aws_lambda_powertools.utilities.parameters.exceptions import (
            GetParameterError,
        )

        try:
            return self._provider.get(key, max_age=self._max_age)  # type: ignore[no-any-return]
        except GetParameterError:
            return None

    def put(self, config: ModelConfig) -> None:
        """Write the document and its endpoint alias together, dropping a stale alias."""
        from mlops_runtime.aws import client

        previous = self.get(config.model_id)
        items: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self._table,
                    "Item": {
                        "id": {"S": model_key(config.model_id)},
                        "value": {"S": config.model_dump_json(exclude_defaults=False)},
                    },
                }
            },
            {
                "Put": {
                    "TableName": self._table,
                    "Item": {
                        "id": {"S": endpoint_key(config.endpoint_name)},
                        "value": {"S": config.model_id},
                    },
                }
            },
        ]
        if previous and previous.endpoint_name != config.endpoint_name:
            items.append(
                {
                    "Delete": {
                        "TableName": self._table,
                        "Key": {"id": {"S": endpoint_key(previous.endpoint_name)}},
                    }
                }
            )
        client("dynamodb").transact_write_items(TransactItems=items)
