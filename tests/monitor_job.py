"""The monitor job's own modules (pipelines/monitor/code), importable by tests of every tier.

The job runs them as scripts from one folder, so they import each other by bare name; tests put
that folder on sys.path the same way. Only ``capture`` and ``monitor`` are loaded here: both are
standard library only (``evidence``, which needs Evidently, runs under .venv-monitor).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CODE = ROOT / "pipelines" / "monitor" / "code"
if str(CODE) not in sys.path:
    sys.path.insert(0, str(CODE))

import capture  # noqa: E402
import monitor  # noqa: E402

MONITOR_PYTHON = ROOT / ".venv-monitor" / "bin" / "python"
SCRIPT = CODE / "monitor.py"

__all__ = ["CODE", "MONITOR_PYTHON", "ROOT", "SCRIPT", "capture", "monitor"]
