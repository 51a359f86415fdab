"""`make demo`'s Spot recovery and guardrail scenarios (issue 5).

Each claim is read back from the emulated AWS: training jobs and their tags from SageMaker,
pipeline executions from SageMaker, decisions from the ledger table, pages from the SQS queue
subscribed to the notification topic. The world comes from :mod:`mlopscp.worlds.training`.
"""

from __future__ import annotations

import json
from typing import Any

from mlopscp_emulator import sagemaker_ext

from mlopscp.demo.scenario import Outcome, Scenarios
from mlopscp.worlds import training as world

TRAINING_PAGES = ("training_fallback", "training_given_up")


class SpotScenarios(Scenarios):
    """Combined into :class:`mlopscp.demo.runner.Demo` with the other groups."""

    def spot_resume(self) -> Outcome:
        out = Outcome(
            "A Spot job runs out of wait time -> resumed from its checkpoint",
            f"{world.SPOT_JOB}: Spot capacity did not come back within MaxWaitTimeInSeconds",
        )
        sagemaker_ext.set_training_job_status(world.SPOT_JOB, "Stopped", "MaxWaitTimeExceeded")
        event = world.training_job_event(self.plane, world.SPOT_JOB)
        self.send(
            out, lambda: self.emu.put_event(event), "training job Stopped/MaxWaitTimeExceeded"
        )
        jobs = world.lineage_jobs(self.plane, world.SPOT_JOB)
        original, copy = jobs.get(world.SPOT_JOB, {}), jobs.get(f"{world.SPOT_JOB}-a2", {})
        out.check(f"a copy {world.SPOT_JOB}-a2 exists in SageMaker", bool(copy))
        out.check(
            "with the same CheckpointConfig (it resumes from the last checkpoint)",
            bool(copy) and copy.get("CheckpointConfig") == original.get("CheckpointConfig"),
        )
        out.check(
            "tagged with its lineage and attempt 2",
            copy.get("Tags", {}).get("mlopscp:lineage") == world.SPOT_JOB
            and copy.get("Tags", {}).get("mlopscp:attempt") == "2",
        )
        stopping = copy.get("StoppingCondition", {})
        out.check(
            "still Spot, MaxWaitTimeInSeconds = 2 x MaxRuntimeInSeconds",
            copy.get("EnableManagedSpotTraining") is True
            and stopping.get("MaxWaitTimeInSeconds") == 2 * stopping.get("MaxRuntimeInSeconds", 0),
        )
        out.check(
            "hyperparameters, environment and input channels carried over",
            bool(copy)
            and all(
                copy.get(k) == original.get(k)
                for k in ("HyperParameters", "Environment", "InputDataConfig")
            ),
        )
        self.send(
            out,
            lambda: self.emu.redeliver(event, times=2),
            "the same event (same id) delivered 2 more times (the first result is replayed)",
        )
        out.check(
            "still one copy, one training_resumed in the ledger",
            len(world.lineage_jobs(self.plane, world.SPOT_JOB)) == 2
            and self.actions("churn").count("training_resumed") == 1,
        )
        out.check("no page for a resume", self._pages(TRAINING_PAGES) == [])
        self.spot_event = event
        return out

    def spot_fallback(self) -> Outcome:
        out = Outcome(
            "The third Spot failure -> fallback to on-demand",
            "the copy fails for capacity, the next runs out of wait time again",
        )
        sagemaker_ext.set_training_job_status(
            f"{world.SPOT_JOB}-a2",
            "Failed",
            "Failed",
            "CapacityError: Unable to provision requested ML compute capacity. Please retry "
            "using a different ML instance type.",
        )
        event = world.training_job_event(self.plane, f"{world.SPOT_JOB}-a2")
        self.send(out, lambda: self.emu.put_event(event), "attempt 2 Failed: CapacityError")
        sagemaker_ext.set_training_job_status(
            f"{world.SPOT_JOB}-a3", "Stopped", "MaxWaitTimeExceeded"
        )
        event = world.training_job_event(self.plane, f"{world.SPOT_JOB}-a3")
        self.send(out, lambda: self.emu.put_event(event), "attempt 3 Stopped/MaxWaitTimeExceeded")
        jobs = world.lineage_jobs(self.plane, world.SPOT_JOB)
        fallback = jobs.get(f"{world.SPOT_JOB}-a4", {})
        out.check(
            f"attempt 3 was Spot again; attempt 4 ({world.SPOT_JOB}-a4) exists",
            jobs.get(f"{world.SPOT_JOB}-a3", {}).get("EnableManagedSpotTraining") is True
            and bool(fallback),
        )
        out.check(
            "it runs on-demand: EnableManagedSpotTraining false, no MaxWaitTimeInSeconds",
            fallback.get("EnableManagedSpotTraining") is False
            and "MaxWaitTimeInSeconds" not in fallback.get("StoppingCondition", {}),
        )
        out.check(
            "same CheckpointConfig, tagged as the on-demand fallback",
            fallback.get("CheckpointConfig") == world.CHECKPOINT
            and fallback.get("Tags", {}).get("mlopscp:fallback") == "on-demand",
        )
        out.check(
            "ledger: training_resumed x2, then training_fallback",
            self.actions("churn").count("training_resumed") == 2
            and self.actions("churn").count("training_fallback") == 1,
        )
        pages = self._pages(TRAINING_PAGES)
        out.check(
            "one page saying it fell back (it costs more)",
            len(pages) == 1
            and pages[0]["attributes"].get("kind") == "training_fallback"
            and f"{world.SPOT_JOB}-a4" in pages[0]["body"],
        )
        self.send(
            out,
            lambda: self.emu.redeliver(self.spot_event),
            "the first failure's event again, late (Powertools replays the first result)",
        )
        out.check(
            "nothing new started: still 4 jobs in the lineage",
            len(world.lineage_jobs(self.plane, world.SPOT_JOB)) == 4,
        )
        if pages:
            out.lines.append("  page: " + pages[0]["body"].splitlines()[0])
        return out

    def spot_pipeline_retry(self) -> Outcome:
        out = Outcome(
            "A pipeline's training step runs out of Spot capacity -> RetryPipelineExecution",
            f"{world.TRAINING_PIPELINE}: TrainModel stopped after MaxWaitTimeInSeconds",
        )
        execution, job = world.start_training_run(self.plane)
        sagemaker_ext.set_training_job_status(job, "Stopped", "MaxWaitTimeExceeded")
        sagemaker_ext.set_pipeline_execution_status(execution, "Failed", "Step TrainModel failed")
        step = world.step_failed_event(self.plane, execution, job)
        own = world.training_job_event(self.plane, job)
        self.send(
            out,
            lambda: (self.emu.put_event(step), self.emu.put_event(own)),
            "step status Failed and the job's own Stopped event",
        )
        sagemaker = self.emu.client("sagemaker")
        described = sagemaker.describe_pipeline_execution(PipelineExecutionArn=execution)
        runs = sagemaker.list_pipeline_executions(PipelineName=world.TRAINING_PIPELINE)[
            "PipelineExecutionSummaries"
        ]
        out.check(
            "the same execution runs again (Executing), no new execution started",
            described["PipelineExecutionStatus"] == "Executing" and len(runs) == 1,
        )
        retries = [
            e
            for e in self.plane.ledger("churn")
            if e["action"] == "training_resumed" and execution in e.get("evidence", "")
        ]
        out.check("one training_resumed naming the execution, for two events", len(retries) == 1)
        copies = sagemaker.list_training_jobs(NameContains=job)["TrainingJobSummaries"]
        out.check("no copy of the step's job: the pipeline re-runs its step", len(copies) == 1)
        return out

    def guardrail_warning(self) -> Outcome:
        out = Outcome(
            "A training job without Spot -> a guardrail warning in the digest",
            f"{world.ON_DEMAND_JOB} starts on-demand, without checkpoints; churn-prod goes "
            "InService serving a model built outside the registry",
        )
        sagemaker_ext.set_training_job_status(world.ON_DEMAND_JOB, "InProgress", "Starting")
        started = world.training_job_event(self.plane, world.ON_DEMAND_JOB)
        self.send(out, lambda: self.emu.put_event(started), "training job InProgress/Starting")
        endpoint = world.endpoint_in_service_event(self.plane, "churn-prod")
        self.send(out, lambda: self.emu.put_event(endpoint), "endpoint churn-prod IN_SERVICE")
        flagged = {
            e["subject"].rsplit("#", 1)[-1]
            for e in self.plane.ledger("churn")
            if e["action"] == "guardrail_flagged"
        }
        out.check(
            "ledger: guardrail_flagged for no Spot, no checkpoint and the unregistered model",
            {"training.no_spot", "training.no_checkpoint", "endpoint.model_not_registered"}
            <= flagged,
        )
        status = world.described_job(self.plane, world.ON_DEMAND_JOB)["TrainingJobStatus"]
        out.check("the job keeps running (warn, not enforce)", status == "InProgress")
        out.check("no page yet: warnings wait for the digest", self._pages(("guardrail",)) == [])
        digest = self.plane.outputs["GuardrailDigestFunctionName"]
        self.send(
            out,
            lambda: self.emu.client("lambda").invoke(FunctionName=digest, Payload=b"{}"),
            "the guardrail digest runs (daily; invoked directly here)",
        )
        pages = self._pages(("guardrail_digest",))
        body = pages[0]["body"] if pages else ""
        out.check(
            "one digest page listing the job's and the endpoint's findings",
            len(pages) == 1
            and f"training-job/{world.ON_DEMAND_JOB} (churn) training.no_spot" in body
            and "endpoint/churn-prod (churn) endpoint.model_not_registered" in body,
        )
        again = self.emu.client("lambda").invoke(FunctionName=digest, Payload=b"{}")
        out.check(
            "the next digest has nothing new to say",
            json.loads(again["Payload"].read()).get("status") == "empty",
        )
        if pages:
            out.lines.append("  page: " + body.splitlines()[0])
        return out

    def guardrail_enforced(self) -> Outcome:
        out = Outcome(
            "A job breaking an enforced guardrail -> stopped while it starts, page at once",
            f"model vision enforces training.no_spot; {world.ENFORCED_JOB} starts on-demand",
        )
        sagemaker_ext.set_training_job_status(world.ENFORCED_JOB, "InProgress", "Starting")
        started = world.training_job_event(self.plane, world.ENFORCED_JOB)
        self.send(out, lambda: self.emu.put_event(started), "training job InProgress/Starting")
        status = world.described_job(self.plane, world.ENFORCED_JOB)["TrainingJobStatus"]
        out.check("SageMaker stops the job (StopTrainingJob)", status in ("Stopping", "Stopped"))
        out.check(
            "ledger: guardrail_enforced for vision",
            "guardrail_enforced" in self.actions("vision"),
        )
        pages = self._pages(("guardrail_enforced",))
        out.check(
            "one page at once, naming the rule and every finding",
            len(pages) == 1
            and "STOPPED training.no_spot" in pages[0]["body"]
            and "training.no_checkpoint" in pages[0]["body"],
        )
        return out

    def _pages(self, kinds: tuple[str, ...]) -> list[dict[str, Any]]:
        """Pages of these kinds (prefixes) now in the inbox, which is drained."""
        pages = self.plane.notifications()
        return [p for p in pages if str(p["attributes"].get("kind", "")).startswith(kinds)]
