"""Serving cost (issue 14): an idle endpoint flagged with its monthly cost in the guardrail
digest (in the tooling account and, through its reader role, the production account), an idle
staging endpoint of a model that opted in deleted after an approval (its config and model kept),
a first deployment whose autoscaling target comes from an Inference Recommender job in the
staging account, and a serverless endpoint promoted to a new serverless version."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from mlopscp_emulator import sagemaker_ext
from mlopscp_emulator.sagemaker_ext.state import backend_for, put

from mlopscp.demo.scenario import Outcome, Scenarios
from mlopscp.worlds.common import ACCOUNT, REGION, serve
from mlopscp.worlds.promotion import (
    APPROVER,
    PRODUCTION,
    PROMOTION_CHANNEL,
    STAGING,
    PromotionModel,
)

IDLE_ENDPOINT = "legacy-scoring-prod"
IDLE_IN_PRODUCTION = "batch-scores-prod"  # in the production account, which no model claims
# A staging endpoint of a model that opted in to have it deleted when idle, after an approval.
IDLE_STAGING = "pricing-staging"
PRICING = {
    "model_id": "pricing",
    "endpoint_name": IDLE_STAGING,
    "environment": "staging",
    "guardrails": {"serving": {"act": [{"finding": "endpoint.idle"}]}},
    "approvals": {"slack_channel": PROMOTION_CHANNEL, "slack_approvers": [APPROVER]},
}
# A model promoted without benchmarked_max_rps: Inference Recommender measures it.
OFFERS = PromotionModel(
    "offers",
    "an offers ranker deployed for the first time, sized by Inference Recommender",
    {
        1: {
            "binary_classification_metrics": {
                "auc": {"value": 0.9, "standard_deviation": 0.01},
                "accuracy": {"value": 0.86, "standard_deviation": 0.01},
            }
        }
    },
    in_production=False,
    autoscaling={
        "default_max_rps": 10,
        "min_instances": 1,
        "max_instances": 4,
        "compare_instance_types": ["ml.c6g.large"],
    },
)
# A serverless endpoint updated to a new serverless version: no shadow test, our bake.
QUOTES = PromotionModel(
    "quotes",
    "a quote scorer served serverless, v2 with more memory and 2 warm copies",
    {
        1: {"binary_classification_metrics": {"auc": {"value": 0.88, "standard_deviation": 0.01}}},
        2: {"binary_classification_metrics": {"auc": {"value": 0.9, "standard_deviation": 0.01}}},
    },
    serverless={"memory_size_mb": 3072, "max_concurrency": 10, "provisioned_concurrency": 2},
    bake_seconds=2,
)
MEASURED = {  # what the recommendation job "measures" (the emulator's load-test results)
    "ml.m5.large": {"MaxInvocations": 1800, "ModelLatency": 45, "CostPerHour": 0.115},
    "ml.c6g.large": {"MaxInvocations": 1900, "ModelLatency": 41, "CostPerHour": 0.082},
}


def idle_endpoint(emu: Any, name: str, instances: int, account: str = ACCOUNT) -> None:
    """``name`` serving its model ``<name>-m`` on ml.m5.large in ``account``, created a month ago
    and never called (CloudWatch has no invocation for it)."""
    sagemaker = emu.client("sagemaker", account=account)
    sagemaker.create_model(
        ModelName=f"{name}-m",
        ExecutionRoleArn=f"arn:aws:iam::{account}:role/sagemaker",
        PrimaryContainer={"Image": "img:1", "ModelDataUrl": f"s3://models/{name}.tar.gz"},
    )
    serve(sagemaker, name, f"{name}-m", instances, f"s3://{name}-capture/requests")
    sagemaker.get_waiter("endpoint_in_service").wait(
        EndpointName=name, WaiterConfig={"Delay": 0, "MaxAttempts": 10}
    )
    month_ago = datetime.now(UTC) - timedelta(days=30)
    put(backend_for(account, REGION).endpoints[name], creation_time=month_ago)


class ServingScenarios(Scenarios):
    def serving_cost(self) -> Outcome:
        out = Outcome(
            "Serving cost -> an idle endpoint in the digest with its monthly cost; an opted-in "
            "idle staging endpoint deleted after an approval; a promotion sized by Inference "
            "Recommender",
            f"{IDLE_ENDPOINT} (2 x ml.m5.large, tooling account) and {IDLE_IN_PRODUCTION} "
            f"(1 x ml.m5.large, production account {PRODUCTION}) got no request for 30 days; so "
            f"did pricing's staging endpoint {IDLE_STAGING}; offers v1 is promoted without a "
            "benchmarked_max_rps",
        )
        self._idle_endpoint_in_the_digest(out)
        self._idle_staging_endpoint_deleted(out)
        self._rightsized_promotion(out)
        return out

    def _idle_endpoint_in_the_digest(self, out: Outcome) -> None:
        idle_endpoint(self.emu, IDLE_ENDPOINT, 2)
        idle_endpoint(self.emu, IDLE_IN_PRODUCTION, 1, account=PRODUCTION)
        self.plane.notifications()  # earlier scenarios' pages are not this one's
        digest = self.plane.outputs["GuardrailDigestFunctionName"]
        self.send(
            out,
            lambda: self.emu.client("lambda").invoke(FunctionName=digest, Payload=b"{}"),
            "the guardrail digest runs (daily): it sweeps the endpoints' CloudWatch usage first",
        )
        flagged = {
            (evidence["resource"], evidence.get("account_id")): evidence
            for e in self.plane.ledger("_unknown")
            if e["action"] == "guardrail_flagged"
            for evidence in [json.loads(e["evidence"])]
        }
        idle = flagged.get((f"endpoint/{IDLE_ENDPOINT}", ACCOUNT), {})
        out.check(
            f"ledger: guardrail_flagged endpoint.idle for {IDLE_ENDPOINT} in account {ACCOUNT}, "
            "$167.90/month (2 x ml.m5.large at list price), fix: delete it",
            idle.get("rule") == "endpoint.idle"
            and idle.get("monthly_usd") == 167.9
            and str(idle.get("fix", "")).startswith("delete it"),
        )
        remote = flagged.get((f"endpoint/{IDLE_IN_PRODUCTION}", PRODUCTION), {})
        out.check(
            f"and {IDLE_IN_PRODUCTION} in production account {PRODUCTION}, swept through its "
            "reader role (mlopscp-reader): endpoint.idle, $83.95/month, unowned",
            remote.get("rule") == "endpoint.idle" and remote.get("monthly_usd") == 83.95,
        )
        pages = [
            p
            for p in self.plane.notifications()
            if p["attributes"].get("kind") == "guardrail_digest"
        ]
        body = pages[0]["body"] if pages else ""
        out.check(
            "the digest page lists both with their account, cost and fix, and totals the "
            "flagged cost",
            f"endpoint/{IDLE_ENDPOINT} in account {ACCOUNT} (no model) endpoint.idle: no "
            "invocations for 7 days; $167.90/month at list price"
            in body
            and f"endpoint/{IDLE_IN_PRODUCTION} in account {PRODUCTION} (no model) endpoint."
            "idle: no invocations for 7 days; $83.95/month at list price"
            in body
            and "Fix: delete it" in body
            and "$251.85/month at list price in flagged endpoints" in body,
        )
        if pages:
            out.lines.append("  page: " + body.splitlines()[0])

    def _idle_staging_endpoint_deleted(self, out: Outcome) -> None:
        from mlops_runtime.model_config import ModelConfig

        self.plane.put_config(ModelConfig.model_validate(PRICING))
        idle_endpoint(self.emu, IDLE_STAGING, 1)
        sagemaker = self.emu.client("sagemaker")
        out.lines.append(
            f"pricing opted in (guardrails.serving.act: endpoint.idle, staging): its staging "
            f"endpoint {IDLE_STAGING} (1 x ml.m5.large) got no request for 30 days"
        )
        digest = self.plane.outputs["GuardrailDigestFunctionName"]
        self.send(
            out,
            lambda: self.emu.client("lambda").invoke(FunctionName=digest, Payload=b"{}"),
            "the guardrail digest runs again",
        )
        requested = self._entry("pricing", "serving_action_requested")
        out.check(
            f"ledger: guardrail_flagged endpoint.idle for {IDLE_STAGING} at $83.95/month, and "
            "serving_action_requested: delete it after an approval",
            "guardrail_flagged" in self.actions("pricing")
            and requested.get("monthly_usd") == 83.95
            and requested.get("action") == "delete_endpoint",
        )
        pending = [a for a in self.plane.approvals("pricing") if a["status"] == "pending"]
        request = json.loads(str(pending[0]["request"])) if pending else {}
        title = str(request.get("title", ""))
        out.check(
            f"one approval asked in Slack: 'Delete idle staging endpoint {IDLE_STAGING} in "
            f"account {ACCOUNT}?'",
            len(pending) == 1 and f"Delete idle staging endpoint {IDLE_STAGING}" in title,
        )
        self.emu.client("lambda").invoke(FunctionName=digest, Payload=b"{}")
        self.emu.wait_idle(timeout=120)
        out.check(
            "a second sweep while it waits asks nobody again",
            len(self.plane.approvals("pricing")) == 1
            and self.actions("pricing").count("serving_action_requested") == 1,
        )
        if not pending:
            return
        world = self.plane.promotion
        self.send(
            out,
            lambda: world.approve_in_slack(pending[0]["approval_id"]),
            f"{APPROVER} (ada) clicks Approve in Slack",
        )
        endpoints = [e["EndpointName"] for e in sagemaker.list_endpoints()["Endpoints"]]
        configs = [
            c["EndpointConfigName"] for c in sagemaker.list_endpoint_configs()["EndpointConfigs"]
        ]
        models = [m["ModelName"] for m in sagemaker.list_models()["Models"]]
        deleted = self._entry("pricing", "endpoint_deleted")
        out.check(
            f"re-checked (still idle, same config), then {IDLE_STAGING} deleted; its endpoint "
            "config and model are kept",
            IDLE_STAGING not in endpoints
            and f"{IDLE_STAGING}-v1" in configs
            and f"{IDLE_STAGING}-m" in models,
        )
        out.check(
            "ledger: endpoint_deleted with the command that recreates it",
            str(deleted.get("recreate", "")).startswith(
                f"aws sagemaker create-endpoint --endpoint-name {IDLE_STAGING} "
                f"--endpoint-config-name {IDLE_STAGING}-v1"
            ),
        )

    def _rightsized_promotion(self, out: Outcome) -> None:
        world = self.plane.promotion
        world.add_model(OFFERS)
        sagemaker_ext.set_recommendation_results(OFFERS.package_arn(1), MEASURED)
        event = world.approve_in_registry(OFFERS, 1)
        self.send(out, lambda: self.emu.put_event(event), "offers v1 approved in the registry")
        jobs = self.emu.client("sagemaker", account=STAGING).list_inference_recommendations_jobs(
            ModelPackageVersionArnEquals=OFFERS.package_arn(1)
        )["InferenceRecommendationsJobs"]
        out.check(
            f"staging account {STAGING}: one Inference Recommender job for package offers/1",
            [j["JobName"] for j in jobs] == ["offers-v1-rightsizing"],
        )
        chosen = self._entry("offers", "autoscaling_target_chosen")
        out.check(
            "ledger: autoscaling_target_chosen 1260 invocations/minute/instance = 0.7 x the 1800 "
            "one ml.m5.large sustained in that job",
            chosen.get("source") == "inference_recommender"
            and chosen.get("value") == 1260.0
            and chosen.get("max_invocations_per_minute") == 1800,
        )
        out.check(
            "and it names the cheaper type it measured (ml.c6g.large, Graviton)",
            [a["instance_type"] for a in chosen.get("alternatives", [])] == ["ml.c6g.large"],
        )
        approval = world.pending_approval(OFFERS)
        self.send(
            out,
            lambda: world.approve_in_slack(approval["approval_id"]),
            f"{APPROVER} (ada) clicks Approve in Slack",
        )
        scaling = world.scalable_target(OFFERS) or {}
        values = [p["TargetValue"] for p in scaling.get("policies", []) if p]
        out.check(
            f"production account {PRODUCTION}: offers-prod target tracking at 1260 "
            "invocations/minute/instance (1-4 instances), from the recommendation",
            values == [1260.0] and (scaling.get("min"), scaling.get("max")) == (1, 4),
        )

    def serverless_promotion(self) -> Outcome:
        out = Outcome(
            "Serverless promotion -> v2 replaces v1 on a serverless endpoint: the shadow test "
            "skipped and said so, our bake watching the rollback alarms, provisioned concurrency "
            "scaled",
            f"{QUOTES.endpoint} serves quotes v1 serverless (2048 MB); v2 (3072 MB, 2 provisioned) "
            "is approved in the registry",
        )
        world = self.plane.promotion
        world.add_model(QUOTES)
        event = world.approve_in_registry(QUOTES, 2)
        self.send(out, lambda: self.emu.put_event(event), "quotes v2 approved in the registry")
        skipped = [e for e in self.plane.ledger("quotes") if e["action"] == "shadow_test_skipped"]
        summary = skipped[0]["summary"] if skipped else ""
        out.check(
            "ledger: shadow_test_skipped (serverless -> serverless): shadow tests take real-time "
            "variants only, and a serverless endpoint has no data capture to replay",
            summary.startswith("shadow test skipped (serverless -> serverless)")
            and "no data capture to replay" in summary,
        )
        approval = world.pending_approval(QUOTES)
        self.send(
            out,
            lambda: world.approve_in_slack(approval["approval_id"]),
            f"{APPROVER} (ada) clicks Approve in Slack",
        )
        started = self._entry("quotes", "production_deploy_started")
        out.check(
            "ledger: production_deploy_started without SageMaker's guardrails (they cover "
            "real-time and async): the control plane bakes and rolls back itself",
            started.get("rollback") == "ours" and started.get("deployment_config") is None,
        )
        out.check(
            "ledger: model_promoted, quotes v2 serves quotes-prod",
            "model_promoted" in self.actions("quotes"),
        )
        live = self.emu.client("sagemaker", account=PRODUCTION).describe_endpoint(
            EndpointName=QUOTES.endpoint
        )
        variant = live["ProductionVariants"][0]
        out.check(
            f"production account {PRODUCTION}: {QUOTES.endpoint} serverless at 3072 MB, up to 10 "
            "concurrent, 2 provisioned",
            variant.get("CurrentServerlessConfig")
            == {"MemorySizeInMB": 3072, "MaxConcurrency": 10, "ProvisionedConcurrency": 2},
        )
        scaling = world.scalable_target(QUOTES) or {}
        out.check(
            "its provisioned concurrency scales 2-10 on SageMakerVariantProvisionedConcurrency"
            "Utilization (target 0.7)",
            (scaling.get("min"), scaling.get("max")) == (2, 10)
            and [p.get("TargetValue") for p in scaling.get("policies", [])] == [0.7],
        )
        return out

    def _entry(self, model_id: str, action: str) -> dict[str, Any]:
        entries = [e for e in self.plane.ledger(model_id) if e["action"] == action]
        return dict(json.loads(entries[-1]["evidence"])) if entries else {}
