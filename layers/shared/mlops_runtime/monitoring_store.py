"""Read one endpoint's Model Monitor output from S3, newest executions only.

The prefix is walked year -> month -> day -> hour with delimiters, newest first, so the cost is
proportional to the executions triage reads, not to years of history.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from mlops_core.monitoring import KNOWN_FILES

from mlops_runtime.aws import client, translated_errors


def split_uri(uri: str) -> tuple[str, str]:
    bucket, _, prefix = uri.removeprefix("s3://").partition("/")
    return bucket, (prefix.rstrip("/") + "/") if prefix else ""


def read_monitoring_output(
    uri: str, per_schedule: int, schedules: list[str] | None = None, s3: Any = None
) -> Mapping[str, bytes]:
    """``{"<schedule>/<yyyy>/<mm>/<dd>/<hh>/<file>": content}`` for the newest executions,
    read with ``s3`` (a client in the model's account; default: this account's)."""
    s3 = s3 or client("s3")
    bucket, root = split_uri(uri)
    with translated_errors():
        names = schedules or [p.removeprefix(root).rstrip("/") for p in _children(s3, bucket, root)]
        executions = [
            prefix
            for name in names
            for prefix in _newest(s3, bucket, f"{root}{name}/", depth=4, wanted=per_schedule)
        ]
        with ThreadPoolExecutor(max_workers=16) as pool:
            keys = [k for ks in pool.map(lambda p: _files(s3, bucket, p), executions) for k in ks]
            bodies = pool.map(lambda k: _get(s3, bucket, k), keys)
            return {key.removeprefix(root): body for key, body in zip(keys, bodies, strict=True)}


def _children(s3: Any, bucket: str, prefix: str) -> list[str]:
    pages = s3.get_paginator("list_objects_v2").paginate(
        Bucket=bucket, Prefix=prefix, Delimiter="/"
    )
    return [p["Prefix"] for page in pages for p in page.get("CommonPrefixes", [])]


def _newest(s3: Any, bucket: str, prefix: str, depth: int, wanted: int) -> Iterator[str]:
    """Up to ``wanted`` leaf prefixes ``depth`` levels down, newest first."""
    found = 0
    for child in sorted(_children(s3, bucket, prefix), reverse=True):
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
        o["Key"] for o in response.get("Contents", []) if o["Key"].rsplit("/", 1)[-1] in KNOWN_FILES
    ]


def _get(s3: Any, bucket: str, key: str) -> bytes:
    body: bytes = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    return body
