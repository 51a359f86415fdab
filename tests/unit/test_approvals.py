"""The approval rules (mlops_core.approvals), pages and messages, without AWS or a network."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st
from mlops_core import approval_pages as pages
from mlops_core.approvals import (
    CONTROL_PLANE,
    LINK_KEY_GRACE,
    MAX_DEADLINE_HOURS,
    SLACK_APPROVE_ACTION,
    SLACK_REJECT_ACTION,
    Action,
    ApprovalRequest,
    Approvers,
    Channel,
    InteractionError,
    LinkClaim,
    LinkKey,
    Outcome,
    accepted_link_keys,
    backstop_seconds,
    due,
    is_approval_id,
    link_refusal,
    link_signature,
    new_approval_id,
    parse_slack_click,
    refusal,
    slack_origin_refusal,
    slack_timestamp_problem,
    state_refusal,
    task_output,
    timing,
)
from mlops_runtime.approval_channels import approval_links, request_blocks, request_text
from mlops_runtime.approvals import Approval
from mlops_runtime.model_config import ModelConfig
from pydantic import ValidationError
from slack_sdk.signature import Clock, SignatureVerifier

SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "samples" / "slack"
NOW = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
KEY = b"k" * 64
TRIAGE_SUMMARY = {
    "decision": "retrain",
    "reasons": ["gradual drift on 'tenure' sustained for 4 executions", "auc falling"],
    "sparkline": "▁▂▅█",
    "quality": [
        {"metric": "auc", "direction": "higher_is_better", "baseline": 0.91, "latest": 0.84},
        {"metric": "mae", "direction": "lower_is_better", "baseline": 2.0, "latest": 2.5},
    ],
}


def request(**extra: object) -> ApprovalRequest:
    fields = {"kind": "retrain", "model_id": "churn", "subject": "inc-churn-1"} | extra
    return ApprovalRequest.model_validate(fields)


def approval(**extra: object) -> Approval:
    fields: dict[str, object] = {
        "approval_id": "apv_" + "a" * 22,
        "status": "pending",
        "model_id": "churn",
        "request": request(evidence=TRIAGE_SUMMARY).described(),
        "approvers": Approvers(slack_channel="C1", slack_users=["U0ADA"], emails=["a@example.com"]),
        "deadline": NOW + timedelta(hours=24),
        "created_at": NOW,
    } | extra
    return Approval(**fields)  # type: ignore[arg-type]


# ---------------------------------------------------------------- ids and the contract


def test_approval_ids_are_random_and_recognisable() -> None:
    ids = {new_approval_id() for _ in range(1000)}
    assert len(ids) == 1000
    assert all(is_approval_id(i) for i in ids)
    assert not is_approval_id("apv_short")
    assert not is_approval_id("apv_" + "a" * 21 + "/")


def test_task_output_is_the_documented_contract() -> None:
    output = task_output("apv_x", Outcome.APPROVED, "U1", Channel.SLACK, "ok", NOW)
    assert output == {
        "approval_id": "apv_x",
        "outcome": "approved",
        "decided_by": "U1",
        "channel": "slack",
        "reason": "ok",
        "decided_at": "2026-07-01T12:00:00Z",
    }
    docs = (Path(__file__).resolve().parents[2] / "docs" / "approvals.md").read_text()
    assert all(f'"{key}"' in docs for key in output), "docs/approvals.md documents every key"


def test_backstop_outlasts_the_deadline_by_an_hour() -> None:
    assert backstop_seconds(24) == 25 * 3600


# ---------------------------------------------------------------- who may answer, and when


@pytest.mark.parametrize(
    ("channel", "actor", "allowed"),
    [
        (Channel.SLACK, "U1", True),
        (Channel.SLACK, "U2", True),  # member of group S1
        (Channel.SLACK, "U3", False),
        (Channel.EMAIL, "Lead@Example.com ", True),
        (Channel.EMAIL, "other@example.com", False),
        (Channel.CLI, "arn:aws:iam::1:user/ops", True),
        (Channel.DEADLINE, CONTROL_PLANE, True),
        (Channel.DEADLINE, "U1", False),
    ],
)
def test_only_named_approvers_may_answer(channel: Channel, actor: str, allowed: bool) -> None:
    approvers = Approvers(slack_users=["U1"], slack_groups=["S1"], emails=["lead@example.com"])
    groups = {"S1": ["U2"]}
    assert (refusal(approvers, channel, actor, lambda g: groups[g]) is None) is allowed


def test_an_approval_takes_one_outcome_before_its_deadline() -> None:
    deadline = NOW + timedelta(hours=1)
    assert state_refusal("pending", deadline, Outcome.APPROVED, NOW) is None
    assert "already approved" in str(state_refusal("approved", deadline, Outcome.REJECTED, NOW))
    late = NOW + timedelta(hours=2)
    assert "deadline passed" in str(state_refusal("pending", deadline, Outcome.APPROVED, late))
    assert "not past" in str(state_refusal("pending", deadline, Outcome.EXPIRED, NOW))
    assert state_refusal("pending", deadline, Outcome.EXPIRED, late) is None


def test_the_sweeper_reminds_once_then_expires() -> None:
    when = timing(NOW, 24, 4)
    assert when.reminder_at == NOW + timedelta(hours=20)
    assert due("pending", when.deadline, when.reminder_at, False, NOW) is None
    reminder_time = NOW + timedelta(hours=21)
    assert due("pending", when.deadline, when.reminder_at, False, reminder_time) == "remind"
    assert due("pending", when.deadline, when.reminder_at, True, reminder_time) is None
    after = NOW + timedelta(hours=24)
    assert due("pending", when.deadline, when.reminder_at, True, after) == "expire"
    assert due("approved", when.deadline, when.reminder_at, True, after) is None
    assert timing(NOW, 2, 4).reminder_at is None  # a reminder before the request is none


# ---------------------------------------------------------------- emailed links


def claim(**change: str) -> LinkClaim:
    expires = int((NOW + timedelta(hours=1)).timestamp())
    fields = {
        "approval_id": "apv_" + "a" * 22,
        "action": "approve",
        "approver": "lead@example.com",
        "expires": str(expires),
        "signature": link_signature(
            KEY, "apv_" + "a" * 22, Action.APPROVE, "lead@example.com", expires
        ),
    }
    return LinkClaim(**(fields | change))


def test_a_genuine_link_is_honoured_until_it_expires() -> None:
    assert link_refusal(KEY, claim(), NOW) is None
    assert link_refusal(KEY, claim(), NOW + timedelta(hours=2)) == "link expired"


@pytest.mark.parametrize(
    "change",
    [
        {"approval_id": "apv_" + "b" * 22},  # tampered approval id
        {"action": "reject"},  # approve link turned into a reject link
        {"approver": "mallory@example.com"},
        {"expires": str(int((NOW + timedelta(days=30)).timestamp()))},  # extended expiry
        {"signature": "0" * 64},
    ],
)
def test_any_change_to_a_link_breaks_its_signature(change: dict[str, str]) -> None:
    assert "does not match" in str(link_refusal(KEY, claim(**change), NOW))


def test_a_link_signed_with_another_key_is_a_forgery() -> None:
    assert "does not match" in str(link_refusal(b"other", claim(), NOW))


@pytest.mark.parametrize(
    "change", [{"action": "delete"}, {"expires": "soon"}, {"signature": "zz"}, {"approver": ""}]
)
def test_malformed_links_are_refused(change: dict[str, str]) -> None:
    assert link_refusal(KEY, claim(**change), NOW) == "malformed link"


def test_links_carry_id_expiry_key_id_and_signature_never_more() -> None:
    key = LinkKey("v-current", KEY, NOW - timedelta(days=1))
    links = approval_links(key, "https://x.lambda-url.us-east-1.on.aws/", approval(), "a@b.co")
    for action, url in links.items():
        parts = urlsplit(url)
        assert parts.path == f"/approvals/apv_{'a' * 22}/{action}"
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        assert set(query) == {"approver", "expires", "kid", "sig"}
        assert query["expires"] == str(int(approval().deadline.timestamp()))
        assert query["kid"] == "v-current"
        genuine = LinkClaim(
            f"apv_{'a' * 22}", str(action), "a@b.co", query["expires"], query["sig"], query["kid"]
        )
        assert link_refusal({"v-current": KEY}, genuine, NOW) is None
        assert "does not match" in str(
            link_refusal({"v-current": KEY}, replace(genuine, key_id=""), NOW)
        ), "the key id is signed: dropping it breaks the link"


# ---------------------------------------------------------------- rotating the link key

OLD, NEW = LinkKey("v-old", b"o" * 64, NOW - timedelta(days=90)), LinkKey("v-new", KEY, NOW)


def signed_claim(key: LinkKey, key_id: str | None = None) -> LinkClaim:
    expires = int((NOW + timedelta(hours=1)).timestamp())
    kid = key.key_id if key_id is None else key_id
    signature = link_signature(
        key.secret, "apv_" + "a" * 22, Action.APPROVE, "a@b.co", expires, kid
    )
    return LinkClaim("apv_" + "a" * 22, "approve", "a@b.co", str(expires), signature, kid)


def test_a_link_signed_before_a_rotation_works_through_the_grace_period() -> None:
    keys = accepted_link_keys(NEW, OLD, NOW + timedelta(days=29))
    assert link_refusal(keys, signed_claim(OLD), NOW) is None
    assert link_refusal(keys, signed_claim(NEW), NOW) is None


def test_after_the_grace_period_the_previous_key_forges_nothing() -> None:
    """Every link the old key signed has expired by then; a leaked old key is useless."""
    keys = accepted_link_keys(NEW, OLD, NOW + LINK_KEY_GRACE)
    assert "no longer accepted" in str(link_refusal(keys, signed_claim(OLD), NOW))


def test_a_link_naming_a_key_it_was_not_signed_with_is_a_forgery() -> None:
    keys = accepted_link_keys(NEW, OLD, NOW)
    assert "does not match" in str(link_refusal(keys, signed_claim(OLD, key_id="v-new"), NOW))
    assert "no longer accepted" in str(link_refusal(keys, signed_claim(OLD, "v-older"), NOW))


def test_links_sent_before_key_ids_existed_still_verify() -> None:
    """v1 links (no key id) from before the upgrade: checked against every accepted key."""
    expires = int((NOW + timedelta(hours=1)).timestamp())
    v1 = link_signature(OLD.secret, "apv_" + "a" * 22, Action.APPROVE, "a@b.co", expires)
    legacy = LinkClaim("apv_" + "a" * 22, "approve", "a@b.co", str(expires), v1)
    assert link_refusal(accepted_link_keys(NEW, OLD, NOW), legacy, NOW) is None
    assert "does not match" in str(link_refusal(accepted_link_keys(NEW, None, NOW), legacy, NOW))


def test_the_grace_period_covers_the_longest_deadline() -> None:
    from mlops_runtime.model_config import ApprovalsConfig

    longest = ApprovalsConfig.model_fields["deadline_hours"].metadata
    assert any(getattr(m, "le", None) == MAX_DEADLINE_HOURS for m in longest)
    assert timedelta(hours=MAX_DEADLINE_HOURS) == LINK_KEY_GRACE


# ---------------------------------------------------------------- Slack


def test_slack_signing_test_vector_verifies() -> None:
    vector = json.loads((SAMPLES / "slack-signing-test-vector.json").read_text())

    class At(Clock):
        def __init__(self, now: float) -> None:
            self._now = now

        def now(self) -> float:
            return self._now

    stamp = int(vector["timestamp"])
    headers = {
        "X-Slack-Request-Timestamp": vector["timestamp"],
        "X-Slack-Signature": vector["signature"],
    }
    assert SignatureVerifier(vector["signing_secret"], At(stamp + 10)).is_valid_request(
        vector["body"], headers
    )
    assert not SignatureVerifier("wrong", At(stamp)).is_valid_request(vector["body"], headers)
    assert not SignatureVerifier(vector["signing_secret"], At(stamp + 301)).is_valid_request(
        vector["body"], headers
    )
    assert slack_timestamp_problem(vector["timestamp"], stamp + 299) is None
    assert "stale" in str(slack_timestamp_problem(vector["timestamp"], stamp + 301))
    assert "stale" in str(slack_timestamp_problem(vector["timestamp"], stamp - 301))
    assert "missing" in str(slack_timestamp_problem(None, stamp))
    assert "malformed" in str(slack_timestamp_problem("12ab", stamp))


def click_body(action_id: str = SLACK_APPROVE_ACTION, value: str = "apv_" + "c" * 22) -> str:
    payload = json.loads((SAMPLES / "slack-docs-example_block_actions_button.json").read_text())
    payload["actions"][0] |= {"action_id": action_id, "value": value}
    return urlencode({"payload": json.dumps(payload)})


def test_a_click_on_our_button_is_parsed_from_slacks_payload() -> None:
    click = parse_slack_click(click_body())
    assert (click.approval_id, click.action, click.user_id) == (
        "apv_" + "c" * 22,
        Action.APPROVE,
        "UA8RXUSPL",
    )
    assert (click.team_id, click.channel_id, click.message_ts) == (
        "T9TK3CUKW",
        "CBR2V3XEX",
        "1548261231.000200",
    )
    assert parse_slack_click(click_body(SLACK_REJECT_ACTION)).action is Action.REJECT
    # a redelivery of the same click has the same key; another click another one
    assert parse_slack_click(click_body()).key == click.key
    assert parse_slack_click(click_body(SLACK_REJECT_ACTION)).key != click.key


@pytest.mark.parametrize(
    "body",
    [
        "",
        "payload=not-json",
        urlencode({"payload": json.dumps({"type": "view_submission"})}),
        click_body(action_id="WaXA"),  # someone else's button
        click_body(value="apv_../../etc"),
    ],
)
def test_other_interactions_are_not_ours(body: str) -> None:
    with pytest.raises(InteractionError):
        parse_slack_click(body)


def test_the_slack_samples_are_block_actions_we_would_not_act_on() -> None:
    for sample in SAMPLES.glob("*block_actions*.json"):
        body = urlencode({"payload": sample.read_text()})
        with pytest.raises(InteractionError, match="not an approval button"):
            parse_slack_click(body)


def test_slack_message_has_evidence_diff_trend_and_confirmed_buttons() -> None:
    blocks = [block.to_dict() for block in request_blocks(approval(), decided=False)]
    text = json.dumps(blocks, ensure_ascii=False)
    assert blocks[0]["type"] == "header"
    assert "gradual drift on 'tenure'" in text
    assert "▁▂▅█" in text
    assert "auc: 0.91 → 0.84 (-7.7%, worse)" in text
    assert "mae: 2 → 2.5 (+25.0%, worse)" in text
    (actions,) = [b for b in blocks if b["type"] == "actions"]
    buttons = {e["action_id"]: e for e in actions["elements"]}
    assert set(buttons) == {SLACK_APPROVE_ACTION, SLACK_REJECT_ACTION}
    assert all(b["value"] == "apv_" + "a" * 22 and "confirm" in b for b in buttons.values())


def test_decided_message_replaces_the_buttons_with_who_and_when() -> None:
    decided = approval(
        status="approved",
        decided_by="U0ADA",
        decided_channel="slack",
        decided_at="2026-07-01T13:00Z",
    )
    blocks = [block.to_dict() for block in request_blocks(decided, decided=True)]
    assert not [b for b in blocks if b["type"] == "actions"]
    assert "Approved by <@U0ADA> via slack at 2026-07-01T13:00Z" in json.dumps(
        blocks, ensure_ascii=False
    )


# ---------------------------------------------------------------- pages and email text


def test_confirmation_page_is_accessible_and_script_free() -> None:
    view = pages.ApprovalView(
        approval_id="apv_" + "a" * 22,
        request=request(evidence=TRIAGE_SUMMARY, reasons=["<script>alert(1)</script>"]).described(),
        deadline="2026-07-02T12:00:00Z",
        status="pending",
    )
    html = pages.confirmation_page(
        view, Action.APPROVE, "lead@example.com", {"sig": '"><b>', "expires": "1"}
    )
    assert html.startswith('<!doctype html><html lang="en">')
    assert html.count("<h1>") == 1
    assert "<main>" in html
    assert '<label for="reason">' in html
    assert 'id="reason"' in html
    assert '<form method="post" action="">' in html
    assert "<script" not in html  # escaped, never rendered
    assert "&lt;script&gt;" in html
    assert "&quot;&gt;&lt;b&gt;" in html
    assert re.search(r'<th scope="col">Metric</th>', html)


def _view(status: str = "pending", **decided: str) -> pages.ApprovalView:
    return pages.ApprovalView(
        approval_id="apv_" + "a" * 22,
        request=request().described(),
        deadline="2026-07-02T12:00:00Z",
        status=status,
        decided=decided,
    )


def test_a_link_claim_reads_the_query_and_carries_itself_to_the_form() -> None:
    fields = {"approver": "lead@example.com", "expires": "1780000000", "sig": "ab" * 32}
    claim = LinkClaim.from_fields("apv_" + "a" * 22, "approve", fields | {"kid": "v2", "x": "1"})
    assert (claim.approver, claim.expires, claim.signature, claim.key_id) == (
        "lead@example.com",
        "1780000000",
        "ab" * 32,
        "v2",
    )
    assert claim.form_fields() == fields | {"kid": "v2"}
    # A link from before key rotation names no key: its form names none either.
    unversioned = LinkClaim.from_fields("apv_" + "a" * 22, "approve", fields)
    assert unversioned.form_fields() == fields
    assert LinkClaim.from_fields("apv_x", "reject", {}) == LinkClaim("apv_x", "reject", "", "", "")


def test_a_links_page_is_the_form_while_pending_and_the_outcome_after() -> None:
    claim = LinkClaim("apv_" + "a" * 22, "approve", "lead@example.com", "1780000000", "ab" * 32)
    status, html = pages.link_page(_view(), Action.APPROVE, claim)
    assert status == 200
    assert '<form method="post"' in html
    assert f'name="sig" value="{"ab" * 32}"' in html
    decided = _view("approved", decided_by="U0ADA", decided_at="2026-07-01T13:00:00Z")
    status, html = pages.link_page(decided, Action.APPROVE, claim)
    assert status == 200
    assert "<form" not in html
    assert "This approval is approved by U0ADA at 2026-07-01T13:00:00Z." in html
    status, html = pages.link_page(None, Action.APPROVE, claim)
    assert status == 404
    assert "There is no such approval." in html


@pytest.mark.parametrize(
    ("result", "status", "says"),
    [
        ({"status": "recorded", "delivery": "delivered"}, 200, "Recorded: approved by lead@"),
        ({"status": "recorded", "delivery": "pending"}, 200, "has not received it yet"),
        ({"status": "refused", "why": "link expired"}, 409, "Nothing was changed: link expired."),
        ({}, 409, "Nothing was changed: not recorded."),
    ],
)
def test_the_answer_to_a_confirmed_link_says_what_was_recorded(
    result: dict[str, str], status: int, says: str
) -> None:
    code, html = pages.decision_page(result, Action.APPROVE, "lead@example.com", NOW)
    assert code == status
    assert says in html
    if status == 200:
        assert "Thank you: approved" in html
        assert "2026-07-01T12:00:00Z" in html
    assert ("has not received it yet" in html) == (result.get("delivery") == "pending")


def test_pages_are_never_cached_framed_or_leaked_in_a_referer() -> None:
    headers = pages.PAGE_HEADERS
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["Cache-Control"] == "no-store"
    assert headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert "default-src 'none'" in headers["Content-Security-Policy"]


def test_email_text_names_what_is_approved() -> None:
    text = request_text(approval())
    assert 'Title: "Approve retrain of churn?"' in text
    assert 'For: "inc-churn-1"' in text
    assert '- "auc: 0.91 → 0.84 (-7.7%, worse)"' in text


# ---------------------------------------------------------------- configuration


def test_a_gated_retrain_needs_approvers() -> None:
    base = {"model_id": "m", "endpoint_name": "m-prod", "retrain": {"pipeline_name": "p"}}
    gated = base | {"retrain": {"pipeline_name": "p", "require_approval": True}}
    with pytest.raises(ValidationError, match="needs an approvals section"):
        ModelConfig.model_validate(gated)
    config = ModelConfig.model_validate(gated | {"approvals": {"email_approvers": ["a@b.co"]}})
    assert config.approvals is not None
    assert config.approvals.deadline_hours == 24


@pytest.mark.parametrize(
    "approvals",
    [
        {},  # nobody
        {"slack_approvers": ["U1"]},  # no channel to ask in
        {"slack_channel": "C1", "slack_approvers": ["alice"]},
        {"email_approvers": ["not-an-address"]},
        {"email_approvers": ["a@b.co"], "deadline_hours": 0},
    ],
)
def test_bad_approvals_sections_are_refused(approvals: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        ModelConfig.model_validate({"model_id": "m", "endpoint_name": "e", "approvals": approvals})


# ---------------------------------------------------------------- whatever the public door gets


@given(
    body=st.text(max_size=400)
    | st.builds(lambda p: urlencode({"payload": p}), st.text())
    | st.just("payload=" + "[" * 100_000)
    | st.builds(
        lambda user: urlencode(
            {
                "payload": json.dumps(
                    {
                        "type": "block_actions",
                        "user": user,
                        "actions": [
                            {"action_id": SLACK_APPROVE_ACTION, "value": "apv_" + "a" * 22}
                        ],
                    }
                )
            }
        ),
        st.none() | st.text() | st.lists(st.integers()) | st.fixed_dictionaries({"id": st.text()}),
    )
)
def test_parsing_any_body_either_finds_a_click_or_says_why_not(body: str) -> None:
    try:
        click = parse_slack_click(body)
    except InteractionError:
        return  # the one exception it may raise: "not ours", with the reason
    assert is_approval_id(click.approval_id)


@given(stamp=st.text(max_size=30) | st.just("9" * 5000))
def test_any_timestamp_header_is_judged_without_raising(stamp: str) -> None:
    problem = slack_timestamp_problem(stamp, NOW.timestamp())
    assert problem is None or isinstance(problem, str)
    if problem is None:
        assert stamp.isascii()
        assert stamp.isdigit()


@given(
    approval_id=st.text(max_size=30),
    action=st.text(max_size=10) | st.sampled_from(["approve", "reject"]),
    approver=st.text(max_size=30),
    expires=st.text(max_size=20) | st.just("9" * 5000) | st.just("²"),
    signature=st.text(max_size=70) | st.just("0" * 64),
)
def test_any_link_claim_is_judged_without_raising(
    approval_id: str, action: str, approver: str, expires: str, signature: str
) -> None:
    why = link_refusal(KEY, LinkClaim(approval_id, action, approver, expires, signature), NOW)
    assert why is not None, "only a genuinely signed link is honoured"


# ---------------------------------------------------------------- Slack group membership


def test_group_membership_is_cached_for_minutes_not_for_the_environments_life(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import time

    from mlops_runtime.approval_channels import Slack

    members = {"S0ONCALL": ["U0GRACE"]}
    calls: list[str] = []

    class FakeWebClient:
        def usergroups_users_list(self, usergroup: str) -> dict[str, list[str]]:
            calls.append(usergroup)
            return {"users": list(members[usergroup])}

    now = [1000.0]
    monkeypatch.setattr(time, "monotonic", lambda: now[0])
    slack = Slack("arn:aws:secretsmanager:us-east-1:1:secret:bot", "https://slack.test/api/")
    monkeypatch.setattr(slack, "_client", FakeWebClient)
    assert slack.group_members("S0ONCALL") == ["U0GRACE"]
    members["S0ONCALL"] = []  # grace leaves the on-call group
    now[0] += 60
    assert slack.group_members("S0ONCALL") == ["U0GRACE"], "cached within the minutes"
    assert calls == ["S0ONCALL"]
    now[0] += 300
    assert slack.group_members("S0ONCALL") == [], "a removed member loses the right"
    assert calls == ["S0ONCALL", "S0ONCALL"]


@pytest.mark.parametrize(
    ("click", "why"),
    [
        (("T1", "C1", "1.1"), None),
        (("T1", "C2", "1.1"), "did not come from the approval's message"),
        (("T1", "C1", "1.2"), "did not come from the approval's message"),
        (("T2", "C1", "1.1"), "another Slack workspace"),
    ],
)
def test_a_click_counts_only_from_the_message_the_request_was_posted_as(
    click: tuple[str, str, str], why: str | None
) -> None:
    found = slack_origin_refusal(click, ("T1", "C1", "1.1"))
    assert found is None if why is None else why in str(found)
    assert "not posted in Slack" in str(slack_origin_refusal(click, (None, None, None)))


# ---------------------------------------------------------------- delivering a recorded decision


class _Store:
    def __init__(self, approval: Approval) -> None:
        self.approval = approval
        self.notes: list[tuple[str, bool]] = []

    def note_delivery(self, approval_id: str, result: str, done: bool) -> None:
        self.notes.append((result, done))

    def get(self, approval_id: str) -> Approval:
        return self.approval


@pytest.mark.parametrize(("hours_after_deadline", "given_up"), [(-1, False), (1, False), (3, True)])
def test_a_failed_delivery_stays_pending_until_no_task_can_be_waiting(
    monkeypatch: pytest.MonkeyPatch, hours_after_deadline: int, given_up: bool
) -> None:
    from mlops_runtime.approval_service import ApprovalService

    decided = approval(status="approved", delivery="pending", decided_by="U0ADA")
    store = _Store(decided)
    now = decided.deadline + timedelta(hours=hours_after_deadline)
    service = ApprovalService(store, ledger=None, clock=lambda: now)  # type: ignore[arg-type]

    def unavailable(_: Approval) -> str:
        raise TimeoutError("Step Functions did not answer")

    monkeypatch.setattr(service, "_send_task_result", unavailable)
    service.deliver(decided)
    ((result, done),) = store.notes
    assert done is given_up
    assert "TimeoutError" in result
    assert result.startswith("not delivered" if given_up else "pending")
