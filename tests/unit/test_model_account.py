"""A model's workload account: validated, and stored with the alias intakes read it by."""

from __future__ import annotations

import json
from typing import Any

import pytest
from mlops_runtime.model_config import ModelConfig, records
from pydantic import ValidationError

from tests.unit.test_promotion_config import config as example

SECRET = "arn:aws:secretsmanager:us-east-1:123456789012:secret:mlopscp/promotion/external-id-Ab12"
READER = "arn:aws:iam::333333333333:role/mlopscp-reader"


def promoted() -> dict[str, Any]:
    """The example's promotion (production account 333333333333) and approvals."""
    document = example()
    return {"approvals": document["approvals"], "promotion": document["promotion"]}


def model(**account: Any) -> dict[str, Any]:
    return {
        "model_id": "churn",
        "endpoint_name": "churn-prod",
        "monitoring_output_uri": "s3://mlopscp-monitoring-333333333333/monitoring/churn-prod",
        "account": {"account_id": "333333333333", "reader_role_arn": READER} | account,
    }


def test_a_model_in_a_workload_account_is_read_through_its_reader_role() -> None:
    config = ModelConfig.model_validate(model(external_id_secret_arn=SECRET))
    assert config.account_id("123456789012") == "333333333333"
    access = config.access()
    assert access is not None
    assert (access.account_id, access.reader_role_arn, access.external_id_secret_arn) == (
        "333333333333",
        READER,
        SECRET,
    )


def test_a_model_without_an_account_is_in_the_tooling_account() -> None:
    config = ModelConfig.model_validate({"model_id": "churn", "endpoint_name": "churn-prod"})
    assert config.account_id("123456789012") == "123456789012"
    assert config.access() is None
    assert not any(key.startswith("account#") for key in records(config))


def test_the_reader_role_must_be_a_role_of_that_account() -> None:
    with pytest.raises(ValidationError, match="is not a role of account 333333333333"):
        ModelConfig.model_validate(
            model(
                reader_role_arn="arn:aws:iam::222222222222:role/mlopscp-reader",
                external_id_secret_arn=SECRET,
            )
        )


def test_the_reader_needs_an_external_id_secret() -> None:
    with pytest.raises(ValidationError, match="external_id_secret_arn is required"):
        ModelConfig.model_validate(model())


def test_a_promoted_model_reads_with_the_promotions_external_id_by_default() -> None:
    config = ModelConfig.model_validate(model() | promoted())
    access = config.access()
    assert access is not None
    assert access.external_id_secret_arn == config.promotion.external_id_secret_arn  # type: ignore[union-attr]


def test_a_model_is_monitored_in_the_account_it_is_promoted_to() -> None:
    with pytest.raises(ValidationError, match="not the promotion's production account"):
        ModelConfig.model_validate(
            model(account_id="444444444444", reader_role_arn=READER.replace("3" * 12, "4" * 12))
            | promoted()
        )


def test_the_stored_records_name_how_to_read_in_the_account() -> None:
    stored = records(ModelConfig.model_validate(model(external_id_secret_arn=SECRET)))
    assert stored["endpoint#churn-prod"] == "churn"
    assert json.loads(stored["account#333333333333"]) == {
        "account_id": "333333333333",
        "reader_role_arn": READER,
        "external_id_secret_arn": SECRET,
    }
