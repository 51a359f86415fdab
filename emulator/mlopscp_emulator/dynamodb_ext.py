"""One DynamoDB request at a time, as a single linearizable table would answer them.

moto's DynamoDB is not safe under concurrent requests: ``TransactWriteItems`` deep-copies each
table it touches (to roll back on a failed condition) while another request thread may be
adding an item to the same table, and the copy fails with "dictionary changed size during
iteration", answered as a 500 ``InternalServerError`` (botocore retries it, so it showed only as
noise in the event storm's log). DynamoDB itself serialises conflicting writes per item; here
every request to moto's DynamoDB holds one lock for its duration, which is one order AWS could
have chosen, so conditions and transactions keep their meaning. :func:`install` /
:func:`uninstall` apply and remove it; the :class:`~mlopscp_emulator.Emulator` does both.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

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


def install() -> None:
    """Apply the patch (idempotent)."""
    global _installed
    if not _installed:
        original = _patches.set(DynamoHandler, "call_action", None)
        _patches.set(DynamoHandler, "call_action", _one_at_a_time(original))
        _installed = True


def uninstall() -> None:
    global _installed
    _patches.undo()
    _installed = False
