"""Model promotion: the rules that decide whether a registered model version reaches production.

Plain data in, decision values out; the adapters in ``mlops_runtime.promotion_*`` fetch and
apply. One concept per module:

- :mod:`.names`: package ARNs, promotion ids, the names of what a promotion creates, and the
  version order (a version is promoted only if newer than production's).
- :mod:`.intake`: what a registry event asks for, and when a model's promotion lock is stale.
- :mod:`.gate`: the quality gate (relative tolerance against production, absolute thresholds).
- :mod:`.verdict`: the shadow verdict (pass, fail or inconclusive, deliberately asymmetric).
- :mod:`.capture`: data-capture lines read as predictions, and their agreement.
- :mod:`.metrics`: the metric diff row the gate and the verdict share.
- :mod:`.deployment`: blue/green ``DeploymentConfig``, rollback alarms, where a deployment stands.
- :mod:`.scaling`: the model's autoscaling policy as a PutScalingPolicy request.
- :mod:`.rightsizing`: where the autoscaling target comes from (override, Inference
  Recommender, default).
- :mod:`.fleet`: the new fleet's size and the autoscaling it keeps.
- :mod:`.first_deployment`: a model with no production endpoint yet (shadow test skipped).
- :mod:`.registry`: the model package group's resource policy for the target accounts.
- :mod:`.outcome`: how a promotion ended, from what the workflow recorded.

The names callers use are re-exported here (``from mlops_core import promotion``;
``promotion.quality_gate(...)``), each loaded with its submodule on first use;
``fleet``, ``first_deployment`` and ``rightsizing`` are imported as modules.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlops_core.promotion.async_inference import AsyncVariant, async_inference_config
    from mlops_core.promotion.capture import (
        CapturedPrediction,
        agreement,
        parse_capture_line,
        predictions_agree,
    )
    from mlops_core.promotion.deployment import (
        DeploymentPolicy,
        DeploymentState,
        alarm_names,
        deployment_config,
        deployment_state,
        rollback_alarms,
    )
    from mlops_core.promotion.gate import (
        KNOWN_DIRECTIONS,
        THRESHOLD_SUFFIX,
        Direction,
        GateResult,
        QualityPolicy,
        flatten_quality,
        quality_gate,
    )
    from mlops_core.promotion.intake import IntakeAction, intake_action, lock_is_stale
    from mlops_core.promotion.metrics import MetricRow
    from mlops_core.promotion.names import (
        ALARM_PREFIX,
        MODEL_TAG,
        PACKAGE_ARN,
        PROMOTION_TAG,
        SHADOW_VARIANT_PREFIX,
        PackageRef,
        ResourceNames,
        execution_name,
        order_refusal,
        parse_package_arn,
        promotion_id,
        resource_names,
    )
    from mlops_core.promotion.outcome import Ending, Outcome, ending
    from mlops_core.promotion.registry import POLICY_SID_PREFIX, group_policy
    from mlops_core.promotion.scaling import (
        AutoscalingPolicy,
        invocations_per_instance_target,
        scalable_resource_id,
        scaling_policy,
    )
    from mlops_core.promotion.serverless import ServerlessVariant, serverless_config
    from mlops_core.promotion.verdict import (
        AgreementStats,
        ShadowPolicy,
        VariantStats,
        Verdict,
        VerdictOutcome,
        shadow_verdict,
    )

# Which submodule holds each re-exported name. The facade imports a submodule on first use of
# one of its names (PEP 562), not all thirteen at import: a handler that needs one policy
# model (the model configuration) no longer loads the capture reader, the verdict, the
# registry policy and the rest on every cold start.
_HOME = {
    "ALARM_PREFIX": "names",
    "AgreementStats": "verdict",
    "AsyncVariant": "async_inference",
    "AutoscalingPolicy": "scaling",
    "CapturedPrediction": "capture",
    "DeploymentPolicy": "deployment",
    "DeploymentState": "deployment",
    "Direction": "gate",
    "Ending": "outcome",
    "GateResult": "gate",
    "IntakeAction": "intake",
    "KNOWN_DIRECTIONS": "gate",
    "MODEL_TAG": "names",
    "MetricRow": "metrics",
    "Outcome": "outcome",
    "PACKAGE_ARN": "names",
    "POLICY_SID_PREFIX": "registry",
    "PROMOTION_TAG": "names",
    "PackageRef": "names",
    "QualityPolicy": "gate",
    "ResourceNames": "names",
    "SHADOW_VARIANT_PREFIX": "names",
    "ServerlessVariant": "serverless",
    "ShadowPolicy": "verdict",
    "THRESHOLD_SUFFIX": "gate",
    "VariantStats": "verdict",
    "Verdict": "verdict",
    "VerdictOutcome": "verdict",
    "agreement": "capture",
    "alarm_names": "deployment",
    "async_inference_config": "async_inference",
    "deployment_config": "deployment",
    "deployment_state": "deployment",
    "ending": "outcome",
    "execution_name": "names",
    "flatten_quality": "gate",
    "group_policy": "registry",
    "intake_action": "intake",
    "invocations_per_instance_target": "scaling",
    "lock_is_stale": "intake",
    "order_refusal": "names",
    "parse_capture_line": "capture",
    "parse_package_arn": "names",
    "predictions_agree": "capture",
    "promotion_id": "names",
    "quality_gate": "gate",
    "resource_names": "names",
    "rollback_alarms": "deployment",
    "scalable_resource_id": "scaling",
    "scaling_policy": "scaling",
    "serverless_config": "serverless",
    "shadow_verdict": "verdict",
}


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{home}"), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


__all__ = [
    "ALARM_PREFIX",
    "KNOWN_DIRECTIONS",
    "MODEL_TAG",
    "PACKAGE_ARN",
    "POLICY_SID_PREFIX",
    "PROMOTION_TAG",
    "SHADOW_VARIANT_PREFIX",
    "THRESHOLD_SUFFIX",
    "AgreementStats",
    "AsyncVariant",
    "AutoscalingPolicy",
    "CapturedPrediction",
    "DeploymentPolicy",
    "DeploymentState",
    "Direction",
    "Ending",
    "GateResult",
    "IntakeAction",
    "MetricRow",
    "Outcome",
    "PackageRef",
    "QualityPolicy",
    "ResourceNames",
    "ServerlessVariant",
    "ShadowPolicy",
    "VariantStats",
    "Verdict",
    "VerdictOutcome",
    "agreement",
    "alarm_names",
    "async_inference_config",
    "deployment_config",
    "deployment_state",
    "ending",
    "execution_name",
    "flatten_quality",
    "group_policy",
    "intake_action",
    "invocations_per_instance_target",
    "lock_is_stale",
    "order_refusal",
    "parse_capture_line",
    "parse_package_arn",
    "predictions_agree",
    "promotion_id",
    "quality_gate",
    "resource_names",
    "rollback_alarms",
    "scalable_resource_id",
    "scaling_policy",
    "serverless_config",
    "shadow_verdict",
]
