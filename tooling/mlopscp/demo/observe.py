"""`make demo`'s trial: a team runs the control plane observe-only on two of its models before
letting it act. Gradual drift and a registry approval are decided and recorded as ``would_*``
entries; nothing is started, deployed, asked or paged, and the daily digest lists what would
have happened.

Every claim is read back from the emulated AWS: pipeline executions from SageMaker, promotion
executions from Step Functions, endpoints from each account, approvals from their table, pages
from the SNS topic's SQS subscription, decisions from the ledger.
"""

from __future__ import annotations

import json

from mlopscp.demo.scenario import Outcome, Scenarios
from mlopscp.worlds.trial import TrialWorld


class ObserveScenarios(Scenarios):
    def observe_only(self) -> Outcome:
        trial = TrialWorld(self.plane).seed()
        churn, demand = trial.drift.model_id, trial.promotion.model_id
        out = Outcome(
            "Trial mode (observe-only) -> every decision recorded, nothing started or paged",
            f"{churn} and {demand} run with mode: observe while the team reads the ledger and "
            "the digest",
        )
        event = self.plane.monitoring_execution_event(trial.drift)
        self.send(out, lambda: self.emu.put_event(event), f"{churn}: monitoring execution (drift)")
        would = [e for e in self.plane.ledger(churn) if e["action"] == "would_start_retrain"]
        out.check(f"the ledger records would_start_retrain for {churn}", len(would) == 1)
        out.check(
            "with what it would have started (pipeline, incident, data window)",
            bool(would)
            and json.loads(would[0]["evidence"])["pipeline_name"] == trial.drift.pipeline,
        )
        out.check(
            f"no execution of {trial.drift.pipeline} in SageMaker",
            self.plane.pipeline_executions(trial.drift) == [],
        )
        self.send(out, lambda: self.emu.put_event(trial.approve()), f"{demand} v2 approved")
        out.check(
            f"the ledger records would_promote for {demand}",
            "would_promote" in self.actions(demand),
        )
        out.check(
            "no promotion execution, no staging or production endpoint",
            trial.promotion_executions() == [] and trial.staging_endpoints() == [],
        )
        out.check(
            "no approval asked for either model (it needs one to retrain and to promote)",
            self.plane.approvals(churn) == [] and self.plane.approvals(demand) == [],
        )
        digest = self.plane.outputs["GuardrailDigestFunctionName"]
        self.send(
            out,
            lambda: self.emu.client("lambda").invoke(FunctionName=digest, Payload=b"{}"),
            "the daily digest runs (invoked directly here)",
        )
        sent = self.plane.notifications()
        mine = [m for m in sent if m["attributes"].get("model_id") in (churn, demand)]
        out.check("nobody paged about either model", mine == [])
        digests = [m["body"] for m in sent if m["attributes"].get("kind") == "guardrail_digest"]
        out.check(
            "the digest lists the would-have actions of both models",
            any(
                f"would start retrain: {trial.drift.pipeline}" in body and "would promote" in body
                for body in digests
            ),
        )
        for line in next(iter(digests), "").splitlines():
            if "observe-only" in line:
                out.lines.append(f"  digest: {line.strip()[:110]}")
        return out
