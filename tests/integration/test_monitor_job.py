"""The monitor job for real: its script under .venv-monitor, real Evidently, on small worlds.

Local folders first (what `mlopscp monitor run` reads), then S3 and EventBridge on a moto server
(what the job reads and writes in AWS): the reports must be Evidently's own JSON in the layout
drift triage reads, and the signal a Model Drift Signal the intake accepts.

Skipped where .venv-monitor is missing, unless MLOPSCP_REQUIRE_MONITOR=1 (make test sets it).
"""

from __future__ import annotations

import dataclasses
import json
import os
import random
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from mlops_runtime.events import DriftSignal, parse_event
from mlopscp.worlds import traffic

from tests.monitor_job import MONITOR_PYTHON, ROOT, SCRIPT

pytestmark = pytest.mark.integration

if not MONITOR_PYTHON.exists():
    if os.environ.get("MLOPSCP_REQUIRE_MONITOR") == "1":
        pytest.fail(
            f"MLOPSCP_REQUIRE_MONITOR=1 but {MONITOR_PYTHON} is missing: make monitor-venv",
            pytrace=False,
        )
    pytest.skip("the monitor's venv is missing (make monitor-venv)", allow_module_level=True)

FEATURES = list(traffic.FEATURES)


def small(name: str, **changes: Any) -> traffic.Story:
    return dataclasses.replace(traffic.STORIES[name], hours=3, requests_per_hour=200, **changes)


def lay_out(world: traffic.World, root: Path) -> dict[str, Path]:
    paths = {"capture": root / "capture", "gt": root / "gt", "baseline": root / "baseline.csv"}
    for base, files in ((paths["capture"], world.capture), (paths["gt"], world.ground_truth)):
        for key, body in files.items():
            (base / key).parent.mkdir(parents=True, exist_ok=True)
            (base / key).write_bytes(body)
    paths["baseline"].write_bytes(world.baseline)
    return paths


def run_job(*arguments: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    done = subprocess.run(
        [str(MONITOR_PYTHON), str(SCRIPT), *arguments],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return dict(json.loads(done.stdout))


def metrics(report_path: Path | str, kind: str) -> dict[str, Any]:
    """``{column or metric name: value}`` of one metric type in an Evidently report."""
    report = json.loads(Path(report_path).read_text())
    found = {}
    for metric in report["metrics"]:
        config = metric["config"]
        if config["type"] == f"evidently:metric_v2:{kind}":
            found[config.get("column", metric["metric_name"])] = metric["value"]
    return found


def envelope(event: dict[str, Any]) -> dict[str, Any]:
    return {
        "version": "0",
        "id": "7d6c5b4a-0000-4000-8000-000000000001",
        "detail-type": event["DetailType"],
        "source": event["Source"],
        "account": "123456789012",
        "time": "2026-07-27T03:06:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": event["Detail"],
    }


def test_gradual_world_reports_drift_summary_and_regression_quality(tmp_path: Path) -> None:
    world = traffic.build(small("gradual", drift_from_hour=1), "eta-prod")
    paths = lay_out(world, tmp_path)
    out = tmp_path / "reports"
    result = run_job(
        "--model-id", "eta", "--endpoint-name", "eta-prod",
        "--capture", str(paths["capture"]), "--baseline", str(paths["baseline"]),
        "--ground-truth", str(paths["gt"]), "--out", str(out),
        "--window-end", "latest", "--windows", "3", "--problem-type", "regression",
    )  # fmt: skip

    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("report.json"))
    assert written == [f"2026/07/27/0{h}/report.json" for h in (1, 2, 3)]
    latest = out / written[-1]
    drift = metrics(latest, "ValueDrift")
    assert set(drift) == set(FEATURES)  # every feature tested; no label or prediction in baseline
    assert drift["traffic_index"] < 0.05  # the reference has 800 rows: K-S p-values
    assert {"distance_km", "channel"} <= set(metrics(latest, "MissingValueCount"))
    assert metrics(latest, "MeanValue")["traffic_index"] > 1.05
    mae = metrics(latest, "MAE")
    (mae_value,) = mae.values()
    assert mae_value["mean"] > 0
    rows = result["reports"][-1]
    assert rows["rows"] == 200
    assert 0 < rows["labelled_rows"] < 200  # about 80% of requests get a label
    signal = parse_event(envelope(result["event"]), DriftSignal)
    assert signal.detail.model_id == "eta"
    assert signal.detail.model_extra["report_uri"] == str(latest)
    assert result["event_put"] is False  # no --event-bus: printed, not put


def test_a_column_the_upstream_stops_sending_is_absent_from_the_latest_report(
    tmp_path: Path,
) -> None:
    world = traffic.build(small("broken_column"), "fares-prod")
    paths = lay_out(world, tmp_path)
    out = tmp_path / "reports"
    result = run_job(
        "--model-id", "fares", "--capture", str(paths["capture"]),
        "--baseline", str(paths["baseline"]), "--out", str(out),
        "--window-end", "latest", "--windows", "2", "--problem-type", "regression",
    )  # fmt: skip

    before, latest = (out / "2026/07/27/02/report.json"), (out / "2026/07/27/03/report.json")
    assert "traffic_index" in metrics(before, "MissingValueCount")
    assert "traffic_index" not in metrics(latest, "MissingValueCount")
    assert "traffic_index" not in metrics(latest, "ValueDrift")
    assert result["reports"][-1]["columns_missing"] == ["traffic_index"]
    assert metrics(latest, "MAE") == {}  # no ground truth: no quality preset


def classifier_world(root: Path, baseline_outcomes: bool, output: str) -> Path:
    """A binary classifier's baseline and one hour of capture and labels; ``output`` is
    ``score`` (a probability) or ``label`` (the predicted class)."""
    rng = random.Random(5)
    header = "a,b,label,prediction" if baseline_outcomes else "a,b"
    baseline = [header]
    for _ in range(300):
        a, b = rng.gauss(0, 1), rng.gauss(0, 1)
        score = 1 / (1 + 2.718 ** -(a + b))
        outcome = f",{int(rng.random() < score)},{score:.4f}" if baseline_outcomes else ""
        baseline.append(f"{a:.4f},{b:.4f}{outcome}")
    (root / "baseline.csv").write_text("\n".join(baseline) + "\n")
    capture, truth = [], []
    for i in range(120):
        a, b = rng.gauss(0.5, 1), rng.gauss(0, 1)
        score = 1 / (1 + 2.718 ** -(a + b))
        answer = f"{score:.4f}" if output == "score" else str(int(score >= 0.5))
        capture.append(
            {
                "captureData": {
                    "endpointInput": {"data": f"{a:.4f},{b:.4f}", "encoding": "CSV"},
                    "endpointOutput": {"data": answer, "encoding": "CSV"},
                },
                "eventMetadata": {
                    "eventId": f"e{i}",
                    "inferenceId": f"i{i}",
                    "inferenceTime": f"2026-07-27T10:{i % 60:02d}:00Z",
                },
            }
        )
        label = int(rng.random() < score)
        truth.append(
            {"groundTruthData": {"data": str(label)}, "eventMetadata": {"eventId": f"i{i}"}}
        )
    (root / "c").mkdir()
    (root / "c" / "capture.jsonl").write_text("\n".join(map(json.dumps, capture)))
    (root / "gt").mkdir()
    (root / "gt" / "labels.jsonl").write_text("\n".join(map(json.dumps, truth)))
    run_job(
        "--model-id", "churn", "--capture", str(root / "c"),
        "--baseline", str(root / "baseline.csv"), "--ground-truth", str(root / "gt"),
        "--out", str(root / "out"), "--window-end", "2026-07-27T11:00:00Z",
    )  # fmt: skip
    return root / "out" / "2026/07/27/11/report.json"


def test_classification_against_a_baseline_with_labels_and_scores(tmp_path: Path) -> None:
    report = classifier_world(tmp_path, baseline_outcomes=True, output="score")
    # The baseline holds scores and labels: they are drift-tested like the features.
    assert set(metrics(report, "ValueDrift")) == {"a", "b", "label", "prediction"}
    assert 0.5 < next(iter(metrics(report, "RocAuc").values())) <= 1
    assert len(metrics(report, "Accuracy")) == 1


def test_classification_quality_without_outcomes_in_the_baseline(tmp_path: Path) -> None:
    report = classifier_world(tmp_path, baseline_outcomes=False, output="label")
    # Only the features can be compared with training; quality comes from the labelled rows.
    assert set(metrics(report, "ValueDrift")) == {"a", "b"}
    (accuracy,) = metrics(report, "Accuracy").values()
    assert 0.5 < accuracy <= 1
    assert len(metrics(report, "F1Score")) == 1


def test_a_window_with_too_few_rows_writes_nothing_and_signals_nothing(tmp_path: Path) -> None:
    world = traffic.build(small("gradual"), "eta-prod")
    paths = lay_out(world, tmp_path)
    result = run_job(
        "--model-id", "eta", "--capture", str(paths["capture"]),
        "--baseline", str(paths["baseline"]), "--out", str(tmp_path / "out"),
        "--window-end", "2026-07-27T06:00:00Z",  # after the world's traffic
    )  # fmt: skip
    assert result["event"] is None
    assert "fewer than --min-rows" in result["reports"][0]["skipped"]
    assert not (tmp_path / "out").exists()


# ---------------------------------------------------------------- S3 and EventBridge


@pytest.fixture(scope="module")
def aws() -> Iterator[dict[str, str]]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL": f"http://{host}:{port}",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    env.pop("AWS_PROFILE", None)
    yield env
    server.stop()


def client(env: dict[str, str], service: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=env["AWS_ENDPOINT_URL"],
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def test_in_aws_reads_capture_from_s3_writes_the_report_and_puts_the_signal(
    aws: dict[str, str],
) -> None:
    s3, events, sqs = (client(aws, s) for s in ("s3", "events", "sqs"))
    s3.create_bucket(Bucket="mlops-data")
    world = traffic.build(small("gradual"), "eta-prod")
    for key, body in world.capture.items():
        s3.put_object(Bucket="mlops-data", Key=f"capture/{key}", Body=body)
    # Traffic of another variant (a shadow test) is not the production model's.
    s3.put_object(
        Bucket="mlops-data", Key="capture/eta-prod/shadow/2026/07/27/02/x.jsonl", Body=b"{}"
    )
    for key, body in world.ground_truth.items():
        s3.put_object(Bucket="mlops-data", Key=f"labels/{key}", Body=body)
    s3.put_object(Bucket="mlops-data", Key="baselines/eta/features.csv", Body=world.baseline)
    queue = sqs.create_queue(QueueName="signals")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])
    events.put_rule(
        Name="drift-signal",
        EventPattern=json.dumps(
            {"source": ["mlopscp.monitoring"], "detail-type": ["Model Drift Signal"]}
        ),
    )
    events.put_targets(
        Rule="drift-signal", Targets=[{"Id": "q", "Arn": arn["Attributes"]["QueueArn"]}]
    )

    # Through the CLI, as a person would: it runs the same script under .venv-monitor.
    done = subprocess.run(
        [
            sys.executable, "-m", "mlopscp.cli", "monitor", "run",
            "--model-id", "eta", "--endpoint-name", "eta-prod",
            "--capture", "s3://mlops-data/capture", "--baseline", "s3://mlops-data/baselines/eta/",
            "--ground-truth", "s3://mlops-data/labels", "--out", "s3://mlops-data/monitoring/eta-prod/eta-monitor",
            "--window-end", "2026-07-27T03:00:00Z", "--windows", "2",
            "--problem-type", "regression", "--event-bus", "default",
        ],
        capture_output=True, text=True, env=aws, cwd=ROOT, check=False, timeout=240,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads(done.stdout)["reports"]
    assert [r["unreadable_records"] for r in summary] == [0, 0]  # the shadow's file: not read
    assert [r["rows"] for r in summary] == [200, 200]

    keys = [
        o["Key"] for o in s3.list_objects_v2(Bucket="mlops-data", Prefix="monitoring/")["Contents"]
    ]
    assert keys == [
        "monitoring/eta-prod/eta-monitor/2026/07/27/02/report.json",
        "monitoring/eta-prod/eta-monitor/2026/07/27/03/report.json",
    ]
    report = json.loads(s3.get_object(Bucket="mlops-data", Key=keys[-1])["Body"].read())
    assert any(m["config"]["type"] == "evidently:metric_v2:MAE" for m in report["metrics"])
    (message,) = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=1)["Messages"]
    detail = json.loads(message["Body"])["detail"]
    assert detail["monitoring_output_uri"] == "s3://mlops-data/monitoring/eta-prod/eta-monitor"
    assert detail["report_uri"] == f"s3://mlops-data/{keys[-1]}"
    assert detail["model_id"] == "eta"
    assert "(last of 2 reports)" in detail["reason"]


def test_a_missing_baseline_is_the_callers_mistake_named_clearly(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            str(MONITOR_PYTHON), str(SCRIPT), "--model-id", "eta", "--capture", str(tmp_path),
            "--baseline", str(tmp_path / "nowhere.csv"), "--out", str(tmp_path / "out"),
            "--window-end", "2026-07-27T11:00:00Z",
        ],
        capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2
    assert "no baseline CSV at" in done.stderr
    assert "Traceback" not in done.stderr
