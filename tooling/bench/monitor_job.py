"""Measure the Evidently monitor job (pipelines/monitor) on the demo's synthetic world.

Run by ``make bench`` (its JSON feeds tooling/bench/report.py's monitor section):

    python tooling/bench/monitor_job.py --out .tmp/bench/monitor.json [--runs 3]

Each run is the job's own script under .venv-monitor, as `mlopscp monitor run` starts it: the
``gradual`` world (700 captured requests an hour, 6 features, ground truth for about 80%), a
backfill of 10 hourly windows, so DataDriftPreset + DataSummaryPreset + RegressionPreset ten
times. CPU seconds are the child process's own (user + system), which stay meaningful on a
loaded machine where wall time does not; the Evidently import is timed alone.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tooling"))

from mlopscp.worlds import traffic  # noqa: E402

PYTHON = ROOT / ".venv-monitor" / "bin" / "python"
SCRIPT = ROOT / "pipelines" / "monitor" / "code" / "monitor.py"
WINDOWS = 10


def child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(command: list[str]) -> tuple[float, float, str]:
    """(wall seconds, CPU seconds, stdout) of one child process."""
    cpu, wall = child_cpu(), time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=True)  # noqa: S603
    return time.perf_counter() - wall, child_cpu() - cpu, done.stdout


def lay_out(root: Path) -> traffic.World:
    world = traffic.build(traffic.STORIES["gradual"], "eta-prod")
    for base, files in (("capture", world.capture), ("gt", world.ground_truth)):
        for key, body in files.items():
            (root / base / key).parent.mkdir(parents=True, exist_ok=True)
            (root / base / key).write_bytes(body)
    (root / "baseline.csv").write_bytes(world.baseline)
    return world


def measure(runs: int) -> dict[str, Any]:
    imports = [
        timed([str(PYTHON), "-c", "import evidently, evidently.presets, pandas"])[:2]
        for _ in range(runs)
    ]
    jobs = []
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        world = lay_out(root)
        for run in range(runs):
            wall, cpu, out = timed(
                [
                    str(PYTHON), str(SCRIPT), "--model-id", "eta", "--endpoint-name", "eta-prod",
                    "--capture", str(root / "capture"), "--baseline", str(root / "baseline.csv"),
                    "--ground-truth", str(root / "gt"), "--out", str(root / f"out-{run}"),
                    "--window-end", world.window_end.isoformat(), "--windows", str(WINDOWS),
                    "--problem-type", "regression",
                ]
            )  # fmt: skip
            reports = [r for r in json.loads(out)["reports"] if r.get("report_uri")]
            jobs.append({"wall": wall, "cpu": cpu, "reports": len(reports)})
    venv_bytes = sum(p.stat().st_size for p in (ROOT / ".venv-monitor").rglob("*") if p.is_file())
    rows = traffic.STORIES["gradual"].requests_per_hour
    return {
        "runs": runs,
        "windows": WINDOWS,
        "rows_per_window": rows,
        "import_cpu_s": statistics.median(c for _, c in imports),
        "job_cpu_s": statistics.median(j["cpu"] for j in jobs),
        "job_wall_s": statistics.median(j["wall"] for j in jobs),
        "reports": jobs[0]["reports"],
        "venv_mb": round(venv_bytes / 1e6),
    }


def section(measured: dict[str, Any]) -> list[str]:
    per_report = (measured["job_cpu_s"] - measured["import_cpu_s"]) / measured["windows"]
    return [
        "",
        "## Evidently monitor job",
        "",
        "The monitor job's script under .venv-monitor (tooling/bench/monitor_job.py): the demo's "
        f"`gradual` world, a backfill of {measured['windows']} hourly windows of "
        f"{measured['rows_per_window']} captured requests (6 features, ground truth joined for "
        "about 80%), each window DataDriftPreset + DataSummaryPreset + RegressionPreset against "
        f"an 800-row baseline. Medians of {measured['runs']} runs; CPU is the process's own "
        "(user + system).",
        "",
        "| | value |",
        "|---|---:|",
        f"| whole job, {measured['reports']} reports: CPU (s) | {measured['job_cpu_s']:.1f} |",
        f"| whole job: wall (s) | {measured['job_wall_s']:.1f} |",
        f"| importing Evidently + pandas: CPU (s) | {measured['import_cpu_s']:.1f} |",
        f"| per report (job less import, / windows): CPU (s) | {per_report:.2f} |",
        f"| .venv-monitor on disk (MB) | {measured['venv_mb']} |",
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    measured = measure(args.runs)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(measured, indent=2))
    print("\n".join(section(measured)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
