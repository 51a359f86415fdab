"""`mlopscp triage PATH`: the control plane's triage, run on a local folder or an S3 prefix."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from pathlib import Path

from mlops_core.monitoring import execution_key, is_evidence, latest_executions, load_history
from mlops_core.policy import TriagePolicy
from mlops_core.triage import TriageResult, triage


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "triage",
        help="decide retrain / investigate / watch for one endpoint's monitoring history",
        description="PATH is a folder or s3:// prefix holding one endpoint's monitoring "
        "evidence: each subfolder is a stream (a Model Monitor schedule or an Evidently report "
        "stream, <stream>/<yyyy>/<mm>/<dd>/<hh>/*.json); a PATH that holds <yyyy>/ folders "
        "itself is one stream.",
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
        print(f"mlopscp triage: no monitoring output found under {args.path}", file=sys.stderr)
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
    # Year folders right under PATH are a stream of its own, named after PATH (as in S3).
    name = root.resolve().name
    files = {
        (f"{name}/{rel}" if _is_year(rel.parts[0]) else str(rel)): p
        for p in root.rglob("*")
        if p.is_file() and is_evidence(p.name) and (rel := p.relative_to(root)).parts
    }
    keep = latest_executions(files, per_schedule)
    return {
        key: p.read_bytes()
        for key, p in files.items()
        if (found := execution_key(key)) and (found[0], found[1]) in keep
    }


def _is_year(name: str) -> bool:
    return len(name) == 4 and name.isdigit()


def _read_s3(uri: str, per_schedule: int) -> Mapping[str, bytes]:
    from mlops_runtime.monitoring_store import read_monitoring_output

    return read_monitoring_output(uri, per_schedule)


def render(result: TriageResult) -> str:
    lines = [f"decision: {result.decision}", "reasons:"]
    lines += [f"  - {reason}" for reason in result.reasons]
    lines.append("latest executions:")
    lines += [
        f"  {name} ({result.sources.get(name, 'model_monitor')}): {stamp}"
        for name, stamp in sorted(result.latest.items())
    ]
    if result.notes:
        lines.append("notes:")
        lines += [f"  - {note}" for note in result.notes]
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
