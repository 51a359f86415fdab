"""`mlopscp triage PATH`: the control plane's triage, run on a local folder or an S3 prefix.

The exit code says the decision, so a job can gate on it (`mlopscp triage ... || page`):
0 watch, 10 retrain, 11 investigate; 2 and 3 stay bad input and AWS failures.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

from mlops_core.monitoring import execution_key, is_evidence, latest_executions, load_history
from mlops_core.policy import TriagePolicy
from mlops_core.triage import TriageResult, triage

from mlopscp.output import CliError, emit_json, say

# The decision as the process's exit code (README, "Command line").
DECISION_EXIT = {"watch": 0, "retrain": 10, "investigate": 11}

_SCHEDULE_AT = re.compile(r"(?:^|/)[^/]+/\d{4}/\d{2}/\d{2}/\d{2}/[^/]+$")


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "triage",
        help="decide retrain / investigate / watch for one endpoint's monitoring history",
        description="PATH is a folder or s3:// prefix holding one endpoint's monitoring "
        "evidence: each subfolder is a stream (a Model Monitor schedule or an Evidently report "
        "stream, <stream>/<yyyy>/<mm>/<dd>/<hh>/*.json); a PATH that holds <yyyy>/ folders "
        "itself is one stream. Exit code: 0 watch, 10 retrain, 11 investigate, 2 bad input, "
        "3 AWS unreachable or refused.",
    )
    parser.add_argument("path", help="local folder or s3://bucket/prefix")
    parser.add_argument("--json", action="store_true", help="the result as one JSON object")
    parser.add_argument("--policy", type=Path, help="JSON file overriding triage policy settings")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from mlopscp.validation import load_json_settings

    policy = (
        load_json_settings(args.policy, TriagePolicy, "policy file")
        if args.policy
        else TriagePolicy()
    )
    files = read_tree(args.path, policy.history_window)
    history = load_history(files)
    if not history.schedules:
        raise CliError(
            f"no monitoring output found under {args.path}",
            hint="PATH holds <stream>/<yyyy>/<mm>/<dd>/<hh>/*.json",
        )
    result = triage(history, policy)
    if args.json:
        emit_json(result.to_dict())
    else:
        say(render(result))
    return DECISION_EXIT.get(str(result.decision), 0)


def read_tree(path: str, per_schedule: int) -> Mapping[str, bytes]:
    if path.startswith("s3://"):
        return _read_s3(path, per_schedule)
    root = Path(path)
    if not root.exists():
        raise CliError(f"{path} does not exist")
    if not root.is_dir():
        raise CliError(f"{path} is not a folder", hint="PATH is one endpoint's monitoring folder")
    # Year folders right under PATH are a stream of its own, named after PATH (as in S3).
    name = root.resolve().name
    files = {
        (f"{name}/{rel}" if _is_year(rel.parts[0]) else str(rel)): p
        for p in root.rglob("*")
        if p.is_file() and is_evidence(p.name) and (rel := p.relative_to(root)).parts
    }
    _refuse_many_endpoints(path, _endpoint_folders(files))
    keep = latest_executions(files, per_schedule)
    return {
        key: p.read_bytes()
        for key, p in files.items()
        if (found := execution_key(key)) and (found[0], found[1]) in keep
    }


def _endpoint_folders(keys: Iterable[str]) -> list[str]:
    """The folders above the streams, when the streams are not PATH's own children."""
    return sorted(
        {
            key[: match.start()].split("/")[0]
            for key in keys
            if (match := _SCHEDULE_AT.search(key)) and match.start() > 0
        }
    )


def _refuse_many_endpoints(path: str, above: list[str]) -> None:
    """A PATH one level too high (a folder of endpoints' folders, a set of cases) would merge
    their streams into one history: say so instead."""
    if above:
        shown = ", ".join(above[:5]) + (", ..." if len(above) > 5 else "")
        example = f"{path.rstrip('/')}/{above[0]}"
        raise CliError(
            f"{path} is one level too high: it holds endpoint folders ({shown}), "
            "each with its own streams; triage would merge them",
            hint=f"triage one endpoint at a time, e.g. mlopscp triage {example}",
        )


def _is_year(name: str) -> bool:
    return len(name) == 4 and name.isdigit()


def _read_s3(uri: str, per_schedule: int) -> Mapping[str, bytes]:
    from mlops_runtime.monitoring_store import read_monitoring_output

    files = read_monitoring_output(uri, per_schedule)
    if not files:
        _refuse_many_endpoints(uri, _s3_endpoint_folders(uri))
    return files


def _s3_endpoint_folders(uri: str, looked_at: int = 5) -> list[str]:
    """The children of a prefix with no streams of its own that hold streams themselves
    (``<endpoint>/<stream>/<yyyy>/``), among its first few: list calls only, no reads."""
    from mlops_runtime.aws import client
    from mlops_runtime.monitoring_store import split_uri

    s3, (bucket, root) = client("s3"), split_uri(uri)

    def children(prefix: str) -> list[str]:
        listed = s3.list_objects_v2(Bucket=bucket, Prefix=prefix, Delimiter="/")
        return [p["Prefix"] for p in listed.get("CommonPrefixes", [])]

    return [
        endpoint.removeprefix(root).rstrip("/")
        for endpoint in children(root)[:looked_at]
        if any(
            _is_year(year[len(stream) : -1])
            for stream in children(endpoint)
            for year in children(stream)
        )
    ]


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
