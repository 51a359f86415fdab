"""Promotion records in the state table: one per package version, a per-model lock, and what
production serves.

Items (``pk`` / ``sk``):

- ``MODEL#<model>`` / ``PROMOTION#<version, 8 digits>``: the promotion of one package version
  (status, current step, execution, verdict, outcome). Created with a conditional write, so a
  version is promoted at most once however often its approval is delivered.
- ``MODEL#<model>`` / ``PROMOTION_LOCK``: the promotion running for the model, if any; one at a
  time. A lock whose execution no longer runs is stale and may be taken over.
- ``MODEL#<model>`` / ``PRODUCTION``: the package version the last promotion put in production.

The ledger keeps the audit trail; these items are the working state and what
``mlopscp promotions`` lists.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from mlops_runtime.aws import client, error_code, translated_errors
from mlops_runtime.store import StateStore, from_attributes, to_attributes

LOCK = "PROMOTION_LOCK"
PRODUCTION = "PRODUCTION"
RECORD_PREFIX = "PROMOTION#"


def model_pk(model_id: str) -> str:
    return f"MODEL#{model_id}"


def record_sk(version: int) -> str:
    return f"{RECORD_PREFIX}{version:08d}"


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class PromotionStore:
    def __init__(self, table_name: str) -> None:
        self.state = StateStore(table_name)
        self.table_name = table_name

    # -- reading ------------------------------------------------------------------------------

    def record(self, model_id: str, version: int) -> dict[str, Any] | None:
        return self.state.get(model_pk(model_id), record_sk(version))

    def lock(self, model_id: str) -> dict[str, Any] | None:
        return self.state.get(model_pk(model_id), LOCK)

    def production(self, model_id: str) -> dict[str, Any] | None:
        return self.state.get(model_pk(model_id), PRODUCTION)

    def records(self, model_id: str | None = None) -> list[dict[str, Any]]:
        """Promotion records, newest version first; every model's when ``model_id`` is None."""
        dynamodb = client("dynamodb")
        if model_id:
            pages = dynamodb.get_paginator("query").paginate(
                TableName=self.table_name,
                KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
                ExpressionAttributeValues=to_attributes(
                    {":pk": model_pk(model_id), ":prefix": RECORD_PREFIX}
                ),
                ScanIndexForward=False,
            )
        else:  # the CLI's overview: a filtered scan is fine for an operator's occasional look
            pages = dynamodb.get_paginator("scan").paginate(
                TableName=self.table_name,
                FilterExpression="begins_with(pk, :model) AND begins_with(sk, :prefix)",
                ExpressionAttributeValues=to_attributes(
                    {":model": "MODEL#", ":prefix": RECORD_PREFIX}
                ),
            )
        found = [from_attributes(item) for page in pages for item in page.get("Items", [])]
        return sorted(found, key=lambda r: (r.get("started_at", ""), r["sk"]), reverse=True)

    # -- claiming -----------------------------------------------------------------------------

    def claim(self, record: dict[str, Any], stale_owner: str | None = None) -> bool:
        """Create the version's record and take the model's lock, together. False (nothing
        written) if the version already has a started promotion or another promotion holds the
        lock (``stale_owner``: a stale holder that may be replaced)."""
        model_id, pid = record["model_id"], record["promotion_id"]
        lock_condition = "attribute_not_exists(promotion_id) OR promotion_id = :mine"
        values: dict[str, Any] = {":mine": pid}
        if stale_owner:
            lock_condition += " OR promotion_id = :stale"
            values[":stale"] = stale_owner
        operations = [
            self.state.put_operation(
                {"pk": model_pk(model_id), "sk": record_sk(record["version"]), **record},
                "attribute_not_exists(pk) OR attribute_not_exists(execution_arn)",
            ),
            self.state.put_operation(
                {
                    "pk": model_pk(model_id),
                    "sk": LOCK,
                    "promotion_id": pid,
                    "version": record["version"],
                    "execution_name": record["execution_name"],
                    "claimed_at": now_iso(),
                },
                lock_condition,
                **values,
            ),
        ]
        try:
            with translated_errors():
                client("dynamodb").transact_write_items(TransactItems=operations)
        except ClientError as error:
            if error_code(error) in ("TransactionCanceledException", "ConditionalCheckFailed"):
                return False
            raise
        return True

    def unclaim(self, model_id: str, version: int, promotion_id: str) -> None:
        """The execution could not be started: let a redelivered approval try again."""
        self.release(model_id, promotion_id)
        self.state.apply(
            {
                "Delete": {
                    "TableName": self.table_name,
                    "Key": to_attributes({"pk": model_pk(model_id), "sk": record_sk(version)}),
                    "ConditionExpression": "attribute_not_exists(execution_arn)",
                }
            }
        )

    # -- operations for Ledger.record transactions ----------------------------------------------

    def update_operation(self, model_id: str, version: int, **changes: Any) -> dict[str, Any]:
        return self.state.update_operation(
            model_pk(model_id), record_sk(version), {**changes, "updated_at": now_iso()}
        )

    def set_step(self, model_id: str, version: int, step: str, **changes: Any) -> None:
        """What ``mlopscp promotions`` shows as the current step."""
        self.state.apply(self.update_operation(model_id, version, step=step, **changes))

    def release_operation(self, model_id: str, promotion_id: str) -> dict[str, Any]:
        """Drop the model's lock, on the condition that this promotion holds it."""
        return {
            "Delete": {
                "TableName": self.table_name,
                "Key": to_attributes({"pk": model_pk(model_id), "sk": LOCK}),
                "ConditionExpression": "promotion_id = :mine",
                "ExpressionAttributeValues": to_attributes({":mine": promotion_id}),
            }
        }

    def release(self, model_id: str, promotion_id: str) -> bool:
        """Apart from the ledger transaction: if the lock was taken over as stale, the ending
        is still recorded; False then."""
        return self.state.apply(self.release_operation(model_id, promotion_id))

    def production_operation(
        self, model_id: str, package_arn: str, version: int, promotion_id: str
    ) -> dict[str, Any]:
        return self.state.put_operation(
            {
                "pk": model_pk(model_id),
                "sk": PRODUCTION,
                "package_arn": package_arn,
                "version": version,
                "promotion_id": promotion_id,
                "since": now_iso(),
            }
        )
