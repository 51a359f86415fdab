"""What a model registry event asks of the promotion (functions/promotion_intake), applied.

``Approved`` starts the promotion workflow of that package version, at most once: the version's
record is a conditional write (:meth:`PromotionStore.claim`), the execution name is derived from
the package, and one promotion runs per model at a time (the model's lock; a lock whose execution
no longer runs is taken over). A version not newer than production's is refused, with the
reason, in the ledger and a notification. ``Rejected`` is recorded; ``PendingManualApproval``
notifies when the model asks for it. The decisions are mlops_core.promotion's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from botocore.exceptions import ClientError
from mlops_core import promotion
from mlops_core.ledger import Action, LedgerEntry
from mlops_core.notification import Notification

from mlops_runtime import notify
from mlops_runtime.aws import client, error_code, translated_errors
from mlops_runtime.observe import Observer
from mlops_runtime.promotions import PromotionStore, now_iso
from mlops_runtime.store import Ledger

logger = Logger(child=True)
# Powertools shares metrics across instances: the handler's log_metrics publishes these.
metrics = Metrics()


@dataclass
class PromotionStarter:
    ledger: Ledger
    promotions: PromotionStore
    state_machine_arn: str
    topic_arn: str
    slack_secret_arn: str | None
    observer: Observer | None = None  # None: always acts (mlops_runtime.observe)

    def handle(self, request: dict[str, Any]) -> dict[str, Any]:
        """One registry event (``event_id``, ``model_id``, ``status``, ``package_arn``,
        ``version``, ``notify_pending``, ``description``, ``observe_only``: who keeps the model
        from acting, if anyone): start, record, notify or ignore."""
        action = promotion.intake_action(request["status"], request["notify_pending"])
        pid = promotion.promotion_id(request["model_id"], request["version"])
        if action is promotion.IntakeAction.START:
            return self.start(request, pid)
        if action is promotion.IntakeAction.RECORD_REJECTED:
            self.ledger.record(
                LedgerEntry(
                    Action.MODEL_PACKAGE_REJECTED,
                    request["model_id"],
                    pid,
                    f"version {request['version']} was rejected in the model registry",
                    {"package_arn": request["package_arn"], "description": request["description"]},
                )
            )
            return {"status": "recorded_rejection", "promotion_id": pid}
        if action is promotion.IntakeAction.NOTIFY_PENDING:
            self._notify(
                request,
                pid,
                "promotion_pending",
                "info",
                f"[awaiting approval] {request['model_id']} v{request['version']} is registered",
                ["approve it in the model registry to start its promotion"],
            )
            return {"status": "notified", "promotion_id": pid}
        return {"status": "ignored", "reason": f"status {request['status']}"}

    def start(self, request: dict[str, Any], pid: str) -> dict[str, Any]:
        model_id, version, arn = request["model_id"], request["version"], request["package_arn"]
        production = self.promotions.production(model_id)
        refusal = promotion.order_refusal(version, production["version"] if production else None)
        existing = self.promotions.record(model_id, version)
        if existing and existing.get("execution_arn"):
            logger.info("promotion already started", extra={"promotion_id": pid})
            return {
                "status": "duplicate",
                "promotion_id": pid,
                "execution_arn": existing["execution_arn"],
            }
        stale_owner = None
        if refusal is None:
            refusal, stale_owner = self._busy(model_id, pid)
        if refusal:
            return self._refuse(request, pid, refusal)
        if request.get("observe_only") and self.observer:
            by = str(request["observe_only"])
            return self._would_promote(self.observer, request, pid, production, by)

        name = promotion.execution_name(model_id, version, arn)
        record = {
            "promotion_id": pid,
            "model_id": model_id,
            "version": version,
            "package_arn": arn,
            "status": "starting",
            "step": "start",
            "execution_name": name,
            "event_id": request["event_id"],
            "started_at": now_iso(),
        }
        if not self.promotions.claim(record, stale_owner):
            if self.promotions.record(model_id, version):  # a concurrent delivery claimed it
                return {"status": "duplicate", "promotion_id": pid}
            refusal, _ = self._busy(model_id, pid)
            why = refusal or "another promotion of this model took the lock"
            return self._refuse(request, pid, why)
        execution_arn = self._start_execution(request, pid, name)
        self.ledger.record(
            LedgerEntry(
                Action.PROMOTION_STARTED,
                model_id,
                pid,
                f"version {version} approved in the registry: promotion started",
                {
                    "package_arn": arn,
                    "execution_arn": execution_arn,
                    "production": production,
                    "event_id": request["event_id"],
                    # Links the package to the retrain that built it (`mlopscp explain`).
                    "pipeline_execution_arn": request.get("pipeline_execution_arn") or None,
                },
            ),
            self.promotions.update_operation(
                model_id, version, status="running", execution_arn=execution_arn
            ),
        )
        metrics.add_metric(name="PromotionsStarted", unit=MetricUnit.Count, value=1)
        return {"status": "started", "promotion_id": pid, "execution_arn": execution_arn}

    def _would_promote(
        self,
        observer: Observer,
        request: dict[str, Any],
        pid: str,
        production: dict[str, Any] | None,
        by: str,
    ) -> dict[str, Any]:
        """No staging endpoint, no shadow test, no approval request: what would have started."""
        entry = LedgerEntry(
            Action.PROMOTION_STARTED,
            request["model_id"],
            pid,
            f"version {request['version']} approved in the registry: staging deployment, "
            "shadow test and a human approval would follow",
            {
                "package_arn": request["package_arn"],
                "production": production,
                "event_id": request["event_id"],
                "state_machine_arn": self.state_machine_arn,
            },
        )
        recorded = observer.record(entry, by)
        if recorded:
            metrics.add_metric(name="PromotionsObserved", unit=MetricUnit.Count, value=1)
        return {"status": "observed" if recorded else "duplicate", "promotion_id": pid}

    def _execution_arn(self, name: str) -> str:
        return f"{self.state_machine_arn.replace(':stateMachine:', ':execution:')}:{name}"

    def _busy(self, model_id: str, pid: str) -> tuple[str | None, str | None]:
        """(why another promotion blocks this one, or None; a stale lock holder to replace)."""
        lock = self.promotions.lock(model_id)
        if not lock or not lock.get("promotion_id") or lock["promotion_id"] == pid:
            return None, None
        try:
            with translated_errors():
                status = client("stepfunctions").describe_execution(
                    executionArn=self._execution_arn(lock["execution_name"])
                )["status"]
        except ClientError as error:
            if error_code(error) != "ExecutionDoesNotExist":
                raise
            status = None
        if promotion.lock_is_stale(status):
            return None, str(lock["promotion_id"])
        return f"the promotion {lock['promotion_id']} of this model is still running", None

    def _start_execution(self, request: dict[str, Any], pid: str, name: str) -> str:
        execution_input = {key: request[key] for key in ("model_id", "package_arn", "version")}
        try:
            with translated_errors():
                return str(
                    client("stepfunctions").start_execution(
                        stateMachineArn=self.state_machine_arn,
                        name=name,
                        input=json.dumps({"promotion_id": pid, **execution_input}),
                    )["executionArn"]
                )
        except ClientError as error:
            if error_code(error) == "ExecutionAlreadyExists":  # started by an earlier attempt
                return self._execution_arn(name)
            self.promotions.unclaim(request["model_id"], request["version"], pid)
            raise

    def _refuse(self, request: dict[str, Any], pid: str, reason: str) -> dict[str, Any]:
        self.ledger.record(
            LedgerEntry(
                Action.PROMOTION_REFUSED,
                request["model_id"],
                f"{pid}#{request['event_id']}",
                f"approval of version {request['version']} refused: {reason}",
                {"package_arn": request["package_arn"], "reason": reason},
            )
        )
        self._notify(
            request,
            pid,
            "promotion_refused",
            "warning",
            f"[promotion refused] {request['model_id']} v{request['version']}",
            [reason],
        )
        metrics.add_metric(name="PromotionsRefused", unit=MetricUnit.Count, value=1)
        logger.info("promotion refused", extra={"promotion_id": pid, "reason": reason})
        return {"status": "refused", "promotion_id": pid, "reason": reason}

    def _notify(
        self,
        request: dict[str, Any],
        pid: str,
        kind: str,
        severity: str,
        title: str,
        lines: list[str],
    ) -> None:
        message = Notification(
            kind=kind,
            model_id=request["model_id"],
            subject_id=f"{pid}#{request['event_id']}",
            title=title,
            lines=lines,
            severity=severity,
            facts={"package": request["package_arn"], "promotion": pid},
        )
        if request.get("observe_only") and self.observer:
            self.observer.message(message, str(request["observe_only"]))
            return
        notify.send_and_record(message, self.ledger, self.topic_arn, self.slack_secret_arn)
