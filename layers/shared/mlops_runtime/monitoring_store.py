"""Read one endpoint's monitoring evidence from S3, newest executions only.

The model's configured root holds its evidence streams: each child folder is one stream (a Model
Monitor schedule or an Evidently report stream), and a root that directly holds ``<yyyy>/``
folders is itself one stream, named after its last path segment. Each stream is walked
year -> month -> day -> hour with delimiters, newest first, so the cost is proportional to the
executions triage reads, not to years of history. What wrote a file is read from its content
later (mlops_core.monitoring); here every JSON file of an execution folder is fetched.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from mlops_core.monitoring import is_evidence

from mlops_runtime.aws import client, translated_errors


def split_uri(uri: str) -> tuple[str, str]:
    bucket, _, prefix = uri.removeprefix("s3://").partition("/")
    return bucket, (prefix.rstrip("/") + "/") if prefix else ""


def read_monitoring_output(
    uri: str, per_schedule: int, schedules: list[str] | None = None, s3: Any = None
) -> Mapping[str, bytes]:
    """``{"<stream>/<yyyy>/<mm>/<dd>/<hh>/<file>": content}`` for the newest executions of every
    stream under ``uri`` (only those named in ``schedules``, when given), read with ``s3`` (a
    client in the model's account; default: this account's)."""
    s3 = s3 or client("s3")
    bucket, root = split_uri(uri)
    with translated_errors():
        streams = _streams(s3, bucket, root)
        if schedules:
            streams = {name: prefix for name, prefix in streams.items() if name in schedules}
        executions = [
            (name, prefix)
            for name, stream in streams.items()
            for prefix in _newest(s3, bucket, stream, depth=4, wanted=per_schedule)
        ]
        with ThreadPoolExecutor(max_workers=16) as pool:
            try:
                listed = pool.map(
                    lambda e: [(e[0], k) for k in _files(s3, bucket, e[1])], executions
                )
                keys = [named_key for keys in listed for named_key in keys]
                bodies = pool.map(lambda k: _get(s3, bucket, k[1]), keys)
                return {
                    f"{name}/{key.removeprefix(streams[name])}": body
                    for (name, key), body in zip(keys, bodies, strict=True)
                }
            except BaseException:
                # One failed read fails the run: reads not yet started are not sent (each would
                # be retried in turn against an S3 that is throttling or failing).
                pool.shutdown(wait=True, cancel_futures=True)
                raise


def _streams(s3: Any, bucket: str, root: str) -> dict[str, str]:
    """Stream name -> its prefix: the root's child folders, and the root itself if it holds
    year folders."""
    streams: dict[str, str] = {}
    for child in _children(s3, bucket, root):
        name = child.removeprefix(root).rstrip("/")
        if _is_number(name, 4):
            streams[root.rstrip("/").rsplit("/", 1)[-1] or bucket] = root
        else:
            streams[name] = child
    return streams


def _is_number(segment: str, digits: int) -> bool:
    return len(segment) == digits and segment.isdigit()


def _children(s3: Any, bucket: str, prefix: str) -> list[str]:
    pages = s3.get_paginator("list_objects_v2").paginate(
        Bucket=bucket, Prefix=prefix, Delimiter="/"
    )
    return [p["Prefix"] for page in pages for p in page.get("CommonPrefixes", [])]


def _newest(s3: Any, bucket: str, prefix: str, depth: int, wanted: int) -> Iterator[str]:
    """Up to ``wanted`` leaf prefixes ``depth`` levels down, newest first."""
    found = 0
    digits = 4 if depth == 4 else 2  # yyyy, then mm, dd, hh: other folders are not executions
    children = [c for c in _children(s3, bucket, prefix) if _is_number(c[len(prefix) : -1], digits)]
    for child in sorted(children, reverse=True):
        if depth == 1:
            yield child
            found += 1
        else:
            for leaf in _newest(s3, bucket, child, depth - 1, wanted - found):
                yield leaf
                found += 1
        if found >= wanted:
            return


def _files(s3: Any, bucket: str, prefix: str) -> list[str]:
    response = s3.list_objects_v2(Bucket=bucket, Prefix=prefix)
    return [
        o["Key"] for o in response.get("Contents", []) if is_evidence(o["Key"].rsplit("/", 1)[-1])
    ]


def _get(s3: Any, bucket: str, key: str) -> bytes:
    body: bytes = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    return body
