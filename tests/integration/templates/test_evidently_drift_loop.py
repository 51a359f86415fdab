"""The drift loop acts on Evidently evidence: the real template, handlers and state machine on
the emulator, Evidently 0.7 reports in emulated S3 under each model's configured root, and the
custom Model Drift Signal (events/drift-signal.json) a monitor puts when it wrote a report.

Deployed as a second stack in the session's emulator (one emulator per process); its models,
bucket and pipelines are its own.
"""

from __future__ import annotations

import json
import uuid
import warnings
from pathlib import Path
from typing import Any

import pytest
from mlops_runtime.model_config import ModelConfig
from mlopscp.pipelines import load_definition, upload_code, upsert_pipeline
from mlopscp_emulator import Emulator, Stack

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]
CASES = ROOT / "examples" / "triage-cases" / "evidently-dev"
BUCKET = "evidently-reports-123456789012"
ROLE = "arn:aws:iam::123456789012:role/mlopscp-sagemaker-execution"
STACK = "evidently-loop"


@pytest.fixture(scope="module")
def stack(emulator: Emulator) -> Stack:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # resources the emulator cannot honour, listed once
        deployed = emulator.deploy(
            ROOT / "template.yaml",
            stack_name=STACK,
            parameters={"Stage": "evloop", "MonitoringBucketPattern": BUCKET},
        )
    emulator.client("s3").create_bucket(Bucket=BUCKET)
    return deployed


def seed(emulator: Emulator, stack: Stack, model_id: str, case: str) -> str:
    """A model whose configured root holds one Evidently stream (the case's reports, straight
    under the root as <yyyy>/<mm>/<dd>/<hh>/report.json), with a retraining pipeline."""
    s3, root = emulator.client("s3"), f"monitoring/{model_id}"
    for path in sorted((CASES / case).rglob("*.json")):
        key = f"{root}/{path.relative_to(CASES / case)}"
        s3.put_object(Bucket=BUCKET, Key=key, Body=path.read_bytes())
    pipeline = f"{model_id}-retrain"
    code = upload_code(s3, f"s3://{BUCKET}/retrain/{model_id}/code")
    upsert_pipeline(
        emulator.client("sagemaker"),
        pipeline,
        ROLE,
        load_definition(),
        {"CodePrefix": code, "ModelPackageGroupName": model_id},
    )
    config = ModelConfig.model_validate(
        {
            "model_id": model_id,
            "endpoint_name": f"{model_id}-prod",
            "monitoring_output_uri": f"s3://{BUCKET}/{root}",
            "retrain": {"pipeline_name": pipeline},
        }
    )
    emulator.client("dynamodb").put_item(
        TableName=stack.outputs["ModelConfigTableName"],
        Item={"id": {"S": f"model#{model_id}"}, "value": {"S": config.model_dump_json()}},
    )
    return f"s3://{BUCKET}/{root}"


def drift_signal(model_id: str, report_uri: str) -> dict[str, Any]:
    """events/drift-signal.json as the monitor sends it after writing one report."""
    event = json.loads((ROOT / "events" / "drift-signal.json").read_text())
    event["id"] = str(uuid.uuid4())
    event["detail"] |= {"model_id": model_id, "monitoring_output_uri": report_uri}
    return event


def ledger(emulator: Emulator, stack: Stack, model_id: str) -> list[dict[str, Any]]:
    items = emulator.client("dynamodb").query(
        TableName=stack.outputs["LedgerTableName"],
        IndexName="by-time",
        KeyConditionExpression="model_id = :m",
        ExpressionAttributeValues={":m": {"S": model_id}},
    )["Items"]
    return [{k: next(iter(v.values())) for k, v in item.items()} for item in items]


def executions(emulator: Emulator, pipeline: str) -> list[dict[str, Any]]:
    sagemaker = emulator.client("sagemaker")
    return sagemaker.list_pipeline_executions(PipelineName=pipeline)["PipelineExecutionSummaries"]


def test_gradual_drift_in_evidently_reports_starts_exactly_one_retrain(
    emulator: Emulator, stack: Stack
) -> None:
    root = seed(emulator, stack, "churn-ev", "case-004")
    event = drift_signal("churn-ev", f"{root}/2026/03/12/10/report.json")
    assert emulator.put_event(event), "a rule of the template matches the Model Drift Signal"
    emulator.wait_idle(timeout=180)
    emulator.redeliver(event)  # EventBridge delivers at least once
    emulator.wait_idle(timeout=180)

    (execution,) = executions(emulator, "churn-ev-retrain")
    arn = execution["PipelineExecutionArn"]
    parameters = {
        p["Name"]: p["Value"]
        for p in emulator.client("sagemaker").list_pipeline_parameters_for_execution(
            PipelineExecutionArn=arn
        )["PipelineParameters"]
    }
    assert parameters["IncidentId"].startswith("inc-churn-ev-")
    assert parameters["DataWindowEnd"] == "2026-03-12T10:00Z"
    (started,) = [
        e for e in ledger(emulator, stack, "churn-ev") if e["action"] == "retrain_started"
    ]
    triage = json.loads(started["evidence"])["triage"]
    assert triage["decision"] == "retrain"
    assert triage["sources"] == {"churn-ev": "evidently"}
    drift = [f for f in triage["findings"] if f["kind"] == "sustained_drift"]
    assert drift
    assert {(f["source"], f["schedule"]) for f in drift} == {("evidently", "churn-ev")}


def test_a_dropped_column_in_evidently_reports_opens_an_incident_not_a_retrain(
    emulator: Emulator, stack: Stack
) -> None:
    root = seed(emulator, stack, "fraud-ev", "case-009")
    emulator.put_event(drift_signal("fraud-ev", root))
    emulator.wait_idle(timeout=180)

    assert executions(emulator, "fraud-ev-retrain") == []
    entries = ledger(emulator, stack, "fraud-ev")
    (opened,) = [e for e in entries if e["action"] == "incident_opened"]
    assert "missing_column_check on 'tenure'" in opened["summary"]
    integrity = json.loads(opened["evidence"])["triage"]["findings"][0]
    assert (integrity["kind"], integrity["source"]) == ("integrity_violation", "evidently")
    assert "notification_sent" in {e["action"] for e in entries}
