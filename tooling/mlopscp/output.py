"""How every `mlopscp` command speaks: one JSON document on stdout with `--json`, human text
otherwise, and failures as one line on stderr with a hint and an exit code (never a traceback).

Commands raise `CliError` for a failure the user can fix; `mlopscp.cli.main` prints it and
returns its exit code.
"""

from __future__ import annotations

import json
import sys
from typing import Any

# Exit codes shared by every command (documented in the README, "Command line").
EXIT_OK = 0
EXIT_ATTENTION = 1  # the command worked and something waits for a human / a decision to act on
EXIT_USAGE = 2  # bad input: a file, a flag, a configuration
EXIT_AWS = 3  # AWS (or the emulator) could not be reached or refused us


class CliError(Exception):
    """A failure the user can fix: one line, an optional hint, an exit code."""

    def __init__(self, message: str, *, hint: str = "", exit_code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.exit_code = exit_code

    def line(self) -> str:
        return f"mlopscp: error: {self.message}" + (f" (hint: {self.hint})" if self.hint else "")


def emit_json(document: Any) -> None:
    """The only thing a `--json` command writes to stdout."""
    json.dump(document, sys.stdout, default=str, indent=2, sort_keys=False)
    sys.stdout.write("\n")


def say(text: str, *, as_json: bool = False) -> None:
    """Human text: stdout normally, stderr when stdout carries JSON."""
    print(text, file=sys.stderr if as_json else sys.stdout)
