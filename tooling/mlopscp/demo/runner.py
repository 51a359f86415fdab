"""`make demo`: the control plane's scenarios on the embedded emulator, read back from it.

Every claim printed is read back from the emulated AWS (pipeline executions from SageMaker, pages
from an SQS queue subscribed to the SNS topic, dead letters from the DLQ, decisions from the
ledger table); the demo exits non-zero if any expectation fails. Each group of scenarios has a
module of its own in this package; :class:`Demo` runs them in the order of :attr:`Demo.SCENARIOS`.
"""

from __future__ import annotations

import time
import warnings

from mlopscp_emulator import Emulator

from mlopscp.demo.approvals import ApprovalScenarios
from mlopscp.demo.drift import DriftScenarios
from mlopscp.demo.incidents import IncidentScenarios
from mlopscp.demo.monitor import MonitorScenarios
from mlopscp.demo.promotion import PromotionScenarios
from mlopscp.demo.scenario import Outcome
from mlopscp.demo.serving import ServingScenarios
from mlopscp.demo.spot import SpotScenarios
from mlopscp.demo.xaccount import CrossAccountScenarios
from mlopscp.local import STACK, LocalControlPlane
from mlopscp.worlds.drift import MODELS


class Demo(
    DriftScenarios,
    ApprovalScenarios,
    SpotScenarios,
    PromotionScenarios,
    MonitorScenarios,
    CrossAccountScenarios,
    IncidentScenarios,
    ServingScenarios,
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
    )

    def run(self, names: tuple[str, ...] = SCENARIOS) -> list[Outcome]:
        return [getattr(self, name)() for name in names]


def print_outcome(number: int, outcome: Outcome) -> None:
    print(f"\n{number}. {outcome.title}\n   ({outcome.story})")
    for line in outcome.lines:
        print(f"   {line}")
    for what, ok in outcome.checks:
        print(f"   {'✓' if ok else '✗'} {what}")


def main() -> int:
    # Resources the emulator cannot honour locally (resource policies) are listed once, quietly.
    warnings.filterwarnings("ignore", message=".*moto does not enforce.*")

    started = time.monotonic()
    print("mlops-control-plane demo: starting the embedded AWS emulator")
    with Emulator() as emulator:
        plane = LocalControlPlane(emulator).up()
        print(
            f"deployed template.yaml as stack {STACK} ({len(plane.stack.functions)} functions,"
            f" {len(plane.stack.state_machines)} state machine(s)); seeded models "
            f"{', '.join(MODELS)} with endpoints, monitoring output and retrain pipelines"
        )
        outcomes = []
        for number, outcome in enumerate(Demo(plane).run(), start=1):
            print_outcome(number, outcome)
            outcomes.append(outcome)
    failed = [o.title for o in outcomes if not o.ok]
    elapsed = time.monotonic() - started
    print(f"\n{len(outcomes) - len(failed)}/{len(outcomes)} scenarios passed in {elapsed:.0f}s")
    for title in failed:
        print(f"FAILED: {title}")
    return 1 if failed else 0
