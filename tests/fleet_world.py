"""A model's history written through the control plane's own stores, for `status` and `explain`.

:func:`seed_chain` writes one complete causal chain (a retrain incident, its retrain, the
pipeline's end, a promotion of
the package that pipeline registered, the verdict, the approval, the deployment) and
:func:`seed_noise` buries it under N older ledger entries (watches, notifications, incident
updates), as a long-lived model's ledger looks. Into whatever AWS the environment points at
(moto in-process or the emulator).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from mlops_core.ledger import Action, LedgerEntry

PIPELINE = "fleet-retrain"


def config(model_id: str, endpoint: str) -> dict[str, Any]:
    return {
        "model_id": model_id,
        "endpoint_name": endpoint,
        "monitoring_output_uri": f"s3://monitoring/{endpoint}",
        "retrain": {"pipeline_name": PIPELINE, "cooldown_hours": 0},
    }


def seed_chain(tables: dict[str, str], model_id: str, now: datetime) -> dict[str, str]:
    """The chain of one promotion; returns the ids a reader should find."""
    from mlops_core import retrain
    from mlops_core.incidents import IncidentKind, IncidentState, Severity, Status, Step, Transition
    from mlops_runtime.incidents import IncidentStore
    from mlops_runtime.promotions import PromotionStore
    from mlops_runtime.store import Ledger, StateStore

    ledger, state = Ledger(tables["ledger"]), StateStore(tables["state"])
    incident = f"inc-{model_id}-1"
    opened = now - timedelta(hours=30)
    incidents = IncidentStore(tables["state"], ledger)
    retrain_incident = IncidentState(
        incident_id=incident,
        model_id=model_id,
        kind=IncidentKind.RETRAIN,
        status=Status.OPEN,
        fingerprint=("sustained_drift:tenure",),
        severity=Severity.WARNING,
        opened_at=opened,
        last_seen_at=opened,
        last_run=f"{model_id}-run-1",
        summary="sustained drift on tenure",
        report_uri=f"s3://artifacts/triage/{incident}.json",
        version=1,
    )
    step = Step(Transition.OPENED, incident, False, retrain_incident, "sustained drift", at=opened)
    incidents.apply(step, step.ledger_entry({"report_uri": retrain_incident.report_uri}))
    arn = f"arn:aws:sagemaker:us-east-1:123456789012:pipeline/{PIPELINE}/execution/{model_id}1"
    # As mlops_runtime.retrain_start writes it: the entry, the lock, the execution's link.
    ledger.record(
        LedgerEntry(
            Action.RETRAIN_STARTED,
            model_id,
            incident,
            f"started {PIPELINE}: sustained drift on tenure",
            {"pipeline_execution_arn": arn, "report_uri": retrain_incident.report_uri},
            at=opened + timedelta(seconds=5),
        ),
        state.put_operation(
            dict(zip(("pk", "sk"), retrain.lock_key(model_id), strict=True))
            | {"status": retrain.SUCCEEDED, "incident_id": incident, "version": 1}
        ),
        state.put_operation(
            dict(zip(("pk", "sk"), retrain.execution_link_key(arn), strict=True))
            | {"model_id": model_id, "incident_id": incident}
        ),
    )
    pid, version = f"{model_id}-v2", 2
    package = f"arn:aws:sagemaker:us-east-1:123456789012:model-package/{model_id}/2"
    approval = "ap-fleet-1"

    def record(action: Action, subject: str, hours_ago: float, **evidence: Any) -> None:
        at = now - timedelta(hours=hours_ago)
        ledger.record(LedgerEntry(action, model_id, subject, str(action), evidence, at=at))

    record(Action.RETRAIN_SUCCEEDED, incident, 26, pipeline_execution_arn=arn, status="Succeeded")
    record(
        Action.PROMOTION_STARTED,
        pid,
        25,
        package_arn=package,
        pipeline_execution_arn=arn,
        execution_arn="arn:aws:states:us-east-1:123456789012:execution:promotion:x",
    )
    record(Action.QUALITY_GATE_CHECKED, pid, 24.9)
    record(Action.STAGING_DEPLOYED, pid, 24.5)
    record(Action.SHADOW_VERDICT, pid, 22)
    record(Action.APPROVAL_REQUESTED, f"approval:{approval}", 21.9, about=pid)
    record(
        Action.APPROVAL_RECORDED,
        f"approval:{approval}",
        21,
        outcome="approved",
        decided_by="arn:aws:iam::123456789012:user/ana",
        channel="slack",
        about=pid,
    )
    record(
        Action.MODEL_PROMOTED,
        pid,
        20,
        package_arn=package,
        approval={"approval_id": approval, "outcome": "approved"},
    )
    promotions = PromotionStore(tables["state"])
    promotions.state.apply(promotions.production_operation(model_id, package, version, pid))
    return {"incident": incident, "pipeline_execution_arn": arn, "promotion": pid}


def seed_noise(tables: dict[str, str], model_id: str, count: int, before: datetime) -> None:
    """``count`` older entries, written 25 at a time (BatchWriteItem)."""
    from mlops_runtime.aws import client
    from mlops_runtime.store import to_attributes

    kinds = (Action.WATCH_RECORDED, Action.NOTIFICATION_SENT, Action.INCIDENT_UPDATED)
    items = [
        LedgerEntry(
            kinds[i % 3],
            model_id,
            f"noise-{i // 30}",
            "a routine run",
            {"run": f"run-{i}"},
            at=before - timedelta(hours=2 + i * 0.5),
            key=str(i),
        ).to_record()
        for i in range(count)
    ]
    dynamodb = client("dynamodb")
    for start in range(0, len(items), 25):
        requests = [
            {"PutRequest": {"Item": to_attributes(item)}} for item in items[start : start + 25]
        ]
        pending: dict[str, Any] = {tables["ledger"]: requests}
        while pending:
            pending = dynamodb.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
