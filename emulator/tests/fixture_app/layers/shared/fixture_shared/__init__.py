"""Shared code the fixture functions import from their layer, as the product's functions do."""

import json
import sys


class MyCustomError(Exception):
    """Raised on request; Step Functions and Lambda destinations must see this class name."""


def log(message: str, **fields: object) -> None:
    # One JSON object per line on stdout, like Powertools' Logger.
    print(json.dumps({"message": message, **fields}), file=sys.stdout, flush=True)
