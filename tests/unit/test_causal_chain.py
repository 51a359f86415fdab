"""The causal chain `mlopscp explain` prints, built from ledger entries as the store returns."""

from __future__ import annotations

from typing import Any

from mlops_core import causal_chain
from mlops_core.ledger import Action, LedgerEntry

ARN = "arn:aws:sagemaker:us-east-1:123456789012:pipeline/churn-retrain/execution/abc123"


def entry(action: Action, subject: str, at: str, **evidence: Any) -> dict[str, Any]:
    record = LedgerEntry(action, "churn", subject, f"{action} of {subject}", evidence).to_record()
    return record | {"at": at, "evidence": evidence}


def promoted_world() -> dict[str, list[dict[str, Any]]]:
    return {
        "incident": [
            entry(
                Action.INCIDENT_OPENED, "inc-1", "2026-11-01T10:00:00Z", fingerprint=["drift:age"]
            ),
            entry(
                Action.RETRAIN_STARTED,
                "inc-1",
                "2026-11-01T10:00:05Z",
                pipeline_execution_arn=ARN,
                report_uri="s3://reports/inc-1.json",
                triage={"decision": "retrain"},
            ),
            entry(
                Action.RETRAIN_SUCCEEDED,
                "inc-1",
                "2026-11-01T11:00:00Z",
                pipeline_execution_arn=ARN,
            ),
        ],
        "promotion": [
            entry(
                Action.PROMOTION_STARTED,
                "churn-v3",
                "2026-11-01T12:00:00Z",
                package_arn="arn:aws:sagemaker:us-east-1:123456789012:model-package/churn/3",
                pipeline_execution_arn=ARN,
            ),
            entry(Action.QUALITY_GATE_CHECKED, "churn-v3", "2026-11-01T12:00:01Z"),
            entry(Action.STAGING_DEPLOYED, "churn-v3", "2026-11-01T12:05:00Z"),
            entry(Action.SHADOW_VERDICT, "churn-v3", "2026-11-01T13:00:00Z"),
            entry(
                Action.MODEL_PROMOTED,
                "churn-v3",
                "2026-11-01T14:00:00Z",
                endpoint="churn-prod",
                approval={"approval_id": "ap-7", "outcome": "approved"},
            ),
        ],
        "approval": [
            entry(Action.APPROVAL_REQUESTED, "approval:ap-7", "2026-11-01T13:00:01Z"),
            entry(
                Action.APPROVAL_RECORDED,
                "approval:ap-7",
                "2026-11-01T13:30:00Z",
                outcome="approved",
                decided_by="arn:aws:iam::123456789012:user/ana",
            ),
        ],
    }


def test_the_ids_to_follow_are_read_from_the_promotion_entries() -> None:
    world = promoted_world()
    assert causal_chain.pipeline_execution_of(world["promotion"]) == ARN
    assert causal_chain.approval_of(world["promotion"]) == "ap-7"


def test_a_promoted_model_has_every_hop_in_causal_order_with_its_entry_id() -> None:
    world = promoted_world()
    everything = [e for found in world.values() for e in found]
    chain = causal_chain.build("churn", reversed(everything))  # order of arrival does not matter
    assert [h.step for h in chain.hops] == [
        "evidence",
        "incident",
        "retrain",
        "pipeline_execution",
        "package_version",
        "promotion",
        "verdict",
        "approval",
        "deployment",
    ]
    by_step = {h.step: h for h in chain.hops}
    assert by_step["evidence"].detail == {
        "fingerprint": ["drift:age"],
        "report_uri": "s3://reports/inc-1.json",
        "decision": "retrain",
    }
    assert by_step["pipeline_execution"].detail["pipeline_execution_arn"] == ARN
    assert by_step["approval"].detail["decided_by"].endswith("user/ana")
    assert by_step["deployment"].entry_id == world["promotion"][-1]["entry_id"]
    assert by_step["promotion"].action == Action.STAGING_DEPLOYED
    assert [h.at for h in chain.hops] == sorted(h.at for h in chain.hops)
    assert chain.gaps == ()


def test_a_package_from_outside_the_control_plane_says_which_hops_are_missing() -> None:
    promotion = [e for e in promoted_world()["promotion"]]
    promotion[0] = entry(Action.PROMOTION_STARTED, "churn-v3", "2026-11-01T12:00:00Z")
    assert causal_chain.pipeline_execution_of(promotion) is None
    chain = causal_chain.build("churn", promotion)
    assert next(h.step for h in chain.hops) == "package_version"
    missing = [g.split(":")[0] for g in chain.gaps]
    assert missing == ["evidence", "incident", "retrain", "pipeline_execution", "approval"]


def test_without_a_promotion_the_chain_explains_the_retrain_only() -> None:
    chain = causal_chain.build("churn", promoted_world()["incident"][:2])
    assert [h.step for h in chain.hops] == ["evidence", "incident", "retrain"]
    assert [g.split(":")[0] for g in chain.gaps] == ["pipeline_execution", "package_version"]


def test_a_rolled_back_promotion_ends_in_its_rollback() -> None:
    promotion = [
        *promoted_world()["promotion"][:4],
        entry(
            Action.DEPLOYMENT_ROLLED_BACK,
            "churn-v3",
            "2026-11-01T15:00:00Z",
            state={"approval": {"approval_id": "ap-7"}},
        ),
    ]
    assert causal_chain.approval_of(promotion) == "ap-7"
    chain = causal_chain.build("churn", promotion)
    assert chain.hops[-1].action == Action.DEPLOYMENT_ROLLED_BACK


def test_the_chain_serialises_to_plain_json_types() -> None:
    import json

    world = promoted_world()
    document = causal_chain.build("churn", [e for f in world.values() for e in f]).to_dict()
    assert json.loads(json.dumps(document)) == document
