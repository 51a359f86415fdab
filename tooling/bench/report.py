"""Measure cold-start import time and package sizes, and write docs/benchmarks.md.

Run by ``make bench`` after ``sam build`` and the triage benchmarks (whose pytest-benchmark JSON
this script reads). Usage:

    python tooling/bench/report.py --triage-json .tmp/bench/triage.json \
        --runtime .tmp/bench/runtime [--runs 7] [--promotion-json .tmp/bench/promotion.json] \
        [--monitor-json .tmp/bench/monitor.json] [--incidents-json .tmp/bench/incidents.json]

The promotion section (state transitions and cost per promotion) is written by
tooling/bench/promotion_cost.py's ``section`` from the JSON that script measured; the monitor
job's and the incident storm's sections likewise (monitor_job.py, incident_storm.py).

Import time is measured the way Lambda loads a function: the function folder, then the built
layers (``.aws-sam/build/*Layer/python``), then what the runtime provides (``--runtime``: boto3
and its dependencies only, see tooling/bench/runtime-requirements.txt). The interpreter runs with
``-S`` so nothing else from the venv is importable. Each sample is a fresh interpreter timing
``import app`` in-process, so interpreter start-up is excluded, like the ``import boto3``
baseline measured the same way. The time is the process's CPU time (``time.process_time``):
on a machine other jobs share, the wall clock measures the queue for a core as much as the
import, the CPU time much less so (it still rises somewhat with load: compare rows of one run,
never runs made under different loads).

The *first call* columns add what a handler's first event builds on top of its import, since a
cold start is the import plus that first invocation: the DynamoDB client (every handler reads
or writes a table on every event it acts on; clients are built on first use) and, for the
idempotent handlers, Powertools idempotency (mlops_runtime.idempotency).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / ".aws-sam" / "build"
IMPORT_RATIO_TARGET = 1.5  # issue 13
ZIP_TARGET_MB = 10.0
TRIAGE_TARGET_MS = 50.0
EXPLAIN_TARGET_S = 2.0  # issue 12: explain on a model with 10,000 ledger entries
EVIDENTLY_TARGET_MS = 100.0
RUNTIME_ENV = {"AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1"}
BASELINE = "import boto3"
# What every handler imports by design before any of its own code: the floor of the ratio.
FLOOR = "boto3, pydantic's BaseModel, Powertools Logger and Metrics"
# Two more reference rows, each adding what most handlers must do by design: validate their
# settings at cold start (the guide's rule; pydantic's first model loads most of its machinery),
# then read a model configuration (its pydantic models, and the policies they hold).
SETTINGS_FLOOR = "+ settings validated (mlops_runtime.settings)"
CONFIG_FLOOR = "+ the model configuration's models (mlops_runtime.model_config)"
FLOOR_STATEMENT = (
    "import boto3\nfrom pydantic import BaseModel\n"
    "from aws_lambda_powertools import Logger, Metrics"
)
SETTINGS_STATEMENT = (
    f"{FLOOR_STATEMENT}\nfrom mlops_runtime.settings import FunctionSettings, load\n"
    "load(FunctionSettings)"
)
CONFIG_STATEMENT = f"{SETTINGS_STATEMENT}\nimport mlops_runtime.model_config"
REFERENCES = {
    BASELINE: "baseline",
    FLOOR: "floor: the libraries alone",
    SETTINGS_FLOOR: "floor: + settings",
    CONFIG_FLOOR: "floor: + model configuration",
}
# What a handler's first event builds beyond its import (see the module docstring).
FIRST_CALL = """
from mlops_runtime.aws import client
client("dynamodb")
if hasattr(app, "idempotency"):
    app.idempotency.persistence
"""

# Prints how long (CPU) the import took, then with the first call's work too, and where
# mlops_runtime came from (it must be the built layer, not the editable install in the venv).
_TIMER = """
import json, sys, time
start = time.process_time()
{statement}
elapsed = time.process_time() - start
{first_call}
first_call = time.process_time() - start
runtime = sys.modules.get("mlops_runtime")
print(json.dumps({{"seconds": elapsed, "first_call": first_call,
                  "mlops_runtime": getattr(runtime, "__file__", None)}}))
"""


@dataclass(frozen=True)
class Target:
    name: str
    statement: str
    code_dir: Path | None  # the function folder, first on sys.path


def read_env_file(path: Path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    return {k.strip(): v for k, v in pairs if not k.lstrip().startswith("#")}


def built(kind: str, root: Path = BUILD) -> dict[str, Path]:
    """Built functions (folders with app.py) or layers (folders with python/), by logical id."""
    if not root.is_dir():
        sys.exit(f"{root} is missing: run `make build` first")
    marker = "app.py" if kind == "functions" else "python"
    return {p.name: p for p in sorted(root.iterdir()) if (p / marker).exists()}


def source_only_copy(into: Path) -> Path:
    """The build without its bytecode: what `BuildMethod: python3.13` would ship."""
    copy = into / "build"
    shutil.copytree(BUILD, copy, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return copy


@dataclass(frozen=True)
class Setup:
    sample: dict[str, str]  # samplefile.env
    runtime: Path  # boto3 and its dependencies, as the Lambda runtime provides them


def _env(setup: Setup, target: Target, root: Path) -> dict[str, str]:
    layers = [str(p / "python") for p in built("layers", root).values()]
    code = [str(root / target.code_dir.name)] if target.code_dir else []
    path = [*code, *layers, str(setup.runtime)]
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": os.pathsep.join(path)}
    env |= setup.sample | RUNTIME_ENV
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # /opt and /var/task are read-only in Lambda
    return env


def _run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    # Fixed argv built from our own interpreter and code, no shell.
    result = subprocess.run(  # noqa: S603
        args, capture_output=True, text=True, env=env, cwd=cwd, timeout=300, check=False
    )
    if result.returncode != 0:
        sys.exit(f"{' '.join(args[:3])} failed in {cwd}:\n{result.stderr[-3000:]}")
    return result


def time_import(target: Target, env: dict[str, str], root: Path) -> tuple[float, float]:
    """(import seconds, import + first call seconds), CPU time of one fresh interpreter."""
    first_call = FIRST_CALL if target.code_dir else ""
    code = _TIMER.format(statement=target.statement, first_call=first_call)
    cwd = root / target.code_dir.name if target.code_dir else ROOT
    result = _run([sys.executable, "-S", "-c", code], env, cwd)
    report = json.loads(result.stdout.strip().splitlines()[-1])
    origin = report["mlops_runtime"]
    if origin and not Path(origin).resolve().is_relative_to(root.resolve()):
        sys.exit(f"{target.name} loaded mlops_runtime from {origin}, not from the built layer")
    return float(report["seconds"]), float(report["first_call"])


def measure_imports(targets: list[Target], setup: Setup, runs: int) -> dict[str, dict[str, float]]:
    """Median import seconds per target: the build as shipped (layers carry .pyc compiled by
    their Makefiles) and the same code without bytecode; runs interleaved."""
    if not any(BUILD.rglob("*.pyc")):
        sys.exit(f"{BUILD} holds no .pyc: the layers' Makefiles compile it; run `make build`")
    medians: dict[str, dict[str, float]] = {t.name: {} for t in targets}
    with tempfile.TemporaryDirectory(prefix="bench-source-") as scratch:
        for mode, root in (("no_pyc", source_only_copy(Path(scratch))), ("pyc", BUILD)):
            samples: dict[str, list[tuple[float, float]]] = {t.name: [] for t in targets}
            for _ in range(runs):
                for target in targets:
                    env = _env(setup, target, root)
                    samples[target.name].append(time_import(target, env, root))
            for name, values in samples.items():
                medians[name][mode] = statistics.median(v[0] for v in values)
                medians[name][f"{mode}_first_call"] = statistics.median(v[1] for v in values)
    return medians


ImportRow = tuple[float, float, int, str]  # cumulative ms, self ms, depth below app, module
_IMPORTTIME = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")


def top_imports(target: Target, setup: Setup) -> tuple[list[ImportRow], list[tuple[float, str]]]:
    """From ``-X importtime`` on the build as shipped: the costliest imports under the handler
    (cumulative ms, self ms, depth below app, module) and self time summed per package."""
    env = _env(setup, target, BUILD)
    argv = [sys.executable, "-S", "-X", "importtime", "-c", "import app"]
    result = _run(argv, env, target.code_dir or ROOT)
    rows: list[ImportRow] = []
    for line in result.stderr.splitlines():
        match = _IMPORTTIME.match(line)
        if match:
            self_us, cumulative_us, indent, module = match.groups()
            rows.append((int(cumulative_us) / 1000, int(self_us) / 1000, len(indent) // 2, module))
    # app is the outermost entry (depth 0); its imports are depth 1, theirs depth 2.
    under_app = [r for r in rows if 1 <= r[2] <= 2]
    costly = sorted(under_app, reverse=True)[:15]
    by_package: dict[str, float] = {}
    for _, self_ms, _, module in rows:
        package = module.split(".")[0]
        by_package[package] = by_package.get(package, 0.0) + self_ms
    packages = sorted(((ms, p) for p, ms in by_package.items()), reverse=True)[:12]
    return costly, packages


def zipped_size(folder: Path) -> tuple[int, int]:
    """(zip bytes, unzipped bytes) of a folder, zipped with deflate like sam package does."""
    buffer, unzipped = BytesIO(), 0
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(folder))
                unzipped += path.stat().st_size
    return len(buffer.getvalue()), unzipped


def machine() -> list[str]:
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        names = re.findall(r"^model name\s*:\s*(.+)$", cpuinfo.read_text(), re.M)
        cpu = names[0] if names else cpu
    return [
        f"- Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"- CPU: {cpu}, {os.cpu_count()} logical CPUs ({platform.machine()})",
        f"- OS: {platform.platform()}",
        f"- Python: {platform.python_version()} ({sys.executable})",
    ]


def _size(size: int) -> str:
    return f"{size / 1e6:.2f} MB" if size >= 100_000 else f"{size / 1e3:.1f} kB"


def import_section(
    medians: dict[str, dict[str, float]], runs: int, load: tuple[float, float]
) -> tuple[list[str], str]:
    base = medians[BASELINE]
    lines = [
        "## Cold start: import time of each handler",
        "",
        f"Median of {runs} fresh interpreters per row, runs interleaved; the CPU time of the "
        "import statement itself (interpreter start-up excluded), with the handler's layers and "
        "a boto3-only runtime folder on the path, nothing written back (Lambda's /opt is "
        "read-only). *As shipped* is the `sam build` output: the layers' Makefiles compile "
        ".pyc for python3.13 into them. *Source only* is the same code without bytecode, as "
        "`BuildMethod: python3.13` ships it: every module compiles on every cold start. "
        "*+ first call* is the import as shipped plus what the handler's first event builds: "
        "the DynamoDB client every handler uses, and Powertools idempotency for the idempotent "
        "ones (a cold start is both). "
        f"Target: at most {IMPORT_RATIO_TARGET}x `import boto3` alone, for the import as "
        "shipped. The second row is the floor of that ratio: what every handler imports by "
        "design (boto3, pydantic, Powertools Logger and Metrics) before any code of ours. The "
        "next two add what handlers do by design at cold start: validate their settings (every "
        "handler), then load the model configuration's models (every handler that reads one: "
        "all but the approval callback, notify, the sweeper and RecordWatch); a handler's "
        "distance to its floor is the cost of its own imports. "
        f"Load average while measuring: {load[0]:.1f} at the start, {load[1]:.1f} at the end "
        f"({os.cpu_count()} CPUs): CPU times rise with load, so compare rows of one run. What "
        "was deferred, and Lambda SnapStart evaluated: [cold-start.md](cold-start.md).",
        "",
        "| Handler | source only (ms) | x boto3 | as shipped (ms) | x boto3 "
        "| + first call (ms) | x boto3 | target |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    worst, worst_ratio = "", 0.0
    for name, m in medians.items():
        ratio_cold, ratio_warm = m["no_pyc"] / base["no_pyc"], m["pyc"] / base["pyc"]
        verdict = REFERENCES.get(name, "ok" if ratio_warm <= IMPORT_RATIO_TARGET else "**over**")
        first = m["pyc_first_call"]
        first_cells = f"{first * 1000:.0f} | {first / base['pyc']:.2f}"
        if name in REFERENCES:
            first_cells = "- | -"
        lines.append(
            f"| {name} | {m['no_pyc'] * 1000:.0f} | {ratio_cold:.2f} | {m['pyc'] * 1000:.0f} "
            f"| {ratio_warm:.2f} | {first_cells} | {verdict} |"
        )
        if name not in REFERENCES and ratio_warm > worst_ratio:
            worst, worst_ratio = name, ratio_warm
    return lines, worst


def top_imports_section(
    worst: str, costly: list[ImportRow], packages: list[tuple[float, str]]
) -> list[str]:
    lines = [
        "",
        f"### Where {worst}'s import time goes (`python -X importtime`, as shipped, one run)",
        "",
        "Costliest imports made by the handler (depth 1) and by those (depth 2); cumulative "
        "times nest, so they do not add up. These are the candidates for a lazy import.",
        "",
        "| Module | depth | cumulative (ms) | self (ms) |",
        "|---|---:|---:|---:|",
    ]
    lines += [f"| `{m}` | {d} | {c:.1f} | {s:.1f} |" for c, s, d, m in costly]
    lines += [
        "",
        "Self time summed per top-level package (adds up to the whole import). `app` is the "
        "handler's own module-level work: settings validation and creating boto3 clients and "
        "resources (botocore loads and parses their service models), not imports.",
        "",
        "| Package | self (ms) |",
        "|---|---:|",
    ]
    lines += [f"| `{p}` | {ms:.1f} |" for ms, p in packages]
    return lines


def size_section() -> list[str]:
    lines = [
        "",
        "## Package sizes (`.aws-sam/build` after `sam build`)",
        "",
        f"Each function and layer folder zipped with deflate. Target: at most {ZIP_TARGET_MB:.0f}"
        " MB zipped each (Lambda's hard limits: 50 MB zipped upload, 250 MB unzipped in total).",
        "",
        "| Artifact | zipped | unzipped | target |",
        "|---|---:|---:|---|",
    ]
    for name, folder in {**built("functions"), **built("layers")}.items():
        zipped, unzipped = zipped_size(folder)
        verdict = "ok" if zipped / 1e6 <= ZIP_TARGET_MB else "**over**"
        lines.append(f"| {name} | {_size(zipped)} | {_size(unzipped)} | {verdict} |")
    return lines


def triage_section(triage_json: Path) -> list[str]:
    report = json.loads(triage_json.read_text())
    model_monitor = [
        b for b in report["benchmarks"] if not b["group"].startswith(("evidently", "fleet"))
    ]
    evidently = [b for b in report["benchmarks"] if b["group"].startswith("evidently")]
    return [
        "",
        "## Triage speed (warm)",
        "",
        "### Model Monitor evidence",
        "",
        "One endpoint: 4 monitors (data quality, model quality, bias drift, feature attribution "
        "drift) x 30 executions x 200 features, synthetic files in Model Monitor's formats "
        "(tests/benchmarks/synthetic.py), gradual drift on 40 features and the attributions "
        "with declining quality, so triage walks every drift series and decides *retrain*. "
        "*analyzer* files carry the KLL sketches and categorical buckets Model Monitor writes "
        "into statistics.json; *compact* files leave them out (as the dev triage cases do). "
        "pytest-benchmark (tests/benchmarks/test_triage_benchmark.py), after warm-up rounds, "
        f"in one process. Target: under {TRIAGE_TARGET_MS:.0f} ms. *json.loads only* decodes "
        "every file and nothing else: the floor of any parse of these bytes with the stdlib.",
        "",
        *_triage_table(model_monitor, "triage, ", TRIAGE_TARGET_MS),
        "",
        "### Evidently evidence",
        "",
        "One endpoint: 30 Evidently 0.7 reports x 200 columns (one in ten categorical), each "
        "with everything DataDriftPreset, DataSummaryPreset and RegressionPreset write, in the "
        "JSON `Report.run(...).json()` writes (tests/benchmarks/evidently_synthetic.py); 40 "
        "columns drift gradually (K-S p-values) while MAE rises, so every drifting column is "
        "sized from its statistics and the decision is *retrain*. pytest-benchmark "
        "(tests/benchmarks/test_evidently_triage_benchmark.py), warm, in one process. Target: "
        f"under {EVIDENTLY_TARGET_MS:.0f} ms. A snapshot dump (`snapshot.dumps()`) of the same "
        "report would carry its rendered widgets too, about 100 kB per column: monitors should "
        "write the report JSON for triage and keep snapshots for Evidently's UI.",
        "",
        *_triage_table(evidently, "evidently triage, ", EVIDENTLY_TARGET_MS),
    ]


def _triage_table(benchmarks: list[dict[str, Any]], prefix: str, target_ms: float) -> list[str]:
    lines = [
        "| Benchmark | payload | input (MB) | median (ms) | min (ms) | max (ms) | rounds "
        "| target |",
        "|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for bench in sorted(benchmarks, key=lambda b: (b["group"], b["name"])):
        stats, info = bench["stats"], bench.get("extra_info", {})
        payload = bench.get("param") or "report json"
        if "floor" in bench["group"]:
            verdict = "reference"
        else:
            verdict = "ok" if stats["median"] * 1000 < target_ms else "**over**"
        lines.append(
            f"| {bench['group'].removeprefix(prefix)} | {payload} | {info.get('megabytes')} "
            f"| {stats['median'] * 1000:.1f} | {stats['min'] * 1000:.1f} "
            f"| {stats['max'] * 1000:.1f} | {stats['rounds']} | {verdict} |"
        )
    return lines


def fleet_section(triage_json: Path) -> list[str]:
    """`mlopscp explain` / `status` reads (tests/benchmarks/test_fleet_benchmark.py)."""
    fleet = [
        b
        for b in json.loads(triage_json.read_text())["benchmarks"]
        if b["group"].startswith("fleet")
    ]
    if not fleet:
        return []
    lines = [
        "",
        "## Fleet view reads (`mlopscp explain`, `mlopscp status`)",
        "",
        "One model whose ledger holds its last promotion's causal chain under 10,000 older "
        "entries, in the template's tables on the embedded emulator (moto over HTTP on "
        "loopback), read through the real stores as the CLI reads them "
        "(tests/benchmarks/test_fleet_benchmark.py). explain reads every entry of the chain "
        f"by its id (BatchGetItem): target under {EXPLAIN_TARGET_S:.0f} s. status queries "
        "the model's last 7 days on the by-time index; moto answers an index query by "
        "walking every item of the table, DynamoDB reads only the page it returns, so its "
        "time here grows with the ledger and on AWS it does not.",
        "",
        "| Benchmark | ledger entries | median (s) | min (s) | max (s) | rounds | target |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for bench in sorted(fleet, key=lambda b: b["group"]):
        stats, info = bench["stats"], bench.get("extra_info", {})
        target = "explain" in bench["group"]
        verdict = ("ok" if stats["median"] < EXPLAIN_TARGET_S else "**over**") if target else "-"
        lines.append(
            f"| {bench['group'].removeprefix('fleet, ')} | {info.get('ledger_entries')} "
            f"| {stats['median']:.3f} | {stats['min']:.3f} | {stats['max']:.3f} "
            f"| {stats['rounds']} | {verdict} |"
        )
    return lines


def promotion_section(measured_json: Path | None) -> list[str]:
    if measured_json is None:
        return []
    from promotion_cost import section  # tooling/bench, this script's folder

    return section(json.loads(measured_json.read_text()))


def monitor_section(measured_json: Path | None) -> list[str]:
    if measured_json is None:
        return []
    from monitor_job import section  # tooling/bench, this script's folder

    return section(json.loads(measured_json.read_text()))


def incidents_section(measured_json: Path | None) -> list[str]:
    if measured_json is None:
        return []
    from incident_storm import section  # tooling/bench, this script's folder

    return section(json.loads(measured_json.read_text()))


def serving_section(measured_json: Path | None) -> list[str]:
    if measured_json is None:
        return []
    from serving_sweep import section  # tooling/bench, this script's folder

    return section(json.loads(measured_json.read_text()))


def storm_sections(out: Path) -> list[str]:
    """`make storm`'s sections (Storm, Scale, Cost) of the file being replaced, kept as they are:
    they are reproduced by `make storm`, not by this script."""
    from sections import kept  # tooling/bench, this script's folder

    return kept(out.read_text()) if out.exists() else []


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--triage-json", type=Path, default=None)
    parser.add_argument("--runtime", type=Path, required=True, help="boto3 as Lambda provides it")
    parser.add_argument("--runs", type=int, default=7, help="fresh interpreters per measurement")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks.md")
    parser.add_argument(
        "--promotion-json",
        type=Path,
        default=None,
        help="tooling/bench/promotion_cost.py's measurement",
    )
    parser.add_argument(
        "--monitor-json", type=Path, default=None, help="tooling/bench/monitor_job.py's measurement"
    )
    parser.add_argument(
        "--incidents-json",
        type=Path,
        default=None,
        help="tooling/bench/incident_storm.py's replay",
    )
    parser.add_argument(
        "--serving-json",
        type=Path,
        default=None,
        help="tooling/bench/serving_sweep.py's measurement",
    )
    parser.add_argument(
        "--imports-only",
        action="store_true",
        help="measure import time only and rewrite only that section of --out (make bench-imports)",
    )
    args = parser.parse_args()
    if args.triage_json is None and not args.imports_only:
        parser.error("--triage-json is required unless --imports-only")

    setup = Setup(read_env_file(ROOT / "samplefile.env"), args.runtime.resolve())
    targets = [
        Target(BASELINE, BASELINE, None),
        Target(FLOOR, FLOOR_STATEMENT, None),
        Target(SETTINGS_FLOOR, SETTINGS_STATEMENT, None),
        Target(CONFIG_FLOOR, CONFIG_STATEMENT, None),
    ] + [Target(name, "import app", folder) for name, folder in built("functions").items()]
    print(f"timing {len(targets)} imports x {args.runs} runs x 2 modes ...", flush=True)
    load_before = os.getloadavg()[0]
    medians = measure_imports(targets, setup, args.runs)
    imports, worst = import_section(medians, args.runs, (load_before, os.getloadavg()[0]))
    costly, packages = top_imports(next(t for t in targets if t.name == worst), setup)
    if args.imports_only:
        from sections import replace  # tooling/bench, this script's folder

        cold_start = [*imports, *top_imports_section(worst, costly, packages)]
        args.out.write_text(replace(args.out.read_text(), "Cold start", cold_start))
        print(f"rewrote the import-time section of {args.out}")
        return 0

    lines = [
        "# Benchmarks",
        "",
        "Generated by `make bench` (tooling/bench/report.py); do not edit by hand.",
        "",
        "## Machine",
        "",
        *machine(),
        "",
        *imports,
        *top_imports_section(worst, costly, packages),
        *size_section(),
        *triage_section(args.triage_json),
        *fleet_section(args.triage_json),
        *promotion_section(args.promotion_json),
        *monitor_section(args.monitor_json),
        *incidents_section(args.incidents_json),
        *serving_section(args.serving_json),
        *storm_sections(args.out),
        "",
    ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
