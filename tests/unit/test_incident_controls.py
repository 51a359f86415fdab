"""Who may acknowledge or snooze an incident from Slack, and which clicks count (pure rules), and
the controls part of an incident's message."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st
from mlops_core.approvals import InteractionError, parse_slack_click
from mlops_core.incident_controls import (
    ACK_ACTION,
    Control,
    Responders,
    control_binding,
    is_incident_click,
    is_incident_id,
    origin_refusal,
    parse_incident_click,
    snooze_until,
)
from mlops_core.incidents import (
    IncidentKind,
    IncidentState,
    Severity,
    Status,
    acknowledge,
    resolve,
    snooze,
)
from mlops_core.incidents import IncidentPolicy as Policy

from tests.untrusted_text import HOSTILE

INCIDENT = "inc-fraud-0123456789ab"
T0 = datetime(2026, 11, 29, 2, tzinfo=UTC)
POSTED = {"channel": "C0INCIDENTS", "ts": "1764381600.000100"}


def body(
    action_id: str = ACK_ACTION,
    value: str = INCIDENT,
    user: str = "U0ADA",
    channel: str = "C0INCIDENTS",
    ts: str = "1764381600.000100",
    team: str = "T0MLOPSCP",
) -> str:
    payload = {
        "type": "block_actions",
        "user": {"id": user, "username": user.lower(), "team_id": team},
        "team": {"id": team},
        "actions": [{"action_id": action_id, "value": value, "action_ts": "1764381700.1"}],
        "container": {"channel_id": channel, "message_ts": ts},
    }
    return urlencode({"payload": json.dumps(payload)})


def state(**changes: Any) -> IncidentState:
    opened = IncidentState(
        incident_id=INCIDENT,
        model_id="fraud",
        kind=IncidentKind.INVESTIGATE,
        status=Status.OPEN,
        fingerprint=("integrity_violation:zip_code",),
        severity=Severity.CRITICAL,
        opened_at=T0,
        last_seen_at=T0,
        last_run="k0",
        pages=1,
        slack=dict(POSTED),
        version=2,
    )
    return replace(opened, **changes)


# ---------------------------------------------------------------- the buttons' clicks


@pytest.mark.parametrize(
    ("action_id", "control", "hours"),
    [
        ("incident.acknowledge", Control.ACKNOWLEDGE, None),
        ("incident.snooze_4h", Control.SNOOZE, 4.0),
        ("incident.snooze_24h", Control.SNOOZE, 24.0),
    ],
)
def test_each_button_says_what_it_does_and_for_which_incident(
    action_id: str, control: Control, hours: float | None
) -> None:
    click = parse_incident_click(body(action_id))
    assert (click.incident_id, click.control, click.hours) == (INCIDENT, control, hours)
    assert (click.user_id, click.team_id) == ("U0ADA", "T0MLOPSCP")
    assert (click.channel_id, click.message_ts) == (POSTED["channel"], POSTED["ts"])
    assert is_incident_click(body(action_id))


def test_incident_and_approval_buttons_are_told_apart() -> None:
    approval = body("approval.approve", "apv_" + "a" * 22)
    assert not is_incident_click(approval)
    assert parse_slack_click(approval).approval_id == "apv_" + "a" * 22
    with pytest.raises(InteractionError, match="not an incident button"):
        parse_incident_click(approval)
    with pytest.raises(InteractionError, match="not an approval button"):
        parse_slack_click(body())


@pytest.mark.parametrize("value", ["", "apv_" + "a" * 22, "inc-fraud-XYZ", HOSTILE, "inc-" * 50])
def test_a_button_must_carry_an_incident_id(value: str) -> None:
    with pytest.raises(InteractionError, match="no valid incident id"):
        parse_incident_click(body(value=value))
    assert not is_incident_id(value)


def test_a_click_and_its_redelivery_share_one_replay_key_and_other_clicks_do_not() -> None:
    key = parse_incident_click(body()).key
    assert parse_incident_click(body()).key == key
    assert parse_incident_click(body("incident.snooze_4h")).key != key
    assert parse_incident_click(body(user="U0GRACE")).key != key
    approval = parse_slack_click(body("approval.approve", "apv_" + "a" * 22))
    assert approval.key != key


@given(
    st.text()
    | st.builds(lambda p: urlencode({"payload": p}), st.text())
    | st.builds(
        lambda user, value: urlencode(
            {
                "payload": json.dumps(
                    {
                        "type": "block_actions",
                        "user": user,
                        "actions": [{"action_id": ACK_ACTION, "value": value}],
                    }
                )
            }
        ),
        st.none() | st.text() | st.fixed_dictionaries({"id": st.text()}),
        st.text() | st.integers() | st.just(INCIDENT),
    )
)
def test_parsing_any_body_either_finds_an_incident_click_or_says_why_not(text: str) -> None:
    try:
        click = parse_incident_click(text)
    except InteractionError:
        assert is_incident_click(text) in (True, False)
        return
    assert is_incident_id(click.incident_id)
    assert is_incident_click(text)


# ---------------------------------------------------------------- where a click counts


def test_a_click_counts_only_from_the_incidents_own_message_in_the_bots_workspace() -> None:
    assert origin_refusal(parse_incident_click(body()), POSTED, "T0MLOPSCP") is None
    elsewhere = {
        "another channel": body(channel="C0ELSEWHERE"),
        "another message": body(ts="1764381600.000999"),
    }
    for why, text in elsewhere.items():
        refused = origin_refusal(parse_incident_click(text), POSTED, "T0MLOPSCP")
        assert refused == "the click did not come from the incident's message", why
    other_team = parse_incident_click(body(team="T0OTHERORG"))
    assert origin_refusal(other_team, POSTED, "T0MLOPSCP") == (
        "the click came from another Slack workspace"
    )
    # a team stored with the message wins; no known workspace at all refuses
    assert origin_refusal(other_team, POSTED | {"team": "T0OTHERORG"}, "T0MLOPSCP") is None
    assert origin_refusal(parse_incident_click(body()), POSTED, None) is not None


@pytest.mark.parametrize("posted", [None, {}, {"channel": "C0INCIDENTS"}])
def test_an_incident_the_bot_never_posted_takes_no_clicks(posted: dict[str, str] | None) -> None:
    refused = origin_refusal(parse_incident_click(body()), posted, "T0MLOPSCP")
    assert refused == "the incident was not posted in Slack by the bot"


# ---------------------------------------------------------------- who may press


def test_responders_are_the_slack_approvers_and_owners_given_as_slack_ids() -> None:
    who = Responders.of(["U0ADA"], ["S0MLONCALL"], ["@fraud-ml", "U0OWNER", " S0OWNERS ", "bob"])
    assert who.users == {"U0ADA", "U0OWNER"}
    assert who.groups == {"S0MLONCALL", "S0OWNERS"}
    members = {"S0MLONCALL": ["U0GRACE"], "S0OWNERS": ["U0OPS"]}.get
    for allowed in ("U0ADA", "U0OWNER", "U0GRACE", "U0OPS"):
        assert who.refusal("fraud", allowed, lambda g: members(g) or []) is None
    refused = who.refusal("fraud", "U0MALLORY", lambda g: members(g) or [])
    assert refused == "Slack user U0MALLORY may not acknowledge fraud's incidents"


def test_a_model_that_names_nobody_in_slack_refuses_every_click_and_says_what_to_do() -> None:
    who = Responders.of([], [], ["@fraud-ml"])
    refused = who.refusal("fraud", "U0ADA", lambda group: ["U0ADA"])
    assert refused is not None
    assert "names no Slack approvers or Slack-id owners" in refused
    assert "mlopscp incidents" in refused


def test_group_members_are_not_looked_up_when_the_user_is_named() -> None:
    looked_up: list[str] = []
    who = Responders.of(["U0ADA"], ["S0MLONCALL"], [])
    assert who.refusal("fraud", "U0ADA", lambda g: looked_up.append(g) or []) is None
    assert looked_up == []


# ---------------------------------------------------------------- snoozes and CLI proofs


def test_a_slack_snooze_ends_hours_after_the_signed_request_time() -> None:
    assert snooze_until("1795917600", 4) == datetime(2026, 11, 29, 6, tzinfo=UTC)
    assert snooze_until("1795917600", 24) == datetime(2026, 11, 30, 2, tzinfo=UTC)


def test_a_cli_proof_binds_the_incident_the_control_the_snooze_end_and_the_attempt() -> None:
    base = control_binding(INCIDENT, Control.SNOOZE, "2026-11-29T06:00:00Z", "cli:1")
    others = {
        control_binding("inc-fraud-ffffffffffff", Control.SNOOZE, "2026-11-29T06:00:00Z", "cli:1"),
        control_binding(INCIDENT, Control.SNOOZE, "2026-12-06T06:00:00Z", "cli:1"),
        control_binding(INCIDENT, Control.ACKNOWLEDGE, "", "cli:1"),
        control_binding(INCIDENT, Control.RESOLVE, "", "cli:1"),
        control_binding(INCIDENT, Control.SNOOZE, "2026-11-29T06:00:00Z", "cli:2"),
    }
    assert base not in others
    assert len(others) == 5


# ---------------------------------------------------------------- the controls in the message


def _blocks(incident: IncidentState) -> list[dict[str, Any]]:
    from mlops_runtime.incident_buttons import control_blocks

    return [block.to_dict() for block in control_blocks(incident)]


def _buttons(blocks: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [
        (element["action_id"], element["value"])
        for block in blocks
        if block["type"] == "actions"
        for element in block["elements"]
    ]


def test_an_open_incident_offers_acknowledge_and_two_snoozes_carrying_only_its_id() -> None:
    blocks = _blocks(state())
    assert _buttons(blocks) == [
        ("incident.acknowledge", INCIDENT),
        ("incident.snooze_4h", INCIDENT),
        ("incident.snooze_24h", INCIDENT),
    ]
    assert [b for b in blocks if b["type"] == "section"] == []


def test_acknowledged_shows_who_as_a_mention_and_when_and_keeps_only_the_snoozes() -> None:
    acked = acknowledge(state(), "U0ADA", T0 + timedelta(minutes=5)).state
    assert acked is not None
    blocks = _blocks(acked)
    (line,) = [b["text"] for b in blocks if b["type"] == "section"]
    assert line["type"] == "mrkdwn"
    assert line["text"] == ":eyes: Acknowledged by <@U0ADA> at 2026-11-29 02:05 UTC."
    assert [a for a, _ in _buttons(blocks)] == ["incident.snooze_4h", "incident.snooze_24h"]


def test_snoozed_shows_until_when_and_an_operator_is_plain_text() -> None:
    arn = "arn:aws:sts::123456789012:assumed-role/on_call/*ada*"
    until = T0 + timedelta(hours=4)
    snoozed = snooze(state(), arn, until, T0, Policy()).state
    assert snoozed is not None
    blocks = _blocks(snoozed)
    (line,) = [b["text"] for b in blocks if b["type"] == "section"]
    assert line["type"] == "plain_text", "an ARN's * and _ must not format anything"
    assert line["text"] == f"Snoozed by {arn} until 2026-11-29 06:00 UTC."
    assert ("incident.acknowledge", INCIDENT) in _buttons(blocks)


def test_a_resolved_incident_has_no_buttons_and_its_reason_is_plain_text() -> None:
    closed = resolve(state(), "U0ADA", f"fixed upstream {HOSTILE}", T0).state
    assert closed is not None
    blocks = _blocks(closed)
    assert _buttons(blocks) == []
    texts = [b["text"] for b in blocks if b["type"] == "section"]
    assert texts[0]["text"].startswith(":white_check_mark: Resolved by <@U0ADA> at")
    assert texts[1]["type"] == "plain_text"
    assert "<!channel>" not in json.dumps(texts)


def test_resolved_by_the_control_plane_says_nothing_here() -> None:
    closed = replace(state(), status=Status.RESOLVED, resolved_by="control-plane", resolved_at=T0)
    assert _blocks(closed) == []


# ---------------------------------------------------------------- the CLI's arguments


@pytest.mark.parametrize("hours", ["0", "-4", "nan", "soon"])
def test_the_cli_refuses_a_snooze_that_is_not_a_positive_number_of_hours(hours: str) -> None:
    from mlopscp.cli import build_parser

    with pytest.raises(SystemExit) as refused:
        build_parser().parse_args(["incidents", "snooze", INCIDENT, "--hours", hours])
    assert refused.value.code == 2


def test_the_cli_lists_an_incident_as_stored_without_its_keys() -> None:
    from mlopscp.commands.incidents import summary

    listed = summary(state())
    assert listed["incident_id"] == INCIDENT
    assert listed["status"] == "OPEN"
    assert "pk" not in listed
    assert "sk" not in listed
    assert json.loads(json.dumps(listed, default=str))["slack"] == POSTED
