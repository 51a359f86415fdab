"""A serverless production variant promoted by a first deployment, against moto in three
accounts: ServerlessConfig in staging and production, no data capture, no shadow test (said
so), no instance autoscaling; an existing instance-based endpoint is not updated to serverless
(refused: test_promotion_endpoint_kinds has the updates of existing endpoints)."""

from __future__ import annotations

from typing import Any

import pytest
from mlops_runtime import promotion_candidate as candidate
from mlops_runtime import promotion_first as first
from mlops_runtime import promotion_release as release
from mlops_runtime.model_config import ModelConfig
from pydantic import ValidationError

from tests.integration.handlers.promotion_world import (
    ENDPOINT,
    PRODUCTION,
    STAGING,
    World,
    account_client,
    approve,
    ledger_entry,
    prepared,
    put_config,
    remove_production,
    run,
    until,
    world_fixture,  # noqa: F401 - provides the `world` fixture
)

SERVERLESS = {"memory_size_mb": 2048, "max_concurrency": 10}


def serverless_config(world: World) -> None:
    put_config(world)
    promotion = world.config["promotion"]
    for target in ("staging", "production"):
        promotion[target] = promotion[target] | {"serverless": SERVERLESS}
    put_config(world, staging=promotion["staging"], production=promotion["production"])


@pytest.fixture(name="fresh")
def fresh_fixture(world: World) -> World:
    remove_production()
    serverless_config(world)
    return world


def variant_of(account: str, config: str) -> dict[str, Any]:
    described = account_client("sagemaker", account).describe_endpoint_config(
        EndpointConfigName=config
    )
    assert not described.get("DataCaptureConfig")  # serverless endpoints capture nothing
    (variant,) = described["ProductionVariants"]
    return dict(variant)


def test_a_serverless_model_is_staged_approved_and_created_serverless(fresh: World) -> None:
    state = prepared(fresh)
    assert state["promotion"]["refusal"] is None
    assert state["promotion"]["first_deployment"] is True
    state["gate"] = run(candidate.quality_gate, state)
    state["staging"] = run(candidate.deploy_staging, state)
    state = until(candidate.check_staging, state, "ready", "staging")
    staged = variant_of(STAGING, state["promotion"]["names"]["staging_config"])
    assert staged["ServerlessConfig"] == {"MemorySizeInMB": 2048, "MaxConcurrency": 10}
    assert "InstanceType" not in staged

    state["verdict"] = run(first.skip_shadow, state)
    reasons = state["verdict"]["approval_request"]["reasons"]
    assert any(
        "(serverless, 2048 MB, up to 10 concurrent, scales to zero) with rollback alarms "
        "(serverless: no data capture, no instance autoscaling)" in r
        for r in reasons
    )
    approve(state)
    state["deploy"] = run(first.create_production, state)
    state = until(release.check_deployment, state, "deployed", "deploy")
    verified = run(release.verify_production, state)

    assert verified["verified"] is True
    assert verified["autoscaling"] is None
    production = variant_of(PRODUCTION, state["promotion"]["names"]["prod_config"])
    assert production["ServerlessConfig"] == {"MemorySizeInMB": 2048, "MaxConcurrency": 10}
    started = ledger_entry("production_deploy_started")
    assert "on serverless, 2048 MB" in started["summary"]
    assert started["summary"].endswith("no data capture (serverless endpoints have none)")
    assert "shadow_test_skipped" in [e for e in [ledger_entry("shadow_test_skipped")["action"]]]
    scalable = account_client("application-autoscaling", PRODUCTION).describe_scalable_targets(
        ServiceNamespace="sagemaker"
    )["ScalableTargets"]
    assert scalable == []


def test_an_existing_endpoint_is_not_updated_to_serverless(world: World) -> None:
    serverless_config(world)  # demand-prod serves v1 on instances
    state = prepared(world)
    refusal = state["promotion"]["refusal"]
    assert refusal.startswith(
        f"{ENDPOINT} in account {PRODUCTION} is a real-time endpoint and production.serverless "
        "is set"
    )
    assert "SageMaker cannot update an instance-based endpoint to serverless" in refusal


def test_serverless_production_refuses_an_autoscaling_section(world: World) -> None:
    serverless_config(world)
    config = world.config | {
        "promotion": world.config["promotion"]
        | {"autoscaling": {"benchmarked_max_rps": 5, "max_instances": 4}}
    }
    with pytest.raises(ValidationError, match="a serverless production variant scales itself"):
        ModelConfig.model_validate(config)
