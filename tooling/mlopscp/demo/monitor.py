"""`make demo`'s new-customer scenarios (issue 9): no Model Monitor, the Evidently monitor instead.

Each scenario seeds an endpoint with data capture and a reproducible traffic history, deploys
the monitor blueprint for the model, runs the monitor's pipeline once as a backfill of the last
ten hours (real Evidently on the captured requests; :mod:`mlopscp.worlds.monitor`), and reads
back what it wrote and what the control plane did with its signal.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mlopscp.demo.scenario import Outcome, Scenarios
from mlopscp.worlds.monitor import MONITORED, MonitoredModel, MonitorWorld, metric_values

BACKFILL = "10"


class MonitorScenarios(Scenarios):
    """Combined into :class:`mlopscp.demo.runner.Demo` with the other groups."""

    def _monitor(self, model: MonitoredModel, title: str) -> tuple[Any, dict[str, Any], Any]:
        out = Outcome(title, model.summary)
        world = MonitorWorld(self.plane)
        seeded = world.seed(model)
        parameters = {"WindowEnd": seeded.window_end.strftime("%Y-%m-%dT%H:%M:%SZ")}
        parameters["Windows"] = BACKFILL
        job: dict[str, Any] = {}
        shown = self.send(
            out,
            lambda: job.update(world.run_pipeline(model, parameters)),
            f"{model.monitor_pipeline} started (a backfill of the last {BACKFILL} hours); "
            "its Evidently job runs for real",
        )
        reports = world.reports(model)
        written = [r for r in job.get("reports", []) if r.get("report_uri")]
        out.lines.insert(
            1,
            f"  job: {len(written)} reports in {job.get('seconds')}s, "
            f"{sum(r['rows'] for r in written)} captured rows",
        )
        out.check(
            f"{BACKFILL} Evidently reports under the model's monitoring location "
            "(<root>/<monitor>/<yyyy>/<mm>/<dd>/<hh>/report.json, read back from S3)",
            sorted(reports)
            == sorted(r["report_uri"].split(f"{model.endpoint}/", 1)[1] for r in written)
            and len(reports) == int(BACKFILL),
        )
        out.check(
            "its one Model Drift Signal reached the drift intake, which started a drift response",
            len([r for r in shown.rules if "DriftSignal" in r]) == 1
            and any("Triage" in e["states"] for e in shown.executions),
        )
        latest = reports[max(reports)] if reports else {}
        return out, latest, world

    def monitor_gradual_drift(self) -> Outcome:
        model = MONITORED["eta"]
        out, latest, _ = self._monitor(
            model, "Evidently monitor: gradual drift with falling quality -> retrain"
        )
        drift = metric_values(latest, "ValueDrift")
        out.check(
            "the latest report tests every feature and finds traffic_index drifted",
            len(drift) == 6 and drift.get("traffic_index", 1) < 0.05,
        )
        mae = list(metric_values(latest, "MAE").values())
        out.check(
            "ground truth was joined by inferenceId: RegressionPreset's MAE is in the report",
            len(mae) == 1 and mae[0]["mean"] > 0,
        )
        self._loop(
            out,
            [
                (
                    "exactly one execution of eta-retrain",
                    lambda: len(self._retrains(model)) == 1,
                ),
                ("retrain_started in the ledger", lambda: "retrain_started" in self.actions("eta")),
            ],
        )
        return out

    def monitor_broken_column(self) -> Outcome:
        model = MONITORED["fares"]
        out, latest, world = self._monitor(
            model, "Evidently monitor: the upstream breaks a column -> incident"
        )
        reports = world.reports(model)
        before = reports[sorted(reports)[-2]] if len(reports) > 1 else {}
        out.check(
            "traffic_index is in every report but the latest, where the upstream dropped it",
            "traffic_index" in metric_values(before, "MissingValueCount")
            and "traffic_index" not in metric_values(latest, "MissingValueCount"),
        )
        pages = self.plane.notifications()
        self._loop(
            out,
            [
                (
                    "one page naming traffic_index",
                    lambda: len(pages) == 1 and "traffic_index" in pages[0]["body"],
                ),
                (
                    "incident_opened in the ledger",
                    lambda: "incident_opened" in self.actions("fares"),
                ),
                ("no execution of fares-retrain", lambda: self._retrains(model) == []),
            ],
        )
        return out

    # -- helpers ----------------------------------------------------------------------------

    def _loop(self, out: Any, checks: list[tuple[str, Callable[[], bool]]]) -> None:
        for what, holds in checks:
            out.check(what, holds())

    def _retrains(self, model: MonitoredModel) -> list[dict[str, Any]]:
        sagemaker = self.emu.client("sagemaker")
        return list(
            sagemaker.list_pipeline_executions(PipelineName=model.retrain_pipeline)[
                "PipelineExecutionSummaries"
            ]
        )
