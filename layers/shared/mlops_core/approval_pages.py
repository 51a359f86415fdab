"""The HTML pages behind emailed approval links: plain, accessible, no JavaScript.

Every value is escaped; the pages use landmarks, one ``h1``, labelled form fields and a table
with a caption and header cells, so they read well in a screen reader and in a text browser.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from html import escape

from mlops_core.approvals import Action, ApprovalRequest, LinkClaim, Status, iso

_STYLE = (
    "body{font-family:system-ui,sans-serif;line-height:1.5;margin:0;padding:1rem;color:#1a1a1a}"
    "main{max-width:42rem;margin:auto}"
    "table{border-collapse:collapse}th,td{border:1px solid #888;padding:.25rem .5rem;"
    "text-align:left}"
    "textarea{width:100%;font:inherit}button{font:inherit;padding:.5rem 1rem}"
    "dt{font-weight:bold}.note{color:#444}"
)

# Pages carry signed links in their URL: never leak them in a Referer, never cache or frame them.
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
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


def confirmation_page(
    view: ApprovalView, action: Action, approver: str, hidden: Mapping[str, str]
) -> str:
    """GET of a link: what would be decided, and a form whose POST decides it."""
    verb = "Approve" if action is Action.APPROVE else "Reject"
    request = view.request
    form = "".join(
        f'<input type="hidden" name="{escape(name)}" value="{escape(value)}">'
        for name, value in hidden.items()
    )
    body = (
        f"<h1>{verb} {escape(request.kind.replace('_', ' '))} of {escape(request.model_id)}?</h1>"
        f'<p class="note">Nothing has been decided yet. This link was sent to '
        f"{escape(approver)}; confirming records the decision under that name.</p>"
        + _details(view)
        + '<h2>Your decision</h2><form method="post" action="">'
        + form
        + '<p><label for="reason">Reason (optional, kept in the audit log)</label>'
        '<textarea id="reason" name="reason" rows="3" maxlength="500"></textarea></p>'
        f'<p><button type="submit" name="confirm" value="{escape(str(action))}">'
        f"{verb} {escape(request.kind.replace('_', ' '))}</button></p></form>"
    )
    return _page(f"{verb} {request.kind} of {request.model_id}", body)


def link_page(view: ApprovalView | None, action: Action, claim: LinkClaim) -> tuple[int, str]:
    """GET of a genuine link: (HTTP status, page). The confirmation form while the approval is
    pending (it carries the link on to its POST), else what happened to it."""
    if view is None:
        return 404, result_page("Not found", "There is no such approval.")
    if view.status != Status.PENDING:
        return 200, status_page(view)
    return 200, confirmation_page(view, action, claim.approver, claim.form_fields())


def status_page(view: ApprovalView) -> str:
    """GET of a link whose approval is no longer pending: what happened, no form."""
    who = view.decided.get("decided_by", "")
    when = view.decided.get("decided_at", "")
    line = f"This approval is {escape(view.status)}"
    if who:
        line += f" by {escape(who)}"
    if when:
        line += f" at {escape(when)}"
    body = f"<h1>{escape(view.request.headline)}</h1><p>{line}.</p>" + _details(view)
    return _page(view.request.headline, body)


def result_page(title: str, message: str) -> str:
    return _page(title, f"<h1>{escape(title)}</h1><p>{escape(message)}</p>")


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
        return 200, result_page(f"Thank you: {verb}", message)
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
