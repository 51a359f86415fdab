"""`make demo`'s promotion scenarios (issue 3): registry approval -> shadow test -> approval ->
blue/green production deployment, across three accounts; and a model's first deployment (no
production endpoint yet: staging test, approval, the endpoint created).

Every claim is read back from the account it is about: the production account's endpoint,
models, alarms and autoscaling (``emu.client(..., account="333333333333")``), the staging
account's endpoints, the registry's group policy, the Step Functions execution, the ledger, the
Slack stand-in and the notification topic's SQS subscription.
"""

from __future__ import annotations

import json
from typing import Any

from mlopscp_emulator import sagemaker_ext

from mlopscp.demo.scenario import Outcome, Scenarios
from mlopscp.timeline import collapse
from mlopscp.worlds.promotion import (
    APPROVER,
    EMAIL_APPROVER,
    PRODUCTION,
    PROMOTION_CHANNEL,
    PROMOTION_MODELS,
    STAGING,
    PromotionModel,
    capture_bucket,
)


class PromotionScenarios(Scenarios):
    """Combined into :class:`mlopscp.demo.runner.Demo` with the other groups."""

    _promo_demand_approval: dict[str, Any]

    def promotion_shadow_pass(self) -> Outcome:
        demand, world = PROMOTION_MODELS["demand"], self.plane.promotion
        out = Outcome(
            "An approved model version -> shadow pass -> approval in Slack -> production serves it",
            demand.story,
        )
        self.send(
            out,
            lambda: world.scale_production(demand, 4),
            "demand-prod scaled out to 4 instances (UpdateEndpointWeightsAndCapacities)",
        )
        event = world.approve_in_registry(demand, 2)
        self._promo_demand_approval = event
        self.send(
            out,
            lambda: self._promo_approve_and_serve(demand, event),
            "demand v2 approved in the model registry; requests reach production",
        )
        (execution,) = world.executions(demand)
        out.check(
            "one promotion execution, waiting for a human",
            execution["executionArn"] in self.emu.waiting_executions(),
        )
        staging = self._promo_staging_model(demand)
        out.check(
            f"staging account {STAGING}: {demand.staging_endpoint} went InService on a "
            "model built from the registry's package demand/2",
            staging == demand.package_arn(2) and "staging_deployed" in self.actions("demand"),
        )
        policy = world.group_policy(demand)
        sids = [statement.get("Sid") for statement in policy["Statement"]]
        out.check(
            "the registry's group policy now lets staging and production read demand's "
            "packages (the team's own statement kept)",
            sids == ["TeamProductionReads", "MlopscpPromotionGroup", "MlopscpPromotionPackages"]
            and {f"arn:aws:iam::{a}:root" for a in (STAGING, PRODUCTION)}
            <= set(policy["Statement"][-1]["Principal"]["AWS"]),
        )
        verdict = self._promo_entry("demand", "shadow_verdict")
        out.check(
            "shadow verdict in the ledger: pass, from CloudWatch and the data capture",
            verdict.get("outcome") == "pass"
            and verdict.get("evidence", {}).get("agreement", {}).get("compared") == 1500,
        )
        serving = world.serving(demand)
        out.check(
            f"production account {PRODUCTION}: the shadow is closed and v1 still serves",
            serving["config"] == "demand-prod-v1" and not serving["shadow_variants"],
        )
        message = self._promo_slack_request(demand)
        out.check(
            f"a Slack request in {PROMOTION_CHANNEL} with the verdict, production vs shadow side "
            "by side (never 'worse' for the shadow's sampled traffic) and a View details link",
            message is not None
            and "p99 latency ms: production" in json.dumps(message.blocks)
            and "shadow test passed" in json.dumps(message.blocks)
            and "worse" not in json.dumps(message.blocks)
            and "|View details>" in json.dumps(message.blocks),
        )
        approval = world.pending_approval(demand)
        self.send(
            out,
            lambda: world.approve_in_slack(approval["approval_id"]),
            f"{APPROVER} (ada) clicks Approve in Slack",
        )
        out.lines.append(
            "  ⎇ after the approval: "
            + " → ".join(collapse(self._promo_states_after(execution["executionArn"], "Approved")))
        )
        serving = world.serving(demand)
        out.check(
            "the execution ended in Promoted",
            self._promo_status(execution) == ("SUCCEEDED", "Promoted"),
        )
        out.check(
            f"production account {PRODUCTION}: demand-prod InService on demand-prod-v2, "
            "its model built from package demand/2",
            (serving["status"], serving["config"], serving["package"])
            == ("InService", "demand-prod-v2", demand.package_arn(2)),
        )
        out.check(
            "the green fleet started at the live variant's 4 instances, not the configured 2 "
            "(demand-prod-v2: InitialInstanceCount 4, 4 serving)",
            serving["instances"] == (4, 4),
        )
        deployment = serving["deployment"] or {}
        routing = deployment.get("BlueGreenUpdatePolicy", {}).get("TrafficRoutingConfiguration")
        out.check(
            "deployed blue/green (canary 10%), auto-rollback on the control plane's 5xx "
            "and latency alarms, which exist in the production account",
            routing
            == {
                "Type": "CANARY",
                "WaitIntervalInSeconds": 300,
                "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": 10},
            }
            and self._promo_alarms(demand)
            == ["mlopscp-demand-prod-5xx-rate", "mlopscp-demand-prod-p99-latency"],
        )
        scaling = world.scalable_target(demand) or {}
        tracking = (scaling.get("policies") or [{}])[0] or {}
        out.check(
            "target tracking: 1050 invocations/min/instance (70% of 25 rps), 2-6 "
            "instances, scale-in 300 s, scale-out 60 s",
            (
                scaling.get("min"),
                scaling.get("max"),
                tracking.get("TargetValue"),
                tracking.get("ScaleInCooldown"),
                tracking.get("ScaleOutCooldown"),
            )
            == (2, 6, 1050.0, 300, 60),
        )
        out.check(
            "staging cleaned up: no demand-staging endpoint left in the staging account",
            world.staging_endpoints(demand) == [],
        )
        promotion_steps = [
            "promotion_started",
            "quality_gate_checked",
            "staging_deployed",
            "shadow_test_started",
            "shadow_verdict",
            "approval_requested",
            "production_deploy_started",
            "model_promoted",
        ]
        out.check(
            "every step in the ledger: " + ", ".join(promotion_steps),
            set(promotion_steps) <= set(self.actions("demand")),
        )
        pages = self._promo_pages("demand")
        out.check(
            "one notification: promoted",
            [p["title"] for p in pages] == ["[promoted] demand v2 is in production"],
        )
        return out

    def promotion_shadow_fails(self) -> Outcome:
        upsell, world = PROMOTION_MODELS["upsell"], self.plane.promotion
        out = Outcome("A candidate that fails its shadow test -> not promoted", upsell.story)
        event = world.approve_in_registry(upsell, 2)
        self.send(
            out,
            lambda: self._promo_approve_and_serve(upsell, event, shadow_5xx=60, disagree_every=4),
            "upsell v2 approved; in shadow it answers 4% 5xx and disagrees on 1 in 4",
        )
        (execution,) = world.executions(upsell)
        out.check(
            "the execution ended in NotPromoted, without asking anyone",
            self._promo_status(execution) == ("SUCCEEDED", "NotPromoted")
            and "approval_requested" not in self.actions("upsell"),
        )
        verdict = self._promo_entry("upsell", "shadow_verdict")
        reasons = " ".join(verdict.get("reasons", []))
        out.check(
            "shadow verdict fail: the 5xx rate and the prediction agreement, with numbers",
            verdict.get("outcome") == "fail"
            and "5xx error rate 4.00%" in reasons
            and "agree on 75.00%" in reasons,
        )
        serving = world.serving(upsell)
        out.check(
            f"production account {PRODUCTION} untouched: upsell-prod-v1 serving package "
            "upsell/1, no shadow variant",
            (serving["config"], serving["package"], serving["shadow_variants"])
            == ("upsell-prod-v1", upsell.package_arn(1), []),
        )
        out.check(
            "staging and the candidate cleaned up (staging endpoint, candidate model)",
            world.staging_endpoints(upsell) == [] and not self._promo_model_exists("upsell-v2"),
        )
        failed = self._promo_entry("upsell", "promotion_failed")
        out.check(
            "promotion_failed in the ledger: not_promoted at the shadow stage",
            (failed.get("outcome"), failed.get("stage")) == ("not_promoted", "shadow"),
        )
        rejected = world.approve_in_registry(upsell, 2, status="Rejected")
        self.send(out, lambda: self.emu.put_event(rejected), "the team rejects v2 in the registry")
        out.check(
            "the rejection is recorded (model_package_rejected)",
            "model_package_rejected" in self.actions("upsell"),
        )
        pages = self._promo_pages("upsell")
        out.check(
            "one notification: not promoted, with why and what was cleaned",
            len(pages) == 1
            and pages[0]["title"] == "[not promoted] upsell v2"
            and "cleaned: deleted endpoint upsell-staging" in pages[0]["body"],
        )
        return out

    def promotion_rolled_back(self) -> Outcome:
        eta, world = PROMOTION_MODELS["eta"], self.plane.promotion
        out = Outcome("A production update that trips its rollback alarm -> rolled back", eta.story)
        event = world.approve_in_registry(eta, 2)
        self.send(
            out,
            lambda: self._promo_approve_and_serve(eta, event),
            "eta v2 approved; its shadow test passes",
        )
        approval = world.pending_approval(eta)
        reason = (
            "Auto-rollback triggered by CloudWatch alarm(s) in ALARM: mlopscp-eta-prod-5xx-rate"
        )
        # The green fleet's 5xx alarm fires during the canary: SageMaker shifts traffic back.
        sagemaker_ext.fail_next_update(eta.endpoint, reason, account_id=PRODUCTION)
        self.send(
            out,
            lambda: world.approve_by_email(approval["approval_id"]),
            f"{EMAIL_APPROVER} approves from the emailed link (page, then confirm)",
        )
        (execution,) = world.executions(eta)
        out.lines.append(
            "  ⎇ after the approval: "
            + " → ".join(collapse(self._promo_states_after(execution["executionArn"], "Approved")))
        )
        out.check(
            "the execution ended in RolledBack (PromotionRolledBackError)",
            self._promo_status(execution) == ("FAILED", "RolledBack"),
        )
        serving = world.serving(eta)
        out.check(
            f"production account {PRODUCTION}: eta-prod back InService on eta-prod-v1 "
            "(package eta/1), SageMaker's reason kept",
            (serving["status"], serving["config"], serving["package"])
            == ("InService", "eta-prod-v1", eta.package_arn(1))
            and "mlopscp-eta-prod-5xx-rate" in str(serving["failure_reason"]),
        )
        rolled = self._promo_entry("eta", "deployment_rolled_back")
        out.check(
            "deployment_rolled_back in the ledger, with the alarm",
            "mlopscp-eta-prod-5xx-rate" in rolled.get("reason", ""),
        )
        out.check(
            "staging and the candidate cleaned up",
            world.staging_endpoints(eta) == [] and not self._promo_model_exists("eta-v2"),
        )
        pages = self._promo_pages("eta")
        out.check(
            "one notification: rolled back", [p["title"] for p in pages] == ["[rolled back] eta v2"]
        )
        return out

    def promotion_out_of_order(self) -> Outcome:
        demand, world = PROMOTION_MODELS["demand"], self.plane.promotion
        out = Outcome(
            "Repeated and out-of-order approvals -> at most one promotion per version",
            "EventBridge redelivers; someone re-approves v2, then approves v1 again",
        )
        self.send(
            out,
            lambda: self.emu.redeliver(self._promo_demand_approval, times=2),
            "the v2 approval event delivered twice more (same id)",
        )
        again = world.approve_in_registry(demand, 2)
        self.send(out, lambda: self.emu.put_event(again), "v2 approved again (a new event)")
        old = world.approve_in_registry(demand, 1)
        self.send(out, lambda: self.emu.put_event(old), "v1, older than production, approved")
        names = [e["name"] for e in world.executions(demand)]
        out.check(
            "still exactly one promotion execution of demand (v2)",
            len(names) == 1 and names[0].startswith("demand-v2-"),
        )
        out.check("promotion_started once", self.actions("demand").count("promotion_started") == 1)
        refused = self._promo_entry("demand", "promotion_refused")
        out.check(
            "v1 refused with the reason: older than the version production serves",
            "older than version 2" in refused.get("reason", ""),
        )
        out.check("production still on v2", world.serving(demand)["config"] == "demand-prod-v2")
        pages = self._promo_pages("demand")
        out.check(
            "one notification: the refusal and why",
            len(pages) == 1 and "older than version 2" in pages[0]["body"],
        )
        return out

    def promotion_first_deployment(self) -> Outcome:
        returns, world = PROMOTION_MODELS["returns"], self.plane.promotion
        out = Outcome(
            "A model's first version -> staging test, no shadow, approval -> endpoint created",
            returns.story,
        )
        event = world.approve_in_registry(returns, 1)
        self.send(
            out,
            lambda: self.emu.put_event(event),
            "returns v1 approved in the model registry; production has no returns-prod yet",
        )
        (execution,) = world.executions(returns)
        out.check(
            "one promotion execution, waiting for a human",
            execution["executionArn"] in self.emu.waiting_executions(),
        )
        gate = self._promo_entry("returns", "quality_gate_checked")
        out.check(
            "quality gate on the absolute thresholds only: no production version to compare with",
            gate.get("passed") is True
            and "first deployment: no production version to compare with; meets the absolute "
            "thresholds on accuracy, auc"
            in gate.get("reasons", []),
        )
        out.check(
            f"staging account {STAGING}: {returns.staging_endpoint} InService on package returns/1",
            self._promo_staging_model(returns) == returns.package_arn(1),
        )
        skipped = self._promo_entry("returns", "shadow_test_skipped")
        why = (
            f"shadow test skipped: {returns.endpoint} does not exist yet in production account "
            f"{PRODUCTION}, so there is no production traffic to copy"
        )
        experiments = self.emu.client("sagemaker", account=PRODUCTION).list_inference_experiments(
            NameContains="returns"
        )["InferenceExperiments"]
        out.check(
            "shadow_test_skipped in the ledger, saying why; no shadow test in production",
            skipped.get("shadow_skipped") == why and experiments == [],
        )
        request = self._promo_slack_request(returns, 1)
        message = json.dumps(request.blocks) if request is not None else ""
        out.check(
            f"the Slack request in {PROMOTION_CHANNEL} says first deployment, shadow skipped, "
            "and what approving creates",
            "(first deployment)" in message
            and "shadow test skipped" in message
            and "approving creates returns-prod" in message,
        )
        out.check(
            f"production account {PRODUCTION}: still no endpoint before the approval",
            world.production_endpoints(returns) == [],
        )
        approval = world.pending_approval(returns)
        self.send(
            out,
            lambda: world.approve_in_slack(approval["approval_id"]),
            f"{APPROVER} (ada) clicks Approve in Slack",
        )
        out.lines.append(
            "  ⎇ after the approval: "
            + " → ".join(collapse(self._promo_states_after(execution["executionArn"], "Approved")))
        )
        out.check(
            "the execution ended in Promoted",
            self._promo_status(execution) == ("SUCCEEDED", "Promoted"),
        )
        serving = world.serving(returns)
        out.check(
            f"production account {PRODUCTION}: returns-prod created, InService on "
            "returns-prod-v1, its model built from package returns/1, tagged with the promotion",
            (serving["status"], serving["config"], serving["package"])
            == ("InService", "returns-prod-v1", returns.package_arn(1))
            and {"Key": "mlopscp:promotion", "Value": "returns-v1"} in serving["tags"],
        )
        capture = serving["data_capture"] or {}
        out.check(
            f"data capture Started to s3://{capture_bucket(PRODUCTION)}/returns (Model Monitor's "
            "input), on 2 instances",
            (capture.get("CaptureStatus"), capture.get("DestinationS3Uri"), serving["instances"])
            == ("Started", f"s3://{capture_bucket(PRODUCTION)}/returns", (2, 2)),
        )
        scaling = world.scalable_target(returns) or {}
        tracking = (scaling.get("policies") or [{}])[0] or {}
        out.check(
            "rollback alarms for its next promotion, and target tracking at 1050 "
            "invocations/min/instance, 2-6 instances",
            self._promo_alarms(returns)
            == ["mlopscp-returns-prod-5xx-rate", "mlopscp-returns-prod-p99-latency"]
            and (scaling.get("min"), scaling.get("max"), tracking.get("TargetValue"))
            == (2, 6, 1050.0),
        )
        out.check("staging cleaned up", world.staging_endpoints(returns) == [])
        steps = [
            "promotion_started",
            "quality_gate_checked",
            "staging_deployed",
            "shadow_test_skipped",
            "approval_requested",
            "production_deploy_started",
            "model_promoted",
        ]
        out.check(
            "every step in the ledger: " + ", ".join(steps),
            set(steps) <= set(self.actions("returns"))
            and "shadow_verdict" not in self.actions("returns"),
        )
        pages = self._promo_pages("returns")
        out.check(
            "one notification: promoted",
            [p["title"] for p in pages] == ["[promoted] returns v1 is in production"],
        )
        return out

    # -- helpers --------------------------------------------------------------------------------

    def _promo_approve_and_serve(
        self, model: PromotionModel, event: dict[str, Any], **traffic: Any
    ) -> None:
        """Put the approval event; once the shadow test runs, play its requests."""
        world = self.plane.promotion
        self.emu.put_event(event)
        world.wait_for_shadow(model)
        world.shadow_traffic(model, 2, **traffic)

    def _promo_status(self, execution: dict[str, Any]) -> tuple[str, str]:
        arn = execution["executionArn"]
        status = self.emu.client("stepfunctions").describe_execution(executionArn=arn)["status"]
        return str(status), self.emu.execution_states(arn)[-1]

    def _promo_states_after(self, arn: str, state: str) -> list[str]:
        states = self.emu.execution_states(arn)
        return states[states.index(state) :] if state in states else states[-8:]

    def _promo_entry(self, model_id: str, action: str) -> dict[str, Any]:
        entries = [e for e in self.plane.ledger(model_id) if e["action"] == action]
        return dict(json.loads(entries[-1]["evidence"])) if entries else {}

    def _promo_staging_model(self, model: PromotionModel) -> str | None:
        sagemaker = self.emu.client("sagemaker", account=STAGING)
        endpoint = sagemaker.describe_endpoint(EndpointName=model.staging_endpoint)
        config = sagemaker.describe_endpoint_config(
            EndpointConfigName=endpoint["EndpointConfigName"]
        )
        described = sagemaker.describe_model(ModelName=config["ProductionVariants"][0]["ModelName"])
        if endpoint["EndpointStatus"] != "InService":
            return None
        return str(described["Containers"][0].get("ModelPackageName"))

    def _promo_model_exists(self, name: str) -> bool:
        models = self.emu.client("sagemaker", account=PRODUCTION).list_models(NameContains=name)
        return any(m["ModelName"] == name for m in models["Models"])

    def _promo_alarms(self, model: PromotionModel) -> list[str]:
        alarms = self.emu.client("cloudwatch", account=PRODUCTION).describe_alarms(
            AlarmNamePrefix=f"mlopscp-{model.endpoint}"
        )
        return sorted(a["AlarmName"] for a in alarms["MetricAlarms"])

    def _promo_slack_request(self, model: PromotionModel, version: int = 2) -> Any:
        return next(
            (
                m
                for m in self.plane.slack.messages(PROMOTION_CHANNEL)
                if f"{model.model_id} v{version}" in json.dumps(m.blocks)
            ),
            None,
        )

    def _promo_pages(self, model_id: str) -> list[dict[str, Any]]:
        """This scenario's notifications (the inbox is drained: later scenarios start empty)."""
        found = []
        for page in self.plane.notifications():
            if page["attributes"].get("model_id") == model_id:
                found.append(page | {"title": page["body"].splitlines()[0]})
        return found
