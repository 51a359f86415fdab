"""`make demo`: the control plane's scenarios on the embedded emulator, read back from it.

Every claim printed is read back from the emulated AWS (pipeline executions from SageMaker, pages
from an SQS queue subscribed to the SNS topic, dead letters from the DLQ, decisions from the
ledger table); the demo exits non-zero if any expectation fails.
"""

from __future__ import annotations

import json
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mlopscp import timeline
from mlopscp.demo_approvals import ApprovalScenarios
from mlopscp.demo_monitor import MonitorScenarios
from mlopscp.demo_promotion import PromotionScenarios
from mlopscp.demo_spot import SpotScenarios
from mlopscp.demo_xaccount import CrossAccountScenarios
from mlopscp.local import MODELS, ROOT, STACK, LocalControlPlane


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


class Demo(
    ApprovalScenarios, SpotScenarios, PromotionScenarios, MonitorScenarios, CrossAccountScenarios
):
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

    # -- scenarios ------------------------------------------------------------------------------

    def gradual_drift(self) -> Outcome:
        churn = MODELS["churn"]
        out = Outcome("Gradual drift with falling quality -> one retrain", churn.story)
        event = self.plane.monitoring_execution_event(churn)
        self.send(out, lambda: self.emu.put_event(event), "monitoring execution completed")
        executions = self.plane.pipeline_executions(churn)
        out.check("exactly one execution of churn-retrain in SageMaker", len(executions) == 1)
        params = executions[0]["parameters"] if executions else {}
        out.check(
            "it carries the incident id and the drift's data window",
            params.get("IncidentId", "").startswith("inc-churn-")
            and params.get("DataWindowStart") == "2026-07-23T00:00Z"
            and params.get("DataWindowEnd") == "2026-07-27T00:00Z",
        )
        out.check("the ledger records retrain_started", "retrain_started" in self.actions("churn"))
        out.check("no page for a routine retrain", self.plane.notifications() == [])
        self.churn_event = event
        return out

    def duplicates(self) -> Outcome:
        churn = MODELS["churn"]
        out = Outcome(
            "The same signal delivered again -> still one retrain",
            "EventBridge delivers at least once; an alarm reports the same drift",
        )
        self.send(
            out,
            lambda: self.emu.redeliver(self.churn_event, times=3),
            "the same event (same id) delivered 3 more times",
        )
        alarm = json.loads((ROOT / "events" / "model-monitor-alarm.json").read_text())
        self.send(out, lambda: self.emu.put_event(alarm), "a CloudWatch drift alarm, same state")
        out.check(
            "still exactly one execution of churn-retrain",
            len(self.plane.pipeline_executions(churn)) == 1,
        )
        out.check(
            "still one retrain_started in the ledger",
            self.actions("churn").count("retrain_started") == 1,
        )
        return out

    def schema_break(self) -> Outcome:
        fraud = MODELS["fraud"]
        out = Outcome("Schema break -> incident and page, no retrain", fraud.story)
        event = self.plane.monitoring_execution_event(fraud)
        self.send(out, lambda: self.emu.put_event(event), "monitoring execution completed")
        pages = self.plane.notifications()
        out.check("one page on the SNS topic (read from its SQS subscription)", len(pages) == 1)
        out.check(
            "the page names the check and the column",
            bool(pages)
            and "missing_column_check" in pages[0]["body"]
            and "latency_ms" in pages[0]["body"],
        )
        out.check(
            "incident_opened and notification_sent in the ledger",
            {"incident_opened", "notification_sent"} <= set(self.actions("fraud")),
        )
        out.check("no execution of fraud-retrain", self.plane.pipeline_executions(fraud) == [])
        if pages:
            out.lines.append("  page: " + pages[0]["body"].splitlines()[0])
        return out

    def watch(self) -> Outcome:
        pricing = MODELS["pricing"]
        out = Outcome("Drift with stable quality -> watch, no page", pricing.story)
        event = self.plane.monitoring_execution_event(pricing)
        self.send(out, lambda: self.emu.put_event(event), "monitoring execution completed")
        out.check("watch_recorded in the ledger", self.actions("pricing") == ["watch_recorded"])
        out.check("no page", self.plane.notifications() == [])
        out.check("no execution of pricing-retrain", self.plane.pipeline_executions(pricing) == [])
        return out

    def malformed(self) -> Outcome:
        out = Outcome(
            "Malformed event -> dead-letter queue with its reason",
            "a Model Drift Signal that names no model",
        )
        event = json.loads((ROOT / "events" / "drift-signal-malformed.json").read_text())
        self.send(out, lambda: self.emu.put_event(event), "malformed Model Drift Signal")
        dead = self.plane.dead_letters()
        body = json.loads(dead[0]["body"]) if dead else {}
        out.check(
            "one message in the DLQ, holding the whole event",
            len(dead) == 1 and body.get("event", {}).get("id") == event["id"],
        )
        out.check(
            "with a reason naming the bad field", "monitoring_output_uri" in body.get("reason", "")
        )
        out.check("event_rejected in the ledger", "event_rejected" in self.actions("_unknown"))
        if body:
            out.lines.append(f"  reason: {body['reason']}")
        return out

    def retrain_failed(self) -> Outcome:
        from mlopscp_emulator import sagemaker_ext

        churn = MODELS["churn"]
        out = Outcome(
            "The retrain fails -> recorded on the incident, page",
            "the pipeline's evaluation step failed on a data error (Spot capacity failures are "
            "retried by spot recovery instead)",
        )
        (execution,) = self.plane.pipeline_executions(churn)
        sagemaker_ext.set_pipeline_execution_status(
            execution["arn"], "Failed", "Step Evaluate failed: AlgorithmError: missing column"
        )
        event = self.plane.pipeline_status_event(execution["arn"])
        self.send(out, lambda: self.emu.put_event(event), "pipeline execution status: Failed")
        out.check("retrain_failed in the ledger", "retrain_failed" in self.actions("churn"))
        pages = self.plane.notifications()
        out.check(
            "one page saying why",
            len(pages) == 1 and "AlgorithmError" in pages[0]["body"],
        )
        return out

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
    from mlopscp_emulator import Emulator

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
