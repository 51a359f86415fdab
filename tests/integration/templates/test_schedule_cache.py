"""The intake's schedule cache, counted on the emulator: two monitoring completions of one
schedule reaching the warm intake function within the cache's minutes (a late run, a retried
invocation) describe each processing job but the schedule once. The count is the emulator's
own (mlopscp_emulator.api_calls)."""

from __future__ import annotations

import warnings
from datetime import timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError
from mlops_core.monitoring import MonitorType
from mlopscp.local import LocalControlPlane
from mlopscp.worlds.common import MONITORING_BUCKET, ROOT
from mlopscp.worlds.drift import CASES, DemoModel, load_history
from mlopscp_emulator import Emulator

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def plane(emulator: Emulator) -> LocalControlPlane:
    plane = LocalControlPlane(emulator)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # resources the emulator cannot honour, listed once
        plane.stack = emulator.deploy(
            ROOT / "template.yaml",
            stack_name="schedule-cache",
            parameters={"Stage": "dev", "MonitoringBucketPattern": MONITORING_BUCKET},
        )
    try:
        emulator.client("s3").create_bucket(Bucket=MONITORING_BUCKET)
    except ClientError as error:  # another world of this emulator made it
        if error.response["Error"]["Code"] != "BucketAlreadyOwnedByYou":
            raise
    return plane


def test_a_warm_intake_describes_a_schedule_once_for_two_of_its_runs(
    emulator: Emulator, plane: LocalControlPlane
) -> None:
    model = DemoModel("cached-fraud", "cached-fraud-prod", CASES / "case-009", "a stable model")
    plane._seed(model)
    history = load_history(model.files())
    latest = next(s for s in history.schedules if s.monitor_type == MonitorType.DATA_QUALITY)
    calls, mark = emulator.api_calls, len(emulator.trace)
    before = calls.counts()
    for hours_ago in (1, 0):
        at = latest.latest.at - timedelta(hours=hours_ago)
        emulator.put_event(plane.monitoring_execution_event(model, at=at))
        emulator.wait_idle(timeout=120)
    called: dict[Any, int] = calls.since(before)
    # Every stack deployed in this session's emulator has an intake whose rule matches the
    # event on the default bus: each describes both jobs, and the schedule once.
    jobs = called[("sagemaker", "DescribeProcessingJob")]
    assert jobs >= 2
    assert jobs % 2 == 0
    assert called[("sagemaker", "DescribeMonitoringSchedule")] == jobs // 2
    started = [r for r in emulator.trace.since(mark) if type(r).__name__ == "ExecutionStarted"]
    assert len(started) == 2, "both runs went on to this stack's drift response"
