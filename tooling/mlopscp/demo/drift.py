"""`make demo`'s drift scenarios: one retrain for gradual drift however often the signal comes,
a page for a schema break, a watch for stable quality, a malformed event to the dead-letter
queue, and a failed retrain recorded on its incident.

Every claim is read back from the emulated AWS: pipeline executions from SageMaker, pages from an
SQS queue subscribed to the SNS topic, dead letters from the DLQ, decisions from the ledger.
"""

from __future__ import annotations

import json
from typing import Any

from mlopscp_emulator import sagemaker_ext

from mlopscp.demo.scenario import Outcome, Scenarios
from mlopscp.worlds.common import ROOT
from mlopscp.worlds.drift import MODELS


class DriftScenarios(Scenarios):
    churn_event: dict[str, Any]  # gradual_drift's event, delivered again by duplicates

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
            "a Model Drift Signal that names no model and no s3:// monitoring output",
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
