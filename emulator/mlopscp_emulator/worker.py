"""The Lambda execution environment of one emulated function: a long-lived subprocess.

Started by :mod:`mlopscp_emulator.lambdas` as ``python worker.py <request-fd> <response-fd>``.
It imports nothing from ``mlopscp_emulator`` so a handler sees only its code, its layers and the
third-party packages of the interpreter, as on Lambda.

Protocol (JSON lines on two pipes of their own, so the handler's stdout and stderr stay free for
its logs): the first request is ``{"init": {"code_dir", "handler", "layer_dirs"}}``; each next one
is ``{"event", "context": {...}, "deadline": <epoch seconds>}`` and gets one response,
``{"result": ...}`` or ``{"error": {"errorMessage", "errorType", "requestId", "stackTrace"}}``.
Its stdout and stderr share one pipe, as they share one log stream on Lambda. Before each
response the worker writes ``END_MARKER`` + request id there, so the parent knows which log lines
belong to which invocation.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
import traceback
from dataclasses import dataclass
from typing import Any

END_MARKER = "\x1emlopscp-invocation-end "


@dataclass
class LambdaContext:
    """The attributes and method of the Lambda runtime's context object that handlers use."""

    function_name: str
    function_version: str
    invoked_function_arn: str
    memory_limit_in_mb: int
    aws_request_id: str
    log_group_name: str
    log_stream_name: str
    deadline: float

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline - time.time()) * 1000))


def _compress_sdk_backoff() -> None:
    """botocore sleeps between retries in ``botocore.endpoint``; the emulator compresses time
    (``MLOPSCP_EMULATOR_SDK_RETRY_SCALE``), as it does for Step Functions Retry waits."""
    scale = float(os.environ.get("MLOPSCP_EMULATOR_SDK_RETRY_SCALE", "1"))
    if scale == 1:
        return
    import types

    import botocore.endpoint

    sleep = time.sleep
    botocore.endpoint.time = types.SimpleNamespace(  # type: ignore[attr-defined]
        sleep=lambda seconds: sleep(seconds * scale), time=time.time
    )


def _load_handler(init: dict[str, Any]) -> Any:
    # Lambda puts the function's code first, then each layer (and its python/ folder, where
    # `sam build` puts a layer's packages), then the runtime's own packages.
    paths = [init["code_dir"]]
    for layer in init["layer_dirs"]:
        paths += [os.path.join(layer, "python"), layer]
    sys.path[:0] = [p for p in paths if os.path.isdir(p)]
    os.chdir(init["code_dir"])
    _compress_sdk_backoff()
    module_name, _, function_name = init["handler"].rpartition(".")
    return getattr(importlib.import_module(module_name), function_name)


def _error(exc: BaseException, request_id: str) -> dict[str, Any]:
    frames = traceback.extract_tb(exc.__traceback__)
    return {
        "errorMessage": str(exc),
        "errorType": type(exc).__name__,
        "requestId": request_id,
        "stackTrace": traceback.format_list(frames[1:]),  # drop this module's own frame
    }


def _invoke(handler: Any, request: dict[str, Any]) -> dict[str, Any]:
    context = LambdaContext(**request["context"], deadline=request["deadline"])
    try:
        result = handler(request["event"], context)
    except Exception as exc:  # the runtime reports every handler exception the same way
        return {"error": _error(exc, context.aws_request_id)}
    try:
        return {"result": json.loads(json.dumps(result))}
    except (TypeError, ValueError) as exc:
        message = f"Unable to marshal response: {exc}"
        return {
            "error": {
                "errorMessage": message,
                "errorType": "Runtime.MarshalError",
                "requestId": context.aws_request_id,
                "stackTrace": [],
            }
        }


def main(request_fd: int, response_fd: int) -> None:
    requests = os.fdopen(request_fd, "r", encoding="utf-8")
    responses = os.fdopen(response_fd, "w", encoding="utf-8")
    handler: Any = None
    for line in requests:
        request = json.loads(line)
        if "init" in request:
            try:
                handler = _load_handler(request["init"])
                response: dict[str, Any] = {"ready": True}
            except Exception as exc:  # Lambda reports any failure to load the handler this way
                module = request["init"]["handler"].rpartition(".")[0]
                response = {
                    "error": {
                        **_error(exc, ""),
                        "errorMessage": f"Unable to import module '{module}': {exc}",
                        "errorType": "Runtime.ImportModuleError",
                    }
                }
        else:
            response = _invoke(handler, request)
        request_id = request.get("context", {}).get("aws_request_id", "init")
        sys.stderr.flush()
        sys.stdout.write(f"\n{END_MARKER}{request_id}\n")
        sys.stdout.flush()
        responses.write(json.dumps(response) + "\n")
        responses.flush()


if __name__ == "__main__":
    sys.path.pop(0)  # this file's folder is not the function's
    main(int(sys.argv[1]), int(sys.argv[2]))
