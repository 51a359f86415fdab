"""An endpoint monitored hour after hour (issue 17's persistent problem): each hour both of its
Model Monitor schedules, data quality and model quality, write an execution as Model Monitor
would, with the upstream's column dropped or back; then SageMaker's Processing Job State Change
events for them.

The model is seeded like every model of :mod:`mlopscp.worlds.drift` (its daily history ends with
the break, at 00:00); each later hour is laid down from that history's own files: the broken
data-quality execution (statistics without the column, a ``missing_column_check`` violation)
or the last clean one, and the latest model-quality execution, re-stamped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from mlops_core.monitoring import MonitorType, load_history

from mlopscp.worlds.common import Plane
from mlopscp.worlds.drift import DemoModel

STATISTICS, VIOLATIONS = "statistics.json", "constraint_violations.json"


@dataclass(frozen=True)
class Hour:
    at: datetime
    broken: bool
    events: list[dict[str, Any]]  # one per schedule, data quality first


class HourlyWorld:
    """Lays down `model`'s monitoring one hour at a time in the emulated S3 and SageMaker."""

    def __init__(self, plane: Plane, model: DemoModel) -> None:
        self.plane, self.model = plane, model
        files = model.files()
        history = load_history(files)
        self.schedules = {s.monitor_type: s for s in history.schedules}
        quality = self.schedules[MonitorType.DATA_QUALITY]
        broken = quality.latest
        clean = next(e for e in reversed(quality.executions) if not e.violations)
        self.first = broken.at  # the seeded hour the column disappeared
        self._files = files
        self._templates = {True: broken, False: clean}

    def hour(self, at: datetime, broken: bool) -> Hour:
        """Both schedules' executions of hour `at` (the seeded first hour is already there) and
        the events SageMaker emits for them."""
        if at != self.first:
            self._write(at, broken)
        events = [
            self.plane.monitoring_execution_event(
                self.model,
                schedule=schedule.name,
                status="CompletedWithViolations"
                if broken and kind == MonitorType.DATA_QUALITY
                else "Completed",
                at=at,
            )
            for kind, schedule in sorted(self.schedules.items())
        ]
        return Hour(at, broken, events)

    def _write(self, at: datetime, broken: bool) -> None:
        s3 = self.plane.emu.client("s3")
        bucket, _, prefix = self.model.output_uri.removeprefix("s3://").partition("/")
        for kind, schedule in self.schedules.items():
            source = (
                self._templates[broken] if kind == MonitorType.DATA_QUALITY else schedule.latest
            )
            for name in (STATISTICS, VIOLATIONS):
                body = self._files.get(f"{schedule.name}/{source.at:%Y/%m/%d/%H}/{name}")
                if body is None:
                    continue
                text = body.decode() if isinstance(body, bytes) else body
                # The file's own clock says the hour too (model quality's evaluation_time).
                text = text.replace(source.at.strftime("%Y-%m-%dT%H:%M"), f"{at:%Y-%m-%dT%H:%M}")
                key = f"{prefix}/{schedule.name}/{at:%Y/%m/%d/%H}/{name}"
                s3.put_object(Bucket=bucket, Key=key, Body=text.encode())
