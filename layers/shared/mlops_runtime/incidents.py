"""Incidents in the state table (single-table, no table of their own).

Item ``INCIDENT#<incident_id>`` / ``INCIDENT``: the incident (:class:`IncidentState`). Pointer
``MODEL#<model_id>`` / ``INCIDENT#<kind>``: the model's current incident of that kind (the open
one, or the last resolved one, which a returning problem may reopen).

Every write is one transaction: the item, conditional on the version the step was computed from
(optimistic concurrency), the pointer when a new incident takes it, and the step's ledger entry.
A lost race changes nothing and raises :class:`IncidentChangedError`: read again and redo.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from mlops_core.errors import IncidentChangedError
from mlops_core.incidents import IncidentKind, IncidentState, Step, Transition
from mlops_core.ledger import LedgerEntry

from mlops_runtime.aws import client, translated_errors
from mlops_runtime.store import Ledger, StateStore, from_attributes

ITEM_SK = "INCIDENT"


def incident_key(incident_id: str) -> tuple[str, str]:
    return f"INCIDENT#{incident_id}", ITEM_SK


def pointer_key(model_id: str, kind: IncidentKind | str) -> tuple[str, str]:
    return f"MODEL#{model_id}", f"INCIDENT#{kind}"


class IncidentStore:
    def __init__(self, state_table: str, ledger: Ledger) -> None:
        self.state = StateStore(state_table)
        self.ledger = ledger

    def current(self, model_id: str, kind: IncidentKind | str) -> IncidentState | None:
        """The model's open incident of ``kind``, else its last resolved one, else None."""
        pointer = self.state.get(*pointer_key(model_id, kind))
        return self.get(pointer["incident_id"]) if pointer else None

    def get(self, incident_id: str) -> IncidentState | None:
        item = self.state.get(*incident_key(incident_id))
        if item is None or "version" not in item:
            return None  # absent, or an item of the era before the lifecycle
        return IncidentState.from_item(item)

    def apply(self, step: Step, ledger_entry: LedgerEntry | None = None) -> bool:
        """Persist ``step`` with its ledger entry (``step.ledger_entry()`` when not given).

        Returns False when the step writes nothing (a duplicate, a clean run with no incident);
        raises IncidentChangedError, having written nothing, when the incident (or the model's
        pointer) is no longer what the step was computed from.
        """
        if not step.writes or step.state is None:
            return False
        state = step.state
        operations = [self._item_operation(state)]
        if step.transition == Transition.OPENED:
            operations.append(self._pointer_operation(state, step.replaces))
        entry = ledger_entry or step.ledger_entry()
        if entry is not None:
            written = self.ledger.record(entry, *operations)
        else:  # a counted clean run: the item alone (an OPENED step always has an entry)
            (operation,) = operations
            written = self.state.apply(operation)
        if not written:
            raise IncidentChangedError(
                f"{state.incident_id} changed since version {state.version - 1} was read"
            )
        return True

    def set_slack(self, state: IncidentState, channel: str, ts: str) -> IncidentState:
        """Remember where the bot posted the incident's message (its thread and edits).

        Only the first post is kept: it does not depend on the version ``state`` was read at (a
        run may have updated the incident meanwhile) but raises IncidentChangedError when the
        incident already has a message.
        """
        pk, sk = incident_key(state.incident_id)
        operation = self.state.update_operation(
            pk, sk, {"slack": {"channel": channel, "ts": ts}}, "attribute_not_exists(slack)"
        )
        update = operation["Update"]
        update["UpdateExpression"] += ", #version = #version + :one"
        update["ExpressionAttributeNames"]["#version"] = "version"
        update["ExpressionAttributeValues"][":one"] = {"N": "1"}
        update["ConditionExpression"] += " AND attribute_exists(version)"
        if not self.state.apply(operation):
            raise IncidentChangedError(f"{state.incident_id} already has a Slack message")
        posted = self.get(state.incident_id)
        return (
            posted if posted is not None else replace(state, slack={"channel": channel, "ts": ts})
        )

    def list(self, model_id: str | None = None, open_only: bool = True) -> list[IncidentState]:
        """Incidents, newest opened first; of one model, and only the open ones, by default."""
        found = [
            s
            for s in self._scan()
            if (model_id is None or s.model_id == model_id) and (s.is_open or not open_only)
        ]
        return sorted(found, key=lambda s: s.opened_at, reverse=True)

    def _scan(self) -> Iterator[IncidentState]:
        pages = (
            client("dynamodb")
            .get_paginator("scan")
            .paginate(
                TableName=self.state.table_name,
                FilterExpression="sk = :sk AND attribute_exists(version)",
                ExpressionAttributeValues={":sk": {"S": ITEM_SK}},
            )
        )
        with translated_errors():
            for page in pages:
                for item in page.get("Items", []):
                    yield IncidentState.from_item(from_attributes(item))

    def _item_operation(self, state: IncidentState) -> dict[str, Any]:
        if state.version <= 1:
            return self.state.put_operation(state.to_item(), "attribute_not_exists(pk)")
        return self.state.put_operation(
            state.to_item(), "version = :v", **{":v": state.version - 1}
        )

    def _pointer_operation(self, state: IncidentState, replaces: str | None) -> dict[str, Any]:
        pk, sk = pointer_key(state.model_id, state.kind)
        item = {"pk": pk, "sk": sk, "incident_id": state.incident_id, "model_id": state.model_id}
        if replaces is None:
            return self.state.put_operation(item, "attribute_not_exists(pk)")
        return self.state.put_operation(item, "incident_id = :prev", **{":prev": replaces})
