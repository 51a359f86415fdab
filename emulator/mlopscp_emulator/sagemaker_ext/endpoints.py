"""Endpoints and endpoint configs: Creating/Updating lifecycles, UpdateEndpoint with
blue/green rollback, data capture and shadow variants as AWS describes them, scaling calls."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from moto.cloudwatch.models import cloudwatch_backends
from moto.core.responses import ActionResult
from moto.core.utils import utcnow
from moto.sagemaker.exceptions import ValidationError
from moto.sagemaker.models import FakeEndpoint, SageMakerModelBackend
from moto.sagemaker.responses import SageMakerResponse

from mlopscp_emulator.credentials import DEFAULT_ACCOUNT
from mlopscp_emulator.sagemaker_ext.lifecycle import advance, begin
from mlopscp_emulator.sagemaker_ext.state import DEFAULT_REGION, Params, put, without_none

_failures: dict[tuple[str, str, str], str] = {}
_create_failures: dict[tuple[str, str, str], str] = {}


def fail_next_update(
    endpoint_name: str, reason: str, account_id: str = DEFAULT_ACCOUNT, region: str = DEFAULT_REGION
) -> None:
    """Hook: the next UpdateEndpoint of `endpoint_name` rolls back with `reason`."""
    _failures[(account_id, region, endpoint_name)] = reason


def fail_next_create(
    endpoint_name: str, reason: str, account_id: str = DEFAULT_ACCOUNT, region: str = DEFAULT_REGION
) -> None:
    """Hook: the next CreateEndpoint of `endpoint_name` goes Creating -> Failed with `reason`
    (as AWS leaves an endpoint whose instances never became healthy: it must be deleted)."""
    _create_failures[(account_id, region, endpoint_name)] = reason


def create_endpoint_config(original: Callable[..., Any]) -> Callable[..., Any]:
    def create(response: SageMakerResponse) -> ActionResult:
        shadows = response._get_param("ShadowProductionVariants") or []
        response.sagemaker_backend.validate_production_variants(shadows)
        result = original(response)
        name = response._get_param("EndpointConfigName")
        config = response.sagemaker_backend.endpoint_configs[name]
        put(config, shadow_production_variants=shadows or None)
        return result

    return create


def create_endpoint(original: Callable[..., Any]) -> Callable[..., Any]:
    def create(
        backend: SageMakerModelBackend,
        endpoint_name: str,
        endpoint_config_name: str,
        tags: list[dict[str, str]],
    ) -> FakeEndpoint:
        endpoint = original(backend, endpoint_name, endpoint_config_name, tags)
        apply_config(backend, endpoint, endpoint_config_name, retain=False)
        endpoint.endpoint_status = "Creating"
        key = (backend.account_id, backend.region_name, endpoint_name)
        reason = _create_failures.pop(key, None)
        if reason is None:
            begin(endpoint, lambda: _settle(endpoint, "InService"))
        else:
            begin(endpoint, lambda: _settle(endpoint, "Failed", reason=reason))
        return endpoint

    return create


def describe_endpoint(original: Callable[..., Any]) -> Callable[..., Any]:
    def describe(backend: SageMakerModelBackend, endpoint_name: str) -> dict[str, Any]:
        endpoint = backend.endpoints.get(endpoint_name)
        if endpoint is not None:
            advance(endpoint)
        return original(backend, endpoint_name)

    return describe


def update_endpoint(backend: SageMakerModelBackend, params: Params) -> dict[str, str]:
    name, config_name = params["EndpointName"], params["EndpointConfigName"]
    endpoint = backend.endpoints.get(name)
    if endpoint is None:
        raise ValidationError(f"Could not find endpoint '{name}'.")
    if endpoint.endpoint_status != "InService":
        raise ValidationError(f'Cannot update in-progress endpoint "{endpoint.arn}".')
    backend.describe_endpoint_config(config_name)  # raises if it does not exist
    if _serverless(backend, config_name) and not _serverless(
        backend, endpoint.endpoint_config_name
    ):
        # AWS: updating a real-time endpoint to serverless is not supported (its wording unknown)
        raise ValidationError(
            f"Cannot update endpoint {name} from an instance-based endpoint config to the "
            f"serverless endpoint config {config_name}."
        )
    deployment = params.get("DeploymentConfig")
    if deployment is None and params.get("RetainDeploymentConfig"):
        deployment = getattr(endpoint, "last_deployment_config", None)
    old_config = endpoint.endpoint_config_name
    forced_failure = _failures.pop((backend.account_id, backend.region_name, name), None)
    now = utcnow()
    put(
        endpoint,
        endpoint_status="Updating",
        failure_reason=None,
        last_modified_time=now,
        pending_deployment_summary={"EndpointConfigName": config_name, "StartTime": now},
    )

    def settle() -> None:
        put(endpoint, pending_deployment_summary=None, last_deployment_config=deployment)
        reason = forced_failure or _alarm_in_alarm(backend, deployment)
        if reason is None:
            apply_config(
                backend,
                endpoint,
                config_name,
                retain=bool(params.get("RetainAllVariantProperties")),
            )
            _settle(endpoint, "InService")
            return
        # AWS shifts traffic back to the blue fleet: the old config stays, the reason is kept.
        put(endpoint, endpoint_status="RollingBack", failure_reason=reason)
        begin(endpoint, lambda: _settle(endpoint, "InService", config=old_config))

    begin(endpoint, settle)
    return {"EndpointArn": endpoint.arn}


def _serverless(backend: SageMakerModelBackend, config_name: str) -> bool:
    variants = backend.endpoint_configs[config_name].production_variants
    return any(v.get("ServerlessConfig") for v in variants)


def update_endpoint_weights_and_capacities(original: Callable[..., Any]) -> Callable[..., Any]:
    """What Application Auto Scaling calls to scale a variant: moto sets the counts but blanks
    the weight it was not given and stays InService. AWS keeps what the request leaves out,
    refuses an endpoint that is not InService, and goes Updating -> InService."""

    def update(
        backend: SageMakerModelBackend,
        endpoint_name: str,
        desired_weights_and_capacities: list[dict[str, Any]],
    ) -> str:
        endpoint = backend.endpoints.get(endpoint_name)
        if endpoint is None:  # moto answers as AWS does
            return str(original(backend, endpoint_name, desired_weights_and_capacities))
        if endpoint.endpoint_status != "InService":
            raise ValidationError(f'Cannot update in-progress endpoint "{endpoint.arn}".')
        before = {v["VariantName"]: dict(v) for v in endpoint.production_variants}
        arn = original(backend, endpoint_name, desired_weights_and_capacities)
        for variant in endpoint.production_variants:
            kept = before.get(variant["VariantName"], {})
            for current, desired in (
                ("CurrentWeight", "DesiredWeight"),
                ("CurrentInstanceCount", "DesiredInstanceCount"),
            ):
                if variant.get(desired) is None and desired in kept:
                    variant[current], variant[desired] = kept.get(current), kept[desired]
        put(endpoint, endpoint_status="Updating", last_modified_time=utcnow())
        begin(endpoint, lambda: _settle(endpoint, "InService"))
        return str(arn)

    return update


def _alarm_in_alarm(
    backend: SageMakerModelBackend, deployment: dict[str, Any] | None
) -> str | None:
    alarms = ((deployment or {}).get("AutoRollbackConfiguration") or {}).get("Alarms") or []
    names = [alarm["AlarmName"] for alarm in alarms]
    if not names:
        return None
    cloudwatch = cloudwatch_backends[backend.account_id][backend.region_name]
    firing = [
        a.name for a in cloudwatch.get_alarms_by_alarm_names(names) if a.state_value == "ALARM"
    ]
    if not firing:
        return None
    return f"Auto-rollback triggered by CloudWatch alarm(s) in ALARM: {', '.join(firing)}"


def apply_config(
    backend: SageMakerModelBackend, endpoint: FakeEndpoint, config_name: str, retain: bool
) -> None:
    config = backend.endpoint_configs[config_name]
    shadows = getattr(config, "shadow_production_variants", None) or []
    put(
        endpoint,
        endpoint_config_name=config_name,
        shadow_production_variants=(
            endpoint._process_production_variants(shadows) if shadows else None
        ),
        data_capture_config=_capture_summary(config.data_capture_config),
    )
    if not retain:
        put(
            endpoint,
            production_variants=endpoint._process_production_variants(config.production_variants),
        )


def _capture_summary(capture: dict[str, Any] | None) -> dict[str, Any] | None:
    """DescribeEndpoint's DataCaptureConfigSummary of an endpoint config's DataCaptureConfig."""
    if not capture:
        return None
    enabled = bool(capture.get("EnableCapture", True))
    return without_none(
        {
            "EnableCapture": enabled,
            "CaptureStatus": "Started" if enabled else "Stopped",
            "CurrentSamplingPercentage": capture.get("InitialSamplingPercentage", 0),
            "DestinationS3Uri": capture.get("DestinationS3Uri"),
            "KmsKeyId": capture.get("KmsKeyId"),
        }
    )


def _settle(
    endpoint: FakeEndpoint, status: str, config: str | None = None, reason: str | None = None
) -> None:
    endpoint.endpoint_status = status
    if reason is not None:
        put(endpoint, failure_reason=reason)
    if config is not None:
        endpoint.endpoint_config_name = config
    endpoint.last_modified_time = utcnow()


def forget_failures() -> None:
    """Drop the failures the hooks armed and no CreateEndpoint/UpdateEndpoint has used yet."""
    _failures.clear()
    _create_failures.clear()
