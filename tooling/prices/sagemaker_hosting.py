"""Generate mlops_core/serving_price_table.py from AWS's price list: one command per update.

    python tooling/prices/sagemaker_hosting.py --download            # where AWS is reachable
    python tooling/prices/sagemaker_hosting.py --offer us-east-1.json --offer us-west-2.json

Reads the AmazonSageMaker offer file of each region (the Price List Bulk API,
``https://pricing.us-east-1.amazonaws.com/offers/v1.0/aws/AmazonSageMaker/current/<region>/index.json``)
and keeps the on-demand price of every real-time hosting instance: products of family
``ML Instance`` in an AWS Region whose usage type is ``<region code>-Host:<instance type>``
(what the bill calls endpoint instance-hours), priced per ``Hrs`` in USD, with the type's vCPUs.
The table module is rewritten whole, with each file's URL (or path), publication date and
version, and the date it was read: every entry it writes is verified.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import textwrap
import urllib.request
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
TABLE = ROOT / "layers" / "shared" / "mlops_core" / "serving_price_table.py"
OFFER_URL = (
    "https://pricing.us-east-1.amazonaws.com/offers/v1.0/aws/AmazonSageMaker/current/"
    "{region}/index.json"
)
REGIONS = ("us-east-1", "us-west-2")
HOSTING_USAGE = re.compile(r"^[A-Z0-9]+-Host:(ml\.[a-z0-9]+\.[a-z0-9]+)$")

# (USD per instance-hour, vCPUs, verified against AWS's price list)
Entry = tuple[float, int, bool]


def hosting_prices(offer: Mapping[str, Any], region: str) -> dict[str, Entry]:
    """Every real-time hosting instance type of ``region`` in an AmazonSageMaker offer file."""
    found: dict[str, tuple[str, int]] = {}  # sku -> (type, vCPUs)
    for sku, product in offer.get("products", {}).items():
        attributes = product.get("attributes", {})
        usage = HOSTING_USAGE.match(attributes.get("usagetype", ""))
        if (
            product.get("productFamily") != "ML Instance"
            or attributes.get("regionCode") != region
            or attributes.get("locationType") != "AWS Region"
            or usage is None
        ):
            continue
        found[sku] = (usage.group(1), int(attributes.get("vCpu") or 0))
    prices: dict[str, Entry] = {}
    for sku, terms in offer.get("terms", {}).get("OnDemand", {}).items():
        if sku not in found:
            continue
        kind, vcpus = found[sku]
        for term in terms.values():
            for dimension in term.get("priceDimensions", {}).values():
                usd = float(dimension.get("pricePerUnit", {}).get("USD", 0) or 0)
                if dimension.get("unit") == "Hrs" and usd > 0 and vcpus > 0:
                    prices[kind] = (usd, vcpus, True)
    return dict(sorted(prices.items(), key=lambda item: _order(item[0])))


def _order(kind: str) -> tuple[str, int, str]:
    """ml.m5.large before ml.m5.xlarge before ml.m5.2xlarge (family, then size)."""
    _, family, size = kind.split(".")
    sizes = ["medium", "large", "xlarge"]
    if size in sizes:
        return family, sizes.index(size), size
    return family, 3 + int(re.sub(r"\D", "", size) or 0), size


def render(
    table: Mapping[str, Mapping[str, Entry]], as_of: str, source: str, note: str = ""
) -> str:
    """The text of mlops_core/serving_price_table.py."""
    lines = [
        '"""List prices of SageMaker real-time inference instances: the data of',
        "mlops_core.serving_prices. Written by tooling/prices/sagemaker_hosting.py; rerun it to",
        'update (docs/serving.md, "The price table").',
        '"""',
        "",
        "# fmt: off",
        f"AS_OF = {json.dumps(as_of)}  # the day these prices were read from SOURCE",
        f"SOURCE = {_string(source)}",
        f"NOTE = {_string(note)}",
        "",
        "# region -> instance type -> (USD per instance-hour, on-demand, Linux; vCPUs;",
        "#                             verified against AWS's price list)",
        "HOURLY: dict[str, dict[str, tuple[float, int, bool]]] = {",
    ]
    for region, prices in table.items():
        lines.append(f"    {json.dumps(region)}: {{")
        lines += [
            f"        {json.dumps(kind)}: ({usd!r}, {vcpus}, {verified}),"
            for kind, (usd, vcpus, verified) in prices.items()
        ]
        lines.append("    },")
    lines += ["}", "# fmt: on", ""]
    return "\n".join(lines)


def _string(text: str) -> str:
    """A string literal in lines that fit the line length."""
    if len(text) < 70:
        return json.dumps(text)
    parts = textwrap.wrap(text, 80, drop_whitespace=False)
    return "(\n" + "".join(f"    {json.dumps(part)}\n" for part in parts) + ")"


def _offers(paths: Iterable[Path], download: bool, regions: Iterable[str]) -> list[tuple[Any, str]]:
    if download:
        found = []
        for region in regions:
            url = OFFER_URL.format(region=region)
            with urllib.request.urlopen(url, timeout=120) as response:  # noqa: S310 (fixed https URL)
                found.append((json.load(response), url))
        return found
    return [(json.loads(path.read_text()), str(path)) for path in paths]


def generate(offers: list[tuple[Any, str]], regions: Iterable[str], today: str) -> str:
    table: dict[str, dict[str, Entry]] = {}
    sources = []
    for region in regions:
        for offer, where in offers:
            prices = hosting_prices(offer, region)
            if prices:
                table[region] = prices
                sources.append(
                    f"{where} (AmazonSageMaker offer, publicationDate "
                    f"{offer.get('publicationDate', '?')}, version {offer.get('version', '?')})"
                )
                break
        else:
            raise SystemExit(f"no SageMaker hosting prices for {region} in the offer files")
    return render(table, today, "; ".join(sources))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--offer", type=Path, action="append", default=[], help="offer file")
    parser.add_argument("--download", action="store_true", help="fetch the offer files")
    parser.add_argument("--regions", default=",".join(REGIONS))
    parser.add_argument("--out", type=Path, default=TABLE)
    args = parser.parse_args()
    if not (args.offer or args.download):
        parser.error("give --offer FILE (one per region) or --download")
    regions = [r.strip() for r in args.regions.split(",") if r.strip()]
    text = generate(
        _offers(args.offer, args.download, regions), regions, f"{datetime.now(UTC):%Y-%m-%d}"
    )
    args.out.write_text(text)
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
