"""Fuzzing the two verifiers anyone on the internet can reach: Slack's request signature (the
approval callback's door, ``ApprovalDoor.slack_refusal``, and the decider's own check,
``approval_proofs.Verifier.check_slack_signature``) and the signed email links
(``ApprovalDoor.link_refusal`` on a link's query or its form, and the decider's ``Verifier``).

The properties, for any signature, timestamp, body or query: no unhandled exception; a refusal
says what was wrong; and nothing is accepted but a correctly signed, fresh input for its purpose.
The positive cases are signed here from the key (Slack: its published signing test vector, in
tests/fixtures/samples/slack; links: the product's own link maker), and their one-field
mutations must all be refused.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from unittest import mock
from urllib.parse import parse_qs, urlsplit

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from mlops_core.approvals import (
    SLACK_WINDOW_SECONDS,
    VIEW_PURPOSE,
    Action,
    ApprovalRequest,
    Approvers,
    LinkClaim,
    LinkKey,
)
from mlops_runtime import approval_door
from mlops_runtime.approval_channels import approval_links, evidence_link
from mlops_runtime.approval_door import ApprovalDoor, body_text
from mlops_runtime.approval_proofs import (
    SLACK_RELAY_WINDOW_SECONDS,
    EmailAnswer,
    ProofError,
    SlackAnswer,
    Verifier,
)
from mlops_runtime.approvals import Approval
from mlops_runtime.link_keys import LinkKeys

VECTOR = json.loads(
    (
        Path(__file__).resolve().parents[1]
        / "fixtures"
        / "samples"
        / "slack"
        / "slack-signing-test-vector.json"
    ).read_text()
)
SECRET = VECTOR["signing_secret"]
STAMP = int(VECTOR["timestamp"])
FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
CURRENT = LinkKey("v-current", b"c" * 64, datetime.now(UTC) - timedelta(days=1))
BASE = "https://door.lambda-url.eu-west-1.on.aws/"


def signed(body: str, timestamp: str, secret: str = SECRET) -> str:
    """Slack's v0 signature, computed from its documentation (not from slack_sdk)."""
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


class Keys(LinkKeys):
    """The link keys as Secrets Manager would give them: one current version."""

    def __init__(self) -> None:
        super().__init__("arn:aws:secretsmanager:eu-west-1:111122223333:secret:links")

    def _read(self) -> tuple[LinkKey, LinkKey | None]:
        return CURRENT, None


@pytest.fixture(scope="module")
def door() -> Iterator[ApprovalDoor]:
    with mock.patch.object(approval_door, "secret_text", return_value=SECRET):
        yield ApprovalDoor(
            store=mock.Mock(),
            ledger=mock.Mock(),
            link_keys=Keys(),
            decider_function="decider",
            slack_signing_secret_arn="arn:aws:secretsmanager:eu-west-1:1:secret:slack",
            state_table="state",
        )


@pytest.fixture(scope="module")
def proofs() -> Verifier:
    return Verifier(lambda: SECRET, Keys())


def _raised(call: Callable[[], object]) -> Exception | None:
    """What ``call`` raised (the test judges it: anything but ProofError fails it), or None."""
    try:
        call()
    except Exception as error:
        return error
    return None


# -- Slack ------------------------------------------------------------------------------------

bodies = (
    st.text(max_size=300)
    | st.just(VECTOR["body"])
    # a Function URL's base64 body, as the callback decodes it ("" stands for "not UTF-8")
    | st.builds(
        lambda raw: body_text(base64.b64encode(raw).decode(), True) or "", st.binary(max_size=60)
    )
)
signatures = (
    st.text(max_size=80)
    | st.builds(lambda h: "v0=" + h, st.text("0123456789abcdef", min_size=64, max_size=64))
    | st.just(VECTOR["signature"])
)


def stamps(now: int) -> st.SearchStrategy[str]:
    return (
        st.text(max_size=20)
        | st.integers(
            now - 2 * SLACK_RELAY_WINDOW_SECONDS, now + 2 * SLACK_RELAY_WINDOW_SECONDS
        ).map(str)
        | st.just("9" * 30)
    )


def fresh_enough(timestamp: str, now: float, window: int) -> bool:
    return (
        timestamp.isascii()
        and timestamp.isdigit()
        and len(timestamp) <= 12
        and abs(now - int(timestamp)) <= window
    )


@FUZZ
@given(data=st.data(), body=bodies, signature=signatures, drop=st.sampled_from(["", "ts", "sig"]))
def test_the_door_judges_any_slack_request_without_raising(
    door: ApprovalDoor, data: st.DataObject, body: str, signature: str, drop: str
) -> None:
    now = STAMP + data.draw(st.integers(-400, 400))
    timestamp = data.draw(stamps(now))
    headers = {"x-slack-request-timestamp": timestamp, "x-slack-signature": signature}
    if drop:  # a header missing
        del headers["x-slack-request-timestamp" if drop == "ts" else "x-slack-signature"]
    why = door.slack_refusal(body, headers, float(now))
    genuine = (
        drop == ""
        and fresh_enough(timestamp, now, SLACK_WINDOW_SECONDS)
        and signature == signed(body, timestamp)
    )
    assert (why is None) == genuine, why
    if why is not None:
        assert any(
            what in why
            for what in ("X-Slack-Request-Timestamp", "stale request", "signature does not match")
        ), why


@FUZZ
@given(
    body=bodies,
    age=st.integers(-SLACK_WINDOW_SECONDS, SLACK_WINDOW_SECONDS),
    change=st.sampled_from(["body", "timestamp", "signature", "secret", "stale"]),
    other=st.text(max_size=60),
)
def test_a_signed_slack_request_changed_in_any_way_is_refused_and_says_why(
    door: ApprovalDoor, body: str, age: int, change: str, other: str
) -> None:
    now = STAMP + 100_000
    timestamp = str(now - age)
    headers = {"x-slack-request-timestamp": timestamp, "x-slack-signature": signed(body, timestamp)}
    assert door.slack_refusal(body, headers, float(now)) is None, "the genuine request"
    if change == "body":
        assume(other != body)
        why = door.slack_refusal(other, headers, float(now))
    elif change == "timestamp":
        moved = str(now - age + (1 if age > 0 else -1))  # still fresh, not what was signed
        why = door.slack_refusal(body, headers | {"x-slack-request-timestamp": moved}, float(now))
    elif change == "signature":
        assume(other != headers["x-slack-signature"])
        why = door.slack_refusal(body, headers | {"x-slack-signature": other}, float(now))
    elif change == "secret":
        headers["x-slack-signature"] = signed(body, timestamp, SECRET + other + "x")
        why = door.slack_refusal(body, headers, float(now))
    else:
        why = door.slack_refusal(body, headers, float(now + 2 * SLACK_WINDOW_SECONDS + 1))
    expected = "stale request" if change == "stale" else "signature does not match"
    assert why is not None
    assert expected in why, why


def test_slacks_published_test_vector_is_accepted_by_both_checks(
    door: ApprovalDoor, proofs: Verifier
) -> None:
    headers = {
        "X-Slack-Request-Timestamp": VECTOR["timestamp"],
        "X-Slack-Signature": VECTOR["signature"],
    }
    lowered = {k.lower(): v for k, v in headers.items()}
    assert door.slack_refusal(VECTOR["body"], lowered, STAMP + 10.0) is None
    answer = SlackAnswer(
        channel="slack",
        body=VECTOR["body"],
        timestamp=VECTOR["timestamp"],
        signature=VECTOR["signature"],
    )
    proofs.check_slack_signature(answer, datetime.fromtimestamp(STAMP + 10, UTC))
    assert "stale" in str(door.slack_refusal(VECTOR["body"], lowered, STAMP + 301.0))


@FUZZ
@given(data=st.data(), body=bodies, signature=signatures)
def test_the_decider_judges_any_slack_answer_without_raising(
    proofs: Verifier, data: st.DataObject, body: str, signature: str
) -> None:
    now = STAMP + data.draw(st.integers(-4000, 4000))
    timestamp = data.draw(stamps(now))
    assume(len(timestamp) <= 20 and len(signature) <= 100)
    answer = SlackAnswer(channel="slack", body=body, timestamp=timestamp, signature=signature)
    genuine = fresh_enough(timestamp, now, SLACK_RELAY_WINDOW_SECONDS) and signature == signed(
        body, timestamp
    )
    refused = _raised(
        lambda: proofs.check_slack_signature(answer, datetime.fromtimestamp(now, UTC))
    )
    if genuine:
        assert refused is None, f"a genuine answer refused: {refused}"
        return
    assert isinstance(refused, ProofError), f"only a genuine, fresh answer passes: {refused!r}"
    assert any(
        what in str(refused)
        for what in ("X-Slack-Request-Timestamp", "too old", "signature does not match")
    ), refused


# -- emailed links ----------------------------------------------------------------------------


def _approval(approval_id: str, hours: int) -> Approval:
    request = ApprovalRequest.model_validate(
        {"kind": "retrain", "model_id": "churn", "subject": "inc-churn-1"}
    )
    now = datetime.now(UTC).replace(microsecond=0)
    return Approval(
        approval_id=approval_id,
        status="pending",  # type: ignore[arg-type]
        model_id="churn",
        request=request,
        approvers=Approvers(emails=["a@example.com"]),
        deadline=now + timedelta(hours=hours),
        created_at=now,
    )


approval_ids = st.text(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-", min_size=22, max_size=22
).map(lambda s: "apv_" + s)
recipients = st.emails() | st.builds(
    lambda c: f"slack:{c}", st.text("C0123456789", min_size=1, max_size=12)
)


def _claim(url: str) -> LinkClaim:
    """What the callback reads from a link: the path's id and purpose, the query's fields."""
    parts = urlsplit(url)
    _, _, approval_id, action = parts.path.split("/")
    fields = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
    return LinkClaim.from_fields(approval_id, action, fields)


def _answer(claim: LinkClaim) -> EmailAnswer:
    return EmailAnswer(
        channel="email",
        approval_id=claim.approval_id[:64],
        action=claim.action[:20],
        approver=claim.approver[:320],
        expires=claim.expires[:20],
        sig=claim.signature[:100],
        kid=claim.key_id[:64],
        attempt_id="email:attempt",
    )


@FUZZ
@given(approval_id=approval_ids, recipient=recipients, hours=st.integers(1, 168))
def test_a_genuine_link_is_honoured_for_its_purpose_only(
    door: ApprovalDoor, proofs: Verifier, approval_id: str, recipient: str, hours: int
) -> None:
    approval = _approval(approval_id, hours)
    for action, url in approval_links(CURRENT, BASE, approval, recipient).items():
        claim = _claim(url)
        assert door.link_refusal(claim) is None, url
        assert proofs.attempt(_answer(claim))[0].outcome == Action(action).outcome
        assert door.link_refusal(claim, viewing=True) == "malformed link", "a decision is no view"
    view = _claim(evidence_link(CURRENT, BASE, approval, recipient))
    assert door.link_refusal(view, viewing=True) is None
    assert door.link_refusal(view) == "malformed link", "the evidence page's link never decides"
    with pytest.raises(ProofError, match="malformed link"):
        proofs.attempt(_answer(view))


LINK_FIELDS = ("approval_id", "action", "approver", "expires", "signature", "key_id")
# What a refusal may say when one field of a genuine link is changed: the change shows as a
# forgery, or the field as malformed, or (a key id) as a key not accepted.
FORGED = "link signature does not match (forged or altered link)"
REASONS = {
    "approval_id": {FORGED},
    "action": {FORGED, "malformed link"},
    "approver": {FORGED, "malformed link"},
    "expires": {FORGED, "malformed link", "link expired"},
    "signature": {FORGED, "malformed link"},
    "key_id": {
        FORGED,
        "malformed link",
        "link signed with a key that is no longer accepted (rotated out)",
    },
}


@FUZZ
@given(
    approval_id=approval_ids,
    recipient=recipients,
    action=st.sampled_from(list(Action)),
    field=st.sampled_from(LINK_FIELDS),
    value=st.text(max_size=80)
    | st.text("0123456789abcdef", min_size=64, max_size=64)
    | st.integers(0, 2**40).map(str),
)
def test_a_link_changed_in_any_field_is_refused_and_says_why(
    door: ApprovalDoor,
    approval_id: str,
    recipient: str,
    action: Action,
    field: str,
    value: str,
) -> None:
    genuine = _claim(approval_links(CURRENT, BASE, _approval(approval_id, 24), recipient)[action])
    before = getattr(genuine, field)
    assume(value != before and not (field == "approver" and value.lower() == before.lower()))
    if field == "action":
        assume(value != str(action))
    changed = LinkClaim(**{f: getattr(genuine, f) for f in LINK_FIELDS} | {field: value})
    why = door.link_refusal(changed)
    assert why in REASONS[field], (field, value, why)


@FUZZ
@given(
    path_id=st.text(max_size=40),
    action=st.text(max_size=12) | st.sampled_from([*Action, VIEW_PURPOSE]),
    query=st.text(max_size=200)
    | st.builds(
        lambda a, e, k, s: f"approver={a}&expires={e}&kid={k}&sig={s}",
        st.text(max_size=30),
        st.text(max_size=14),
        st.text(max_size=20),
        st.text(max_size=70),
    ),
)
def test_any_query_or_form_is_refused_with_a_reason(
    door: ApprovalDoor, proofs: Verifier, path_id: str, action: str, query: str
) -> None:
    fields = {k: v[0] for k, v in parse_qs(query, keep_blank_values=True).items()}
    claim = LinkClaim.from_fields(path_id, str(action), fields)
    for viewing in (False, True):
        why = door.link_refusal(claim, viewing=viewing)
        assert why in {
            FORGED,
            "malformed link",
            "link expired",
            "link signed with a key that is no longer accepted (rotated out)",
        }, why
    refused = _raised(lambda: proofs.attempt(_answer(claim)))
    assert isinstance(refused, ProofError), f"the decider took an unsigned link: {refused!r}"
