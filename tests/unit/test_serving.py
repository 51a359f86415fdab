"""Serving guardrails (idle, underused, batch traffic) with their list-price cost and fix."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from mlops_core import guardrails, serving, serving_prices
from mlops_core.guardrails import Rule
from mlops_core.serving import EndpointUsage, VariantUsage
from mlops_core.serving_policy import ServingPolicy
from pydantic import ValidationError

NOW = datetime(2026, 11, 29, 12, tzinfo=UTC)
POLICY = ServingPolicy()


def hourly(per_hour: dict[int, float], days: int = 7) -> tuple[tuple[datetime, float], ...]:
    """Invocations at the given hours of day (UTC) on each of the last ``days`` days."""
    start = (NOW - timedelta(days=days)).replace(hour=0)
    return tuple(
        (start + timedelta(days=d, hours=h), n)
        for d in range(days)
        for h, n in sorted(per_hour.items())
    )


def usage(*variants: VariantUsage, age_days: int = 30, region: str = "us-east-1") -> EndpointUsage:
    return EndpointUsage("churn-prod", region, NOW - timedelta(days=age_days), variants)


def variant(
    calls: tuple[tuple[datetime, float], ...] = (),
    *,
    instance_type: str | None = "ml.m5.large",
    instances: int = 1,
    cpu_peak: float | None = 50.0,
) -> VariantUsage:
    return VariantUsage("AllTraffic", instance_type, instances, calls, cpu_peak)


STEADY = hourly(dict.fromkeys(range(24), 600.0))


def test_an_endpoint_without_invocations_for_idle_days_is_idle_with_its_monthly_cost() -> None:
    (finding,) = serving.check_usage(usage(variant(instances=2)), POLICY, NOW)
    assert finding.rule == Rule.ENDPOINT_IDLE
    assert finding.resource == "endpoint/churn-prod"
    # 2 x ml.m5.large at $0.115/h x 730 h
    assert finding.monthly_usd == pytest.approx(167.9)
    assert "$167.90/month at list price, unverified (2 x ml.m5.large, us-east-1" in (
        finding.message
    )
    assert finding.fix is not None
    assert finding.fix.startswith("delete it")


def test_traffic_older_than_the_window_does_not_keep_an_endpoint_busy() -> None:
    old = ((NOW - timedelta(days=8), 1000.0),)
    assert serving.check_usage(usage(variant(old)), POLICY, NOW)[0].rule == Rule.ENDPOINT_IDLE
    one_call = ((NOW - timedelta(days=6), 1.0),)
    assert serving.check_usage(usage(variant(one_call)), POLICY, NOW) == []


def test_a_new_endpoint_is_not_idle_before_the_window_has_passed() -> None:
    assert serving.check_usage(usage(variant(), age_days=3), POLICY, NOW) == []
    policy = ServingPolicy(idle_days=2)
    assert serving.check_usage(usage(variant(), age_days=3), policy, NOW)[0].rule == (
        Rule.ENDPOINT_IDLE
    )


def test_serverless_and_scaled_to_zero_variants_cost_nothing_idle() -> None:
    serverless = variant(instance_type=None, instances=0)
    assert serving.check_usage(usage(serverless), POLICY, NOW) == []
    assert serving.check_usage(usage(variant(instances=0)), POLICY, NOW) == []


def test_an_unknown_instance_type_or_region_says_so_instead_of_guessing() -> None:
    (finding,) = serving.check_usage(usage(variant(instance_type="ml.x9.huge")), POLICY, NOW)
    assert finding.monthly_usd is None
    assert "no list price for ml.x9.huge in us-east-1" in finding.message
    (finding,) = serving.check_usage(usage(variant(), region="ap-south-2"), POLICY, NOW)
    assert finding.monthly_usd is None


def test_several_instances_far_below_their_cpu_capacity_are_underused() -> None:
    # 4 x ml.m5.large (2 vCPUs): busiest hour 12% of 200% = 6% of the fleet's CPUs
    found = serving.check_usage(usage(variant(STEADY, instances=4, cpu_peak=12.0)), POLICY, NOW)
    (finding,) = found
    assert finding.rule == Rule.ENDPOINT_UNDERUSED
    assert finding.resource == "endpoint/churn-prod/variant/AllTraffic"
    assert finding.monthly_usd == pytest.approx(335.8)
    assert "busiest hour used 6.0% of their CPUs" in finding.message
    # 4 x 6% = 0.24 of one instance: 1 instance at <= 60% peak; 3 fewer save 3 x $83.95
    assert finding.fix is not None
    assert "run 1 instance" in finding.fix
    assert "saves $251.85/month" in finding.fix
    assert "ml.m6g.large (Graviton)" in finding.fix


@pytest.mark.parametrize(
    ("instances", "cpu_peak"),
    [(1, 1.0), (4, 20.0), (4, None)],  # one instance; 10% of the CPUs; no CPU data
)
def test_one_instance_or_a_busy_fleet_or_no_cpu_data_is_not_underused(
    instances: int, cpu_peak: float | None
) -> None:
    found = serving.check_usage(
        usage(variant(STEADY, instances=instances, cpu_peak=cpu_peak)), POLICY, NOW
    )
    assert found == []


def test_traffic_in_one_short_daily_window_wants_batch_transform() -> None:
    nightly = hourly({1: 5000.0, 2: 8000.0, 3: 100.0, 14: 10.0})
    (finding,) = serving.check_usage(usage(variant(nightly)), POLICY, NOW)
    assert finding.rule == Rule.ENDPOINT_BATCH_TRAFFIC
    assert "between 01:00 and 04:00 UTC" in finding.message
    assert "on 7 days" in finding.message
    assert finding.fix is not None
    assert "Batch Transform" in finding.fix
    assert "about $10.49/month for 3 h a day" in finding.fix  # 83.95 x 3 / 24
    assert "async inference" in finding.fix


def test_a_window_across_midnight_counts_as_one_window() -> None:
    late = hourly({23: 4000.0, 0: 4000.0})
    start, share = serving.busiest_window(late, 3)
    assert share == 1.0
    assert start in (22, 23)


@pytest.mark.parametrize(
    "calls",
    [
        STEADY,  # spread over the day
        hourly({2: 9000.0}, days=2),  # a window, but on too few days to be a pattern
        hourly({2: 600.0, 9: 300.0, 15: 300.0}),  # 50% in the window
    ],
)
def test_spread_or_too_little_traffic_is_not_batch_traffic(calls: tuple) -> None:
    assert serving.check_usage(usage(variant(calls)), POLICY, NOW) == []


def test_policy_bounds_are_validated() -> None:
    with pytest.raises(ValidationError):
        ServingPolicy(idle_days=0)
    with pytest.raises(ValidationError):
        ServingPolicy(batch_window_share=0.3)
    policy = guardrails.GuardrailPolicy.model_validate({"serving": {"idle_days": 14}})
    assert policy.serving.idle_days == 14


def test_a_cost_says_list_price_only_when_every_price_in_it_is_verified(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    east = dict(serving_prices.PRICES["us-east-1"])
    east["ml.m5.large"] = serving_prices.InstanceType(0.115, 2, True)
    monkeypatch.setitem(serving_prices.PRICES, "us-east-1", east)
    verified = serving.cost("us-east-1", [variant(instances=2)])
    assert verified.text().startswith("$167.90/month at list price (2 x ml.m5.large")
    mixed = serving.cost("us-east-1", [variant(instances=2), VariantUsage("b", "ml.c5.large", 1)])
    assert ", unverified (2 x ml.m5.large + 1 x ml.c5.large" in mixed.text()
    assert serving.cost("us-east-1", [VariantUsage("g", "ml.p5.48xlarge", 1)]).text() == (
        "no list price for ml.p5.48xlarge in us-east-1"
    )


def test_the_price_table_has_its_date_and_source_and_only_real_types() -> None:
    assert serving_prices.PRICES_AS_OF
    assert "pricing" in serving_prices.PRICES_SOURCE
    for table in serving_prices.PRICES.values():
        for name, known in table.items():
            assert name.startswith("ml.")
            assert known.hourly_usd > 0
            assert known.vcpus > 0
    for old, new in serving_prices.GRAVITON_ALTERNATIVE.items():
        assert serving_prices.PRICES["us-east-1"][new].hourly_usd < (
            serving_prices.PRICES["us-east-1"][old].hourly_usd
        )


def test_the_digest_shows_each_fix_and_what_the_flagged_endpoints_cost() -> None:
    items = [
        {
            "resource": "endpoint/churn-prod",
            "rule": "endpoint.idle",
            "message": "no invocations for 7 days",
            "fix": "delete it",
            "monthly_usd": 83.95,
            "model_id": "churn",
        },
        {
            "resource": "endpoint/demand-prod/variant/AllTraffic",
            "rule": "endpoint.underused",
            "message": "4 x ml.m5.large",
            "monthly_usd": 335.8,
            "model_id": "demand",
        },
    ]
    page = guardrails.digest("digest-1", items)
    assert page.title.endswith("$419.75/month at list price in flagged endpoints")
    assert (
        "endpoint/churn-prod (churn) endpoint.idle: no invocations for 7 days. Fix: delete it"
        in (page.lines)
    )
    assert page.facts["flagged_monthly_usd"] == "419.75"
