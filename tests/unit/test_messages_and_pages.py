"""What people see: links, severity, owners and dates in messages; charts on the pages.

Messages: every notification links to where the details are (the Step Functions execution, the
monitoring report, the runbook), names the model's owners (Slack ids as mentions, the rest as
text) and shows times as Slack dates with a relative deadline; a promotion's shadow numbers are
a side-by-side, never "worse". Pages: the decision button comes before the evidence, a decided
or evidence page asks nothing, charts are inline SVG with escaped labels and no style
attribute, and an evidence link can never decide.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html import unescape

import pytest
from mlops_core import approval_pages as pages
from mlops_core import messages, slack_text
from mlops_core.approvals import (
    VIEW_PURPOSE,
    Action,
    ApprovalRequest,
    Approvers,
    LinkClaim,
    LinkKey,
    link_refusal,
    link_signature,
)
from mlops_core.evidence_charts import evidence_charts
from mlops_core.incidents import IncidentKind, IncidentState, Severity, Status, Transition
from mlops_core.links import execution_console_url, s3_console_url, safe_url
from mlops_core.notification import Notification
from mlops_core.promotion.shadow_table import message_lines, table_lines
from mlops_core.svg_charts import Pair, line_against, paired_bars
from mlops_runtime.approval_channels import (
    approval_links,
    decider,
    evidence_link,
    request_blocks,
    request_email,
)
from mlops_runtime.approvals import Approval
from mlops_runtime.model_config import ModelConfig
from mlops_runtime.notify import webhook_message
from mlopscp.slack_standin import displayed, live_markup
from pydantic import ValidationError

from tests.untrusted_text import HOSTILE, assert_slack_inert

NOW = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
EXECUTION = "arn:aws:states:eu-west-1:123456789012:execution:mlopscp-drift-response:run-1"
CONTEXT = messages.Context(
    owners=["U0ADA", "S0ONCALL", "@ml-platform", "oncall@example.com"],
    runbook_url="https://wiki.example.com/runbooks/churn",
    execution_arn=EXECUTION,
    report_uri="s3://monitoring-bucket/churn/data-quality/2026/07/01/12/constraint_violations.json",
)
SHADOW_EVIDENCE = {
    "production": {"invocations": 2000, "errors_4xx": 4, "errors_5xx": 2, "p99_latency_ms": 41.0},
    "shadow": {"invocations": 1000, "errors_4xx": 1, "errors_5xx": 1, "p99_latency_ms": 44.5},
    "agreement": {"compared": 1, "agreeing": 1, "share": 1.0},
}


def incident(**extra: object) -> IncidentState:
    fields: dict[str, object] = {
        "incident_id": "inc-churn-0123456789ab",
        "model_id": "churn",
        "kind": IncidentKind.INVESTIGATE,
        "status": Status.OPEN,
        "fingerprint": ("integrity_violation:tenure",),
        "severity": Severity.CRITICAL,
        "opened_at": NOW - timedelta(hours=3),
        "last_seen_at": NOW - timedelta(minutes=5),
        "last_run": "k1",
        "version": 1,
    } | extra
    return IncidentState(**fields)  # type: ignore[arg-type]


def page() -> Notification:
    return messages.incident(
        Transition.OPENED,
        incident(),
        "integrity violation on tenure",
        summary={
            "sparkline": "▁▃█",
            "sparkline_of": "tenure: drift as a multiple of its threshold",
        },
        context=CONTEXT,
    )


# ---------------------------------------------------------------- links


def test_links_are_https_console_pages_or_nothing() -> None:
    assert execution_console_url(EXECUTION) == (
        "https://eu-west-1.console.aws.amazon.com/states/home?region=eu-west-1"
        f"#/v2/executions/details/{EXECUTION}"
    )
    assert execution_console_url("not an arn") == ""
    assert s3_console_url("s3://b-1/a b/c.json", "eu-west-1") == (
        "https://s3.console.aws.amazon.com/s3/object/b-1?region=eu-west-1&prefix=a%20b/c.json"
    )
    assert s3_console_url("https://b/x") == ""
    for bad in ("javascript:alert(1)", "http://wiki.example.com", "https://", "runbook"):
        assert safe_url(bad) == ""
    assert safe_url("http://127.0.0.1:8080/approvals/x/view") != ""  # the local stack only
    # Nothing in a link can close Slack's <url|label> or an HTML attribute.
    assert safe_url('https://x.example/a|b>c"d <e') == "https://x.example/a%7Cb%3Ec%22d%20%3Ce"


def test_slack_dates_say_when_in_each_readers_zone_and_how_far_away() -> None:
    when = NOW + timedelta(hours=23)
    token = slack_text.date(when, NOW)
    assert token == (
        f"<!date^{int(when.timestamp())}^{{date_short_pretty}} {{time}}|2026-07-02 11:00 UTC>"
        " (in 23 h)"
    )
    assert slack_text.relative(NOW - timedelta(minutes=20), NOW) == "20 min ago"
    assert slack_text.relative(NOW + timedelta(days=3), NOW) == "in 3 d"


# ---------------------------------------------------------------- incident messages


def test_an_incident_page_links_names_owners_and_shows_severity_in_slack() -> None:
    message = webhook_message(page())
    shown = displayed(message)
    markup = {m.kind: m.source for m in live_markup(message)}
    sources = [m.source for m in live_markup(message)]
    assert "critical" in shown
    assert "<@U0ADA>" in sources
    assert "<!subteam^S0ONCALL>" in sources
    assert "@ml-platform, oncall@example.com" in shown  # names as text, not mentions
    links = [m.source for m in live_markup(message) if m.kind == "link"]
    assert [link.rsplit("|", 1)[1] for link in links] == [
        "View details>",
        "Monitoring report>",
        "Runbook>",
    ]
    assert links[0].startswith("<https://eu-west-1.console.aws.amazon.com/states/")
    assert markup["date"].startswith("<!date^")
    assert "ago)" in shown  # opened / last seen, relative to now
    assert "▁▃█ (tenure: drift as a multiple of its threshold)" in shown


def test_an_incident_email_puts_its_links_first_and_quotes_the_owners() -> None:
    body = page().as_text()
    lines = body.splitlines()
    assert lines[2].startswith("View details: https://eu-west-1.console.aws.amazon.com/states/")
    assert lines[3].startswith("Monitoring report: https://s3.console.aws.amazon.com/s3/object/")
    assert lines[4] == "Runbook: https://wiki.example.com/runbooks/churn"
    assert 'owners: "U0ADA, S0ONCALL, @ml-platform, oncall@example.com"' in lines
    assert "severity: critical" in lines
    assert "opened: 2026-07-01T09:00+00:00" in lines


def test_hostile_owners_and_runbook_stay_inert() -> None:
    context = messages.Context(
        owners=["U0ADA", HOSTILE], runbook_url="https://wiki.example.com/x|<!here>*b* y"
    )
    notification = messages.incident(Transition.OPENED, incident(), "x", context=context)
    message = webhook_message(notification)
    assert_slack_inert(message, allowed_mentions={"<@U0ADA>"})
    (link,) = [m.source for m in live_markup(message) if m.kind == "link"]
    assert link == "<https://wiki.example.com/x%7C%3C!here%3E%2Ab%2A%20y|Runbook>"


# ---------------------------------------------------------------- model configuration


def test_owners_and_runbook_are_validated_in_the_model_configuration() -> None:
    base = {"model_id": "churn", "endpoint_name": "churn-endpoint"}
    good = ["U0ADA", "W0ADA", "S0ONCALL", "@ml-platform", "ml-platform", "a.b@example.com"]
    model = ModelConfig.model_validate(
        base | {"owners": good, "runbook_url": "https://wiki.example.com/churn"}
    )
    assert model.owners == good
    for bad in ("<!channel>", "<@U0ADA>", "@@x", "two words", "U0A|x"):
        with pytest.raises(ValidationError):
            ModelConfig.model_validate(base | {"owners": [bad]})
    for bad_url in ("http://wiki.example.com", "javascript:alert(1)", "https://"):
        with pytest.raises(ValidationError):
            ModelConfig.model_validate(base | {"runbook_url": bad_url})


# ---------------------------------------------------------------- approval messages


def approval(**extra: object) -> Approval:
    request = ApprovalRequest(
        kind="promotion",
        model_id="churn",
        subject="churn v7",
        execution=EXECUTION,
        verdict="shadow test passed",
        evidence={"verdict": SHADOW_EVIDENCE},
    )
    fields: dict[str, object] = {
        "approval_id": "apv_" + "a" * 22,
        "status": "pending",
        "model_id": "churn",
        "request": request,
        "approvers": Approvers(slack_channel="C1", slack_users=["U0ADA"], emails=["a@example.com"]),
        "deadline": NOW + timedelta(hours=24),
        "created_at": NOW,
    } | extra
    return Approval(**fields)  # type: ignore[arg-type]


def test_the_shadow_table_is_a_side_by_side_not_a_before_and_after() -> None:
    lines = message_lines(SHADOW_EVIDENCE)
    assert lines[0] == (
        "invocations: production 2000, shadow 1000 (the shadow gets a sample of production's "
        "traffic)"
    )
    assert "p99 latency ms: production 41.0, shadow 44.5" in lines
    assert lines[-1] == "agreement: 1 of 1 paired predictions agree (100.00%)"
    assert not [line for line in lines if "worse" in line or "better" in line or "→" in line]
    # The CLI prints the same rows as columns.
    assert table_lines(SHADOW_EVIDENCE)[1].split() == ["invocations", "2000", "1000"]


def test_an_approval_message_links_to_its_evidence_and_dates_its_deadline() -> None:
    blocks = [b.to_dict() for b in request_blocks(approval(), False, "https://cb.example/v")]
    message = {"blocks": blocks}
    links = [m.source for m in live_markup(message) if m.kind == "link"]
    assert links[0] == "<https://cb.example/v|View details>"
    assert links[1].endswith("|Workflow execution>")
    shown = displayed(message)
    assert "Production vs shadow" in shown
    assert "invocations: production 2000, shadow 1000" in shown
    date = r"<!date\^\d+\^\{date_short_pretty\} \{time\}\|2026-07-02 12:00 UTC> \((in .*|.* ago)\)"
    assert re.search(date, shown)


def test_an_approval_email_carries_its_view_details_link() -> None:
    key = LinkKey("v1", b"k" * 64, NOW)
    item = approval()
    view = evidence_link(key, "https://cb.example/", item, "a@example.com")
    body = request_email(
        item,
        approval_links(key, "https://cb.example/", item, "a@example.com"),
        "a@example.com",
        view,
    )
    assert f"View details: {view}" in body.splitlines()
    assert "Workflow execution: https://eu-west-1.console.aws.amazon.com/states/" in body


def test_a_slack_decider_is_named_by_name_with_the_id() -> None:
    decided = approval(status="approved", decided_by="U0ADA", decided_by_name="Ada Lovelace")
    assert decider(decided) == "Ada Lovelace (U0ADA)"
    assert decider(approval(status="approved", decided_by="a@example.com")) == "a@example.com"


# ---------------------------------------------------------------- evidence links


def test_an_evidence_link_shows_and_can_never_decide() -> None:
    key = LinkKey("v1", b"k" * 64, NOW)
    url = evidence_link(key, "https://cb.example/", approval(), "slack:C1")
    path, query = url.split("?")
    assert path == f"https://cb.example/approvals/apv_{'a' * 22}/{VIEW_PURPOSE}"
    fields = dict(part.split("=", 1) for part in query.split("&"))
    fields["approver"] = "slack:C1"
    claim = LinkClaim.from_fields("apv_" + "a" * 22, VIEW_PURPOSE, fields)
    keys = {"v1": key.secret}
    assert link_refusal(keys, claim, NOW, frozenset({VIEW_PURPOSE})) is None
    # It outlives the deadline by a week, then it expires.
    assert link_refusal(keys, claim, NOW + timedelta(days=7), frozenset({VIEW_PURPOSE})) is None
    later = NOW + timedelta(days=9)
    assert link_refusal(keys, claim, later, frozenset({VIEW_PURPOSE})) == "link expired"
    # On the decision paths (and in the decider) it is refused, whatever it claims.
    assert link_refusal(keys, claim, NOW) == "malformed link"
    for action in Action:
        as_decision = LinkClaim.from_fields("apv_" + "a" * 22, str(action), fields)
        assert "does not match" in str(link_refusal(keys, as_decision, NOW))
    assert link_signature(key.secret, "apv_x", VIEW_PURPOSE, "a", 1, "v1") != link_signature(
        key.secret, "apv_x", Action.APPROVE, "a", 1, "v1"
    )


# ---------------------------------------------------------------- charts and pages


def test_a_chart_escapes_its_labels_and_uses_no_style_attribute() -> None:
    chart = line_against(
        "<script>x</script>",
        [0.5, 0.7, None, 1.4, 2.0],
        1.0,
        "threshold",
        "x",
        ["2026-07-01T00", "2026-07-01T03"],
    )
    assert "<script>" not in chart
    assert "&lt;script&gt;" in chart
    assert "style=" not in chart
    assert 'viewBox="0 0 320 120" width="100%"' in chart
    assert chart.count("<polyline") == 2  # the gap breaks the line
    assert len(re.findall(r'<circle [^>]*fill="#b3261e"', chart)) == 2  # two above the threshold
    assert "latest 2x, threshold 1x" in unescape(chart)
    assert line_against("empty", [None, None], 1.0, "threshold") == ""
    bars = paired_bars("latency", [Pair("p99 <ms>", 40.0, 45.0)], ("production", "shadow"))
    assert "p99 &lt;ms&gt;" in bars
    assert "style=" not in bars
    assert paired_bars("nothing", [Pair("x", None, None)], ("a", "b")) == ""


def test_evidence_draws_drift_quality_and_shadow_charts() -> None:
    summary = {
        "drift": [
            {
                "feature": "tenure",
                "values": [None, 1.2, 1.8],
                "reference": 1.0,
                "unit": "x",
                "at": ["a", "b", "c"],
            },
            {"feature": "age", "values": [0.05, 0.2], "reference": 0.1, "unit": "wasserstein"},
            {"feature": "bad", "values": "not a list", "reference": 1.0},
        ],
        "quality": [
            {
                "metric": "auc",
                "direction": "higher_is_better",
                "baseline": 0.91,
                "values": [0.91, 0.9, 0.84],
            }
        ],
    }
    charts = evidence_charts(summary)
    assert len(charts) == 3
    assert "tenure: distance as a multiple of its threshold" in charts[0]
    assert "age: wasserstein against its threshold" in charts[1]
    assert "auc per monitoring run (higher is better)" in charts[2]
    shadow = evidence_charts({"verdict": SHADOW_EVIDENCE})
    assert [("p99 model latency" in c, "Error rates" in c) for c in shadow] == [
        (True, False),
        (False, True),
    ]


def _view(status: str = "pending", **decided: str) -> pages.ApprovalView:
    request = ApprovalRequest(
        kind="retrain",
        model_id="churn",
        subject="inc-churn-1",
        reasons=["gradual drift on 'tenure'"],
        evidence={
            "drift": [{"feature": "tenure", "values": [1.1, 1.5], "reference": 1.0, "unit": "x"}]
        },
    )
    return pages.ApprovalView("apv_" + "a" * 22, request, "2026-07-02T12:00:00Z", status, decided)


def test_the_decision_button_comes_before_the_evidence() -> None:
    claim = LinkClaim("apv_" + "a" * 22, "approve", "lead@example.com", "1780000000", "ab" * 32)
    _, html = pages.link_page(_view(), "approve", claim)
    assert html.index('<button class="decide"') < html.index("<h2>")
    assert html.index("<h2>Evidence in charts</h2>") < html.index("<svg")
    assert "style=" not in html


def test_an_evidence_page_and_a_decided_page_ask_nothing() -> None:
    claim = LinkClaim("apv_" + "a" * 22, VIEW_PURPOSE, "slack:C1", "1780000000", "ab" * 32)
    status, html = pages.link_page(_view(), VIEW_PURPOSE, claim)
    assert status == 200
    assert "<form" not in html
    assert "<button" not in html
    assert "Waiting for a decision until 2026-07-02T12:00:00Z." in html
    assert "<svg" in html
    decided = _view("approved", decided_by="Ada Lovelace (U0ADA)", decided_at="2026-07-01T13:00Z")
    _, html = pages.link_page(decided, VIEW_PURPOSE, claim)
    assert "This approval is approved by Ada Lovelace (U0ADA) at 2026-07-01T13:00Z." in html
    assert "The retraining pipeline starts now" in html


def test_the_success_page_says_what_happens_next() -> None:
    result = {"status": "recorded", "delivery": "delivered", "kind": "promotion"}
    _, html = pages.decision_page(result, Action.REJECT, "lead@example.com", NOW)
    assert "<h2>What happens next</h2>" in html
    assert "Production keeps its current version" in html


def test_an_unusable_link_says_what_to_do() -> None:
    html = pages.refused_link_page("link signature does not match (forged or altered link)")
    assert "Open the newest message about this approval" in html


def test_the_pages_allow_their_one_style_element_by_hash_and_nothing_inline() -> None:
    policy = pages.PAGE_HEADERS["Content-Security-Policy"]
    assert "unsafe-inline" not in policy
    assert re.search(r"style-src 'sha256-[A-Za-z0-9+/]{43}='", policy)
    assert "script-src" not in policy
    assert "default-src 'none'" in policy


def test_a_quality_chart_marks_the_wrong_side_of_its_baseline_and_scales_to_its_values() -> None:
    # r2: higher is better, so the two points below the baseline are the red ones.
    chart = line_against(
        "r2", [0.70, 0.69, 0.60, 0.56], 0.69, "baseline", bad_above=False, from_zero=False
    )
    assert len(re.findall(r'<circle [^>]*fill="#b3261e"', chart)) == 2
    assert "2 below it" in chart
    assert ">0<" not in chart  # the axis does not start at zero
