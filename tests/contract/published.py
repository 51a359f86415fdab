"""Load payloads exactly as they were published, repairing only documented defects.

Some AWS documentation samples are not strict JSON (comments, trailing commas, a bare
placeholder, a missing brace, fragments), and notebook outputs are Python reprs. Each repair
is listed so a test can assert which ones a file needed: nothing else is ever changed.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import Any

SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "samples"


def _strip_hash_comments(text: str) -> str:
    return re.sub(r"^\s*#.*$", "", text, flags=re.M)


def _drop_trailing_commas(text: str) -> str:
    return re.sub(r",(\s*[}\]])", r"\1", text)


def _null_bare_placeholders(text: str) -> str:
    return re.sub(r"(:\s*)([A-Z][A-Za-z]+)(\s*[,}\n])", r"\1null\3", text)


def _add_missing_commas(text: str) -> str:
    return re.sub(r'([\]}"])(\s*\n\s*")', r"\1,\2", text)


def _close_braces(text: str) -> str:
    missing = text.count("{") - text.count("}")
    return text.rstrip() + "\n" + "}" * missing if missing > 0 else text


def _wrap_fragment(text: str) -> str:
    return "{" + text + "}" if text.lstrip().startswith('"') else text


REPAIRS = (
    ("hash comments", _strip_hash_comments),
    ("trailing commas", _drop_trailing_commas),
    ("bare placeholder", _null_bare_placeholders),
    ("missing comma", _add_missing_commas),
    ("missing closing brace", _close_braces),
    ("fragment", _wrap_fragment),
)


def load(path: Path) -> tuple[Any, list[str]]:
    """(document, repairs applied). Python-repr notebook output is read with literal_eval."""
    text = path.read_text()
    if path.suffix == ".txt":
        start = text.find("{")
        return ast.literal_eval(text[start:]), ["python repr"]
    applied: list[str] = []
    for name, repair in REPAIRS:
        try:
            return json.loads(text), applied
        except json.JSONDecodeError:
            repaired = repair(text)
            if repaired != text:
                applied.append(name)
                text = repaired
    return json.loads(text), applied
