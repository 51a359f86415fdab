"""The HTML pages behind emailed approval links and evidence links: plain, accessible, no
JavaScript, readable on a phone.

Every value is escaped; the pages use landmarks, one ``h1``, labelled form fields and a table
with a caption and header cells, so they read well in a screen reader and in a text browser.
The evidence is also drawn as inline SVG (mlops_core.evidence_charts): no script and no inline
``style`` attribute, so the Content-Security-Policy allows only the page's one ``<style>``
element, by its hash, and nothing else at all.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from html import escape

from mlops_core.approvals import VIEW_PURPOSE, Action, ApprovalRequest, LinkClaim, Status, iso
from mlops_core.evidence_charts import evidence_charts

_STYLE = (
    "body{font-family:system-ui,sans-serif;line-height:1.5;margin:0;padding:1rem;color:#1a1a1a}"
    "main{max-width:42rem;margin:auto}"
    "table{border-collapse:collapse}th,td{border:1px solid #888;padding:.25rem .5rem;"
    "text-align:left}"
    "textarea{width:100%;font:inherit}button{font:inherit;padding:.5rem 1rem}"
    "dt{font-weight:bold}.note{color:#444}"
    ".decide{display:inline-block;background:#1f5fa8;color:#fff;border:0;border-radius:.4rem;"
    "padding:.75rem 1.5rem;font-weight:bold;cursor:pointer}.decide.reject{background:#b3261e}"
    "figure.chart{margin:1rem 0;max-width:100%}svg{max-width:100%;height:auto}"
    "figcaption{font-size:.9rem;color:#444}.status{font-size:1.1rem;font-weight:bold}"
)
_STYLE_HASH = base64.b64encode(hashlib.sha256(_STYLE.encode()).digest()).decode()

# Pages carry signed links in their URL: never leak them in a Referer, never cache or frame them.
PAGE_HEADERS = {
    "Content-Security-Policy": f"default-src 'none'; style-src 'sha256-{_STYLE_HASH}'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}


@dataclass(frozen=True)
class ApprovalView:
    """What a page shows about one approval."""

    approval_id: str
    request: ApprovalRequest
    deadline: str
    status: str
    decided: Mapping[str, str] = field(default_factory=dict)


# What happens once a decision reaches the workflow, per kind of approval.
_NEXT = {
    ("retrain", "approved"): "The retraining pipeline starts now; the model's channel hears when "
    "it finishes or fails, and a new version goes through its own promotion.",
    ("retrain", "rejected"): "No retraining starts; the incident stays open for the model's "
    "owners to investigate.",
    ("promotion", "approved"): "The candidate is deployed to production now (blue/green, with "
    "automatic rollback on alarms); the channel hears when it is done.",
    ("promotion", "rejected"): "Production keeps its current version; the shadow variant is "
    "removed and the promotion ends.",
    ("endpoint_deletion", "approved"): "The endpoint is checked again (still there, on the same "
    "endpoint config, still idle, no promotion using it) and then deleted; its endpoint config "
    "and models are kept, and the ledger holds the command that recreates it.",
    ("endpoint_deletion", "rejected"): "Nothing is deleted; the endpoint keeps running, and the "
    "control plane does not ask again about it on this endpoint config.",
    ("variant_scale_in", "approved"): "The variant is checked again (same endpoint config, still "
    "underused, no promotion running) and then scaled in; the ledger holds how to scale it back.",
    ("variant_scale_in", "rejected"): "Nothing changes; the control plane does not ask again "
    "about this variant on this endpoint config.",
}
UNUSABLE_LINK_HELP = (
    "Nothing was decided. Open the newest message about this approval (Slack or email) and use "
    "its link; if the deadline has passed, the approval expired and counts as rejected. Ask "
    "the model's owners or the platform team if you expected to decide this."
)


def confirmation_page(
    view: ApprovalView, action: Action, approver: str, hidden: Mapping[str, str]
) -> str:
    """GET of a link: what would be decided, the form whose POST decides it near the top, then
    the evidence in words and pictures."""
    verb = "Approve" if action is Action.APPROVE else "Reject"
    request = view.request
    what = escape(request.kind.replace("_", " "))
    form = "".join(
        f'<input type="hidden" name="{escape(name)}" value="{escape(value)}">'
        for name, value in hidden.items()
    )
    css = "decide" if action is Action.APPROVE else "decide reject"
    body = (
        f"<h1>{verb} {what} of {escape(request.model_id)}?</h1>"
        f'<p class="note">Nothing has been decided yet. This link was sent to '
        f"{escape(approver)}; confirming records the decision under that name. "
        f"Deadline: {escape(view.deadline)}.</p>"
        '<form method="post" action="">'
        + form
        + f'<p><button class="{css}" type="submit" name="confirm" value="{escape(str(action))}">'
        f"{verb} {what}</button></p>"
        '<p><label for="reason">Reason (optional, kept in the audit log)</label>'
        '<textarea id="reason" name="reason" rows="3" maxlength="500"></textarea></p></form>'
        + _details(view)
    )
    return _page(f"{verb} {request.kind} of {request.model_id}", body)


def link_page(view: ApprovalView | None, action: str, claim: LinkClaim) -> tuple[int, str]:
    """GET of a genuine link: (HTTP status, page). An evidence link (VIEW_PURPOSE): the read-only
    page. A decision link: the confirmation form while the approval is pending (it carries the
    link on to its POST), else what happened to it."""
    if view is None:
        return 404, result_page("Not found", "There is no such approval. " + UNUSABLE_LINK_HELP)
    if action == VIEW_PURPOSE:
        return evidence_page(view)
    if view.status != Status.PENDING:
        return 200, status_page(view)
    return 200, confirmation_page(view, Action(action), claim.approver, claim.form_fields())


def evidence_page(view: ApprovalView | None) -> tuple[int, str]:
    """GET of a "View details" link: the approval's state and evidence, read only (no form:
    an evidence link is signed for another purpose and can never decide)."""
    if view is None:
        return 404, result_page("Not found", "There is no such approval. " + UNUSABLE_LINK_HELP)
    return 200, status_page(view)


def status_page(view: ApprovalView) -> str:
    """What happened to an approval (or that it waits), with its evidence; never a form."""
    who = view.decided.get("decided_by", "")
    when = view.decided.get("decided_at", "")
    if view.status == Status.PENDING:
        line = f"Waiting for a decision until {escape(view.deadline)}"
    elif view.status == Status.EXPIRED:
        line = (
            f"This approval expired at {escape(when or view.deadline)}: nobody answered "
            "before the deadline, so it counts as rejected"
        )
    else:
        line = f"This approval is {escape(view.status)}"
        if who:
            line += f" by {escape(who)}"
        if when:
            line += f" at {escape(when)}"
    # A statement, not the request's question: this page asks nothing.
    request = view.request
    title = f"{request.kind.replace('_', ' ').capitalize()} of {request.model_id}: {view.status}"
    body = f'<h1>{escape(title)}</h1><p class="status">{line}.</p>'
    outcome = "rejected" if view.status == Status.EXPIRED else str(view.status)
    if nxt := _NEXT.get((request.kind, outcome)):
        body += f"<p>{escape(nxt)}</p>"
    return _page(title, body + _details(view))


def result_page(title: str, message: str) -> str:
    return _page(title, f"<h1>{escape(title)}</h1><p>{escape(message)}</p>")


def refused_link_page(why: str) -> str:
    """A forged, altered, expired or unknown link: why, and what to do instead."""
    return result_page("This link cannot be used", f"{why.capitalize()}. {UNUSABLE_LINK_HELP}")


def decision_page(
    result: Mapping[str, object], action: Action, approver: str, now: datetime
) -> tuple[int, str]:
    """The answer to a confirmation form's POST, from the decider's result: (HTTP status, page)."""
    if result.get("status") == "recorded":
        verb = str(action.outcome)
        message = f"Recorded: {verb} by {approver} at {iso(now)}."
        if result.get("delivery") == "pending":
            message += (
                " The workflow has not received it yet; the control plane delivers it, retrying"
                " every 5 minutes. There is nothing more to do."
            )
        nxt = _NEXT.get(
            (str(result.get("kind", "")), verb),
            "The workflow goes on from here; nothing more to do.",
        )
        return 200, _page(
            f"Thank you: {verb}",
            f"<h1>{escape(f'Thank you: {verb}')}</h1><p>{escape(message)}</p>"
            f"<h2>What happens next</h2><p>{escape(nxt)}</p>",
        )
    why = str(result.get("why", "not recorded"))
    return 409, result_page("Not recorded", f"Nothing was changed: {why}.")


def _details(view: ApprovalView) -> str:
    request = view.request
    facts = {
        "Model": request.model_id,
        "What": request.kind.replace("_", " "),
        "For": request.subject,
        **{f"Version ({k})": v for k, v in request.versions.items()},
        "Verdict": request.verdict or "",
        "Trend": request.trend_line,
        "Deadline": view.deadline,
        "Approval": view.approval_id,
    }
    parts = [
        "<h2>What is being approved</h2><dl>",
        *(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in facts.items() if v),
        "</dl>",
    ]
    if request.reasons:
        parts.append("<h2>Evidence</h2><ul>")
        parts += [f"<li>{escape(reason)}</li>" for reason in request.reasons]
        parts.append("</ul>")
    charts = evidence_charts(request.evidence)
    if charts:
        parts.append("<h2>Evidence in charts</h2>")
        parts += charts
    if request.comparison:
        parts.append("<h2>Production vs shadow</h2><ul>")
        parts += [f"<li>{escape(line)}</li>" for line in request.comparison]
        parts.append("</ul>")
    if request.metrics:
        parts.append(
            "<h2>Metrics</h2><table><caption>Before and after</caption><thead><tr>"
            '<th scope="col">Metric</th><th scope="col">Before</th>'
            '<th scope="col">After</th></tr></thead><tbody>'
        )
        for metric in request.metrics:
            before = "—" if metric.before is None else f"{metric.before:.4g}"
            after = "—" if metric.after is None else f"{metric.after:.4g}"
            parts.append(
                f'<tr><th scope="row">{escape(metric.name)}</th>'
                f"<td>{escape(before)}</td><td>{escape(after)}</td></tr>"
            )
        parts.append("</tbody></table>")
    return "".join(parts)


def _page(title: str, body: str) -> str:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)} · mlops-control-plane</title><style>{_STYLE}</style></head>"
        f"<body><main>{body}</main></body></html>"
    )
