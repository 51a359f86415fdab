"""Powertools idempotency for a handler, built on the first call that needs it.

Importing Powertools' idempotency package loads its DynamoDB persistence layer, and that layer
builds a DynamoDB client when it is made: at module level, that put a client and the package
into every cold start (about half of ``import boto3`` again, docs/cold-start.md). Only the
events a handler acts on reach an idempotent function; the ones it ignores or rejects never
do. So the config, the persistence layer and the decorated function are made on the first call
of an idempotent function, once per execution environment, with the client from
``mlops_runtime.aws`` like every other. The decorated function is the original, so the
idempotency keys (function name, module and qualified name, then the payload's key) are the
same as with ``@idempotent_function`` at module level.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig
    from aws_lambda_powertools.utilities.typing import LambdaContext

Function = Callable[..., dict[str, Any]]


class Idempotency:
    """``@idempotency.function`` on ``def f(request: dict)``: Powertools' idempotent_function,
    keyed by ``key_jmespath`` in ``request``, records in ``table_name`` for ``expires_after``."""

    def __init__(self, table_name: str, key_jmespath: str, expires_after_seconds: int) -> None:
        self.table_name = table_name
        self.key_jmespath = key_jmespath
        self.expires_after_seconds = expires_after_seconds
        self._context: LambdaContext | None = None

    def register_lambda_context(self, context: LambdaContext) -> None:
        """Kept for the idempotent call, so Powertools knows the invocation's remaining time."""
        self._context = context

    @functools.cached_property
    def config(self) -> IdempotencyConfig:
        from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig

        return IdempotencyConfig(
            event_key_jmespath=self.key_jmespath, expires_after_seconds=self.expires_after_seconds
        )

    @functools.cached_property
    def persistence(self) -> Any:
        from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

        from mlops_runtime.aws import client

        # The function's shared DynamoDB client (one client, not two).
        return DynamoDBPersistenceLayer(table_name=self.table_name, boto3_client=client("dynamodb"))

    def function(self, function: Function) -> Function:
        built: Function | None = None

        @functools.wraps(function)
        def once(*, request: dict[str, Any]) -> dict[str, Any]:
            nonlocal built
            if built is None:
                from aws_lambda_powertools.utilities.idempotency import idempotent_function

                built = idempotent_function(
                    function,
                    data_keyword_argument="request",
                    config=self.config,
                    persistence_store=self.persistence,
                )
            if self._context is not None:
                self.config.register_lambda_context(self._context)
            return built(request=request)

        return once
