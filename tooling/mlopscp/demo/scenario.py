"""What every group of demo scenarios shares: the :class:`Outcome` a scenario reports and the
:class:`Scenarios` base (the local control plane it acts on; an action sent and what the emulator
did then, shown; the ledger's actions for a model). :class:`mlopscp.demo.runner.Demo` combines the
groups."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mlopscp import timeline
from mlopscp.local import LocalControlPlane


@dataclass
class Outcome:
    title: str
    story: str
    lines: list[str] = field(default_factory=list)
    checks: list[tuple[str, bool]] = field(default_factory=list)

    def check(self, what: str, ok: bool) -> None:
        self.checks.append((what, bool(ok)))

    @property
    def ok(self) -> bool:
        return all(ok for _, ok in self.checks)


class Scenarios:
    """A group of scenarios on one local control plane."""

    def __init__(self, plane: LocalControlPlane) -> None:
        self.plane = plane
        self.emu = plane.emu

    def send(self, outcome: Outcome, action: Callable[[], Any], label: str) -> timeline.Timeline:
        mark = len(self.emu.trace)
        action()
        self.emu.wait_idle(timeout=120)
        shown = timeline.build(self.emu, self.plane.stack, self.emu.trace.since(mark))
        outcome.lines.append(f"→ {label}")
        outcome.lines += [f"  {line}" for line in shown.lines()]
        return shown

    def actions(self, model_id: str) -> list[str]:
        return [entry["action"] for entry in self.plane.ledger(model_id)]
