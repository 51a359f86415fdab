"""The trust boundary's two rules, pure: which account speaks for a model, where triage reads."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from mlops_core.trust import account_refusal, is_under, location_refusal

ROOT = "s3://monitoring-bucket/monitoring/churn-prod"


def test_an_event_from_the_models_own_account_is_admitted() -> None:
    assert account_refusal("333333333333", "churn", "333333333333") is None


def test_an_event_from_another_account_is_refused_naming_both() -> None:
    why = account_refusal("222222222222", "churn", "333333333333")
    assert why is not None
    assert "222222222222" in why
    assert "333333333333" in why
    assert "churn" in why


@pytest.mark.parametrize("account", ["", None])
def test_an_event_without_an_account_is_refused(account: str | None) -> None:
    assert account_refusal(account, "churn", "333333333333") is not None


@pytest.mark.parametrize(
    "uri",
    [
        ROOT,
        ROOT + "/",
        ROOT + "/churn-data-quality",
        ROOT + "/churn-data-quality/2026/07/27/00",
    ],
)
def test_the_root_and_prefixes_below_it_are_under_it(uri: str) -> None:
    assert is_under(uri, ROOT)
    assert location_refusal(uri, ROOT, "churn") is None


@pytest.mark.parametrize(
    "uri",
    [
        "s3://attacker-bucket/monitoring/churn-prod",  # another bucket, same key
        "s3://monitoring-bucket/monitoring/churn-prod-copy",  # a sibling sharing the prefix
        "s3://monitoring-bucket/monitoring",  # above the root
        "s3://monitoring-bucket/monitoring/churn-prod/../fraud-prod",  # climbs out
        "s3://monitoring-bucket/monitoring/churn-prod/./x",
        "s3://monitoring-bucket/monitoring//churn-prod",
        "s3://monitoring-bucketx/monitoring/churn-prod",
        "https://monitoring-bucket.s3.amazonaws.com/monitoring/churn-prod",
        "s3:///monitoring/churn-prod",
    ],
)
def test_anything_else_is_not_under_the_root(uri: str) -> None:
    assert not is_under(uri, ROOT)
    why = location_refusal(uri, ROOT, "churn")
    assert why is not None
    assert uri in why
    assert ROOT in why


def test_a_bucket_root_contains_every_key_of_that_bucket_only() -> None:
    assert is_under("s3://monitoring-bucket/any/thing", "s3://monitoring-bucket")
    assert not is_under("s3://other/any/thing", "s3://monitoring-bucket/")


def test_without_a_configured_location_an_event_may_choose_none() -> None:
    why = location_refusal(ROOT, None, "churn")
    assert why is not None
    assert "configures no monitoring_output_uri" in why


segment = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_", min_size=1, max_size=8)


@given(st.lists(segment, min_size=1, max_size=4), st.lists(segment, max_size=3))
def test_a_prefix_built_below_the_root_is_under_it(base: list[str], below: list[str]) -> None:
    root = "s3://bucket/" + "/".join(base)
    assert is_under("/".join([root, *below]), root)


@given(st.lists(segment, min_size=1, max_size=4), segment)
def test_a_sibling_with_a_longer_last_segment_is_never_under_it(base: list[str], tail: str) -> None:
    root = "s3://bucket/" + "/".join(base)
    assert not is_under(root + tail, root)
