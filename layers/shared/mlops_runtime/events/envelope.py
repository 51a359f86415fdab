"""What every EventBridge event model shares: the envelope, open details, and the parse that
turns a validation error into a rejection naming the field.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from mlops_core.errors import EventRejectedError
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

DRIFT_SIGNAL_SOURCE = "mlopscp.monitoring"
DRIFT_SIGNAL_DETAIL_TYPE = "Model Drift Signal"


class OpenDetail(BaseModel):
    """AWS adds fields over time: keep them, never fail on them."""

    model_config = ConfigDict(extra="allow", populate_by_name=True, defer_build=True)


class Envelope(EventBridgeModel):
    # Validators are built on first use: building every model of a family at import was most
    # of this package's cold-start cost, and a handler parses one or two kinds.
    model_config = ConfigDict(defer_build=True)

    @field_validator("source", mode="before")
    @classmethod
    def _single_source(cls, value: Any) -> Any:
        # Some published samples repeat "source" as a one-element list; EventBridge never does.
        if isinstance(value, list) and len(value) == 1:
            return value[0]
        return value


def parse_event(event: Any, model: Any) -> Any:
    """Validate an event; a malformed one raises EventRejectedError with a readable reason."""
    if not isinstance(event, dict):
        raise EventRejectedError("malformed event: not a JSON object")
    try:
        return parse(event=event, model=model)
    except ValidationError as error:
        problems = [
            {"field": _field(e["loc"]), "problem": e["msg"]}
            for e in error.errors(include_url=False, include_input=False)
        ]
        reason = "; ".join(f"{p['field']}: {p['problem']}" for p in problems[:5])
        raise EventRejectedError(f"malformed event: {reason}", problems) from None


def _field(location: tuple[Any, ...]) -> str:
    # A discriminated union puts the matched detail-type first: not a field of the event.
    parts = [str(p) for p in location if str(p) not in _UNION_TAGS]
    return ".".join(parts) or "<event>"


MONITORING_DETAIL_TYPES = (
    "SageMaker Processing Job State Change",
    "CloudWatch Alarm State Change",
    DRIFT_SIGNAL_DETAIL_TYPE,
)
TRAINING_DETAIL_TYPES = (
    "SageMaker Training Job State Change",
    "SageMaker Model Building Pipeline Execution Step Status Change",
)
GUARDRAIL_DETAIL_TYPES = ("SageMaker Training Job State Change", "SageMaker Endpoint State Change")
_UNION_TAGS = frozenset(MONITORING_DETAIL_TYPES + TRAINING_DETAIL_TYPES + GUARDRAIL_DETAIL_TYPES)


def parse_one_of(event: Any, model: Any, detail_types: tuple[str, ...]) -> Any:
    """Parse an event that must be one of ``detail_types`` (a discriminated union ``model``)."""
    if not isinstance(event, dict):
        raise EventRejectedError("malformed event: not a JSON object")
    if event.get("detail-type") not in detail_types:
        raise EventRejectedError(
            f"unsupported detail-type {event.get('detail-type')!r}: expected one of "
            f"{', '.join(detail_types)}"
        )
    return parse_event(event, model)
