"""The monitor job: Evidently reports on an endpoint's data capture, and a Model Drift Signal.

For each window (one per scheduled run, or several for a backfill) it reads the requests the
endpoint captured, joins their ground truth where a ground-truth location is given, compares them
with the model's training baseline using Evidently (DataDriftPreset + DataSummaryPreset, and
RegressionPreset or ClassificationPreset when labels are joined), and writes the report as
``<out>/<yyyy>/<mm>/<dd>/<hh>/report.json`` (the hour the window ends). After the last report
it puts one ``Model Drift Signal`` event (source ``mlopscp.monitoring``) naming the model, the
endpoint and where the reports are, so the control plane's drift triage reads them.

Runs as a SageMaker Processing job (pipelines/monitor, docs/monitor.md) and locally
(``mlopscp monitor run``). Every location is an s3:// URI or a local path. Evidently and pandas
are imported only when reports are computed, so the argument parser and the capture side load
without them.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import capture
from capture import Captured, Window, iso

SOURCE = "mlopscp.monitoring"
DETAIL_TYPE = "Model Drift Signal"
MONITOR = "evidently"
REPORT_NAME = "report.json"
PROBLEM_TYPES = ("regression", "classification")

log = logging.getLogger("mlopscp.monitor")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="monitor.py", description="Evidently reports on an endpoint's data capture."
    )
    where = parser.add_argument_group("what to monitor")
    where.add_argument("--model-id", default="", help="the model's id in the control plane")
    where.add_argument("--endpoint-name", default="", help="the endpoint whose capture is read")
    where.add_argument("--variant", default="AllTraffic", help="production variant; '' = all")
    where.add_argument("--capture", required=True, help="the endpoint's data capture location")
    where.add_argument("--baseline", required=True, help="training baseline CSV (file or folder)")
    where.add_argument("--ground-truth", default="", help="ground-truth location; '' = none")
    where.add_argument("--out", required=True, help="report root: <out>/<yyyy>/<mm>/<dd>/<hh>/")
    when = parser.add_argument_group("window")
    when.add_argument(
        "--window-end",
        default="",
        help="ISO time; 'latest' = end of the newest captured hour; '' = the whole hour before "
        "--run-time, less --window-offset-hours",
    )
    when.add_argument("--run-time", default="", help="when the run started (ISO; default: now)")
    when.add_argument("--window-hours", type=int, default=1)
    when.add_argument("--window-offset-hours", type=int, default=0)
    when.add_argument("--windows", type=int, default=1, help="consecutive windows (backfill)")
    model = parser.add_argument_group("model")
    model.add_argument("--problem-type", choices=PROBLEM_TYPES, default="classification")
    model.add_argument("--target-column", default="label")
    model.add_argument("--prediction-column", default="prediction")
    model.add_argument("--classification-threshold", type=float, default=0.5)
    model.add_argument("--min-rows", type=int, default=30, help="fewer rows: no report")
    model.add_argument("--min-labelled-rows", type=int, default=10)
    parser.add_argument("--event-bus", default="", help="put the signal here; '' = print it")
    return parser


@dataclass(frozen=True)
class Settings:
    args: argparse.Namespace
    span: list[Window]
    run_time: datetime


def settings_from(args: argparse.Namespace, files: list[str] | None = None) -> Settings:
    """The windows to report on. ``files`` are read only for ``--window-end latest``."""
    if not (args.model_id or args.endpoint_name):
        raise ValueError("name the model (--model-id) or the endpoint (--endpoint-name)")
    for name in ("window_hours", "windows", "min_rows", "min_labelled_rows"):
        if getattr(args, name) < 1:
            raise ValueError(f"--{name.replace('_', '-')} must be at least 1")
    run_time = capture.parse_time(args.run_time) if args.run_time else datetime.now(UTC)
    if args.window_end == "latest":
        end = latest_hour_end(files or [])
    elif args.window_end:
        end = capture.parse_time(args.window_end)
    else:
        end = capture.scheduled_window_end(run_time, args.window_offset_hours)
    return Settings(args, capture.windows(end, args.window_hours, args.windows), run_time)


def latest_hour_end(files: list[str]) -> datetime:
    newest = None
    for location, record in capture.read_jsonl(files):
        if isinstance(record, dict):
            moment = capture.record_time(record, capture.hour_of(location))
            newest = moment if newest is None or (moment and moment > newest) else newest
    if newest is None:
        raise ValueError("--window-end latest: no captured record with a time found")
    return capture.floor_hour(newest) + timedelta(hours=1)


# ---------------------------------------------------------------- the job


@dataclass(frozen=True)
class Inputs:
    settings: Settings
    baseline: Any
    features: list[str]
    found: dict[Window, Captured]


def prepare(args: argparse.Namespace) -> Inputs:
    """Settings and every input read; a ValueError or FileNotFoundError here is the caller's
    mistake (exit 2), while an error after this is the job's own (a traceback, exit 1)."""
    if args.window_end == "latest":
        if capture.is_s3(args.capture):
            raise ValueError("--window-end latest reads a local capture folder; give a time")
        files = capture.capture_files(args.capture, args.endpoint_name, args.variant, [])
        settings = settings_from(args, files)
    else:
        settings = settings_from(args)
        files = capture.capture_files(args.capture, args.endpoint_name, args.variant, settings.span)
    baseline = read_baseline(args.baseline)
    features = [
        c for c in baseline.columns if c not in (args.target_column, args.prediction_column)
    ]
    labels = read_labels(settings) if args.ground_truth else None
    found = capture.collect(
        files, settings.span, features, labels, args.prediction_column, args.target_column
    )
    return Inputs(settings, baseline, features, found)


def run(inputs: Inputs) -> dict[str, Any]:
    """Report on every window, then signal once; returns a summary of what was done."""
    settings, args = inputs.settings, inputs.settings.args
    reports = []
    for window in settings.span:
        summary = report_window(
            settings, window, inputs.found[window], inputs.baseline, inputs.features
        )
        reports.append(summary)
        log.info("window %s: %s", window, json.dumps(summary))
    written = [r for r in reports if r.get("report_uri")]
    event = signal(settings, written[-1], len(written)) if written else None
    if event is not None and args.event_bus:
        put_event(event, args.event_bus)
    return {"reports": reports, "event": event, "event_put": bool(event and args.event_bus)}


def read_baseline(location: str) -> Any:
    import io

    import pandas as pd

    files = capture.list_files(location, (".csv",))
    if not files:
        raise FileNotFoundError(f"no baseline CSV at {location}")
    frames = [pd.read_csv(io.BytesIO(capture.read_bytes(f))) for f in files]
    return pd.concat(frames, ignore_index=True)


def read_labels(settings: Settings) -> dict[str, list[Any]]:
    # Labels arrive after the requests they answer: read from the span's start up to the run.
    latest = max(settings.run_time, settings.span[-1].end)
    hours = capture.hour_prefixes(settings.span[0].start, latest + timedelta(hours=1))
    files = capture.list_files(settings.args.ground_truth, (".jsonl", ".json"), hours)
    return capture.read_ground_truth(files)


def report_window(
    settings: Settings, window: Window, found: Captured, baseline: Any, features: list[str]
) -> dict[str, Any]:
    args = settings.args
    summary: dict[str, Any] = {
        "window_start": iso(window.start),
        "window_end": iso(window.end),
        "records": found.records,
        "rows": len(found.rows),
        "labelled_rows": found.labelled,
        "unreadable_records": found.unreadable,
        "rows_without_prediction": found.predictions_missing,
    }
    if len(found.rows) < args.min_rows:
        summary["skipped"] = f"{len(found.rows)} rows, fewer than --min-rows {args.min_rows}"
        return summary
    from evidence import evidently_report  # pandas and Evidently: only when there is work

    report, notes = evidently_report(baseline, found.rows, features, args)
    uri = capture.join(args.out, window.folder, REPORT_NAME)
    capture.write_bytes(uri, json.dumps(report).encode("utf-8"))
    summary.update(notes)
    summary["report_uri"] = uri
    return summary


def signal(settings: Settings, last: dict[str, Any], reports: int) -> dict[str, Any]:
    """The Model Drift Signal (events/monitor-report-written.json shows one)."""
    args = settings.args
    drifted = last.get("drifted_columns")
    reason = (
        f"Evidently report for {last['window_start']}..{last['window_end']}: {last['rows']} rows"
    )
    if args.ground_truth:
        reason += f", {last['labelled_rows']} with ground truth"
    if drifted:
        reason += f", {drifted['count']} of {drifted['of']} columns drifted"
    if reports > 1:
        reason += f" (last of {reports} reports)"
    detail: dict[str, Any] = {
        "monitor": MONITOR,
        "monitoring_output_uri": args.out if capture.is_s3(args.out) else None,
        "report_uri": last["report_uri"],
        "window_start": last["window_start"],
        "window_end": last["window_end"],
        "reason": reason,
    }
    if args.model_id:
        detail["model_id"] = args.model_id
    if args.endpoint_name:
        detail["endpoint_name"] = args.endpoint_name
    return {
        "Source": SOURCE,
        "DetailType": DETAIL_TYPE,
        "Detail": {k: v for k, v in detail.items() if v is not None},
    }


def put_event(event: dict[str, Any], bus: str) -> None:
    import boto3

    response = boto3.client("events").put_events(
        Entries=[{**event, "EventBusName": bus, "Detail": json.dumps(event["Detail"])}]
    )
    if response.get("FailedEntryCount"):
        failed = response["Entries"][0]
        raise RuntimeError(
            f"put_events failed: {failed.get('ErrorCode')} {failed.get('ErrorMessage')}"
        )


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", stream=sys.stderr
    )
    for noisy in ("botocore", "boto3", "urllib3"):  # one line per credential lookup otherwise
        logging.getLogger(noisy).setLevel(logging.WARNING)
    os.environ.setdefault("DO_NOT_TRACK", "1")  # Evidently's usage telemetry, if it ever runs
    args = build_parser().parse_args(argv)
    try:
        inputs = prepare(args)
    except (ValueError, FileNotFoundError) as error:
        log.error("%s", error)
        return 2
    print(json.dumps(run(inputs), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
