"""STS as AWS enforces it where cross-account callers rely on it: trust policies on AssumeRole,
and the signature of GetCallerIdentity.

**AssumeRole trust policies**, the target account's principal list and ExternalId.

moto lets anyone assume any role, existing or not. For a role that EXISTS in the emulated IAM
of its account (for instance a deployer role a workload account's template creates), this
checks its trust policy the way STS does for cross-account callers: an ``Allow`` statement for
``sts:AssumeRole`` whose ``Principal.AWS`` names the caller's account (``arn:aws:iam::<id>:root``
or the bare id) and whose ``StringEquals`` ``sts:ExternalId`` condition, if any, matches the
ExternalId sent. Anything else is ``AccessDenied``, as AWS answers. Roles that do not exist
keep moto's behaviour (the emulator's own ``emu.client(account=...)`` relies on it).
Principal ARN conditions (``aws:PrincipalArn``) are not evaluated: moto's callers are not roles.

**GetCallerIdentity signatures.** moto answers GetCallerIdentity for whatever access key a
request names. A service that learns who signed a request by passing on a signed
GetCallerIdentity (an identity proof) relies on STS for the answer, so here a SigV4-signed
GetCallerIdentity is verified as STS does: the access key must be one the emulator issued (its
own fake credentials, assumed-role or IAM-user keys), the signature over the method, path,
query, signed headers and body must match (botocore's SigV4 canonicalisation, recomputed with
that key's secret), and the request must be signed within 15 minutes. Otherwise
``InvalidClientTokenId`` or ``SignatureDoesNotMatch``, as AWS answers. Unsigned requests keep
moto's behaviour.

Both answer errors STS's model does not define (``AccessDenied``, ``InvalidClientTokenId``,
``SignatureDoesNotMatch``): common errors, HTTP 403, as AWS answers them
(:mod:`mlopscp_emulator.common_errors`).
"""

from __future__ import annotations

import hmac
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import unquote, urlencode

from moto.core.exceptions import ServiceException
from moto.iam.models import iam_backends
from moto.sts.models import STSBackend, sts_backends
from moto.sts.responses import TokenResponse

from mlopscp_emulator._patching import Patches
from mlopscp_emulator.common_errors import CommonError
from mlopscp_emulator.credentials import FAKE_KEY

_patches = Patches()
_installed = False


class AccessDeniedError(CommonError):
    code = "AccessDenied"
    status = 403


class InvalidClientTokenIdError(CommonError):
    code = "InvalidClientTokenId"
    message = "The security token included in the request is invalid."
    status = 403


class SignatureDoesNotMatchError(CommonError):
    code = "SignatureDoesNotMatch"
    status = 403


_AUTHORIZATION = re.compile(
    r"^AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<date>\d{8})/(?P<region>[^/]+)/"
    r"(?P<service>[^/]+)/aws4_request, ?SignedHeaders=(?P<signed>[a-z0-9;-]+), ?"
    r"Signature=(?P<signature>[0-9a-f]{64})$"
)
SIGNATURE_WINDOW = timedelta(minutes=15)


def refusal(
    trust_policy: dict[str, Any], caller_account: str, external_id: str | None, role_arn: str
) -> str | None:
    """Why the trust policy does not let ``caller_account`` assume the role (None: it does)."""
    statements = trust_policy.get("Statement", [])
    for statement in statements if isinstance(statements, list) else [statements]:
        actions = statement.get("Action", [])
        actions = [actions] if isinstance(actions, str) else actions
        if statement.get("Effect") != "Allow" or "sts:AssumeRole" not in actions:
            continue
        principals = (statement.get("Principal") or {}).get("AWS", [])
        principals = [principals] if isinstance(principals, str) else principals
        if not any(
            p in (caller_account, f"arn:aws:iam::{caller_account}:root")
            or p.startswith(f"arn:aws:iam::{caller_account}:")
            for p in principals
        ):
            continue
        wanted = ((statement.get("Condition") or {}).get("StringEquals") or {}).get(
            "sts:ExternalId"
        )
        if wanted is None:
            return None
        wanted = [wanted] if isinstance(wanted, str) else wanted
        if external_id in wanted:
            return None
        return (
            f"User: arn:aws:iam::{caller_account}:root is not authorized to perform: "
            f"sts:AssumeRole on resource: {role_arn} (ExternalId does not match)"
        )
    return (
        f"User: arn:aws:iam::{caller_account}:root is not authorized to perform: "
        f"sts:AssumeRole on resource: {role_arn}"
    )


def _checked(original: Callable[..., Any]) -> Callable[..., Any]:
    def assume_role(backend: STSBackend, **kwargs: Any) -> Any:
        role_arn = str(kwargs.get("role_arn", ""))
        parts = role_arn.split(":")
        if len(parts) == 6 and parts[5].startswith("role/"):
            role = _existing_role(parts[4], parts[5].rsplit("/", 1)[-1])
            if role is not None:
                policy = role.assume_role_policy_document
                document = json.loads(unquote(policy)) if isinstance(policy, str) else policy
                why = refusal(
                    document or {}, backend.account_id, kwargs.get("external_id"), role_arn
                )
                if why:
                    raise AccessDeniedError(why)
        return original(backend, **kwargs)

    return assume_role


def _existing_role(account: str, name: str) -> Any:
    backend = iam_backends[account]["aws"]
    return next((r for r in backend.roles.values() if r.name == name), None)


def signature_problem(
    method: str, url: str, headers: Any, body: bytes, secret_of: Callable[[str], str | None]
) -> ServiceException | None:
    """Why a SigV4 header-signed request is not genuine (None: it is)."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    match = _AUTHORIZATION.match(headers.get("Authorization", ""))
    if not match:
        return SignatureDoesNotMatchError("The request signature is malformed.")
    secret = secret_of(match["key"])
    if secret is None:
        return InvalidClientTokenIdError()
    stamp = headers.get("X-Amz-Date", "")
    try:
        signed_at = datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        return SignatureDoesNotMatchError("The request has no valid X-Amz-Date.")
    if abs(datetime.now(UTC) - signed_at) > SIGNATURE_WINDOW or stamp[:8] != match["date"]:
        return SignatureDoesNotMatchError("Signature expired or not within its credential scope.")
    signed = {name: headers.get(name, "") for name in match["signed"].split(";")}
    request = AWSRequest(method=method, url=url, data=body, headers=signed)
    request.context["timestamp"] = stamp
    auth = SigV4Auth(Credentials(match["key"], secret), match["service"], match["region"])
    expected = auth.signature(
        auth.string_to_sign(request, auth.canonical_request(request)), request
    )
    if not hmac.compare_digest(expected, match["signature"]):
        return SignatureDoesNotMatchError(
            "The request signature we calculated does not match the signature you provided."
        )
    return None


def _secret_of(access_key: str) -> str | None:
    """The secret of an access key the emulator issued (None: not one of them)."""
    if access_key == FAKE_KEY:
        return FAKE_KEY
    for by_region in sts_backends.values():
        for sts in by_region.values():
            role = sts.get_assumed_role_from_access_key(access_key)
            if role is not None:
                return str(role.secret_access_key)
    for by_partition in iam_backends.values():
        for iam in by_partition.values():
            user = iam.get_user_from_access_key_id(access_key)
            for key in iam.list_access_keys(user.name) if user else []:
                if key.access_key_id == access_key:
                    return str(key.secret_access_key)
    return None


def _verified(original: Callable[..., Any]) -> Callable[..., Any]:
    def get_caller_identity(response: TokenResponse) -> Any:
        if "Authorization" in response.headers:
            raw = response.raw_body
            body = raw if isinstance(raw, bytes) else str(raw or "").encode()
            if not body and response.form_data:
                # Parsing the form consumed the body; STS query bodies are plain pairs, so
                # encoding them again in order gives the bytes that were signed.
                body = urlencode(list(response.form_data.items(multi=True))).encode()
            problem = signature_problem(
                response.method, response.uri, response.headers, body, _secret_of
            )
            if problem:
                raise problem
        return original(response)

    return get_caller_identity


def install() -> None:
    """Apply the patches (idempotent)."""
    global _installed
    if not _installed:
        original = _patches.set(STSBackend, "assume_role", None)
        _patches.set(STSBackend, "assume_role", _checked(original))
        identity = _patches.set(TokenResponse, "get_caller_identity", None)
        _patches.set(TokenResponse, "get_caller_identity", _verified(identity))
        _installed = True


def uninstall() -> None:
    global _installed
    _patches.undo()
    _installed = False
