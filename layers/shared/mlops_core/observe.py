"""Observe-only mode: every decision is made and recorded, nothing is started, deployed or paged.

A team trials the control plane on production events (README "Trial mode (observe-only)"). The
stack's ``ObserveOnly`` parameter observes every model; a model's ``mode: observe`` observes that
model alone; the stack switch wins when it is on. Where an acting control plane would write an
action's ledger entry, an observing one writes the ``would_*`` kind this module maps it to, with
the same evidence plus ``observe_only`` (who switched it on) and ``would`` (the action).
"""

from __future__ import annotations

from dataclasses import replace
from enum import StrEnum

from mlops_core.ledger import Action, LedgerEntry


class Mode(StrEnum):
    ACT = "act"
    OBSERVE = "observe"


STACK = "stack"  # the stack's ObserveOnly parameter
MODEL = "model"  # the model configuration's mode

# The one place that says what an observed action is recorded as.
WOULD: dict[Action, Action] = {
    Action.RETRAIN_STARTED: Action.WOULD_START_RETRAIN,
    Action.PROMOTION_STARTED: Action.WOULD_PROMOTE,
    Action.TRAINING_RESUMED: Action.WOULD_RESTART_TRAINING,
    Action.TRAINING_FALLBACK: Action.WOULD_RESTART_TRAINING,
    Action.GUARDRAIL_ENFORCED: Action.WOULD_STOP_TRAINING,
    Action.NOTIFICATION_SENT: Action.WOULD_NOTIFY,
    Action.ENDPOINT_DELETED: Action.WOULD_DELETE_ENDPOINT,
    Action.VARIANT_SCALED_IN: Action.WOULD_SCALE_IN,
}
WOULD_KINDS = frozenset({*WOULD.values(), Action.WOULD_PAGE, Action.WOULD_RETRY_PIPELINE})


def observed_by(stack_observe_only: bool, model_mode: Mode | str | None) -> str | None:
    """Who keeps this model from acting: ``"stack"``, ``"model"``, or None (it acts)."""
    if stack_observe_only:
        return STACK
    if model_mode == Mode.OBSERVE:
        return MODEL
    return None


def would(entry: LedgerEntry, by: str, kind: Action | None = None) -> LedgerEntry:
    """The observe-only entry for an action the control plane did not take."""
    action = kind or WOULD[Action(entry.action)]
    verb = str(action).removeprefix("would_").replace("_", " ")
    return replace(
        entry,
        action=action,
        summary=f"observe-only ({by}): would {verb}: {entry.summary}",
        evidence=entry.evidence | {"observe_only": by, "would": str(entry.action)},
    )


def is_would(action: str) -> bool:
    return action in WOULD_KINDS
