"""Who answered an approval, and how: only from proof the decider checks itself.

Anyone with ``lambda:InvokeFunction`` on the decider can send it anything, so its input names
no actor. Each channel brings the proof it already has, and the decider verifies it:

- ``slack``: the raw interaction as Slack sent it (body, timestamp, signature): the signature
  is checked with the signing secret, then the click is parsed from the signed body. The age
  limit is SLACK_RELAY_WINDOW_SECONDS (the callback hands clicks over asynchronously, and
  Lambda may retry that for up to an hour); replays are the callback's seen-markers' and the
  decision's own business (one attempt decides once).
- ``email``: the link's fields (id, action, approver, expiry, key id, HMAC), checked against
  the link keys; the approver is who the link was signed for.
- ``cli``: a SigV4-signed STS ``GetCallerIdentity`` request the operator's own credentials
  signed, with a signed header naming this decision (approval, outcome, attempt). The decider
  sends it to its own STS endpoint, unchanged: STS answers with the caller's ARN only if the
  signature holds, so the proof is good for this one decision, for minutes, and says who.
- ``deadline``: no proof; the actor is the control plane and the decision can only be
  ``expired`` once the deadline has passed (the decider's rules check that).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from mlops_core.approvals import (
    CONTROL_PLANE,
    EPOCH_PATTERN,
    IDENTITY_BINDING_HEADER,
    STS_IDENTITY_BODY,
    Action,
    Channel,
    InteractionError,
    LinkClaim,
    Outcome,
    SlackClick,
    identity_binding,
    link_refusal,
    parse_slack_click,
)
from pydantic import BaseModel, ConfigDict, Field

from mlops_runtime import refusals
from mlops_runtime.approval_service import Attempt
from mlops_runtime.aws import client
from mlops_runtime.link_keys import LinkKeys
from mlops_runtime.slack_signature import slack_signature_matches

SLACK_RELAY_WINDOW_SECONDS = 3600  # the decider's MaximumEventAgeInSeconds
IDENTITY_PROOF_WINDOW_SECONDS = 300
_SIGNED_HEADERS = re.compile(r"SignedHeaders=([a-z0-9;-]+)")
_FORWARDED = ("authorization", "x-amz-date", "x-amz-security-token", "content-type")


class ProofError(Exception):
    """The answer's proof does not hold; the message says why (for the audit trail)."""


# ---------------------------------------------------------------- what the decider accepts


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SlackAnswer(_Request):
    channel: Literal["slack"]
    body: str = Field(max_length=200_000)
    timestamp: str = Field(max_length=20)
    signature: str = Field(max_length=100)


class EmailAnswer(_Request):
    channel: Literal["email"]
    approval_id: str = Field(max_length=64)
    action: str = Field(max_length=20)
    approver: str = Field(max_length=320)
    expires: str = Field(max_length=20)
    sig: str = Field(max_length=100)
    kid: str = Field("", max_length=64)
    reason: str = Field("", max_length=500)
    attempt_id: str = Field(max_length=200)


class IdentityRequest(_Request):
    """A signed STS GetCallerIdentity request, as the operator's SDK prepared it."""

    url: str = Field(max_length=300)
    headers: dict[str, str]
    body: str = Field(max_length=200)


class CliAnswer(_Request):
    channel: Literal["cli"]
    approval_id: str = Field(max_length=64)
    outcome: Literal["approved", "rejected"]
    reason: str = Field("", max_length=500)
    attempt_id: str = Field(min_length=8, max_length=200)
    identity: IdentityRequest


class DeadlineAnswer(_Request):
    channel: Literal["deadline"]
    approval_id: str = Field(max_length=64)


Answer = Annotated[
    SlackAnswer | EmailAnswer | CliAnswer | DeadlineAnswer, Field(discriminator="channel")
]


def claims_of(event: Any) -> tuple[str, str, str]:
    """(approval id, channel, actor) an unverifiable request claims: evidence, never trusted."""

    def click(body: str) -> tuple[str, str]:
        parsed = parse_slack_click(body)
        return parsed.approval_id, parsed.user_id

    return refusals.claims(event, "approval_id", click, 64)


# ---------------------------------------------------------------- checking them


class Verifier:
    def __init__(self, slack_signing_secret: Callable[[], str], link_keys: LinkKeys) -> None:
        """``slack_signing_secret`` returns the secret ("" when Slack is not configured)."""
        self._slack_secret = slack_signing_secret
        self._link_keys = link_keys

    def attempt(
        self, answer: Any, now: datetime | None = None
    ) -> tuple[Attempt, SlackClick | None]:
        """The verified attempt, and the Slack click it came from (None for other channels)."""
        moment = now or datetime.now(UTC)
        if isinstance(answer, SlackAnswer):
            return self._slack(answer, moment)
        if isinstance(answer, EmailAnswer):
            return self._email(answer, moment), None
        if isinstance(answer, CliAnswer):
            return _cli(answer, moment), None
        return Attempt(
            answer.approval_id,
            Outcome.EXPIRED,
            Channel.DEADLINE,
            CONTROL_PLANE,
            attempt_id=f"expire:{answer.approval_id}",
        ), None

    def _slack(self, answer: SlackAnswer, now: datetime) -> tuple[Attempt, SlackClick]:
        self.check_slack_signature(answer, now)
        try:
            click = parse_slack_click(answer.body)
        except InteractionError as error:
            raise ProofError(f"not an approval click: {error}") from None
        attempt = Attempt(
            approval_id=click.approval_id,
            outcome=click.action.outcome,
            channel=Channel.SLACK,
            actor=click.user_id,
            actor_name=click.user_name,
            attempt_id=click.key,
            slack_origin=(click.team_id, click.channel_id, click.message_ts),
        )
        return attempt, click

    def check_slack_signature(self, answer: SlackAnswer, now: datetime) -> None:
        """Slack signed this body (with our signing secret) within the relay window; else
        ProofError. Approval and incident clicks alike."""
        secret = self._slack_secret()
        if not secret:
            raise ProofError("Slack interactivity is not configured (no signing secret)")
        if not EPOCH_PATTERN.match(answer.timestamp):
            raise ProofError("malformed X-Slack-Request-Timestamp")
        if abs(now.timestamp() - int(answer.timestamp)) > SLACK_RELAY_WINDOW_SECONDS:
            raise ProofError("the Slack request is too old to act on")
        if not slack_signature_matches(secret, answer.timestamp, answer.body, answer.signature):
            raise ProofError("signature does not match (forged or altered request)")

    def _email(self, answer: EmailAnswer, now: datetime) -> Attempt:
        if not self._link_keys.configured:
            raise ProofError("emailed links are not configured")
        claim = LinkClaim(
            answer.approval_id,
            answer.action,
            answer.approver,
            answer.expires,
            answer.sig,
            answer.kid,
        )
        why = link_refusal(self._link_keys.accepted(now, answer.kid), claim, now)
        if why:
            raise ProofError(why)
        return Attempt(
            approval_id=answer.approval_id,
            outcome=Action(answer.action).outcome,
            channel=Channel.EMAIL,
            actor=answer.approver,
            reason=answer.reason.strip(),
            attempt_id=answer.attempt_id,
        )


def _cli(answer: CliAnswer, now: datetime) -> Attempt:
    arn = caller_arn(
        answer.identity,
        identity_binding(answer.approval_id, answer.outcome, answer.attempt_id),
        now,
    )
    return Attempt(
        approval_id=answer.approval_id,
        outcome=Outcome(answer.outcome),
        channel=Channel.CLI,
        actor=arn,
        actor_name=arn.rsplit("/", 1)[-1],
        reason=answer.reason.strip(),
        attempt_id=answer.attempt_id,
    )


def caller_arn(proof: IdentityRequest, binding: str, now: datetime) -> str:
    """Ask STS who signed ``proof`` (for the decision ``binding`` names); raise ProofError."""
    from botocore.awsrequest import AWSRequest
    from botocore.httpsession import URLLib3Session
    from botocore.parsers import create_parser

    sts = client("sts")
    endpoint = sts.meta.endpoint_url.rstrip("/")
    if proof.url.rstrip("/") != endpoint:
        raise ProofError(
            f"the identity proof was signed for {urlsplit(proof.url).netloc}, "
            f"not this region's STS ({urlsplit(endpoint).netloc})"
        )
    if proof.body != STS_IDENTITY_BODY:
        raise ProofError("the identity proof is not a GetCallerIdentity request")
    headers = {k.lower(): v for k, v in proof.headers.items()}
    signed = _SIGNED_HEADERS.search(headers.get("authorization", ""))
    if not signed or IDENTITY_BINDING_HEADER.lower() not in signed.group(1).split(";"):
        raise ProofError("the identity proof does not name the decision it was made for")
    _check_fresh(headers.get("x-amz-date", ""), now)
    forwarded = {k: v for k, v in headers.items() if k in _FORWARDED}
    forwarded[IDENTITY_BINDING_HEADER] = binding  # ours: the signature must cover this value
    request = AWSRequest(method="POST", url=endpoint + "/", data=proof.body, headers=forwarded)
    response = URLLib3Session(timeout=10).send(request.prepare())
    operation = sts.meta.service_model.operation_model("GetCallerIdentity")
    parsed = create_parser("query").parse(
        {
            "status_code": response.status_code,
            "headers": response.headers,
            "body": response.content,
        },
        operation.output_shape,
    )
    if response.status_code != 200 or "Arn" not in parsed:
        code = parsed.get("Error", {}).get("Code", str(response.status_code))
        raise ProofError(f"STS did not confirm the caller's identity: {code}")
    return str(parsed["Arn"])


def _check_fresh(amz_date: str, now: datetime) -> None:
    try:
        signed_at = datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        raise ProofError("the identity proof has no valid X-Amz-Date") from None
    if abs((now - signed_at).total_seconds()) > IDENTITY_PROOF_WINDOW_SECONDS:
        raise ProofError("the identity proof is too old (signed more than 5 minutes ago)")
