"""Fleet sizing: the new fleet's instance count and the variant's autoscaling after a deployment."""

from __future__ import annotations

import pytest
from mlops_core.promotion import AutoscalingPolicy, fleet

THEIRS = {"PolicyName": "theirs", "PolicyType": "StepScaling", "StepScalingPolicyConfiguration": {}}
STALE_OURS = {"PolicyName": fleet.TARGET_TRACKING_POLICY, "PolicyType": "TargetTrackingScaling"}
CONFIGURED = AutoscalingPolicy(benchmarked_max_rps=25, min_instances=2, max_instances=6)


@pytest.mark.parametrize(
    ("live", "configured", "scaling", "count", "because"),
    [
        (4, 1, fleet.Scaling(2, 8), 4, "the live variant's current count (4)"),
        (4, 1, None, 4, "the live variant's current count (4)"),  # scaled by hand, no autoscaling
        (1, 2, None, 2, "the configured instance_count (2); the live variant runs 1"),
        (1, 1, fleet.Scaling(3, 8), 3, "the autoscaling minimum (3); the live variant's"),
        (9, 1, fleet.Scaling(2, 6), 6, "the autoscaling maximum (6); the live variant's current"),
        (None, 2, None, 2, "the configured instance_count (2)"),  # a first deployment
        (None, 1, fleet.Scaling(2, 4), 2, "the autoscaling minimum (2); the configured"),
    ],
)
def test_the_new_fleet_starts_at_the_live_count_within_the_bounds(
    live: int | None, configured: int, scaling: fleet.Scaling | None, count: int, because: str
) -> None:
    size = fleet.fleet_size(live, configured, scaling)
    assert size.count == count
    assert size.reason.startswith(f"{count} instance")
    assert because in size.reason


def test_the_live_count_is_read_from_the_variant_summary() -> None:
    variants = [
        {"VariantName": "Other", "CurrentInstanceCount": 9},
        {"VariantName": "AllTraffic", "CurrentInstanceCount": 4, "DesiredInstanceCount": 5},
    ]
    assert fleet.live_instance_count(variants, "AllTraffic") == 4
    # Mid-scaling AWS may report only the desired count; an unknown variant has none.
    assert fleet.live_instance_count([{"VariantName": "A", "DesiredInstanceCount": 3}], "A") == 3
    assert fleet.live_instance_count(variants, "Missing") is None
    assert (
        fleet.live_instance_count([{"VariantName": "A", "CurrentInstanceCount": True}], "A") is None
    )


def test_without_a_configured_policy_the_variant_keeps_its_own_autoscaling() -> None:
    before = fleet.Scaling(2, 8, (THEIRS,))
    assert fleet.scaling_after(before, None) is before
    assert fleet.scaling_after(None, None) is None


def test_a_configured_policy_wins_its_bounds_and_policy_and_keeps_the_teams_others() -> None:
    before = fleet.Scaling(1, 10, (THEIRS, STALE_OURS))
    after = fleet.scaling_after(before, CONFIGURED)
    assert after is not None
    assert (after.min, after.max) == (2, 6)
    names = [p["PolicyName"] for p in after.policies]
    assert names == [fleet.TARGET_TRACKING_POLICY, "theirs"]  # ours replaced, theirs kept
    tracking = after.policies[0]["TargetTrackingScalingPolicyConfiguration"]
    assert tracking["TargetValue"] == 1050.0
    assert fleet.scaling_after(None, CONFIGURED) == fleet.Scaling(2, 6, after.policies[:1])


def test_scaling_survives_the_state_machine_as_plain_data() -> None:
    scaling = fleet.Scaling(2, 8, (THEIRS,))
    assert fleet.Scaling.from_dict(scaling.to_dict()) == scaling
    assert fleet.Scaling.from_dict(None) is None
    assert fleet.Scaling.from_dict({}) is None
