"""Reversible attribute patches on moto's classes, so an emulator leaves moto as it found it."""

from __future__ import annotations

from typing import Any

_MISSING = object()


class Patches:
    def __init__(self) -> None:
        self._undo: list[tuple[Any, str, Any]] = []

    def set(self, owner: Any, name: str, value: Any) -> Any:
        """Replace `owner.name` with `value`; return what `owner.name` was (maybe inherited)."""
        inherited = getattr(owner, name, None)
        own = vars(owner).get(name, _MISSING)
        self._undo.append((owner, name, own))
        setattr(owner, name, value)
        return inherited

    def undo(self) -> None:
        while self._undo:
            owner, name, original = self._undo.pop()
            if original is _MISSING:
                delattr(owner, name)
            else:
                setattr(owner, name, original)
