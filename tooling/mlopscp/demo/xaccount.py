"""`make demo`'s drift loop across accounts (issue 10): drift in the production account ->
forwarded -> triage through the reader role -> retrain in the tooling account -> a new version
registered and approved -> promoted back to production; and events the trust boundary refuses.

Every hop is read back from the account where it happened: the production account's
processing job and forwarding rule, the tooling account's workload bus rule, drift response,
triage report, pipeline execution and registry, the staging and production endpoints.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from mlopscp.demo.scenario import Outcome, Scenarios
from mlopscp.worlds.common import envelope
from mlopscp.worlds.promotion import APPROVER, PRODUCTION, STAGING
from mlopscp.worlds.xaccount import FORECAST, MONITORING_BUCKET, OUTSIDER

FORWARD_RULE = "mlopscp-forward-monitoring-executions"


class CrossAccountScenarios(Scenarios):
    """Combined into :class:`mlopscp.demo.runner.Demo` with the other groups; uses the promotion
    scenarios' helpers."""

    _promo_approve_and_serve: Callable[..., None]
    _promo_status: Callable[[dict[str, Any]], tuple[str, str]]
    _promo_staging_model: Callable[[Any], str | None]
    _promo_entry: Callable[[str, str], dict[str, Any]]
    _promo_pages: Callable[[str], list[dict[str, Any]]]

    def xaccount_loop(self) -> Outcome:
        loop, world = self.plane.loop, self.plane.promotion
        out = Outcome(
            "Drift in the production account -> retrain in tooling -> promoted back",
            f"forecast is served and monitored in production account {PRODUCTION}; the "
            "control plane and the registry are in the tooling account",
        )
        event = loop.drift_in_production()
        self.send(
            out,
            lambda: self.emu.put_event(event, account=PRODUCTION),
            f"a monitoring execution of {FORECAST.endpoint} ended in account {PRODUCTION}",
        )
        job = self.emu.client("sagemaker", account=PRODUCTION).describe_processing_job(
            ProcessingJobName=event["detail"]["ProcessingJobName"]
        )
        forward = self.emu.client("events", account=PRODUCTION).describe_rule(Name=FORWARD_RULE)
        out.check(
            f"production account {PRODUCTION}: the Model Monitor run exists there, and its "
            f"rule {FORWARD_RULE} forwards to the tooling account's workload bus",
            job["ProcessingJobStatus"] == "Completed"
            and forward["State"] == "ENABLED"
            and self._forwarded(event["id"])
            == (PRODUCTION, self.plane.outputs["WorkloadEventBusArn"]),
        )
        (drift,) = loop.drift_executions()
        request = self._execution_input(drift["executionArn"])
        out.check(
            "tooling account: the drift response got the same event, from account "
            f"{PRODUCTION} (the trust boundary: the model is configured there)",
            (request["event_id"], request["event_account"]) == (event["id"], PRODUCTION),
        )
        retrains = loop.retrains()
        incident = retrains[0]["parameters"].get("IncidentId", "") if retrains else ""
        report = loop.triage_report(incident) if incident else {}
        out.check(
            f"triage read production's bucket {MONITORING_BUCKET} through mlopscp-reader "
            "(the tooling account itself is refused there): decided retrain",
            report.get("decision") == "retrain"
            and report.get("read", {}).get("account_id") == PRODUCTION
            and self._refused_directly(MONITORING_BUCKET),
        )
        out.check(
            "tooling account: exactly one execution of forecast-retrain, for the incident",
            len(retrains) == 1 and incident.startswith("inc-forecast-"),
        )
        execution_arn = retrains[0]["arn"] if retrains else ""
        package = loop.register_retrained(execution_arn, incident)
        self.send(
            out,
            lambda: self.emu.put_event(loop.pipeline_succeeded(execution_arn)),
            "the pipeline registered forecast/2 (PendingManualApproval) and succeeded",
        )
        described = self.emu.client("sagemaker").describe_model_package(ModelPackageName=package)
        out.check(
            "registry: forecast/2 awaits approval, tied to the incident; retrain_succeeded",
            described["ModelApprovalStatus"] == "PendingManualApproval"
            and described.get("CustomerMetadataProperties", {}).get("IncidentId") == incident
            and "retrain_succeeded" in self.actions("forecast"),
        )
        approval = world.approve_in_registry(FORECAST, 2)
        self.send(
            out,
            lambda: self._promo_approve_and_serve(FORECAST, approval),
            "the team approves forecast/2 in the registry; production traffic meets the shadow",
        )
        out.check(
            f"staging account {STAGING}: forecast-staging went InService on forecast/2",
            self._promo_staging_model(FORECAST) == FORECAST.package_arn(2),
        )
        verdict = self._promo_entry("forecast", "shadow_verdict")
        out.check("shadow test in production passed", verdict.get("outcome") == "pass")
        pending = world.pending_approval(FORECAST)
        self.send(
            out,
            lambda: world.approve_in_slack(pending["approval_id"]),
            f"{APPROVER} (ada) approves the promotion in Slack",
        )
        (promotion,) = world.executions(FORECAST)
        serving = world.serving(FORECAST)
        out.check(
            f"production account {PRODUCTION}: {FORECAST.endpoint} serves the retrained "
            "version (forecast-prod-v2, built from package forecast/2), deployed blue/green",
            self._promo_status(promotion) == ("SUCCEEDED", "Promoted")
            and (serving["status"], serving["config"], serving["package"])
            == ("InService", "forecast-prod-v2", FORECAST.package_arn(2)),
        )
        out.check(
            f"staging account {STAGING} cleaned up",
            world.staging_endpoints(FORECAST) == [],
        )
        chain = ["retrain_started", "retrain_succeeded", "promotion_started", "model_promoted"]
        out.check(
            "the ledger tells the whole loop: " + ", ".join(chain),
            set(chain) <= set(self.actions("forecast")),
        )
        out.check(
            "one notification: promoted",
            [p["title"] for p in self._promo_pages("forecast")]
            == ["[promoted] forecast v2 is in production"],
        )
        return out

    def xaccount_refused(self) -> Outcome:
        loop = self.plane.loop
        out = Outcome(
            "Events from the wrong account -> refused, nothing runs",
            f"a drift signal about forecast (configured in {PRODUCTION}) sent from the staging "
            f"account, and from {OUTSIDER}, which no WorkloadAccountIds admits",
        )
        before = (len(loop.drift_executions()), len(loop.retrains()))
        signal = self._drift_signal(STAGING)
        self.send(
            out,
            lambda: self.emu.put_event(signal, account=STAGING),
            f"a Model Drift Signal naming forecast, from staging account {STAGING}",
        )
        dead = self.plane.dead_letters()
        body = json.loads(dead[0]["body"]) if dead else {}
        out.check(
            "forwarded (staging is a workload account), then refused by the drift intake: the "
            "dead-letter queue holds it with the reason",
            len(dead) == 1
            and body.get("event", {}).get("id") == signal["id"]
            and f"an event from account {STAGING}" in body.get("reason", ""),
        )
        rejected = self._promo_entry("forecast", "event_rejected")
        out.check(
            "event_rejected in forecast's ledger, naming both accounts",
            rejected.get("account") == STAGING,
        )
        outsider = self._drift_signal(OUTSIDER)
        self.send(
            out,
            lambda: self.emu.put_event(outsider, account=OUTSIDER),
            f"the same signal from account {OUTSIDER}",
        )
        refused = loop.forwarding_dead_letters(OUTSIDER)
        out.check(
            f"the workload bus's policy refuses account {OUTSIDER}: its own forwarding "
            "dead-letter queue holds the event (AccessDeniedException); nothing reached tooling",
            len(refused) == 1
            and refused[0]["attributes"].get("ERROR_CODE") == "AccessDeniedException"
            and self.plane.dead_letters() == []
            and self._forwarded(outsider["id"]) is None,
        )
        out.check(
            "no drift response and no retrain started",
            (len(loop.drift_executions()), len(loop.retrains())) == before,
        )
        if body:
            out.lines.append(f"  reason: {body['reason']}")
        return out

    # -- helpers --------------------------------------------------------------------------------

    def _forwarded(self, event_id: str) -> tuple[str, str] | None:
        """(the event's account, the bus) of the forwarding of an event, from the trace."""
        from mlopscp_emulator.trace import EventForwarded

        found = [
            r
            for r in self.emu.trace.records
            if isinstance(r, EventForwarded) and r.event_id == event_id
        ]
        return (found[0].account, found[0].bus_arn) if found else None

    def _execution_input(self, arn: str) -> dict[str, Any]:
        described = self.emu.client("stepfunctions").describe_execution(executionArn=arn)
        return dict(json.loads(described["input"]))

    def _refused_directly(self, bucket: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.emu.client("s3").list_objects_v2(Bucket=bucket, MaxKeys=1)
        except ClientError as error:
            return error.response["Error"]["Code"] == "AccessDenied"
        return False

    def _drift_signal(self, account: str) -> dict[str, Any]:
        return envelope(
            "mlopscp.monitoring",
            "Model Drift Signal",
            {"model_id": "forecast", "monitor": "evidently", "reason": "looks drifted to me"},
            [],
            account,
        )
