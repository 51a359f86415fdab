"""A monitoring completion describes its processing job, then its schedule: the schedule's answer
is kept per container for minutes, keyed by the schedule ARN the described job names (never by
an event field), and what is kept is what SageMaker returned."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from mlops_runtime import intake
from mlops_runtime.cache import TtlCache
from mlops_runtime.events import parse_monitoring_event

ROOT = Path(__file__).resolve().parents[2]
EVENT = json.loads((ROOT / "events" / "monitoring-execution-completed.json").read_text())


class SageMaker:
    """One account's SageMaker: jobs name their schedule; schedules name their endpoint."""

    def __init__(self, account: str, endpoint: str = "churn-prod") -> None:
        self.account, self.endpoint = account, endpoint
        self.described: list[str] = []

    def describe_processing_job(self, ProcessingJobName: str) -> dict[str, Any]:  # noqa: N803
        schedule = f"arn:aws:sagemaker:us-east-1:{self.account}:monitoring-schedule/churn-dq"
        return {
            "ProcessingJobName": ProcessingJobName,
            "ProcessingJobStatus": "Completed",
            "MonitoringScheduleArn": schedule,
        }

    def describe_monitoring_schedule(self, MonitoringScheduleName: str) -> dict[str, Any]:  # noqa: N803
        self.described.append(MonitoringScheduleName)
        return {"EndpointName": self.endpoint, "MonitoringType": "DataQuality"}


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(intake, "_schedules", TtlCache(intake.SCHEDULE_CACHE_SECONDS, clock))
    return clock


def completion(account: str = "123456789012", **detail: Any) -> Any:
    event = json.loads(json.dumps(EVENT)) | {"account": account}
    event["detail"] |= detail
    return parse_monitoring_event(event)


def test_a_warm_container_describes_a_schedule_once(clock: Clock) -> None:
    sagemaker = SageMaker("123456789012")
    first = intake.to_signal(completion(), lambda: sagemaker)
    clock.now += 600
    again = intake.to_signal(completion(), lambda: sagemaker)
    assert sagemaker.described == ["churn-dq"]
    assert again.endpoint_name == first.endpoint_name == "churn-prod"


def test_the_schedule_is_described_again_after_the_ttl(clock: Clock) -> None:
    sagemaker = SageMaker("123456789012")
    intake.to_signal(completion(), lambda: sagemaker)
    sagemaker.endpoint = "churn-prod-v2"  # re-pointed: seen once the entry expires
    clock.now += intake.SCHEDULE_CACHE_SECONDS
    signal = intake.to_signal(completion(), lambda: sagemaker)
    assert sagemaker.described == ["churn-dq", "churn-dq"]
    assert signal.endpoint_name == "churn-prod-v2"


def test_the_same_schedule_name_in_two_accounts_is_two_entries(clock: Clock) -> None:
    ours, theirs = SageMaker("123456789012"), SageMaker("210987654321", endpoint="other-prod")
    mine = intake.to_signal(completion("123456789012"), lambda: ours)
    other = intake.to_signal(completion("210987654321"), lambda: theirs)
    assert (ours.described, theirs.described) == (["churn-dq"], ["churn-dq"])
    assert (mine.endpoint_name, other.endpoint_name) == ("churn-prod", "other-prod")


def test_the_key_is_the_described_jobs_schedule_not_the_events(clock: Clock) -> None:
    sagemaker = SageMaker("123456789012")
    intake.to_signal(completion(), lambda: sagemaker)
    # an event naming another schedule cannot pick a cached answer: the job decides
    forged = completion(
        MonitoringScheduleArn="arn:aws:sagemaker:us-east-1:123456789012:monitoring-schedule/x"
    )
    assert intake.to_signal(forged, lambda: sagemaker).schedule_name == "churn-dq"
    assert sagemaker.described == ["churn-dq"]
