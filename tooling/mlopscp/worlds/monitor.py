"""New customers on the emulator: endpoints with data capture and no Model Monitor, watched by
the Evidently monitor blueprint (pipelines/monitor, docs/monitor.md).

Seeding writes what AWS would hold (:mod:`mlopscp.worlds.traffic`): the endpoint with capture on,
its captured requests in S3, ground truth where the model has labels, the training baseline the
retraining pipeline wrote; then deploys the monitor as a team would (`mlopscp monitor upsert`'s
code path: scripts uploaded under a digest, the definition bound to the model) and configures
the model in the control plane.

Running a monitor starts its pipeline in emulated SageMaker (as the schedule does) and runs the
pipeline's one Processing step for real: the step's arguments are resolved from the deployed
definition and the execution's parameters, and the job's own script runs under .venv-monitor
with real Evidently, reading and writing emulated S3 and putting its signal on the emulated bus.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from dataclasses import dataclass
from typing import Any

from mlopscp.pipelines.layout import MONITOR_CODE_DIR, MONITOR_SCRIPT, REPO_ROOT
from mlopscp.pipelines.local_run import parameter_values, step_command
from mlopscp.worlds import traffic
from mlopscp.worlds.common import MONITORING_BUCKET, SAGEMAKER_ROLE, serve
from mlopscp.worlds.drift import DemoModel

MONITOR_PYTHON = REPO_ROOT / ".venv-monitor" / "bin" / "python"
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/mlopscp-monitor:0.7.23-1"
CAPTURE_URI = f"s3://{MONITORING_BUCKET}/capture"


@dataclass(frozen=True)
class MonitoredModel:
    model_id: str
    endpoint: str
    story: traffic.Story
    summary: str

    @property
    def monitor_pipeline(self) -> str:
        return f"{self.model_id}-monitor"

    @property
    def retrain_pipeline(self) -> str:
        return f"{self.model_id}-retrain"

    @property
    def monitoring_root(self) -> str:
        """The model's configured monitoring output (what triage reads)."""
        return f"s3://{MONITORING_BUCKET}/monitoring/{self.endpoint}"

    @property
    def reports_uri(self) -> str:
        """Where its monitor writes: one stream under the configured root."""
        return f"{self.monitoring_root}/{self.monitor_pipeline}"

    @property
    def ground_truth_uri(self) -> str:
        return f"s3://{MONITORING_BUCKET}/ground-truth/{self.endpoint}"

    @property
    def baseline_uri(self) -> str:
        return f"s3://{MONITORING_BUCKET}/retrain/{self.model_id}/artifacts/v1/data/baseline/"


MONITORED = {
    m.model_id: m
    for m in (
        MonitoredModel(
            "eta",
            "eta-prod",
            traffic.STORIES["gradual"],
            "the delivery-time model, now watched by the Evidently monitor (a new customer's "
            "path: no Model Monitor): traffic creeps up hour by hour and the error grows with it",
        ),
        MonitoredModel(
            "fares",
            "fares-prod",
            traffic.STORIES["broken_column"],
            "a fare model watched by the Evidently monitor (a new customer's path: no Model "
            "Monitor): the upstream stops sending traffic_index",
        ),
    )
}


class MonitorWorld:
    def __init__(self, plane: Any) -> None:
        self.plane = plane
        self.emu = plane.emu

    def seed(self, model: MonitoredModel) -> traffic.World:
        world = traffic.build(model.story, model.endpoint)
        sagemaker, s3 = self.emu.client("sagemaker"), self.emu.client("s3")
        sagemaker.create_model(
            ModelName=f"{model.model_id}-v1",
            ExecutionRoleArn=SAGEMAKER_ROLE,
            PrimaryContainer={
                "Image": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1",
                "ModelDataUrl": f"s3://{MONITORING_BUCKET}/models/{model.model_id}/model.tar.gz",
            },
        )
        serve(sagemaker, model.endpoint, f"{model.model_id}-v1", 1, CAPTURE_URI)
        for root, files in (
            (CAPTURE_URI, world.capture),
            (model.ground_truth_uri, world.ground_truth),
        ):
            for key, body in files.items():
                s3.put_object(Bucket=MONITORING_BUCKET, Key=f"{_key(root)}/{key}", Body=body)
        s3.put_object(
            Bucket=MONITORING_BUCKET,
            Key=f"{_key(model.baseline_uri)}/features.csv",
            Body=world.baseline,
        )
        self._deploy_monitor(model, labelled=bool(world.ground_truth))
        # The retraining blueprint and the model's configuration, as for the demo's other
        # models: monitoring_output_uri is the root above the monitor's reports.
        as_demo_model = DemoModel(model.model_id, model.endpoint, REPO_ROOT, model.summary)
        assert as_demo_model.output_uri == model.monitoring_root
        self.plane.seed_pipeline(as_demo_model)
        self.plane._put_config(as_demo_model)
        return world

    def _deploy_monitor(self, model: MonitoredModel, labelled: bool) -> None:
        """What `mlopscp monitor upsert` does, against the emulator."""
        from mlopscp.pipelines import load_definition, upload_code, upsert_pipeline
        from mlopscp.pipelines.layout import MONITOR_DEFINITION_PATH

        code = upload_code(
            self.emu.client("s3"),
            f"s3://{MONITORING_BUCKET}/mlopscp/monitor/code",
            MONITOR_CODE_DIR,
        )
        upsert_pipeline(
            self.emu.client("sagemaker"),
            model.monitor_pipeline,
            SAGEMAKER_ROLE,
            load_definition(MONITOR_DEFINITION_PATH),
            {
                "CodePrefix": code,
                "MonitorImageUri": IMAGE,
                "ModelId": model.model_id,
                "EndpointName": model.endpoint,
                "CaptureUri": CAPTURE_URI,
                "BaselineUri": model.baseline_uri,
                "GroundTruthUri": model.ground_truth_uri if labelled else "",
                "OutputUri": model.reports_uri,
                "ProblemType": "regression",
                "TargetColumn": "delivery_minutes",
            },
        )

    # -- running the monitor ------------------------------------------------------------------

    def run_pipeline(self, model: MonitoredModel, parameters: dict[str, str]) -> dict[str, Any]:
        """Start the monitor pipeline (as the schedule does), then run its Processing step's
        job for real with the arguments SageMaker would give it; returns the job's summary."""
        sagemaker = self.emu.client("sagemaker")
        arn = sagemaker.start_pipeline_execution(
            PipelineName=model.monitor_pipeline,
            PipelineParameters=[{"Name": k, "Value": v} for k, v in parameters.items()],
        )["PipelineExecutionArn"]
        execution = sagemaker.describe_pipeline_execution(PipelineExecutionArn=arn)
        definition = sagemaker.describe_pipeline(PipelineName=model.monitor_pipeline)[
            "PipelineDefinition"
        ]
        sent = sagemaker.list_pipeline_parameters_for_execution(PipelineExecutionArn=arn)
        values = parameter_values(
            definition, {p["Name"]: p["Value"] for p in sent["PipelineParameters"]}
        )
        arguments = step_command(definition, "Monitor", values, execution["CreationTime"])
        if not MONITOR_PYTHON.exists():
            raise RuntimeError(f"{MONITOR_PYTHON} is missing: run make monitor-venv")
        started = time.monotonic()
        done = subprocess.run(  # noqa: S603 - the repository's script under its own venv
            [str(MONITOR_PYTHON), str(MONITOR_SCRIPT), *arguments],
            capture_output=True,
            text=True,
            env=self._job_environment(),
            check=False,
            timeout=600,
        )
        if done.returncode != 0:
            raise RuntimeError(f"the monitor job failed: {done.stderr[-2000:]}")
        summary = dict(json.loads(done.stdout))
        summary["execution_arn"] = arn
        summary["seconds"] = round(time.monotonic() - started, 1)
        return summary

    def _job_environment(self) -> dict[str, str]:
        """The job's AWS access, pointed at the emulator (the job's role there)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(
            {
                "AWS_ENDPOINT_URL": self.emu.endpoint_url,
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_DEFAULT_REGION": self.emu.region,
            }
        )
        return env

    def reports(self, model: MonitoredModel) -> dict[str, dict[str, Any]]:
        """The reports under the model's configured monitoring location, read back from S3."""
        s3 = self.emu.client("s3")
        prefix = _key(model.monitoring_root) + "/"
        pages = s3.get_paginator("list_objects_v2").paginate(
            Bucket=MONITORING_BUCKET, Prefix=prefix
        )
        keys = sorted(o["Key"] for page in pages for o in page.get("Contents", []))
        return {
            key.removeprefix(prefix): json.loads(
                s3.get_object(Bucket=MONITORING_BUCKET, Key=key)["Body"].read()
            )
            for key in keys
        }


def _key(uri: str) -> str:
    return uri.removeprefix(f"s3://{MONITORING_BUCKET}/").rstrip("/")


def metric_values(report: dict[str, Any], kind: str) -> dict[str, Any]:
    """``{column or metric name: value}`` of one Evidently metric type in a report."""
    found = {}
    for metric in report.get("metrics", []):
        config = metric.get("config", {})
        if config.get("type") == f"evidently:metric_v2:{kind}":
            found[config.get("column", metric.get("metric_name"))] = metric.get("value")
    return found
