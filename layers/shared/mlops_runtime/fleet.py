"""Reading the fleet: every model's status, its recent ledger and its causal chain.

Key lookups and queries only, never a scan of the ledger: a model's recent entries come from the
``by-time`` index (bounded by a time window), the entries of a causal chain by their ids
(stable per action and subject); incidents, locks and promotion records are items read by
key. Only the list of models is a (paginated) scan of the small model-configuration table. What
the facts mean is decided in :mod:`mlops_core.fleet` and :mod:`mlops_core.causal_chain`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from mlops_core import causal_chain, fleet, retrain
from mlops_core.approvals import Status as ApprovalStatus
from mlops_core.incident_state import IncidentKind

from mlops_runtime.approvals import ApprovalStore
from mlops_runtime.aws import client, translated_errors
from mlops_runtime.incidents import IncidentStore
from mlops_runtime.model_config import ModelConfig, model_key
from mlops_runtime.promotions import PromotionStore
from mlops_runtime.store import Ledger, StateStore

MODEL_PREFIX = model_key("")


class FleetReader:
    def __init__(
        self, ledger_table: str, state_table: str, model_config_table: str, approval_table: str
    ) -> None:
        self.ledger = Ledger(ledger_table)
        self.state = StateStore(state_table)
        self.incidents = IncidentStore(state_table, self.ledger)
        self.promotions = PromotionStore(state_table)
        self.approvals = ApprovalStore(approval_table)
        self.model_config_table = model_config_table

    def models(self) -> list[ModelConfig]:
        """Every configured model, by id (a paginated scan of the configuration table)."""
        pages = (
            client("dynamodb")
            .get_paginator("scan")
            .paginate(
                TableName=self.model_config_table,
                FilterExpression="begins_with(id, :prefix)",
                ExpressionAttributeValues={":prefix": {"S": MODEL_PREFIX}},
            )
        )
        with translated_errors():
            found = [
                ModelConfig.model_validate_json(item["value"]["S"])
                for page in pages
                for item in page.get("Items", [])
            ]
        return sorted(found, key=lambda m: m.model_id)

    def since(self, model_id: str, start: datetime) -> list[dict[str, Any]]:
        return self.ledger.since(model_id, start.strftime("%Y-%m-%dT%H:%M:%S.%fZ"))

    def statuses(
        self, now: datetime, models: Iterable[ModelConfig] | None = None
    ) -> list[fleet.ModelStatus]:
        configs = list(models) if models is not None else self.models()
        pending: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for approval in self.approvals.with_status(ApprovalStatus.PENDING):
            pending[approval.model_id].append(approval.summary())
        return [self.status(m, now, pending.get(m.model_id, [])) for m in configs]

    def status(
        self, model: ModelConfig, now: datetime, approvals: list[dict[str, Any]]
    ) -> fleet.ModelStatus:
        model_id = model.model_id
        recent = self.since(model_id, now - fleet.GUARDRAIL_WINDOW)
        if not recent:  # quiet for a week: the last decision is older
            recent = self.ledger.entries(model_id, limit=20)
        incidents = [
            state.to_item()
            for kind in IncidentKind
            if (state := self.incidents.current(model_id, kind)) is not None and state.is_open
        ]
        lock = self.promotions.lock(model_id)
        record = self.promotions.record(model_id, int(lock["version"])) if lock else None
        return fleet.model_status(
            model_id,
            model.endpoint_name,
            recent=recent,
            incidents=incidents,
            approvals=approvals,
            promotion=record,
            retrain_lock=self.state.get(*retrain.lock_key(model_id)),
            now=now,
        )

    def chain(self, model_id: str) -> causal_chain.Chain:
        """Follow the ids from what production serves (or the promotion in flight, or the last
        one) back to the evidence; without a promotion, from the retrain in flight or last.
        Every entry is read by its key (BatchGetItem), whatever the size of the ledger."""
        entries: list[dict[str, Any]] = []
        incident = approval = None
        promotion_id = self._promotion_of(model_id)
        if promotion_id:
            entries = self.ledger.find(model_id, causal_chain.promotion_lookups(promotion_id))
            if arn := causal_chain.pipeline_execution_of(entries):
                link = self.state.get(*retrain.execution_link_key(arn))
                incident = link.get("incident_id") if link else None
            approval = causal_chain.approval_of(entries)
        else:
            lock = self.state.get(*retrain.lock_key(model_id))
            incident = lock.get("incident_id") if lock else None
        causes = causal_chain.cause_lookups(incident, approval)
        if causes:
            entries += self.ledger.find(model_id, causes)
        return causal_chain.build(model_id, entries)

    def _promotion_of(self, model_id: str) -> str | None:
        for item in (self.promotions.production(model_id), self.promotions.lock(model_id)):
            if item and item.get("promotion_id"):
                return str(item["promotion_id"])
        records = self.promotions.records(model_id)
        return str(records[0]["promotion_id"]) if records else None
