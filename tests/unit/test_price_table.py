"""tooling/prices/sagemaker_hosting.py: the price table generated from AWS's price list keeps
exactly the real-time hosting prices of the regions asked for, and the module it writes is what
mlops_core.serving_prices reads."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tooling" / "prices"))

import sagemaker_hosting  # noqa: E402


def product(sku: str, usage: str, region: str = "us-east-1", vcpu: str = "2") -> dict[str, Any]:
    return {
        "sku": sku,
        "productFamily": "ML Instance",
        "attributes": {
            "regionCode": region,
            "locationType": "AWS Region",
            "usagetype": usage,
            "vCpu": vcpu,
            "operation": "RunInstance",
        },
    }


def on_demand(usd: str, unit: str = "Hrs") -> dict[str, Any]:
    return {
        "T1": {
            "priceDimensions": {
                "R1": {"unit": unit, "pricePerUnit": {"USD": usd}, "description": "per hour"}
            }
        }
    }


# The shape of an AmazonSageMaker offer file (Price List Bulk API), cut to what matters.
OFFER = {
    "offerCode": "AmazonSageMaker",
    "version": "20261120000000",
    "publicationDate": "2026-11-20T00:00:00Z",
    "products": {
        "HOST1": product("HOST1", "USE1-Host:ml.m5.large"),
        "HOST2": product("HOST2", "USE1-Host:ml.m5.xlarge", vcpu="4"),
        "TRAIN": product("TRAIN", "USE1-Train:ml.m5.large"),
        "PROC": product("PROC", "USE1-Processing:ml.m5.large"),
        "WEST": product("WEST", "USW2-Host:ml.m5.large", region="us-west-2"),
        "FREE": product("FREE", "USE1-Host:ml.t2.medium"),
        "STORE": {
            "sku": "STORE",
            "productFamily": "Storage",
            "attributes": {"regionCode": "us-east-1", "usagetype": "USE1-Host:VolumeUsage.gp2"},
        },
    },
    "terms": {
        "OnDemand": {
            "HOST1": on_demand("0.1150000000"),
            "HOST2": on_demand("0.2300000000"),
            "TRAIN": on_demand("0.1150000000"),
            "PROC": on_demand("0.1150000000"),
            "WEST": on_demand("0.1150000000"),
            "FREE": on_demand("0.0000000000"),
            "STORE": on_demand("0.1400000000", unit="GB-Mo"),
        }
    },
}


def test_only_real_time_hosting_of_the_region_is_kept() -> None:
    assert sagemaker_hosting.hosting_prices(OFFER, "us-east-1") == {
        "ml.m5.large": (0.115, 2, True),
        "ml.m5.xlarge": (0.23, 4, True),
    }
    assert sagemaker_hosting.hosting_prices(OFFER, "us-west-2") == {"ml.m5.large": (0.115, 2, True)}
    assert sagemaker_hosting.hosting_prices(OFFER, "eu-west-1") == {}


def test_the_generated_module_names_its_source_and_serves_the_price_module(
    tmp_path: Path,
) -> None:
    offer = tmp_path / "us-east-1.json"
    offer.write_text(json.dumps(OFFER))
    text = sagemaker_hosting.generate(
        [(OFFER, str(offer))], ["us-east-1", "us-west-2"], "2026-11-29"
    )
    namespace: dict[str, Any] = {}
    exec(compile(text, "serving_price_table.py", "exec"), namespace)
    assert namespace["AS_OF"] == "2026-11-29"
    assert "publicationDate 2026-11-20T00:00:00Z, version 20261120000000" in namespace["SOURCE"]
    assert namespace["HOURLY"]["us-east-1"]["ml.m5.xlarge"] == (0.23, 4, True)
    assert namespace["HOURLY"]["us-west-2"] == {"ml.m5.large": (0.115, 2, True)}


def test_sizes_are_ordered_as_people_read_them() -> None:
    kinds = ["ml.m5.2xlarge", "ml.m5.xlarge", "ml.c5.large", "ml.m5.large", "ml.m5.12xlarge"]
    assert sorted(kinds, key=sagemaker_hosting._order) == [
        "ml.c5.large",
        "ml.m5.large",
        "ml.m5.xlarge",
        "ml.m5.2xlarge",
        "ml.m5.12xlarge",
    ]


def test_the_kept_table_is_what_the_generator_writes_and_says_what_is_unverified() -> None:
    """The committed table is in the generator's own format, so the next update is one
    command; the hand-entered prices are all marked unverified until then."""
    from mlops_core import serving_price_table as table

    written = sagemaker_hosting.render(table.HOURLY, table.AS_OF, table.SOURCE, table.NOTE)
    assert (ROOT / "layers/shared/mlops_core/serving_price_table.py").read_text() == written
    entries = [entry for types in table.HOURLY.values() for entry in types.values()]
    if not all(verified for _, _, verified in entries):
        assert "unverified" in table.NOTE
