"""`make demo`: the control plane's scenarios on the embedded emulator, read back from it.

Every claim printed is read back from the emulated AWS (pipeline executions from SageMaker, pages
from an SQS queue subscribed to the SNS topic, dead letters from the DLQ, decisions from the
ledger table); the demo exits non-zero if any expectation fails. Each group of scenarios has a
module of its own in this package; :class:`Demo` runs them in the order of :attr:`Demo.SCENARIOS`
and each is printed as soon as it has run (`mlopscp demo --only NAME` runs a few).
"""

from __future__ import annotations

import json
import time
import warnings
from collections.abc import Iterator, Sequence

from mlopscp_emulator import Emulator

from mlopscp.demo.approvals import ApprovalScenarios
from mlopscp.demo.drift import DriftScenarios
from mlopscp.demo.fleet import FleetScenarios
from mlopscp.demo.incidents import IncidentScenarios
from mlopscp.demo.monitor import MonitorScenarios
from mlopscp.demo.observe import ObserveScenarios
from mlopscp.demo.promotion import PromotionScenarios
from mlopscp.demo.scenario import Outcome
from mlopscp.demo.serving import ServingScenarios
from mlopscp.demo.spot import SpotScenarios
from mlopscp.demo.xaccount import CrossAccountScenarios
from mlopscp.local import STACK, LocalControlPlane
from mlopscp.output import CliError
from mlopscp.worlds.drift import MODELS
from mlopscp.worlds.monitor import MONITORED
from mlopscp.worlds.promotion import PROMOTION_MODELS
from mlopscp.worlds.training import ENFORCING_MODEL, ENFORCING_STORY


class Demo(
    DriftScenarios,
    ApprovalScenarios,
    SpotScenarios,
    PromotionScenarios,
    MonitorScenarios,
    CrossAccountScenarios,
    IncidentScenarios,
    ObserveScenarios,
    ServingScenarios,
    FleetScenarios,
):
    SCENARIOS = (
        "gradual_drift",
        "duplicates",
        "schema_break",
        "watch",
        "malformed",
        "retrain_failed",
        # approvals (issue 4)
        "approval_over_slack",
        "approval_over_email",
        "approval_expired",
        # spot recovery and guardrails (issue 5)
        "spot_resume",
        "spot_fallback",
        "spot_pipeline_retry",
        "guardrail_warning",
        "guardrail_enforced",
        # promotion (issue 3); promotion_out_of_order follows promotion_shadow_pass
        "promotion_shadow_pass",
        "promotion_shadow_fails",
        "promotion_rolled_back",
        "promotion_out_of_order",
        "promotion_first_deployment",  # issue 10: no production endpoint yet
        # new customers: the Evidently monitor blueprint feeds the drift loop (issue 9)
        "monitor_gradual_drift",
        "monitor_broken_column",
        # the drift loop across accounts (issue 10)
        "xaccount_loop",
        "xaccount_refused",
        # the incident lifecycle (issue 17): a day-long schema break pages once, then resolves
        "schema_break_persists",
        "observe_only",  # issue 12: trial mode, decisions recorded, nothing started or paged
        "serving_cost",  # issue 14: idle endpoint's cost; autoscaling from Inference Recommender
        "fleet_view",  # issue 12: status, explain and the daily digest of everything above
        "serverless_promotion",  # issue 14: an existing serverless endpoint, a new version
    )

    # A scenario that continues another's story needs that one first, under --only too.
    REQUIRES = {
        "duplicates": ("gradual_drift",),  # redelivers gradual_drift's event
        "retrain_failed": ("gradual_drift",),  # fails the retrain gradual_drift started
        "spot_fallback": ("spot_resume",),  # the resumed copy is the one that fails next
        "promotion_out_of_order": ("promotion_shadow_pass",),  # approves demand's v2 again
        "fleet_view": ("xaccount_loop",),  # explains the model xaccount_loop promoted
    }

    def run(self, names: tuple[str, ...] = SCENARIOS) -> Iterator[Outcome]:
        """Each scenario's outcome as soon as it has run."""
        for name in names:
            yield getattr(self, name)()


def select(only: Sequence[str]) -> tuple[str, ...]:
    """The scenarios `--only` names (repeatable or comma-separated) with those they continue,
    in the demo's order; every scenario when `only` is empty."""
    wanted = {name.strip() for item in only for name in item.split(",") if name.strip()}
    if not wanted:
        return Demo.SCENARIOS
    unknown = sorted(wanted - set(Demo.SCENARIOS))
    if unknown:
        raise CliError(
            f"no scenario {', '.join(unknown)}",
            hint="scenarios: " + ", ".join(Demo.SCENARIOS),
        )
    todo = list(wanted)
    while todo:
        for needed in Demo.REQUIRES.get(todo.pop(), ()):
            if needed not in wanted:
                wanted.add(needed)
                todo.append(needed)
    return tuple(name for name in Demo.SCENARIOS if name in wanted)


def introduce(plane: LocalControlPlane) -> list[str]:
    """Every model configuration in the stack (read back from its table), each with the story
    the demo tells about it; the monitor blueprint's models are configured in their scenario."""
    table = plane.outputs["ModelConfigTableName"]
    pages = plane.emu.client("dynamodb").get_paginator("scan").paginate(TableName=table)
    stored = {
        item["id"]["S"].removeprefix("model#"): json.loads(item["value"]["S"])
        for page in pages
        for item in page["Items"]
        if item["id"]["S"].startswith("model#")
    }
    stories = {
        **{m.model_id: m.story for m in PROMOTION_MODELS.values()},
        **{m.model_id: m.story for m in MODELS.values()},
        ENFORCING_MODEL["model_id"]: ENFORCING_STORY,
    }
    lines = [f"{len(stored)} models configured in the stack:"]
    lines += [
        f"  {model_id:<9} {config.get('endpoint_name', '-'):<15} {stories.get(model_id, '-')}"
        for model_id, config in sorted(stored.items())
    ]
    later = [m for m in MONITORED.values() if m.model_id not in stored]
    if later:
        lines.append("configured in their scenarios (the Evidently monitor blueprint):")
        lines += [f"  {m.model_id:<9} {m.endpoint:<15} {m.summary}" for m in later]
    return lines


def print_outcome(number: int, total: int, outcome: Outcome, seconds: float) -> None:
    mark = "✓" if outcome.ok else "✗ FAILED"
    lines = [
        f"\n[{number}/{total}] {outcome.title}  {mark} ({seconds:.0f}s)",
        f"   ({outcome.story})",
    ]
    lines += [f"   {line}" for line in outcome.lines]
    lines += [f"   {'✓' if ok else '✗'} {what}" for what, ok in outcome.checks]
    print("\n".join(lines), flush=True)


def main(only: Sequence[str] = ()) -> int:
    names = select(only)
    # Resources the emulator cannot honour locally (resource policies) are listed once, quietly.
    warnings.filterwarnings("ignore", message=".*moto does not enforce.*")

    started = time.monotonic()
    print("mlops-control-plane demo: starting the embedded AWS emulator", flush=True)
    outcomes: list[Outcome] = []
    with Emulator() as emulator:
        plane = LocalControlPlane(emulator).up()
        print(
            f"deployed template.yaml as stack {STACK} ({len(plane.stack.functions)} functions,"
            f" {len(plane.stack.state_machines)} state machine(s)) in "
            f"{time.monotonic() - started:.0f}s",
        )
        print("\n".join(introduce(plane)), flush=True)
        if len(names) < len(Demo.SCENARIOS):
            print(f"running {len(names)} of {len(Demo.SCENARIOS)} scenarios: {', '.join(names)}")
        mark = time.monotonic()
        for number, outcome in enumerate(Demo(plane).run(names), start=1):
            print_outcome(number, len(names), outcome, time.monotonic() - mark)
            outcomes.append(outcome)
            mark = time.monotonic()
    failed = [o.title for o in outcomes if not o.ok]
    elapsed = time.monotonic() - started
    print(f"\n{len(outcomes) - len(failed)}/{len(outcomes)} scenarios passed in {elapsed:.0f}s")
    for title in failed:
        print(f"FAILED: {title}")
    return 1 if failed else 0
