"""Lambda invokes of a deployed stack's functions run the template's real handlers.

moto's server answers Lambda with ``LambdaSimpleBackend`` when ``use_docker`` is off; its
``invoke`` echoes the payload. :class:`LambdaRouter` replaces that method: an invoke of a
registered function (every function of a stack the emulator deployed) runs the handler in a
long-lived worker subprocess (:mod:`mlopscp_emulator.worker`), like a Lambda execution
environment; any other function keeps moto's behaviour.

- ``RequestResponse`` (the Step Functions interpreter, ``lambda.invoke``): the handler's JSON
  result; on an exception Lambda's error payload with ``X-Amz-Function-Error: Unhandled``, so
  Step Functions' Retry/Catch see ``errorType`` (the exception's class name).
- ``Event`` (``InvocationType=Event`` and EventBridge targets): 202 at once, then Lambda's async
  semantics in the background: the function's EventInvokeConfig ``MaximumRetryAttempts``
  (default 2) after AWS's waits (1, then 2 minutes) scaled by :attr:`LambdaRouter.retry_scale`
  (the emulator's ``retry_scale``, as for Step Functions and SDK retries), then the
  OnSuccess/OnFailure destination (SQS, SNS, Lambda, EventBridge) with AWS's record shape, and on
  failure the function's DeadLetterConfig queue or topic.
- Each invocation's log lines (everything the worker printed on stdout and stderr) go to the
  trace and to CloudWatch Logs, one stream per worker: into the function's
  ``LoggingConfig.LogGroup`` when it names one, else ``/aws/lambda/<name>``.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import queue
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, cast

from moto.awslambda.models import EventInvokeConfig, LambdaFunction
from moto.awslambda_simple.models import LambdaSimpleBackend
from moto.logs.models import logs_backends

from mlopscp_emulator._patching import Patches
from mlopscp_emulator.trace import AsyncInvocationDone, BackgroundTasks, LambdaInvocation, Trace
from mlopscp_emulator.worker import END_MARKER

WORKER_SCRIPT = Path(__file__).with_name("worker.py")
ClientFactory = Callable[[str, str], Any]  # (service, account id) -> boto3 client
CredentialsFactory = Callable[[str], dict[str, str]]  # account id -> AWS_* variables
DEFAULT_ASYNC_RETRIES = 2
# AWS waits a minute before the first retry and two before the second: a retry never races the
# attempt before it, so an idempotency record that attempt holds is settled by then.
ASYNC_RETRY_WAIT_SECONDS = 60
MARKER_WAIT_SECONDS = 2.0
INIT_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class FunctionInfo:
    """A deployed function and where its real code lives."""

    name: str
    arn: str
    handler: str
    code_dir: Path
    layer_dirs: tuple[Path, ...]
    environment: Mapping[str, str]
    logical_id: str = ""
    timeout: int = 3
    memory_size: int = 128
    dead_letter_target: str | None = None  # the function's DeadLetterConfig.TargetArn
    log_group: str = ""  # the function's LoggingConfig.LogGroup, if it names one

    @property
    def log_group_name(self) -> str:
        """Where Lambda sends the function's logs (and what it creates when it is missing)."""
        return self.log_group or f"/aws/lambda/{self.name}"

    @property
    def account(self) -> str:
        return self.arn.split(":")[4]

    @property
    def region(self) -> str:
        return self.arn.split(":")[3]


@dataclass(frozen=True)
class _Settings:
    """The function's configuration when it was invoked (moto's, so Refs are resolved)."""

    environment: Mapping[str, str]
    timeout: int
    memory_size: int
    retries: int
    destinations: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, fn: LambdaFunction) -> _Settings:
        configs: list[EventInvokeConfig] = fn.event_invoke_config
        config = configs[-1].config if configs else {}
        return cls(
            environment=dict(fn.environment_vars or {}),
            timeout=int(fn.timeout),
            memory_size=int(fn.memory_size),
            retries=int(config.get("MaximumRetryAttempts", DEFAULT_ASYNC_RETRIES)),
            destinations=config.get("DestinationConfig") or {},
        )


class LambdaRouter:
    """Owns the worker processes and the patch of moto's simple Lambda backend."""

    # The fraction of AWS's waits the emulator really waits: Lambda's between async attempts
    # and botocore's retry backoff inside handlers.
    retry_scale = 1.0

    def __init__(
        self,
        endpoint_url: str,
        trace: Trace,
        tasks: BackgroundTasks,
        clients: ClientFactory,
        credentials: CredentialsFactory,
    ) -> None:
        self._endpoint_url = endpoint_url
        self._trace = trace
        self._tasks = tasks
        self._clients = clients
        self._credentials = credentials
        self._functions: dict[str, FunctionInfo] = {}
        self._pools: dict[str, _Pool] = {}
        self._lock = threading.Lock()
        self._patches = Patches()

    def register(self, info: FunctionInfo) -> None:
        with self._lock:
            self._functions[info.arn] = info

    def function(self, name_or_arn: str) -> FunctionInfo | None:
        with self._lock:
            for info in self._functions.values():
                if name_or_arn in (info.name, info.arn, info.logical_id):
                    return info
        return None

    def install(self) -> None:
        original = self._patches.set(LambdaSimpleBackend, "invoke", None)
        router = self

        def invoke(
            backend: LambdaSimpleBackend,
            function_name: str,
            qualifier: str | None,
            body: Any,
            headers: Any,
            response_headers: dict[str, str],
        ) -> str | bytes | None:
            fn = backend.get_function(function_name, qualifier)
            info = router._functions.get(fn.function_arn)
            if info is None:
                return original(backend, function_name, qualifier, body, headers, response_headers)
            return router._handle_invoke(info, fn, body, headers, response_headers)

        self._patches.set(LambdaSimpleBackend, "invoke", invoke)

    def close(self) -> None:
        self._patches.undo()
        with self._lock:
            pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            pool.close()

    # -- one invocation ---------------------------------------------------------------------

    def _handle_invoke(
        self,
        info: FunctionInfo,
        fn: LambdaFunction,
        body: Any,
        headers: Any,
        response_headers: dict[str, str],
    ) -> bytes:
        payload = json.loads(body) if body else {}
        invocation_type = headers.get("X-Amz-Invocation-Type") or "RequestResponse"
        response_headers["x-amz-executed-version"] = "$LATEST"
        if invocation_type == "DryRun":
            return b""
        settings = _Settings.of(fn)
        request_id = str(uuid.uuid4())
        if invocation_type == "Event":
            self._tasks.submit(
                f"async invoke {request_id} of {info.name}",
                lambda: self._run_async(info, settings, payload, request_id),
            )
            return b""
        record = self.run(info, settings, payload, request_id, "RequestResponse", attempt=1)
        if record.error is not None:
            response_headers["x-amz-function-error"] = "Unhandled"
        if headers.get("X-Amz-Log-Type") == "Tail":
            tail = "\n".join(record.log_lines).encode()[-4096:]
            response_headers["x-amz-log-result"] = base64.b64encode(tail).decode()
        return json.dumps(record.error if record.error is not None else record.result).encode()

    def run(
        self,
        info: FunctionInfo,
        settings: _Settings,
        payload: Any,
        request_id: str,
        invocation_type: str,
        attempt: int,
    ) -> LambdaInvocation:
        """Run the handler once in a warm (or new) worker and record what happened."""
        pool = self._pool(info, settings)
        worker = pool.acquire()
        started = time.monotonic()
        try:
            outcome = worker.invoke(
                payload, self._context(info, settings, request_id, worker), settings.timeout
            )
        finally:
            pool.release(worker)
        duration_ms = (time.monotonic() - started) * 1000
        record = LambdaInvocation(
            function=info.name,
            function_arn=info.arn,
            request_id=request_id,
            invocation_type=invocation_type,
            attempt=attempt,
            payload=payload,
            result=outcome.result,
            error=outcome.error,
            duration_ms=round(duration_ms, 1),
            log_lines=tuple(outcome.lines),
        )
        self._trace.add(record)
        _write_logs(info, worker.log_stream_name, request_id, outcome.lines, duration_ms)
        return record

    def _context(
        self, info: FunctionInfo, settings: _Settings, request_id: str, worker: _Worker
    ) -> dict[str, Any]:
        return {
            "function_name": info.name,
            "function_version": "$LATEST",
            "invoked_function_arn": info.arn,
            "memory_limit_in_mb": settings.memory_size,
            "aws_request_id": request_id,
            "log_group_name": info.log_group_name,
            "log_stream_name": worker.log_stream_name,
        }

    def _pool(self, info: FunctionInfo, settings: _Settings) -> _Pool:
        env = self._environment(info, settings)
        with self._lock:
            pool = self._pools.get(info.arn)
            if pool is None or pool.env != env:
                # New configuration: Lambda starts new execution environments for it.
                if pool is not None:
                    pool.close()
                pool = self._pools[info.arn] = _Pool(info, env)
            return pool

    def _environment(self, info: FunctionInfo, settings: _Settings) -> dict[str, str]:
        """The function's own variables, then what the Lambda runtime sets (which wins)."""
        return {
            **{k: str(v) for k, v in settings.environment.items()},
            "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
            "LANG": "C.UTF-8",
            "TZ": ":UTC",
            "PYTHONUNBUFFERED": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
            "LAMBDA_TASK_ROOT": str(info.code_dir),
            "_HANDLER": info.handler,
            "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
            "AWS_LAMBDA_FUNCTION_NAME": info.name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(settings.memory_size),
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_LOG_GROUP_NAME": info.log_group_name,
            "AWS_REGION": info.region,
            "AWS_DEFAULT_REGION": info.region,
            "AWS_ENDPOINT_URL": self._endpoint_url,
            "MLOPSCP_EMULATOR_SDK_RETRY_SCALE": str(self.retry_scale),
            # Never the developer's ~/.aws files: a profile there must not leak in.
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            **self._credentials(info.account),
        }

    # -- asynchronous invocation ------------------------------------------------------------

    def _run_async(
        self, info: FunctionInfo, settings: _Settings, payload: Any, request_id: str
    ) -> None:
        attempts = 1 + settings.retries
        for attempt in range(1, attempts + 1):
            record = self.run(info, settings, payload, request_id, "Event", attempt)
            if record.error is None:
                break
            if attempt < attempts:
                time.sleep(ASYNC_RETRY_WAIT_SECONDS * attempt * self.retry_scale)
        succeeded = record.error is None
        sent = self._send_outcome(info, settings, payload, record, succeeded)
        self._trace.add(
            AsyncInvocationDone(
                function=info.name,
                request_id=request_id,
                succeeded=succeeded,
                attempts=record.attempt,
                destinations=tuple(sent),
            )
        )

    def _send_outcome(
        self,
        info: FunctionInfo,
        settings: _Settings,
        payload: Any,
        record: LambdaInvocation,
        succeeded: bool,
    ) -> list[str]:
        sent = []
        key = "OnSuccess" if succeeded else "OnFailure"
        destination = (settings.destinations.get(key) or {}).get("Destination")
        if destination:
            body = json.dumps(_destination_record(info, payload, record, succeeded))
            self._send(destination, body, {}, info.account, succeeded)
            sent.append(destination)
        if not succeeded and info.dead_letter_target:
            error = record.error or {}
            attributes = {
                "RequestID": record.request_id,
                "ErrorCode": "200",
                "ErrorMessage": str(error.get("errorMessage", ""))[:1024],
            }
            self._send(
                info.dead_letter_target, json.dumps(payload), attributes, info.account, succeeded
            )
            sent.append(info.dead_letter_target)
        return sent

    def _send(
        self, arn: str, body: str, attributes: dict[str, str], account: str, succeeded: bool
    ) -> None:
        """Deliver to an SQS queue, SNS topic, Lambda function or event bus, given its ARN."""
        service, target_account, resource = arn.split(":")[2], arn.split(":")[4], arn.split(":")[-1]
        client = self._clients(service, target_account or account)
        if service == "sqs":
            url = client.get_queue_url(QueueName=resource, QueueOwnerAWSAccountId=target_account)
            typed = {
                k: {"DataType": "Number" if k == "ErrorCode" else "String", "StringValue": v}
                for k, v in attributes.items()
            }
            client.send_message(QueueUrl=url["QueueUrl"], MessageBody=body, MessageAttributes=typed)
        elif service == "sns":
            typed = {k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()}
            client.publish(TopicArn=arn, Message=body, MessageAttributes=typed)
        elif service == "lambda":
            client.invoke(FunctionName=arn, InvocationType="Event", Payload=body.encode())
        elif service == "events":
            outcome = "Success" if succeeded else "Failure"
            client.put_events(
                Entries=[
                    {
                        "EventBusName": arn,
                        "Source": "lambda",
                        "Detail": body,
                        "DetailType": f"Lambda Function Invocation Result - {outcome}",
                    }
                ]
            )
        else:
            raise ValueError(f"Lambda cannot send to {arn}: not SQS, SNS, Lambda or EventBridge")


def _destination_record(
    info: FunctionInfo, payload: Any, record: LambdaInvocation, succeeded: bool
) -> dict[str, Any]:
    """The invocation record Lambda sends to an async destination."""
    response_context: dict[str, Any] = {"statusCode": 200, "executedVersion": "$LATEST"}
    if not succeeded:
        response_context["functionError"] = "Unhandled"
    now = datetime.now(UTC)
    return {
        "version": "1.0",
        "timestamp": now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z",
        "requestContext": {
            "requestId": record.request_id,
            "functionArn": f"{info.arn}:$LATEST",
            "condition": "Success" if succeeded else "RetriesExhausted",
            "approximateInvokeCount": record.attempt,
        },
        "requestPayload": payload,
        "responseContext": response_context,
        "responsePayload": record.result if succeeded else record.error,
    }


def _write_logs(
    info: FunctionInfo, stream: str, request_id: str, lines: list[str], duration_ms: float
) -> None:
    """Lambda's log stream shape: START, the handler's lines, END, REPORT."""
    backend = logs_backends[info.account][info.region]
    group = info.log_group_name
    backend.ensure_log_group(group)
    backend.ensure_log_stream(group, stream)
    messages = [
        f"START RequestId: {request_id} Version: $LATEST",
        *lines,
        f"END RequestId: {request_id}",
        f"REPORT RequestId: {request_id}\tDuration: {duration_ms:.2f} ms",
    ]
    now = int(time.time() * 1000)
    backend.put_log_events(group, stream, [{"timestamp": now, "message": m} for m in messages])


@dataclass
class _Outcome:
    result: Any = None
    error: dict[str, Any] | None = None
    lines: list[str] = field(default_factory=list)


class _Pool:
    """The warm execution environments of one function: one, more only under concurrency."""

    def __init__(self, info: FunctionInfo, env: dict[str, str]) -> None:
        self.info = info
        self.env = env
        self._idle: list[_Worker] = []
        self._all: list[_Worker] = []
        self._lock = threading.Lock()
        self._closed = False

    def acquire(self) -> _Worker:
        with self._lock:
            while self._idle:
                worker = self._idle.pop()
                if worker.alive:
                    return worker
            worker = _Worker(self.info, self.env)
            self._all.append(worker)
            return worker

    def release(self, worker: _Worker) -> None:
        with self._lock:
            if worker.alive and not self._closed:
                self._idle.append(worker)
            else:
                worker.stop()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            workers, self._all, self._idle = self._all, [], []
        for worker in workers:
            worker.stop()


class _Worker:
    """One worker subprocess: requests and responses on pipes of their own, logs on stdout."""

    def __init__(self, info: FunctionInfo, env: dict[str, str]) -> None:
        self._info = info
        request_read, request_write = os.pipe()
        response_read, response_write = os.pipe()
        self._process = subprocess.Popen(  # noqa: S603 - our own interpreter and script
            [sys.executable, str(WORKER_SCRIPT), str(request_read), str(response_write)],
            pass_fds=(request_read, response_write),
            env=env,
            cwd=info.code_dir,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,  # one log stream, in order, as on Lambda
        )
        os.close(request_read)
        os.close(response_write)
        self._requests = os.fdopen(request_write, "w", encoding="utf-8")
        self._responses: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._lines: list[str] = []
        self._marker = ""  # the request id of the last end marker read
        self._cond = threading.Condition()
        self._initialised = False
        self.alive = True
        now = datetime.now(UTC)
        self.log_stream_name = f"{now:%Y/%m/%d}/[$LATEST]{uuid.uuid4().hex}"
        readers = [
            (self._read_responses, os.fdopen(response_read, "rb")),
            (self._read_logs, cast(IO[bytes], self._process.stdout)),
        ]
        for target, stream in readers:
            threading.Thread(
                target=target,
                args=(stream,),
                daemon=True,
                name=f"lambda-{info.name}-{target.__name__}",
            ).start()

    def _read_responses(self, stream: IO[bytes]) -> None:
        try:
            for line in stream:
                self._responses.put(json.loads(line))
        except ValueError:  # a response cut short by the process dying
            pass
        self._responses.put(None)  # the process is gone

    def _read_logs(self, stream: IO[bytes]) -> None:
        for raw in stream:
            line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
            with self._cond:
                if line.startswith(END_MARKER):
                    self._marker = line[len(END_MARKER) :]
                    self._cond.notify_all()
                elif line.strip():
                    self._lines.append(line)
        with self._cond:
            self._marker = "<eof>"
            self._cond.notify_all()

    def invoke(self, event: Any, context: dict[str, Any], timeout: int) -> _Outcome:
        request_id = context["aws_request_id"]
        if not self._initialised:
            init = {
                "code_dir": str(self._info.code_dir),
                "handler": self._info.handler,
                "layer_dirs": [str(p) for p in self._info.layer_dirs],
            }
            ready = self._exchange({"init": init}, "init", max(INIT_TIMEOUT_SECONDS, timeout))
            if ready.error is not None:
                self.stop()
                ready.error["requestId"] = request_id
                return ready
            self._initialised = True
        request = {"event": event, "context": context, "deadline": time.time() + timeout}
        return self._exchange(request, request_id, timeout)

    def _exchange(self, request: dict[str, Any], request_id: str, timeout: float) -> _Outcome:
        try:
            self._requests.write(json.dumps(request) + "\n")
            self._requests.flush()
            response = self._responses.get(timeout=timeout)
        except queue.Empty:
            self.stop()
            message = f"Task timed out after {timeout:.2f} seconds"
            return _Outcome(
                error=_runtime_error(request_id, "Sandbox.Timedout", message),
                lines=self._take_lines(request_id),
            )
        except (BrokenPipeError, ValueError):
            response = None
        if response is None:
            self.stop()
            code = self._process.wait()
            message = (
                f"RequestId: {request_id} Error: Runtime exited with error: exit status {code}"
            )
            return _Outcome(
                error=_runtime_error(request_id, "Runtime.ExitError", message),
                lines=self._take_lines(request_id),
            )
        lines = self._take_lines(request_id)
        if "error" in response:
            return _Outcome(error=response["error"], lines=lines)
        return _Outcome(result=response.get("result"), lines=lines)

    def _take_lines(self, request_id: str) -> list[str]:
        """The lines printed up to this request's end marker (init's too, on the first)."""
        with self._cond:
            self._cond.wait_for(
                lambda: self._marker in (request_id, "<eof>"), timeout=MARKER_WAIT_SECONDS
            )
            lines, self._lines = self._lines, []
            return lines

    def stop(self) -> None:
        self.alive = False
        if self._process.poll() is None:
            self._process.kill()
        with contextlib.suppress(OSError):
            self._requests.close()
        self._process.wait()


def _runtime_error(request_id: str, error_type: str, message: str) -> dict[str, Any]:
    return {
        "errorMessage": message,
        "errorType": error_type,
        "requestId": request_id,
        "stackTrace": [],
    }
