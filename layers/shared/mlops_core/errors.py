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


class RetrainCapacityError(ControlPlaneError):
    """The account runs as many pipeline executions as its quota allows (SageMaker's
    ResourceLimitExceeded); the drift response waits, jittered, and tries the start again."""


class PipelineExecutionBusyError(ControlPlaneError):
    """A pipeline execution cannot be retried yet (still Executing); retried later."""


class ApprovalNotConfiguredError(ControlPlaneError):
    """An approval was requested for a model whose configuration names no approvers."""


class ApprovalDeliveryError(ControlPlaneError):
    """No channel (Slack, email) took an approval request, so nobody could answer it."""


# ---- model promotion (issue 3)


class PromotionNotConfiguredError(ControlPlaneError):
    """A promotion names a model without a ``promotion`` configuration section."""


class TargetAccountAccessError(ControlPlaneError):
    """The deployer role of a staging or production account could not be assumed (missing,
    denied, wrong ExternalId) or its ExternalId secret could not be read."""


class DeploymentError(ControlPlaneError):
    """A staging or production deployment step was refused or ended badly (the message says)."""


class ShadowTestError(ControlPlaneError):
    """The shadow test (inference experiment) failed, was cancelled or did not start in time."""


class PromotionVerificationError(ControlPlaneError):
    """After the production deployment, the endpoint does not serve the candidate as expected
    (or autoscaling could not be applied): production is restored to the old model."""


# ---- workload accounts (issue 10)


class ReaderRoleAccessError(ControlPlaneError):
    """The reader role of a workload account could not be assumed (missing, denied, wrong
    ExternalId) or its ExternalId secret could not be read."""


class MonitoringLocationError(ControlPlaneError):
    """Triage was asked to read a location the model's configuration does not name."""


# ---- incident lifecycle (issue 17)


class IncidentChangedError(ControlPlaneError):
    """An incident changed between reading and writing it (a concurrent run or person): the
    write was refused whole; the state machine retries, reading it again."""


class IncidentActionRefusedError(ControlPlaneError):
    """A person's action on an incident cannot apply (it is resolved, or the snooze is in the
    past or longer than the model's incidents.max_snooze_hours)."""
