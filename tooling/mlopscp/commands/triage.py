"""`mlopscp triage PATH`: the control plane's triage, run on a local folder or an S3 prefix."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from pathlib import Path

from mlops_core.monitoring import KNOWN_FILES, execution_key, latest_executions, load_history
from mlops_core.policy import TriagePolicy
from mlops_core.triage import TriageResult, triage


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "triage",
        help="decide retrain / investigate / watch for one endpoint's monitoring history",
        description="PATH is a folder or s3:// prefix holding one endpoint's Model Monitor "
        "schedules as subfolders (<schedule>/<yyyy>/<mm>/<dd>/<hh>/...).",
    )
    parser.add_argument("path", help="local folder or s3://bucket/prefix")
    parser.add_argument("--json", action="store_true", help="end with one JSON object")
    parser.add_argument("--policy", type=Path, help="JSON file overriding triage policy settings")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    policy = (
        TriagePolicy.model_validate_json(args.policy.read_text()) if args.policy else TriagePolicy()
    )
    try:
        files = read_tree(args.path, policy.history_window)
    except (FileNotFoundError, NotADirectoryError) as error:
        print(f"mlopscp triage: {error}", file=sys.stderr)
        return 2
    history = load_history(files)
    if not history.schedules:
        print(f"mlopscp triage: no Model Monitor output found under {args.path}", file=sys.stderr)
        return 2
    result = triage(history, policy)
    print(render(result))
    if args.json:
        print(json.dumps(result.to_dict(), default=str, separators=(",", ":")))
    return 0


def read_tree(path: str, per_schedule: int) -> Mapping[str, bytes]:
    if path.startswith("s3://"):
        return _read_s3(path, per_schedule)
    root = Path(path)
    if not root.exists():
        raise FileNotFoundError(f"{path} does not exist")
    if not root.is_dir():
        raise NotADirectoryError(f"{path} is not a folder")
    # A folder that is itself one schedule (its children are years) is read as that schedule.
    base = root.parent if any(_is_year(p) for p in root.iterdir()) else root
    files = {
        str(p.relative_to(base)): p
        for p in root.rglob("*")
        if p.is_file() and p.name in KNOWN_FILES
    }
    keep = latest_executions(files, per_schedule)
    return {
        rel: p.read_bytes()
        for rel, p in files.items()
        if (key := execution_key(rel)) and (key[0], key[1]) in keep
    }


def _is_year(path: Path) -> bool:
    return path.is_dir() and len(path.name) == 4 and path.name.isdigit()


def _read_s3(uri: str, per_schedule: int) -> Mapping[str, bytes]:
    from mlops_runtime.monitoring_store import read_monitoring_output

    return read_monitoring_output(uri, per_schedule)


def render(result: TriageResult) -> str:
    lines = [f"decision: {result.decision}", "reasons:"]
    lines += [f"  - {reason}" for reason in result.reasons]
    lines.append("latest executions:")
    lines += [f"  {name}: {stamp}" for name, stamp in sorted(result.latest.items())]
    if result.quality:
        lines.append("model quality:")
        for trend in result.quality:
            lines.append(
                f"  {trend.schedule} {trend.metric}: {trend.baseline:.4g} -> {trend.latest:.4g}"
                f"{'  declining' if trend.declining else ''}"
                f"{'  cliff at ' + trend.cliff_at if trend.cliff_at else ''}"
            )
    if not result.complete:
        lines.append("incomplete monitoring output:")
        lines += [f"  {item}" for item in result.incomplete]
    if result.data_window:
        lines.append(f"data window: {result.data_window['start']} .. {result.data_window['end']}")
    return "\n".join(lines)
