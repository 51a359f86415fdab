"""Exceptions whose class names are contracts.

Step Functions sees a Lambda error by its class name, so every name a state machine lists in
``ErrorEquals`` exists here (a contract test checks it), and every name ends in ``Error``.
"""

from __future__ import annotations


class ControlPlaneError(Exception):
    """Base class: an expected failure with a message meant for humans."""


class ThrottlingError(ControlPlaneError):
    """AWS throttled a call; the state machine retries with backoff."""


class TransientAwsError(ControlPlaneError):
    """A retryable AWS failure (5xx, timeout) that survived the SDK's own retries."""


class EventRejectedError(ControlPlaneError):
    """An event that cannot be acted on; it goes to the dead-letter queue with this reason."""

    def __init__(self, reason: str, errors: list[dict[str, object]] | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.errors = errors or []


class ModelNotConfiguredError(ControlPlaneError):
    """No model configuration names the endpoint, schedule or model an event is about."""


class MonitoringOutputMissingError(ControlPlaneError):
    """The monitoring output prefix holds no Model Monitor executions."""


class RetrainPipelineError(ControlPlaneError):
    """StartPipelineExecution was refused (pipeline missing, bad parameters, no permission)."""
