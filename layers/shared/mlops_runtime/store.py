"""DynamoDB persistence: the ledger (append-only audit trail) and the state table.

Ledger: partition ``model_id``, sort ``entry_id`` (stable per action and subject, so a retried
write is a no-op); local index ``by-time`` orders a model's entries, global index ``by-subject``
lists everything about one incident, promotion or approval.

State: ``pk``/``sk`` items for incidents, per-model retrain locks and the pipeline-execution to
incident mapping. State changes that must not be half-applied go through one transaction together
with their ledger entry.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError
from mlops_core.ledger import LedgerEntry, entry_id

from mlops_runtime.aws import client, error_code, translated_errors

_SERIALIZER = TypeSerializer()
_DESERIALIZER = TypeDeserializer()


def to_attributes(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _SERIALIZER.serialize(_dynamo_safe(v)) for k, v in item.items() if v is not None}


def from_attributes(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _plain(_DESERIALIZER.deserialize(v)) for k, v in item.items()}


def _dynamo_safe(value: Any) -> Any:
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, dict):
        return {k: _dynamo_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_dynamo_safe(v) for v in value]
    return value


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _cancelled_by_condition(error: ClientError) -> bool:
    if error_code(error) == "ConditionalCheckFailedException":
        return True
    if error_code(error) != "TransactionCanceledException":
        return False
    reasons = error.response.get("CancellationReasons", [])
    return any(r.get("Code") == "ConditionalCheckFailed" for r in reasons) or not reasons


class Ledger:
    def __init__(self, table_name: str) -> None:
        self.table_name = table_name

    def put_operation(self, entry: LedgerEntry) -> dict[str, Any]:
        return {
            "Put": {
                "TableName": self.table_name,
                "Item": to_attributes(entry.to_record()),
                "ConditionExpression": "attribute_not_exists(entry_id)",
            }
        }

    def record(self, entry: LedgerEntry, *operations: dict[str, Any]) -> bool:
        """Write the entry, atomically with ``operations`` (TransactWriteItems entries).

        Returns False, changing nothing, when the entry was already written or a condition of
        ``operations`` does not hold: the caller's action already happened.
        """
        try:
            with translated_errors():
                if operations:
                    client("dynamodb").transact_write_items(
                        TransactItems=[self.put_operation(entry), *operations]
                    )
                else:
                    put = self.put_operation(entry)["Put"]
                    client("dynamodb").put_item(**put)
        except ClientError as error:
            if _cancelled_by_condition(error):
                return False
            raise
        return True

    def entries(self, model_id: str, limit: int = 50) -> list[dict[str, Any]]:
        response = client("dynamodb").query(
            TableName=self.table_name,
            IndexName="by-time",
            KeyConditionExpression="model_id = :m",
            ExpressionAttributeValues={":m": {"S": model_id}},
            ScanIndexForward=False,
            Limit=limit,
        )
        return [_entry(item) for item in response.get("Items", [])]

    def since(self, model_id: str, start: str) -> list[dict[str, Any]]:
        """The model's entries at or after ``start`` (ISO text, as ``at``), newest first."""
        pages = (
            client("dynamodb")
            .get_paginator("query")
            .paginate(
                TableName=self.table_name,
                IndexName="by-time",
                KeyConditionExpression="model_id = :m AND #at >= :since",
                ExpressionAttributeNames={"#at": "at"},
                ExpressionAttributeValues={":m": {"S": model_id}, ":since": {"S": start}},
                ScanIndexForward=False,
            )
        )
        with translated_errors():
            return [_entry(item) for page in pages for item in page.get("Items", [])]

    def find(self, model_id: str, wanted: list[tuple[str, str, str]]) -> list[dict[str, Any]]:
        """The entries of ``(action, subject, key)`` that exist, by key (BatchGetItem)."""
        keys = list(
            {entry_id(a, s, k): {"model_id": {"S": model_id}, "entry_id": {"S": entry_id(a, s, k)}}
             for a, s, k in wanted}.values()
        )  # fmt: skip
        found: list[dict[str, Any]] = []
        with translated_errors():
            for start in range(0, len(keys), 100):
                pending: dict[str, Any] = {self.table_name: {"Keys": keys[start : start + 100]}}
                while pending:
                    answer = client("dynamodb").batch_get_item(RequestItems=pending)
                    found += answer.get("Responses", {}).get(self.table_name, [])
                    pending = answer.get("UnprocessedKeys") or {}
        return [_entry(item) for item in found]

    def about(self, subject: str) -> list[dict[str, Any]]:
        pages = (
            client("dynamodb")
            .get_paginator("query")
            .paginate(
                TableName=self.table_name,
                IndexName="by-subject",
                KeyConditionExpression="subject = :s",
                ExpressionAttributeValues={":s": {"S": subject}},
            )
        )
        return [_entry(item) for page in pages for item in page.get("Items", [])]

    def scan(self) -> Iterator[dict[str, Any]]:
        pages = client("dynamodb").get_paginator("scan").paginate(TableName=self.table_name)
        for page in pages:
            yield from (_entry(item) for item in page.get("Items", []))


def _entry(item: dict[str, Any]) -> dict[str, Any]:
    entry = from_attributes(item)
    entry["evidence"] = json.loads(entry.get("evidence") or "{}")
    return entry


class StateStore:
    def __init__(self, table_name: str) -> None:
        self.table_name = table_name

    def get(self, pk: str, sk: str) -> dict[str, Any] | None:
        with translated_errors():
            response = client("dynamodb").get_item(
                TableName=self.table_name,
                Key=to_attributes({"pk": pk, "sk": sk}),
                ConsistentRead=True,
            )
        item = response.get("Item")
        return from_attributes(item) if item else None

    def put_operation(
        self,
        item: dict[str, Any],
        condition: str | None = None,
        names: dict[str, str] | None = None,
        **values: Any,
    ) -> dict[str, Any]:
        put: dict[str, Any] = {"TableName": self.table_name, "Item": to_attributes(item)}
        if condition:
            put["ConditionExpression"] = condition
        if names:
            put["ExpressionAttributeNames"] = names
        if values:
            put["ExpressionAttributeValues"] = to_attributes(values)
        return {"Put": put}

    def apply(self, operation: dict[str, Any]) -> bool:
        """Run one Put/Update operation alone; False if its condition does not hold."""
        ((kind, params),) = operation.items()
        call = {"Put": "put_item", "Update": "update_item", "Delete": "delete_item"}[kind]
        try:
            with translated_errors():
                getattr(client("dynamodb"), call)(**params)
        except ClientError as error:
            if _cancelled_by_condition(error):
                return False
            raise
        return True

    def update_operation(
        self,
        pk: str,
        sk: str,
        changes: dict[str, Any],
        condition: str | None = None,
        **values: Any,
    ) -> dict[str, Any]:
        names = {f"#{k}": k for k in changes}
        update: dict[str, Any] = {
            "TableName": self.table_name,
            "Key": to_attributes({"pk": pk, "sk": sk}),
            "UpdateExpression": "SET " + ", ".join(f"#{k} = :{k}" for k in changes),
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": to_attributes(
                {f":{k}": v for k, v in changes.items()} | values
            ),
        }
        if condition:
            update["ConditionExpression"] = condition
        return {"Update": update}
