"""Errors AWS answers for any operation of a service, which its model does not define (AWS's
"Common Errors" page of each API Reference: ``AccessDeniedException``, ``ThrottlingException``...;
STS's ``AccessDenied``, ``InvalidClientTokenId``, ``SignatureDoesNotMatch``).

moto serialises an error its service model lacks with a made-up shape, HTTP 400 and a warning
("does not match an error shape in service models"). An extension raises a :class:`CommonError`
that carries AWS's HTTP status instead, and it is serialised with that status, without the
warning. emulator/tests/test_faithful_errors.py checks every such answer with botocore's parser.
:func:`install` / :func:`uninstall`; the :class:`~mlopscp_emulator.Emulator` does both.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from moto.core import serialize
from moto.core.errors import ErrorShape
from moto.core.exceptions import ServiceException

from mlopscp_emulator._patching import Patches

_patches = Patches()
_installed = False


class CommonError(ServiceException):
    """An error AWS answers for any operation (subclasses set ``code`` and ``status``)."""

    status = 400


def _error_model(original: Callable[..., Any]) -> Callable[..., Any]:
    def get_error_model(exception: Exception, default_service_model: Any) -> Any:
        if not isinstance(exception, CommonError):
            return original(exception, default_service_model)
        error = {
            "code": exception.code,
            "httpStatusCode": exception.status,
            "senderFault": exception.status < 500,
        }
        return ErrorShape(
            shape_name=exception.code,
            shape_model={"exception": True, "type": "structure", "members": {}, "error": error},
        )

    return get_error_model


def install() -> None:
    """Apply the patch (idempotent)."""
    global _installed
    if not _installed:
        original = _patches.set(serialize, "get_error_model", None)
        _patches.set(serialize, "get_error_model", _error_model(original))
        _installed = True


def uninstall() -> None:
    global _installed
    _patches.undo()
    _installed = False
