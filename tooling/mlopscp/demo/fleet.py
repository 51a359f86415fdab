"""`make demo`'s last scenario (issue 12): the fleet at a glance after everything above.

`mlopscp status` and `mlopscp explain` run as a user runs them, through the command line
against the emulated stack; the daily digest runs as its schedule would (the guardrail digest
function, invoked with ``{"digest": "daily"}``) and is read back from the notification topic.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
from collections.abc import Iterator
from typing import Any

from mlops_core.causal_chain import HOPS

from mlopscp.demo.scenario import Outcome, Scenarios
from mlopscp.local import STACK

PROMOTED = "forecast"  # drifted, retrained and promoted back in xaccount_loop
CHAIN = [step for step, _ in HOPS]  # evidence -> ... -> deployment


class FleetScenarios(Scenarios):
    """Combined into :class:`mlopscp.demo.runner.Demo` with the other groups."""

    def fleet_view(self) -> Outcome:
        out = Outcome(
            "The fleet at a glance: status, why forecast serves v2, the daily digest",
            "after every scenario above: one screen per model, the causal chain of the "
            "promoted model, and the last 24 hours in one notification",
        )
        code, text = self._mlopscp("status")
        _, document = self._mlopscp("status", "--json")
        status = json.loads(document)
        models = {m["model_id"]: m for m in status["models"]}
        out.lines += ["$ mlopscp status", *(f"  {line}" for line in text.splitlines())]
        waiting = status["waiting_for_a_human"]
        out.check(
            f"status lists every configured model ({len(models)}), with its last decision",
            {"churn", "fraud", PROMOTED} <= set(models)
            and models[PROMOTED]["last_decision"] is not None,
        )
        out.check(
            f"exit code {code}: {waiting} thing(s) wait for a human (0 when nothing does)",
            code == (1 if waiting else 0),
        )
        code, text = self._mlopscp("explain", f"{PROMOTED}-prod")
        _, document = self._mlopscp("explain", PROMOTED, "--json")
        chain = json.loads(document)
        out.lines += [f"$ mlopscp explain {PROMOTED}-prod"]
        out.lines += [f"  {line}" for line in text.splitlines()]
        hops = {h["step"]: h for h in chain["hops"]}
        out.check(
            "explain walks the whole chain, each hop with its time and ledger entry: "
            + " -> ".join(CHAIN),
            code == 0 and [h["step"] for h in chain["hops"]] == CHAIN and not chain["gaps"],
        )
        arn = hops.get("retrain", {}).get("detail", {}).get("pipeline_execution_arn")
        out.check(
            "the package it serves was registered by the retrain's own pipeline execution",
            bool(arn) and hops["package_version"]["detail"].get("pipeline_execution_arn") == arn,
        )
        digest = self.plane.outputs["GuardrailDigestFunctionName"]
        self.send(
            out,
            lambda: self.emu.client("lambda").invoke(
                FunctionName=digest, Payload=b'{"digest": "daily"}'
            ),
            "the daily digest runs (DailyDigestSchedule; invoked directly here)",
        )
        pages = [p for p in self.plane.notifications() if p["attributes"]["kind"] == "daily_digest"]
        body = pages[0]["body"] if pages else ""
        out.check(
            "one digest over SNS: decisions by kind, retrains, incidents, promotions, and "
            "what waits for a human",
            len(pages) == 1
            and "decisions by kind:" in body
            and "models promoted:" in body
            and ("waits for a human:" in body) == bool(waiting),
        )
        if pages:
            out.lines.append("  page: " + body.splitlines()[0])
        return out

    def _mlopscp(self, *args: str) -> tuple[int, str]:
        """A command as a user runs it against the emulated stack: its exit code and stdout."""
        from mlopscp import cli

        out = io.StringIO()
        with _emulator_credentials(self.emu.endpoint_url), contextlib.redirect_stdout(out):
            code = cli.main([*args, "--stack", STACK, "--endpoint-url", self.emu.endpoint_url])
        return code, out.getvalue()


@contextlib.contextmanager
def _emulator_credentials(endpoint_url: str) -> Iterator[None]:
    """The emulator's fake credentials for the command, the environment as it was after."""
    from mlops_runtime import aws

    wanted = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": endpoint_url,
    }
    saved: dict[str, Any] = {k: os.environ.get(k) for k in wanted}
    os.environ.update(wanted)
    aws.client.cache_clear()
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        aws.client.cache_clear()
