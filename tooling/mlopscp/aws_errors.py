"""AWS failures as one line for the user: what went wrong, what to do, exit code 3 (2 when the
fix is a flag: an unknown stack, no region). `mlopscp.cli.main` is the one place that calls it."""

from __future__ import annotations

import re

from mlopscp.output import EXIT_AWS, EXIT_USAGE, CliError

_CREDENTIALS_HINT = (
    "configure credentials (aws configure, aws sso login, AWS_PROFILE) "
    "or point --endpoint-url at the local emulator"
)
_STACK_MISSING = re.compile(r"Stack with id (?P<stack>\S+) does not exist")


def from_aws(error: BaseException) -> CliError | None:
    """The `CliError` for a botocore failure (or one the runtime adapters wrapped: they raise
    their retryable errors `from` botocore's), or None when `error` is not one."""
    seen: BaseException | None = error
    while seen is not None:
        found = _one(seen)
        if found is not None:
            return found
        seen = seen.__cause__
    return None


def _one(error: BaseException) -> CliError | None:
    try:
        from botocore import exceptions as aws
    except ImportError:  # pragma: no cover - botocore is a dependency of the tooling
        return None
    if isinstance(error, aws.NoCredentialsError | aws.PartialCredentialsError):
        return CliError(f"no AWS credentials: {error}", hint=_CREDENTIALS_HINT, exit_code=EXIT_AWS)
    if isinstance(error, aws.ProfileNotFound):
        return CliError(str(error), hint="check AWS_PROFILE / --profile", exit_code=EXIT_USAGE)
    if isinstance(error, aws.NoRegionError):
        return CliError(
            "no AWS region", hint="pass --region or set AWS_DEFAULT_REGION", exit_code=EXIT_USAGE
        )
    if isinstance(error, aws.EndpointConnectionError | aws.ConnectTimeoutError):
        return CliError(
            f"AWS unreachable: {error}",
            hint="check --endpoint-url, --region and the network",
            exit_code=EXIT_AWS,
        )
    if isinstance(error, aws.ClientError):
        return _client_error(error)
    if isinstance(error, aws.BotoCoreError):
        return CliError(f"AWS call failed: {error}", exit_code=EXIT_AWS)
    return None


def _client_error(error: object) -> CliError:
    response = getattr(error, "response", {}) or {}
    code = response.get("Error", {}).get("Code", "")
    message = response.get("Error", {}).get("Message", "") or str(error)
    operation = getattr(error, "operation_name", "") or "the request"
    missing = _STACK_MISSING.search(message)
    if missing:
        return CliError(
            f"stack {missing['stack']} not found",
            hint="pass --stack NAME (or set MLOPSCP_STACK) and the stack's --region",
            exit_code=EXIT_USAGE,
        )
    hint = ""
    if code in ("ExpiredToken", "ExpiredTokenException", "RequestExpired"):
        hint = "your AWS session expired: log in again"
    elif code in ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation"):
        hint = "the caller's IAM policy does not allow this action"
    elif code in ("UnrecognizedClientException", "InvalidClientTokenId", "SignatureDoesNotMatch"):
        hint = "the credentials are not valid for this account or endpoint"
    return CliError(f"AWS refused {operation}: {code}: {message}", hint=hint, exit_code=EXIT_AWS)
