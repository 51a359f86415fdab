"""`mlopscp triage s3://...` on moto in process: a prefix one level too high is refused."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from mlopscp.cli import main
from mlopscp.commands.triage import DECISION_EXIT
from mlopscp.output import EXIT_USAGE

pytestmark = pytest.mark.integration

CASE = Path(__file__).resolve().parents[3] / "examples" / "triage-cases" / "dev" / "case-003"
BUCKET = "sagemaker-us-east-1-123456789012"


def test_an_s3_prefix_one_level_too_high_says_so(
    cloud: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    for path in CASE.rglob("*.json"):
        key = f"monitoring/churn-prod/{path.relative_to(CASE)}"
        s3.put_object(Bucket=BUCKET, Key=key, Body=path.read_bytes())

    assert main(["triage", f"s3://{BUCKET}/monitoring"]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "one level too high: it holds endpoint folders (churn-prod)" in err
    assert f"mlopscp triage s3://{BUCKET}/monitoring/churn-prod" in err

    code = main(["triage", f"s3://{BUCKET}/monitoring/churn-prod", "--json"])
    assert json.loads(capsys.readouterr().out)["decision"] == "retrain"
    assert code == DECISION_EXIT["retrain"]
