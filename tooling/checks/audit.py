"""Audit every lock file for known vulnerabilities with pip-audit, and fail loudly when it cannot.

pip-audit asks a vulnerability service about each pinned version: PyPI's JSON API by default,
OSV with ``--service osv``. Where that service cannot be reached (these build machines reach the
package index, not those APIs), pip-audit marks every package "could not be audited" and, unless
strict, exits 0 saying "No known vulnerabilities found". This wrapper audits each lock's exact
pins without installing anything (``--disable-pip``, hashes required) and exits:

- 0: every package audited, no known vulnerability;
- 1: known vulnerabilities (each listed with its fix versions);
- 2: the audit is incomplete: the service was unreachable, timed out, or skipped packages.

Usage: python tooling/checks/audit.py [--service pypi|osv] [--timeout SECONDS] LOCK...
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

REQUEST_TIMEOUT = 15  # seconds for one answer of the service, so an unreachable one cannot hang
WHERE_TO_RUN = (
    "make audit needs the vulnerability service ({service}) on the internet: run it where that "
    "is reachable, e.g. in CI with internet access (see docs/dependencies.md)."
)


@dataclass(frozen=True)
class Verdict:
    code: int  # 0 clean, 1 vulnerable, 2 incomplete
    lines: tuple[str, ...]


def summarise(lock: str, report: dict[str, Any]) -> Verdict:
    """What pip-audit's JSON report of one lock means."""
    dependencies = report.get("dependencies") or []
    skipped = [d for d in dependencies if d.get("skip_reason")]
    vulnerable = [d for d in dependencies if d.get("vulns")]
    lines = [
        f"{lock}: {d['name']} {d['version']}: {v['id']}"
        + (f" (fixed in {', '.join(v['fix_versions'])})" if v.get("fix_versions") else "")
        for d in vulnerable
        for v in d["vulns"]
    ]
    if dependencies and len(skipped) == len(dependencies):
        return Verdict(
            2,
            (
                f"{lock}: not audited: the vulnerability service answered for none of its "
                f"{len(dependencies)} packages ({skipped[0]['skip_reason']})",
            ),
        )
    if skipped:
        lines += [f"{lock}: not audited: {d['skip_reason']}" for d in skipped]
        return Verdict(2, tuple(lines))
    if vulnerable:
        return Verdict(1, tuple(lines))
    return Verdict(0, (f"{lock}: {len(dependencies)} packages, no known vulnerability",))


Runner = Callable[[list[str], float], subprocess.CompletedProcess[str]]


def _run(command: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - this interpreter, fixed options, the lock paths
        command, capture_output=True, text=True, timeout=timeout, check=False
    )


def audit(lock: str, service: str, timeout: float, run: Runner = _run) -> Verdict:
    command = [
        sys.executable, "-m", "pip_audit",
        "--disable-pip", "--require-hashes", "--requirement", lock,
        "--vulnerability-service", service, "--timeout", str(REQUEST_TIMEOUT),
        "--format", "json", "--progress-spinner", "off",
    ]  # fmt: skip
    try:
        done = run(command, timeout)
    except subprocess.TimeoutExpired:
        return Verdict(2, (f"{lock}: pip-audit did not finish in {timeout:.0f} s",))
    try:
        report = json.loads(done.stdout)
    except json.JSONDecodeError:
        # No report: pip-audit stopped, e.g. on a connection error (OSV) or a bad lock.
        why = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
        return Verdict(2, (f"{lock}: pip-audit failed: {why}",))
    return summarise(lock, report)


def main(argv: list[str], run: Runner = _run) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("locks", nargs="+")
    parser.add_argument("--service", choices=("pypi", "osv"), default="pypi")
    parser.add_argument("--timeout", type=float, default=600, help="seconds per lock file")
    args = parser.parse_args(argv)
    worst = 0
    for lock in args.locks:
        verdict = audit(lock, args.service, args.timeout, run)
        stream = sys.stdout if verdict.code == 0 else sys.stderr
        for line in verdict.lines:
            print(line, file=stream)
        worst = max(worst, verdict.code)
    if worst == 1:
        print(
            "make audit: known vulnerabilities; update the pins (make lock-upgrade)",
            file=sys.stderr,
        )
    elif worst == 2:
        print("make audit: INCOMPLETE, vulnerabilities were not checked.", file=sys.stderr)
        print(WHERE_TO_RUN.format(service=args.service), file=sys.stderr)
    return worst


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
