"""Text for email (SNS): bodies and subjects the control plane sends are built with these.

A plain-text email has no markup to escape, but a line break in an untrusted value could start a
line of its own, e.g. a fake "To approve, open: https://..." above the real links. So:

- untrusted values are :func:`field` and :func:`bullet` lines: one line each, the value inside
  double quotes (JSON string syntax, so a quote or backslash in it cannot close the field);
  a headline the control plane composed around a value goes on one line (:func:`single_line`);
- labels are the control plane's own (:func:`label_of` reduces a label built from data to
  letters, digits and a few punctuation marks);
- an approval email puts its real links first and the quoted facts below them;
- :func:`subject` makes an SNS subject: printable ASCII, one line, at most 100 characters.
"""

from __future__ import annotations

import json
import re

from mlops_core.untrusted import single_line

__all__ = ["bullet", "field", "label_of", "quoted", "single_line", "subject"]

_LABEL_UNSAFE = re.compile(r"[^A-Za-z0-9 ()._/-]")


def quoted(value: object, limit: int = 500) -> str:
    return json.dumps(single_line(value, limit), ensure_ascii=False)


def field(label: str, value: object, limit: int = 500) -> str:
    return f"{label_of(label)}: {quoted(value, limit)}"


def bullet(value: object, limit: int = 500) -> str:
    return f"- {quoted(value, limit)}"


def label_of(text: str) -> str:
    return _LABEL_UNSAFE.sub("", single_line(text, 60)) or "value"


def subject(text: object) -> str:
    """SNS subjects: ASCII from a letter, number or punctuation mark, no line breaks or control
    characters, 100 characters at most."""
    ascii_text = "".join(c if 32 <= ord(c) < 127 else "-" for c in single_line(text, 100))
    return ascii_text.strip() or "mlops-control-plane"
