"""Guardrail findings: a ledger entry and a digest item, written together or not at all.

Digest items wait in the state table under one partition (``GUARDRAIL_DIGEST``) until the digest
function sends them in one notification and deletes them. The ledger entry's stable id makes a
finding about the same resource, rule and configuration a no-op the second time, so redelivered
events never list a finding twice.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from mlops_core.guardrails import Finding
from mlops_core.ledger import Action, LedgerEntry

from mlops_runtime.aws import client, translated_errors
from mlops_runtime.store import Ledger, StateStore, from_attributes, to_attributes

DIGEST_PK = "GUARDRAIL_DIGEST"
# A digest item nobody sent (digest schedule disabled) disappears after this long.
RETENTION = timedelta(days=30)


class FindingStore:
    def __init__(self, ledger: Ledger, state: StateStore) -> None:
        self.ledger = ledger
        self.state = state

    def record(self, finding: Finding, model_id: str, version: str = "") -> bool:
        """Ledger entry + digest item; False if this finding was recorded before.

        ``version`` distinguishes findings about a new configuration of the same resource
        (an endpoint moved to another endpoint config)."""
        now = datetime.now(UTC)
        entry = LedgerEntry(
            action=Action.GUARDRAIL_ENFORCED if finding.enforced else Action.GUARDRAIL_FLAGGED,
            model_id=model_id,
            subject=f"{finding.resource}{'@' + version if version else ''}#{finding.rule}",
            summary=f"{finding.rule}: {finding.message}",
            evidence=finding.to_dict() | ({"version": version} if version else {}),
            at=now,
        )
        item = finding.to_dict() | {
            "pk": DIGEST_PK,
            "sk": f"{now.isoformat()}#{entry.entry_id}",
            "model_id": model_id,
            "expires_at": int((now + RETENTION).timestamp()),
        }
        return self.ledger.record(entry, self.state.put_operation(item, "attribute_not_exists(pk)"))

    def would(self, entry: LedgerEntry, *operations: dict[str, Any]) -> bool:
        """An observe-only entry (mlops_runtime.observe) and its digest item, written together
        with ``operations``; False if it was recorded before."""
        return self.entry(entry, *operations)

    def entry(self, entry: LedgerEntry, *operations: dict[str, Any]) -> bool:
        """Any ledger entry listed in the next digest (its summary as the message), e.g. a
        serving action waiting for approval; False if it was recorded before."""
        item = {
            "pk": DIGEST_PK,
            "sk": f"{entry.at.isoformat()}#{entry.entry_id}",
            "rule": str(entry.action),
            "resource": entry.subject,
            "message": entry.summary,
            "model_id": entry.model_id,
            "enforced": False,
            "expires_at": int((entry.at + RETENTION).timestamp()),
        }
        put = self.state.put_operation(item, "attribute_not_exists(pk)")
        return self.ledger.record(entry, put, *operations)

    def pending(self) -> list[dict[str, Any]]:
        with translated_errors():
            pages = (
                client("dynamodb")
                .get_paginator("query")
                .paginate(
                    TableName=self.state.table_name,
                    KeyConditionExpression="pk = :pk",
                    ExpressionAttributeValues={":pk": {"S": DIGEST_PK}},
                    ConsistentRead=True,
                )
            )
            return [from_attributes(item) for page in pages for item in page.get("Items", [])]

    def remove(self, items: list[dict[str, Any]]) -> None:
        for item in items:
            key = to_attributes({"pk": item["pk"], "sk": item["sk"]})
            self.state.apply({"Delete": {"TableName": self.state.table_name, "Key": key}})
