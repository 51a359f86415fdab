"""moto's DynamoDB made safe and linear under the control plane's load.

Two changes, both in how moto runs requests, neither in what a request means:

- **One request at a time.** moto is not safe under concurrent requests: ``TransactWriteItems``
  copied each table it touched while another request thread wrote to it, and the copy failed
  with "dictionary changed size during iteration", answered as a 500 ``InternalServerError``
  (botocore retried it, so it showed only as noise in the event storm's log); and a cancelled
  transaction put the whole copied table back, dropping a write made beside it. DynamoDB
  serialises conflicting writes per item; here every request to moto's DynamoDB holds one lock
  for its duration, which is one order DynamoDB could have chosen, so conditions and
  transactions keep their meaning.
- **A transaction keeps only what it touches.** To undo a cancelled transaction moto deep-copies
  every table it touches, whole, before each one: 27 ms at 1,000 items, 650 ms at 20,000, so a
  ledger written by every decision made the storm slow down as it ran. With requests serialised,
  undoing a transaction needs only the items it names, as they were before it; they are saved
  and put back if it is cancelled, and moto's copy of the table is skipped.

:func:`install` / :func:`uninstall` apply and remove both; the
:class:`~mlopscp_emulator.Emulator` does both.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.table import Table
from moto.dynamodb.responses import DynamoHandler

from mlopscp_emulator._patching import Patches

_patches = Patches()
_installed = False
_lock = threading.RLock()  # re-entrant: a request that leads to another in its thread waits on none


def _one_at_a_time(original: Callable[..., Any]) -> Callable[..., Any]:
    def call_action(handler: DynamoHandler) -> Any:
        with _lock:
            return original(handler)

    return call_action


@dataclass(frozen=True)
class _Saved:
    """An item a transaction names, as it was before the transaction (None: absent)."""

    table: Table
    hash_key: DynamoType
    range_key: DynamoType | None
    item: Any
    hash_was_present: bool


def _named_items(backend: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> list[_Saved]:
    saved = []
    for entry in transact_items:
        op_type, op = next(iter(entry.items()), (None, None))
        if not isinstance(op, dict):
            continue  # moto refuses the operation itself, before anything is written
        table = backend.tables.get(str(op.get("TableName")))
        if table is None:
            continue
        key: Any = op.get("Item") if op_type == "Put" else op.get("Key")
        if not isinstance(key, dict) or table.hash_key_attr not in key:
            continue
        hash_key = DynamoType(key[table.hash_key_attr])
        range_key = None
        if table.range_key_attr is not None:
            if table.range_key_attr not in key:
                continue
            range_key = DynamoType(key[table.range_key_attr])
        present = hash_key in table.items
        if range_key is None:
            item = table.items.get(hash_key)
        else:
            item = table.items[hash_key].get(range_key) if present else None
        saved.append(_Saved(table, hash_key, range_key, copy.deepcopy(item), present))
    return saved


def _put_back(saved: list[_Saved]) -> None:
    for s in reversed(saved):  # the earliest save of an item is how it was
        items = s.table.items
        if s.range_key is None:
            if s.item is None:
                items.pop(s.hash_key, None)
            else:
                items[s.hash_key] = s.item
            continue
        if s.item is not None:
            items[s.hash_key][s.range_key] = s.item
        elif s.hash_key in items:
            items[s.hash_key].pop(s.range_key, None)
            if not items[s.hash_key] and not s.hash_was_present:
                del items[s.hash_key]


@contextmanager
def _tables_not_copied() -> Iterator[None]:
    # moto's transaction copies each table with copy.deepcopy and, when cancelled, puts the copy
    # back: while this lock is held a copy is the table itself, and _put_back does the undoing.
    Table.__deepcopy__ = lambda table, memo: table  # type: ignore[attr-defined]
    try:
        yield
    finally:
        del Table.__deepcopy__  # type: ignore[attr-defined]


def _undo_named_items(original: Callable[..., Any]) -> Callable[..., Any]:
    def transact_write_items(backend: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> Any:
        with _lock:
            saved = _named_items(backend, transact_items)
            try:
                with _tables_not_copied():
                    return original(backend, transact_items)
            except BaseException:
                _put_back(saved)
                raise

    return transact_write_items


def install() -> None:
    """Apply the patches (idempotent)."""
    global _installed
    if not _installed:
        original = _patches.set(DynamoHandler, "call_action", None)
        _patches.set(DynamoHandler, "call_action", _one_at_a_time(original))
        transact = _patches.set(DynamoDBBackend, "transact_write_items", None)
        _patches.set(DynamoDBBackend, "transact_write_items", _undo_named_items(transact))
        _installed = True


def uninstall() -> None:
    global _installed
    _patches.undo()
    _installed = False
