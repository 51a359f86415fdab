"""The :class:`Emulator`: moto's server on loopback with a SAM application's real code behind it."""

from __future__ import annotations

import json
import logging
import threading
import time
import types
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

import boto3
from botocore.config import Config
from moto.moto_server.werkzeug_app import DomainDispatcherApplication
from moto.stepfunctions.parser.models import StepFunctionsParserBackend

from mlopscp_emulator import (
    autoscaling_ext,
    cfn_ext,
    cloudwatch_ext,
    common_errors,
    dynamodb_ext,
    s3_ext,
    sagemaker_ext,
    sts_ext,
)
from mlopscp_emulator._patching import Patches
from mlopscp_emulator.api_calls import OWN_AGENT, ApiCalls, call_of
from mlopscp_emulator.credentials import DEFAULT_ACCOUNT, FAKE_KEY
from mlopscp_emulator.deploy import Deployer, Stack
from mlopscp_emulator.events import EventRouter
from mlopscp_emulator.faults import Faults
from mlopscp_emulator.http import HttpFront
from mlopscp_emulator.lambdas import LambdaRouter
from mlopscp_emulator.server import MotoServer
from mlopscp_emulator.trace import BackgroundTasks, ExecutionStarted, Trace


class EmulatorError(RuntimeError):
    """The emulator could not do what was asked; the message says what is wrong."""


class Emulator:
    """A local stand-in for AWS: moto server on 127.0.0.1, stacks deployed from SAM templates,
    Lambda invokes running the real handlers, EventBridge delivering to Lambda and Step Functions.

    Use it as a context manager; one emulator runs at a time in a process (moto's state is
    global), any number one after another.
    """

    _active_lock = threading.Lock()
    # Step Functions Retry waits, the SDK's own backoff inside handlers and Lambda's waits
    # between async attempts last this fraction of what AWS waits (IntervalSeconds x
    # BackoffRate^n, jittered and capped as the ASL says; Lambda's 1 and 2 minutes).
    retry_scale = 0.01

    def __init__(self, region: str = "us-east-1") -> None:
        self.region = region
        self.account = DEFAULT_ACCOUNT
        self.trace = Trace()
        self.api_calls = ApiCalls()
        self.stacks: dict[str, Stack] = {}
        self._tasks = BackgroundTasks()
        self.faults = Faults(accounts=_account_of_key)
        self._server = MotoServer(self.faults)
        self._patches = Patches()
        self._clients: dict[tuple[str, str], Any] = {}
        self._credentials: dict[str, dict[str, str]] = {}
        self._clients_lock = threading.Lock()
        self._lambdas: LambdaRouter | None = None
        self._events: EventRouter | None = None
        self._http: HttpFront | None = None
        self._cleanups: list[Callable[[], None]] = []
        self._running = False

    # -- lifecycle --------------------------------------------------------------------------

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> Emulator:
        # moto's interpreter logs every Fail state at ERROR with its internals; a Fail state is
        # a designed ending of our flows and shows in the execution history anyway.
        logging.getLogger("moto.stepfunctions.parser.asl.component.eval_component").setLevel(
            logging.CRITICAL
        )
        if not Emulator._active_lock.acquire(blocking=False):
            raise EmulatorError("another Emulator is running in this process; stop it first")
        try:
            self._server.start()
            self._compress_retries()
            self._lambdas = LambdaRouter(
                self.endpoint_url,
                self.trace,
                self._tasks,
                self._client_for,
                self._worker_credentials,
            )
            self._events = EventRouter(self.trace, self._tasks, self._client_for)
            self._lambdas.retry_scale = self.retry_scale
            self._lambdas.install()
            self._events.install()
            sagemaker_ext.install()
            cloudwatch_ext.install()
            dynamodb_ext.install()
            sts_ext.install()
            common_errors.install()
            s3_ext.install()
            autoscaling_ext.install()
            self._http = HttpFront(self._invoke_for_url, self.account, self.region)
            cfn_ext.install(self._http)
            self._record_executions()
            self._count_api_calls()
            self._settle_callbacks()
        except BaseException:
            self._teardown()
            raise
        self._running = True
        return self

    def stop(self) -> None:
        if self._running:
            self._running = False
            self._teardown()

    def _teardown(self) -> None:
        try:
            while self._cleanups:
                self._cleanups.pop()()
            self._tasks.wait(timeout=5)
            if self._http is not None:
                self._http.close()
            cfn_ext.uninstall()
            for router in (self._lambdas, self._events):
                if router is not None:
                    router.close()
            self._patches.undo()
            sagemaker_ext.uninstall()
            cloudwatch_ext.uninstall()
            dynamodb_ext.uninstall()
            common_errors.uninstall()
            sts_ext.uninstall()
            s3_ext.uninstall()
            autoscaling_ext.uninstall()
            self._server.stop()
        finally:
            self._clients.clear()
            self._credentials.clear()
            Emulator._active_lock.release()

    @property
    def endpoint_url(self) -> str:
        return self._server.url

    def add_cleanup(self, cleanup: Callable[[], None]) -> None:
        """Run `cleanup` when the emulator stops (last added, first run): for helpers such as
        a local Slack stand-in that live as long as the emulator."""
        self._cleanups.append(cleanup)

    # -- clients ----------------------------------------------------------------------------

    def client(self, service: str, account: str | None = None) -> Any:
        """A boto3 client bound to the emulator; with `account`, via sts.assume_role there."""
        return self._client_for(service, account or self.account)

    def _client_for(self, service: str, account: str) -> Any:
        key = (service, account)
        with self._clients_lock:
            if key not in self._clients:
                credentials = self._account_credentials(account)
                session: Any = boto3.session.Session(
                    aws_access_key_id=credentials["AWS_ACCESS_KEY_ID"],
                    aws_secret_access_key=credentials["AWS_SECRET_ACCESS_KEY"],
                    aws_session_token=credentials.get("AWS_SESSION_TOKEN"),
                    region_name=self.region,
                )
                self._clients[key] = session.client(
                    service,
                    endpoint_url=self.endpoint_url,
                    config=Config(
                        retries={"max_attempts": 0},
                        read_timeout=300,
                        connect_timeout=10,
                        user_agent_extra=OWN_AGENT,  # not counted in api_calls
                    ),
                )
            return self._clients[key]

    def _account_credentials(self, account: str) -> dict[str, str]:
        """Fake keys for moto's default account; assumed-role keys for any other (called locked)."""
        if account not in self._credentials:
            if account == self.account:
                self._credentials[account] = {
                    "AWS_ACCESS_KEY_ID": FAKE_KEY,
                    "AWS_SECRET_ACCESS_KEY": FAKE_KEY,
                }
            else:
                sts = boto3.session.Session(
                    aws_access_key_id=FAKE_KEY,
                    aws_secret_access_key=FAKE_KEY,
                    region_name=self.region,
                ).client("sts", endpoint_url=self.endpoint_url)
                assumed = sts.assume_role(
                    RoleArn=f"arn:aws:iam::{account}:role/mlopscp-emulator",
                    RoleSessionName="mlopscp-emulator",
                )["Credentials"]
                self._credentials[account] = {
                    "AWS_ACCESS_KEY_ID": assumed["AccessKeyId"],
                    "AWS_SECRET_ACCESS_KEY": assumed["SecretAccessKey"],
                    "AWS_SESSION_TOKEN": assumed["SessionToken"],
                }
        return self._credentials[account]

    def _worker_credentials(self, account: str) -> dict[str, str]:
        with self._clients_lock:
            return dict(self._account_credentials(account))

    # -- stacks -----------------------------------------------------------------------------

    def deploy(
        self,
        template: str | Path,
        stack_name: str = "mlopscp-local",
        parameters: Mapping[str, str] | None = None,
        account: str | None = None,
    ) -> Stack:
        """Deploy a SAM template (its real code, ASL and patterns); see :mod:`.deploy`. With
        `account`, into that account through an assumed role (templates without functions
        only: handlers run in the default account), e.g. a workload account's roles and buses."""
        assert self._lambdas is not None, "start the emulator first"
        account = account or self.account
        deployer = Deployer(lambda service: self.client(service, account), account, self.region)
        stack = deployer.deploy(Path(template), stack_name, parameters or {})
        if stack.functions and account != self.account:
            raise EmulatorError(
                f"{template}: functions deploy only into the default account "
                f"{self.account}, not {account}"
            )
        for function in stack.functions.values():
            self._lambdas.register(function)
        self.stacks[stack_name if account == self.account else f"{account}/{stack_name}"] = stack
        return stack

    # -- HTTP (Function URLs) ---------------------------------------------------------------

    def http_url(self, logical_id: str, stack_name: str | None = None) -> str:
        """The loopback URL (ending in ``/``) serving a deployed Function URL, given the logical
        id of the ``AWS::Lambda::Url`` or of its function; see :mod:`mlopscp_emulator.http`."""
        assert self._http is not None, "start the emulator first"
        stacks = [self.stacks[stack_name]] if stack_name else list(self.stacks.values())
        for stack in stacks:
            resource = stack.template["Resources"].get(logical_id, {})
            if logical_id in stack.functions:
                arn: str | None = stack.functions[logical_id].arn
            elif resource.get("Type") == "AWS::Lambda::Url":
                arn = stack.resources.get(logical_id)
            else:
                continue
            url = self._http.url(arn or "")
            if url:
                return url
        raise EmulatorError(f"{logical_id} has no Function URL in the deployed stacks")

    def _invoke_for_url(self, function_arn: str, event: dict[str, Any]) -> tuple[Any, bool]:
        response = self.client("lambda").invoke(
            FunctionName=function_arn, Payload=json.dumps(event).encode()
        )
        payload = json.loads(response["Payload"].read() or b"null")
        return payload, bool(response.get("FunctionError"))

    # -- EventBridge ------------------------------------------------------------------------

    def put_event(
        self,
        envelope: Mapping[str, Any],
        event_bus_name: str = "default",
        account: str | None = None,
    ) -> list[str]:
        """Put an event envelope (version, id, detail-type, source, ..., detail) through
        PutEvents, in `account` (default: the tooling account); return the names of the rules
        it matched, forwarded ones included. Delivery to targets is async: :meth:`wait_idle`
        waits for it. The delivered event keeps the envelope's ``id``; its ``account`` is the
        bus's."""
        assert self._events is not None, "start the emulator first"
        return self._events.put_event(self.client("events", account), envelope, event_bus_name)

    def redeliver(
        self,
        envelope: Mapping[str, Any],
        times: int = 1,
        event_bus_name: str = "default",
        account: str | None = None,
    ) -> list[str]:
        """Deliver the identical envelope (same ``id``) again to the targets of the rules it
        matches on a bus of `account`, `times` times, as an EventBridge retry does; return the
        rules matched."""
        assert self._events is not None, "start the emulator first"
        matched: list[str] = []
        for _ in range(times):
            matched = self._events.redeliver(
                account or self.account, self.region, envelope, event_bus_name
            )
        return matched

    # -- waiting and looking ----------------------------------------------------------------

    def wait_idle(self, timeout: float = 60) -> None:
        """Wait until no async invocation or delivery is pending and every Step Functions
        execution is over or waiting for a callback (a ``.waitForTaskToken`` task: a human
        answers it, not the emulator; see :meth:`waiting_executions`); raise
        :class:`EmulatorError` naming what is still running."""
        deadline = time.monotonic() + timeout
        quiet = 0
        while quiet < 2:  # twice in a row: a finishing task may have started another
            busy = self._tasks.pending() + self._running_executions()
            quiet = 0 if busy else quiet + 1
            if busy and time.monotonic() > deadline:
                raise EmulatorError(f"not idle after {timeout}s; still running: {busy}")
            time.sleep(0.05)
        if self._tasks.errors:
            errors, self._tasks.errors = self._tasks.errors, []
            raise EmulatorError(
                "background work failed: "
                + "; ".join(
                    f"{what}: {type(exc).__name__}: {str(exc)[:300]}" for what, exc in errors
                )
            )

    def _running_executions(self, waiting: bool = False) -> list[str]:
        """Running executions that are busy (or, with `waiting`, those waiting for a callback)."""
        sfn = self.client("stepfunctions")
        running = []
        for machine in sfn.list_state_machines()["stateMachines"]:
            listed = sfn.list_executions(
                stateMachineArn=machine["stateMachineArn"], statusFilter="RUNNING"
            )
            running += [
                e["executionArn"]
                for e in listed["executions"]
                if self._waits_for_callback(e["executionArn"]) == waiting
            ]
        return running

    def waiting_executions(self) -> list[str]:
        """Executions paused in a ``.waitForTaskToken`` task until someone calls SendTask*."""
        return self._running_executions(waiting=True)

    def _waits_for_callback(self, execution_arn: str) -> bool:
        # moto ignores reverseOrder and maxResults: read the history and take its last event.
        paginator = self.client("stepfunctions").get_paginator("get_execution_history")
        last: dict[str, Any] = {}
        for page in paginator.paginate(executionArn=execution_arn):
            last = page["events"][-1] if page["events"] else last
        resource = last.get("taskSubmittedEventDetails", {}).get("resource", "")
        return last.get("type") == "TaskSubmitted" and resource.endswith(".waitForTaskToken")

    def execution_states(self, execution_arn: str) -> list[str]:
        """Names of the states an execution entered, in order (from its history)."""
        paginator = self.client("stepfunctions").get_paginator("get_execution_history")
        return [
            event["stateEnteredEventDetails"]["name"]
            for page in paginator.paginate(executionArn=execution_arn)
            for event in page["events"]
            if "stateEnteredEventDetails" in event
        ]

    def logs(self, function: str) -> list[str]:
        """Every line a function's handler printed or logged, over all its invocations; the
        function is given by logical id, name or ARN."""
        assert self._lambdas is not None, "start the emulator first"
        info = self._lambdas.function(function)
        name = info.name if info else function
        return [line for record in self.trace.invocations(name) for line in record.log_lines]

    def _compress_retries(self) -> None:
        """moto's interpreter sleeps a Retry's whole interval; sleep a fraction of it."""
        from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl

        scale = self.retry_scale
        scaled = types.SimpleNamespace(sleep=lambda seconds: time.sleep(seconds * scale))
        self._patches.set(retrier_decl, "time", scaled)

    def _record_executions(self) -> None:
        original = self._patches.set(StepFunctionsParserBackend, "start_execution", None)
        trace = self.trace

        def start_execution(
            backend: StepFunctionsParserBackend, state_machine_arn: str, *args: Any, **kwargs: Any
        ) -> Any:
            execution = original(backend, state_machine_arn, *args, **kwargs)
            trace.add(
                ExecutionStarted(
                    state_machine_arn=state_machine_arn,
                    execution_arn=execution.execution_arn,
                    input=kwargs.get("execution_input", args[1] if len(args) > 1 else None),
                )
            )
            return execution

        self._patches.set(StepFunctionsParserBackend, "start_execution", start_execution)

    def _count_api_calls(self) -> None:
        original = self._patches.set(DomainDispatcherApplication, "__call__", None)
        calls = self.api_calls

        def counted(app: DomainDispatcherApplication, environ: dict[str, Any], respond: Any) -> Any:
            call = call_of(environ)
            if call is not None:
                calls.add(*call)
            return original(app, environ, respond)

        self._patches.set(DomainDispatcherApplication, "__call__", counted)

    def _settle_callbacks(self) -> None:
        """SendTaskSuccess/Failure return once the execution has moved past its waiting task, so
        :meth:`wait_idle` never mistakes a just-answered execution for one still waiting."""
        for name in ("send_task_success", "send_task_failure"):
            original = self._patches.set(StepFunctionsParserBackend, name, None)

            def answer(
                backend: StepFunctionsParserBackend,
                task_token: str,
                *args: Any,
                _original: Any = original,
                **kwargs: Any,
            ) -> Any:
                waiting = [
                    e
                    for e in backend._get_executions()
                    if e.exec_worker
                    and e.exec_worker.env.callback_pool_manager.get(task_token) is not None
                ]
                before = {
                    e.execution_arn: _history_length(backend, e.execution_arn) for e in waiting
                }
                result = _original(backend, task_token, *args, **kwargs)
                deadline = time.monotonic() + 5
                while time.monotonic() < deadline and any(
                    _history_length(backend, arn) == n for arn, n in before.items()
                ):
                    time.sleep(0.01)
                return result

            self._patches.set(StepFunctionsParserBackend, name, answer)


def _history_length(backend: StepFunctionsParserBackend, execution_arn: str) -> int:
    return len(backend.get_execution_history(execution_arn)["events"])


def _account_of_key(access_key: str) -> str:
    from moto.iam.models import get_account_id_from

    return get_account_id_from(access_key)
