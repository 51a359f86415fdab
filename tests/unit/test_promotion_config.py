"""The `promotion` section of a model's configuration refuses what cannot work, naming it."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from mlops_runtime.model_config import ModelConfig
from pydantic import ValidationError

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "models" / "demand.yaml"


def config(change: Any = None) -> dict[str, Any]:
    document = copy.deepcopy(yaml.safe_load(EXAMPLE.read_text()))
    if change:
        change(document)
    return document


def test_the_example_is_valid_and_reads_its_policies() -> None:
    model = ModelConfig.model_validate(config())
    assert model.promotion is not None
    assert model.promotion.autoscaling is not None
    assert model.promotion.autoscaling.benchmarked_max_rps == 40
    assert model.promotion.shadow.min_invocations == 1000


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.pop("approvals"), "promotion needs an approvals section"),
        (
            lambda d: d["promotion"]["staging"].update(account_id="333333333333"),
            "is not a role of account 333333333333",
        ),
        (
            lambda d: d["promotion"]["production"].update(
                account_id="222222222222",
                deployer_role_arn="arn:aws:iam::222222222222:role/mlopscp-deployer",
                execution_role_arn="arn:aws:iam::222222222222:role/mlopscp-sagemaker-execution",
            ),
            "staging and production must be different accounts",
        ),
        (
            lambda d: d["promotion"].update(external_id_secret_arn="the-external-id"),
            "external_id_secret_arn",
        ),
        (lambda d: d["promotion"]["deployment"].update(strategy="all_at_once"), "strategy"),
        (lambda d: d["promotion"]["autoscaling"].update(min_instances=9), "min_instances"),
        (lambda d: d["promotion"]["shadow"].update(duration_minutes=50000), "duration_minutes"),
        (lambda d: d["promotion"]["quality"].update(metrics={"mse": "smaller"}), "metrics.mse"),
        (lambda d: d["promotion"].update(typo_key=1), "typo_key"),
        (
            lambda d: d["promotion"]["production"].update(instance_count=9),
            r"production.instance_count \(9\) is above autoscaling.max_instances \(8\)",
        ),
        (
            lambda d: d["promotion"]["quality"].update(thresholds={"ndcg": 0.7}),
            "thresholds ndcg: name their direction under metrics",
        ),
    ],
)
def test_an_impossible_promotion_section_is_refused(change: Any, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        ModelConfig.model_validate(config(change))
