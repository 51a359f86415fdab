"""An error response checked against botocore's service model: could AWS have answered it?

``error_problems(service, operation, protocol, status, headers, body)`` parses the raw response
with botocore's own parser for the protocol (what every client does) and names what AWS would
not send: a body the parser cannot read into ``Error.Code`` and ``Error.Message``, a code that
is neither one of the operation's error shapes nor an error AWS answers for every operation
(:data:`COMMON_ERRORS`), and a status other than the one the error shape's
``error.httpStatusCode`` (or the common error's page) gives.
"""

from __future__ import annotations

from typing import Any

import botocore.session
from botocore.awsrequest import HeadersDict
from botocore.parsers import create_parser

# Errors AWS answers for any operation, which service models do not list per operation.
COMMON_ERRORS: dict[str, set[int]] = {
    # AWS's "Common Errors", the same page in every service's API Reference, e.g.
    # https://docs.aws.amazon.com/sagemaker/latest/APIReference/CommonErrors.html and
    # https://docs.aws.amazon.com/awsconsolehelpdocs/latest/gsg/common-errors.html (the pages'
    # editions differ on a few statuses: both are allowed)
    "AccessDeniedException": {400, 403},
    "ExpiredTokenException": {400, 403},
    "IncompleteSignature": {400, 403},
    "InternalFailure": {500},
    "InvalidAction": {400},
    "InvalidClientTokenId": {403},
    "NotAuthorized": {400, 401},
    "OptInRequired": {403},
    "RequestExpired": {400},
    "ServiceUnavailable": {503},
    "ThrottlingException": {400},
    "ValidationError": {400},
    "ValidationException": {400},
    # The query protocol's names (IAM, STS, SNS, CloudWatch): "AccessDenied", 403, as STS
    # answers a denied AssumeRole (IAM User Guide, "Troubleshoot IAM roles": "An error occurred
    # (AccessDenied) when calling the AssumeRole operation"); "Throttling", one of the throttling
    # codes botocore retries (botocore.retries.standard.ThrottledRetryableChecker);
    # "SignatureDoesNotMatch", 403 (IAM User Guide, "Troubleshoot signature errors").
    "AccessDenied": {403},
    "Throttling": {400},
    "SignatureDoesNotMatch": {403},
}
# S3's model leaves its errors out: its API Reference lists them ("Error responses", List of
# error codes, https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html).
S3_ERRORS: dict[str, set[int]] = {
    "AccessDenied": {403},
    "InternalError": {500},
    "NoSuchBucket": {404},
    "NoSuchKey": {404},
    "SlowDown": {503},
}


def service_model(service: str) -> Any:
    return botocore.session.get_session().get_service_model(service)


def modelled_errors(service: str, operation: str) -> dict[str, int | None]:
    """The operation's error shapes: code -> its HTTP status (None where the model gives none)."""
    found: dict[str, int | None] = {}
    for shape in service_model(service).operation_model(operation).error_shapes:
        error = shape.metadata.get("error") or {}
        found[error.get("code") or shape.name] = error.get("httpStatusCode")
    return found


def parse_error(
    service: str, operation: str, protocol: str, status: int, headers: Any, body: bytes
) -> dict[str, Any]:
    """What botocore's parser for ``protocol`` makes of the response (its ``Error``)."""
    parser = create_parser(protocol)
    shape = service_model(service).operation_model(operation).output_shape
    response = {"status_code": status, "headers": HeadersDict(dict(headers)), "body": body}
    return dict(parser.parse(response, shape).get("Error") or {})


def error_problems(
    service: str, operation: str, protocol: str, status: int, headers: Any, body: bytes
) -> list[str]:
    try:
        error = parse_error(service, operation, protocol, status, headers, body)
    except Exception as failure:  # botocore's parser could not read it: that is the finding
        return [f"botocore's {protocol} parser failed on it: {failure!r}"]
    code, message = error.get("Code"), error.get("Message")
    found = []
    if not code:
        found.append(f"no Error.Code in {body[:200]!r}")
    if not message:
        found.append(f"no Error.Message in {body[:200]!r}")
    modelled = modelled_errors(service, operation)
    common = S3_ERRORS if service == "s3" else COMMON_ERRORS
    if code in modelled:
        if modelled[code] is not None and status != modelled[code]:
            found.append(f"{code}: HTTP {status}, the model says {modelled[code]}")
    elif code in common:
        if status not in common[code]:
            found.append(f"{code}: HTTP {status}, AWS answers it with {sorted(common[code])}")
    elif code:
        found.append(
            f"{code} is not an error of {operation} in botocore's model "
            f"({sorted(modelled) or 'none'}) nor a common error"
        )
    return found
