"""`make demo`'s incident lifecycle (issue 17): a schema break that persists for a day of hourly
monitoring, then clears: one page, an update per later run, one resolution.

Every claim is read back from the emulated AWS and the Slack stand-in: pages from the SQS queue
subscribed to the SNS topic, the bot's messages from the stand-in, the incident from the state
table, its history from the ledger.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import timedelta
from typing import Any

from mlopscp.demo.scenario import Outcome, Scenarios
from mlopscp.slack_standin import displayed
from mlopscp.worlds.drift import MODELS
from mlopscp.worlds.hourly import Hour, HourlyWorld

BROKEN_HOURS = 24


class IncidentScenarios(Scenarios):
    """Combined into :class:`mlopscp.demo.runner.Demo` with the other groups."""

    def schema_break_persists(self) -> Outcome:
        orders = MODELS["orders"]
        policy = orders.incidents or {}
        resolve_after, channel = int(policy["resolve_after"]), str(policy["slack_channel"])
        out = Outcome(
            f"A schema break for {BROKEN_HOURS} hourly runs, then fixed -> one page, "
            f"{BROKEN_HOURS - 1} updates, one resolution",
            orders.story,
        )
        world = HourlyWorld(self.plane, orders)
        hours = [world.first + timedelta(hours=n) for n in range(BROKEN_HOURS + resolve_after)]
        first = world.hour(hours[0], broken=True)
        self.send(
            out,
            lambda: self._deliver_hour(first),
            f"{first.at:%H:%M} orders-data-quality finds latency_ms missing; "
            "orders-model-quality reports the same hour",
        )
        for at in hours[1:BROKEN_HOURS]:
            self._deliver_hour(world.hour(at, broken=True))
        out.lines.append(
            f"→ {BROKEN_HOURS - 1} more hourly runs ({hours[1]:%H:%M} to "
            f"{hours[BROKEN_HOURS - 1]:%H:%M}), the column still missing: two events an hour, "
            "one per schedule"
        )
        pages = self._incident_pages(orders.model_id)
        actions = Counter(self.actions(orders.model_id))
        posted = self.plane.slack.messages(channel)
        out.check(
            f"after {BROKEN_HOURS} runs: one page on the SNS topic, naming latency_ms",
            [p["attributes"].get("kind") for p in pages] == ["investigate"]
            and "latency_ms" in pages[0]["body"],
        )
        body = pages[0]["body"] if pages else ""
        out.check(
            "the page says its severity and links to the drift response's execution "
            "(View details), in the email and in Slack",
            "severity: critical" in body
            and "View details: https://us-east-1.console.aws.amazon.com/states/" in body
            and len(posted) == 1
            and "|View details>" in json.dumps(posted[0].blocks),
        )
        out.check(
            f"one incident_opened and {BROKEN_HOURS - 1} incident_updated in the ledger, "
            "nothing for the second event of each hour (the same monitoring state)",
            (actions["incident_opened"], actions["incident_updated"]) == (1, BROKEN_HOURS - 1)
            and actions["notification_sent"] == 1,
        )
        out.check(
            f"one Slack message in {channel}, edited as the runs come: "
            f"{BROKEN_HOURS} runs, {BROKEN_HOURS - 1} updates",
            len(posted) == 1 and f"{BROKEN_HOURS - 1} updates" in displayed(posted[0].as_slack()),
        )

        for at in hours[BROKEN_HOURS:-1]:
            self._deliver_hour(world.hour(at, broken=False))
        still_open = "incident_resolved" not in self.actions(orders.model_id)
        self.send(
            out,
            lambda: self._deliver_hour(world.hour(hours[-1], broken=False)),
            f"the column is back; clean runs {hours[BROKEN_HOURS]:%H:%M} to {hours[-1]:%H:%M} "
            f"(resolve_after {resolve_after})",
        )
        out.check(f"still open after {resolve_after - 1} clean runs", still_open)
        self._check_resolved(out, orders.model_id, channel, posted[0] if posted else None)
        return out

    # -- helpers ----------------------------------------------------------------------------

    def _check_resolved(self, out: Outcome, model_id: str, channel: str, posted: Any) -> None:
        pages = self._incident_pages(model_id)
        actions = Counter(self.actions(model_id))
        out.check(
            "then one resolution on the SNS topic and one incident_resolved in the ledger",
            [p["attributes"].get("kind") for p in pages] == ["investigate_resolved"]
            and actions["incident_resolved"] == 1
            and actions["notification_sent"] == 2,
        )
        replies = self.plane.slack.replies(posted) if posted else []
        out.check(
            "in Slack: a 'resolved' reply in the incident's thread, the message itself says "
            "resolved, and still one message in the channel",
            [displayed(r.as_slack()).count("resolved") > 0 for r in replies] == [True]
            and "resolved" in displayed(posted.as_slack())
            and len(self.plane.slack.messages(channel)) == 1,
        )
        incident = self._incident_item(model_id)
        out.check(
            "the incident in the state table: RESOLVED by the control plane, "
            f"{BROKEN_HOURS} runs, {BROKEN_HOURS - 1} updates, 1 page",
            incident.get("status") == "RESOLVED"
            and incident.get("resolved_by") == "control-plane"
            and (incident.get("runs"), incident.get("updates"), incident.get("pages"))
            == (str(BROKEN_HOURS), str(BROKEN_HOURS - 1), "1"),
        )
        if pages:
            out.lines.append("  resolution: " + pages[0]["body"].splitlines()[0])
        out.lines.append(f"  (the old rule, an incident per run, paged {BROKEN_HOURS} times)")

    def _deliver_hour(self, hour: Hour) -> None:
        # The schedules finish minutes apart: each event is triaged on its own.
        for event in hour.events:
            self.emu.put_event(event)
            self.emu.wait_idle(timeout=120)

    def _incident_pages(self, model_id: str) -> list[dict[str, Any]]:
        return [
            p for p in self.plane.notifications() if p["attributes"].get("model_id") == model_id
        ]

    def _incident_item(self, model_id: str) -> dict[str, str]:
        opened = [e for e in self.plane.ledger(model_id) if e["action"] == "incident_opened"]
        if not opened:
            return {}
        item = self.emu.client("dynamodb").get_item(
            TableName=self.plane.outputs["StateTableName"],
            Key={"pk": {"S": f"INCIDENT#{opened[0]['subject']}"}, "sk": {"S": "INCIDENT"}},
        )
        return {k: str(next(iter(v.values()))) for k, v in item.get("Item", {}).items()}
