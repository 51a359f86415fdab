"""Clients in the account a model lives in.

A model without an ``account`` section is in the tooling account: the function's own clients.
A model in a workload account is read through that account's reader role (created by
accounts/target-account.yaml), assumed with the ExternalId kept in Secrets Manager; the
credentials come from :func:`mlops_runtime.aws.assumed_client`, the one place clients are built.
Every failure to get in is a :class:`ReaderRoleAccessError` naming the account and the role.
"""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError
from mlops_core.errors import ReaderRoleAccessError

from mlops_runtime.aws import assumed_client, client, error_code, translated_errors
from mlops_runtime.model_config import AccountAccess


def read_external_id(secret_arn: str, error: type[Exception]) -> str:
    """The ExternalId in a secret (a plain string or ``{"external_id": ...}``), cached 5 min."""
    from aws_lambda_powertools.utilities.parameters import get_secret
    from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

    try:
        raw = get_secret(secret_arn, max_age=300)
    except GetParameterError as failure:
        raise error(f"cannot read the ExternalId secret {secret_arn}: {failure}") from failure
    text = raw.decode() if isinstance(raw, bytes) else str(raw)
    if text.lstrip().startswith("{"):
        text = str(json.loads(text).get("external_id", ""))
    if not text.strip():
        raise error(f"the ExternalId secret {secret_arn} is empty")
    return text.strip()


class AccountReader:
    """Read-only clients in one account: the tooling account (``access`` None) or a workload
    account through its reader role."""

    def __init__(self, access: AccountAccess | None, session_name: str) -> None:
        self.access = access
        self.session_name = session_name

    @property
    def label(self) -> str:
        if self.access is None:
            return "the tooling account"
        return f"account {self.access.account_id} (role {self.access.reader_role_arn})"

    def client(self, service: str) -> Any:
        if self.access is None:
            return client(service)
        return role_client(
            service,
            self.access.reader_role_arn,
            self.access.external_id_secret_arn,
            self.session_name,
            ReaderRoleAccessError,
            f"the reader role of {self.label}",
        )


def role_client(
    service: str,
    role_arn: str,
    secret_arn: str,
    session_name: str,
    error: type[Exception],
    role_label: str,
) -> Any:
    """A client acting through a role of a workload account, assumed with the ExternalId in
    ``secret_arn``; every failure to get in is an ``error`` naming ``role_label``."""
    external_id = read_external_id(secret_arn, error)
    try:
        with translated_errors():
            return assumed_client(service, role_arn, external_id, session_name)
    except ClientError as failure:
        message = failure.response.get("Error", {}).get("Message", "")
        raise error(
            f"cannot assume {role_label}: {error_code(failure)}: {message} (is "
            "accounts/target-account.yaml deployed there, trusting this account with the same "
            "ExternalId?)"
        ) from failure
