"""EventBridge delivery in the emulator: AWS's matching, envelope and targets on moto's rules.

moto keeps the rules (created by CloudFormation with the template's real patterns and targets)
and runs ``put_events``; this module changes three things, reversibly (:class:`EventRouter`):

- **Matching** (:func:`matches`). EventBridge flattens arrays: a pattern path that goes through
  an array of objects (``detail.configuration.metrics[].metricStat.metric.namespace``) matches
  when one element matches, and all fields of one sub-pattern must match within the same element
  (event-ruler's "array consistency"). moto's ``EventPattern`` flattens only objects, so such a
  pattern never matches there. Leaf filters (exact, prefix, suffix, anything-but, numeric, exists,
  wildcard, equals-ignore-case, cidr) are still moto's.
- **Envelope**. Targets receive AWS's shape: ``time`` as ``YYYY-MM-DDTHH:MM:SSZ``, ``account`` and
  ``region`` set, no ``ingestion-time``. ``Input``, ``InputPath`` and ``InputTransformer``
  apply as on AWS (the transformer through moto's own template parser).
- **Targets**. Lambda targets are invoked asynchronously through the Lambda API (so the
  :mod:`~mlopscp_emulator.lambdas` router runs the real handler with Lambda's async
  retries);
  Step Functions targets get ``StartExecution`` with the event as input; SQS targets get the
  envelope. A delivery that fails is retried per the target's ``RetryPolicy`` (not at all for a
  missing resource or a permission error, as on AWS), then written to the target's
  ``DeadLetterConfig`` queue with EventBridge's message attributes. Other targets (logs, archives,
  API destinations) keep moto's handling.
- **Event bus targets** (:meth:`EventRouter._forward`), in the same or another account: the
  event arrives as it left (same ``id``, ``time``, ``resources`` and ``account``: a forwarded
  event keeps the account it came from, as on AWS) and is matched against the target bus's
  rules. Another account's bus takes it only if its resource policy allows the sending account
  ``events:PutEvents`` (by account id, or ``"*"`` with ``aws:PrincipalOrgID`` naming the
  sender's organization in moto's Organizations); otherwise the delivery fails with
  ``AccessDeniedException`` into the rule's dead-letter queue. An event that already crossed
  into this bus from another bus is not forwarded again (EventBridge's one-hop rule).

An event put with :meth:`EventRouter.put_event` keeps the ``id`` of the envelope it came from,
so a redelivery of the same envelope (:meth:`EventRouter.redeliver`, what an EventBridge retry
looks like to a consumer) carries the same id.
"""

from __future__ import annotations

import copy
import json
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError
from moto.events.models import (
    UNDEFINED,
    EventBus,
    EventPattern,
    EventsBackend,
    Rule,
    events_backends,
)
from moto.events.utils import EventTemplateParser
from moto.utilities.arns import parse_arn

from mlopscp_emulator._patching import Patches
from mlopscp_emulator.trace import (
    BackgroundTasks,
    EventForwarded,
    RuleMatched,
    TargetDeliveryFailed,
    Trace,
)

ClientFactory = Callable[[str, str], Any]  # (service, account id) -> boto3 client
EVENT_ID_HEADER = "x-mlopscp-event-ids"
# AWS sends these straight to the DLQ: retrying cannot help until someone acts.
_NOT_RETRIED = {
    "ResourceNotFoundException",
    "AccessDeniedException",
    "StateMachineDoesNotExist",
    "AWS.SimpleQueueService.NonExistentQueue",
    "QueueDoesNotExist",
    "NotFound",
}
_BOTO_NAMES = {"states": "stepfunctions"}  # ARN service -> boto3 client name
_NO_RETRY = "MaximumRetryAttempts"  # what the DLQ message says for an error never retried


def matches(pattern: Mapping[str, Any], event: Mapping[str, Any]) -> bool:
    """Whether an EventBridge event pattern matches an event, arrays of objects included."""
    return _matches_object(pattern, event, EventPattern(None, dict(pattern)))


def _matches_object(pattern: Mapping[str, Any], node: Any, leaf: EventPattern) -> bool:
    if isinstance(node, list) and node:
        # One element must satisfy the whole sub-pattern: fields matched in different elements
        # of the same array do not make a match (event-ruler's array consistency).
        return any(_matches_object(pattern, element, leaf) for element in node)
    fields = node if isinstance(node, dict) else {}
    for key, sub_pattern in pattern.items():
        if key == "$or":
            matched = any(_matches_object(p, node, leaf) for p in sub_pattern)
        elif isinstance(sub_pattern, dict):
            matched = _matches_object(sub_pattern, fields.get(key), leaf)
        elif isinstance(sub_pattern, list):
            value = fields.get(key, UNDEFINED)
            if isinstance(value, list) and any(isinstance(v, (dict, list)) for v in value):
                value = [v for v in value if not isinstance(v, (dict, list))] or UNDEFINED
            matched = leaf._does_item_match_filters(value, sub_pattern)
        else:
            matched = False
        if not matched:
            return False
    return True


def envelope_of(event: Mapping[str, Any], account: str, region: str) -> dict[str, Any]:
    """AWS's event envelope from moto's internal event (or a user's envelope)."""
    when = event.get("time")
    if isinstance(when, (int, float)):
        when = datetime.fromtimestamp(when, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    envelope = {
        "version": event.get("version", "0"),
        "id": event.get("id") or str(uuid.uuid4()),
        "detail-type": event.get("detail-type", ""),
        "source": event.get("source", ""),
        "account": event.get("account") or account,
        "time": when or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": event.get("region") or region,
        "resources": list(event.get("resources") or []),
        "detail": event.get("detail", {}),
    }
    if "replay-name" in event:
        envelope["replay-name"] = event["replay-name"]
    return envelope


def target_input(target: Mapping[str, Any], envelope: dict[str, Any]) -> Any:
    """What the target receives: Input, InputPath, InputTransformer or the whole event."""
    if "Input" in target:
        return json.loads(target["Input"])
    if "InputPath" in target:
        from jsonpath_ng.ext import parse  # moto's own dependency

        found = parse(target["InputPath"]).find(envelope)
        return found[0].value if found else None
    if "InputTransformer" in target:
        transformer = target["InputTransformer"]
        try:
            return EventTemplateParser.parse(
                input_template=transformer.get("InputTemplate"),
                input_paths_map=transformer.get("InputPathsMap", {}),
                event={**envelope, "ingestion-time": time.time()},  # type: ignore[typeddict-item]
            )
        except ValueError:  # a template that renders plain text, not JSON
            return transformer.get("InputTemplate")
    return envelope


class EventRouter:
    """Owns the patches of moto's EventBridge and the delivery threads."""

    retry_delay = 0.05  # EventBridge backs off exponentially, from seconds up to minutes

    def __init__(self, trace: Trace, tasks: BackgroundTasks, clients: ClientFactory) -> None:
        self._trace = trace
        self._tasks = tasks
        self._clients = clients
        self._patches = Patches()
        self._preset = threading.local()  # the id to give the event put_events is delivering
        self._outgoing = threading.local()  # the ids put_event is sending, in the caller's thread

    def install(self) -> None:
        router = self
        # A rule without an event pattern is a schedule rule: it matches no event (moto's
        # EventPattern matches every event when the pattern is empty).
        self._patches.set(
            EventPattern,
            "matches_event",
            lambda pattern, event: (
                bool(pattern.get_pattern()) and matches(pattern.get_pattern(), event)
            ),
        )
        original_send = self._patches.set(Rule, "send_to_targets", None)

        def send_to_targets(rule: Rule, event: Any, transform_input: bool = True) -> None:
            router._send_to_targets(rule, event, transform_input, original_send)

        self._patches.set(Rule, "send_to_targets", send_to_targets)
        original_put = self._patches.set(EventsBackend, "put_events", None)

        def put_events(backend: EventsBackend, events: list[dict[str, Any]]) -> Any:
            return router._put_events(backend, events, original_put)

        self._patches.set(EventsBackend, "put_events", put_events)
        self._install_id_header()

    def _install_id_header(self) -> None:
        from moto.events.responses import EventsHandler

        original = self._patches.set(EventsHandler, "put_events", None)
        router = self

        def put_events(handler: EventsHandler) -> str:
            router._preset.ids = json.loads(handler.headers.get(EVENT_ID_HEADER) or "[]")
            try:
                return original(handler)
            finally:
                router._preset.ids = []

        self._patches.set(EventsHandler, "put_events", put_events)

    def close(self) -> None:
        self._patches.undo()

    # -- put and redeliver ------------------------------------------------------------------

    def put_event(
        self, client: Any, envelope: Mapping[str, Any], event_bus_name: str = "default"
    ) -> list[str]:
        """Put one envelope through the real PutEvents API; return the rules it matched."""
        entry: dict[str, Any] = {
            "Source": envelope["source"],
            "DetailType": envelope["detail-type"],
            "Detail": json.dumps(envelope.get("detail", {})),
            "Resources": list(envelope.get("resources") or []),
            "EventBusName": event_bus_name,
        }
        if envelope.get("time"):
            entry["Time"] = _parse_time(envelope["time"])
        # The client is shared by the caller's threads: one hook per client, reading the ids of
        # the call made in its own thread (a hook registered per call would also stamp the
        # calls other threads make meanwhile with this event's id).
        client.meta.events.register(
            "before-sign.events.PutEvents", self._add_ids, unique_id="mlopscp-event-ids"
        )
        start = len(self._trace)
        self._outgoing.ids = json.dumps([envelope.get("id")])
        try:
            response = client.put_events(Entries=[entry])
        finally:
            self._outgoing.ids = None
        result = response["Entries"][0]
        if "ErrorCode" in result:
            raise ValueError(f"PutEvents rejected the event: {result}")
        # Not what a redelivery of the same id, meanwhile in another thread, matched.
        return [
            r.rule
            for r in self._trace.since(start)
            if isinstance(r, RuleMatched) and r.event_id == result["EventId"] and not r.redelivery
        ]

    def _add_ids(self, request: Any, **_: Any) -> None:
        ids = getattr(self._outgoing, "ids", None)
        if ids:
            request.headers[EVENT_ID_HEADER] = ids

    def redeliver(
        self,
        account: str,
        region: str,
        envelope: Mapping[str, Any],
        event_bus_name: str = "default",
    ) -> list[str]:
        """Deliver the same envelope (same id) again to the targets of the rules it matches."""
        backend: EventsBackend = events_backends[account][region]
        bus = backend.describe_event_bus(event_bus_name)
        # What put_events delivered: the bus's account and region, time to the second.
        when = _parse_time(envelope["time"]).timestamp() if envelope.get("time") else None
        event = envelope_of(
            {**envelope, "account": account, "region": region, "time": when}, account, region
        )
        return self._match(bus, event, redelivery=True, hops=0)

    def _match(
        self, bus: EventBus, event: dict[str, Any], redelivery: bool, hops: int
    ) -> list[str]:
        """Deliver an envelope to the targets of every enabled rule of ``bus`` it matches."""
        matched = []
        for rule in list(bus.rules.values()):
            pattern = rule.event_pattern.get_pattern()
            if rule.state != "DISABLED" and pattern and matches(pattern, event):
                self._deliver(rule, event, redelivery=redelivery, original_send=None, hops=hops)
                matched.append(rule.name)
        return matched

    # -- moto's hooks -----------------------------------------------------------------------

    def _put_events(
        self, backend: EventsBackend, events: list[dict[str, Any]], original: Any
    ) -> Any:
        ids = list(getattr(self._preset, "ids", None) or [])
        if not any(ids):
            return original(backend, events)
        entries = []
        for event, event_id in zip(events, ids + [None] * len(events), strict=False):
            self._preset.current = event_id
            try:
                entry = original(backend, [event])
            finally:
                self._preset.current = None
            if event_id and "EventId" in entry[0]:
                entry[0]["EventId"] = event_id
            entries += entry
        return entries

    def _send_to_targets(
        self, rule: Rule, event: Any, transform_input: bool, original_send: Any
    ) -> None:
        if rule.state == "DISABLED" or not rule.event_pattern.matches_event(event):
            return
        preset = getattr(self._preset, "current", None)
        internal = dict(event, id=preset) if preset else event
        if not transform_input:  # replays hand over events moto already shaped
            original_send(rule, internal, transform_input)
            return
        self._deliver(
            rule,
            envelope_of(internal, rule.account_id, rule.region_name),
            redelivery=False,
            original_send=original_send,
            internal=internal,
        )

    def _deliver(
        self,
        rule: Rule,
        envelope: dict[str, Any],
        redelivery: bool,
        original_send: Any,
        internal: Any = None,
        hops: int = 0,
    ) -> None:
        self._trace.add(
            RuleMatched(
                rule=rule.name,
                rule_arn=rule.arn,
                event_id=envelope["id"],
                event=envelope,
                redelivery=redelivery,
            )
        )
        moto_targets = []
        for target in rule.targets:
            parsed = parse_arn(target["Arn"])
            service = parsed.service
            if service == "events" and parsed.resource_type == "event-bus":
                self._forward(rule, target, envelope, hops, redelivery)
                continue
            if service not in ("lambda", "states", "sqs"):
                moto_targets.append(target)
                continue
            payload = target_input(target, envelope)
            if service == "sqs":  # synchronous in moto too: the message is there on return
                self._deliver_with_retries(rule, target, envelope, payload)
            else:
                self._tasks.submit(
                    f"EventBridge delivery of event {envelope['id']} to {target['Arn']}",
                    lambda t=target, p=payload: self._deliver_with_retries(rule, t, envelope, p),
                )
        if moto_targets and original_send is not None:
            clone = copy.copy(rule)
            clone.targets = moto_targets
            original_send(clone, internal or envelope, True)

    def _forward(
        self,
        rule: Rule,
        target: Mapping[str, Any],
        envelope: dict[str, Any],
        hops: int,
        redelivery: bool = False,
    ) -> None:
        """Put the event on another bus, unchanged (its ``account`` stays the sender's)."""
        if hops > 0:
            return  # EventBridge does not pass on an event another bus already forwarded
        arn = parse_arn(target["Arn"])
        try:
            bus = events_backends[arn.account][arn.region].describe_event_bus(arn.resource_id)
        except Exception as error:  # moto's ResourceNotFoundException
            self._dead_letter(
                rule, target, envelope, "ResourceNotFoundException", str(error), _NO_RETRY, 0
            )
            return
        if arn.account != rule.account_id and not bus_admits(bus, rule.account_id):
            who = target.get("RoleArn") or f"arn:aws:iam::{rule.account_id}:root"
            why = (
                f"User: {who} is not authorized to perform: events:PutEvents on resource: "
                f"{bus.arn} because no resource-based policy allows the events:PutEvents action"
            )
            self._dead_letter(rule, target, envelope, "AccessDeniedException", why, _NO_RETRY, 0)
            return
        self._trace.add(
            EventForwarded(
                rule=rule.name,
                rule_arn=rule.arn,
                bus_arn=bus.arn,
                event_id=envelope["id"],
                account=envelope["account"],
            )
        )
        self._match(bus, envelope, redelivery=redelivery, hops=hops + 1)

    def _deliver_with_retries(
        self, rule: Rule, target: Mapping[str, Any], envelope: dict[str, Any], payload: Any
    ) -> None:
        policy = target.get("RetryPolicy") or {}
        attempts = 1 + int(policy.get("MaximumRetryAttempts", 185))
        deadline = time.monotonic() + int(policy.get("MaximumEventAgeInSeconds", 86400))
        for attempt in range(1, attempts + 1):
            try:
                self._send(target["Arn"], payload, target)
                return
            except ClientError as exc:
                error = exc.response.get("Error", {})
                code, message = error.get("Code", "Unknown"), error.get("Message", str(exc))
                condition = "MaximumRetryAttempts"
                if code in _NOT_RETRIED:
                    break
                if time.monotonic() > deadline:
                    condition = "MaximumEventAgeInSeconds"
                    break
                if attempt < attempts:
                    time.sleep(min(self.retry_delay * attempt, 1.0))
        self._dead_letter(rule, target, envelope, code, message, condition, attempt - 1)

    def _send(self, arn: str, payload: Any, target: Mapping[str, Any]) -> None:
        parsed = parse_arn(arn)
        client = self._clients(_BOTO_NAMES.get(parsed.service, parsed.service), parsed.account)
        body = payload if isinstance(payload, str) else json.dumps(payload)
        if parsed.service == "lambda":
            client.invoke(FunctionName=arn, InvocationType="Event", Payload=body.encode())
        elif parsed.service == "states":
            client.start_execution(stateMachineArn=arn, name=str(uuid.uuid4()), input=body)
        else:
            url = client.get_queue_url(
                QueueName=parsed.resource_id, QueueOwnerAWSAccountId=parsed.account
            )["QueueUrl"]
            extra = {}
            if group := (target.get("SqsParameters") or {}).get("MessageGroupId"):
                extra["MessageGroupId"] = group
            client.send_message(QueueUrl=url, MessageBody=body, **extra)

    def _dead_letter(
        self,
        rule: Rule,
        target: Mapping[str, Any],
        envelope: dict[str, Any],
        code: str,
        message: str,
        condition: str,
        retries: int,
    ) -> None:
        dlq = (target.get("DeadLetterConfig") or {}).get("Arn")
        self._trace.add(
            TargetDeliveryFailed(
                rule=rule.name,
                target_arn=target["Arn"],
                event_id=envelope["id"],
                error_code=code,
                error_message=message,
                dead_letter_arn=dlq,
            )
        )
        if not dlq:
            return  # dropped, as EventBridge does without a DLQ
        parsed = parse_arn(dlq)
        sqs = self._clients("sqs", parsed.account)
        url = sqs.get_queue_url(
            QueueName=parsed.resource_id, QueueOwnerAWSAccountId=parsed.account
        )["QueueUrl"]
        attributes = {
            "RULE_ARN": rule.arn,
            "TARGET_ARN": target["Arn"],
            "ERROR_CODE": code,
            "ERROR_MESSAGE": message[:1024],
            "EXHAUSTED_RETRY_CONDITION": condition,
            "RETRY_ATTEMPTS": str(retries),
        }
        sqs.send_message(
            QueueUrl=url,
            MessageBody=json.dumps(envelope),
            MessageAttributes={
                k: {"DataType": "Number" if k == "RETRY_ATTEMPTS" else "String", "StringValue": v}
                for k, v in attributes.items()
            },
        )


def bus_admits(bus: EventBus, account: str) -> bool:
    """Whether ``bus``'s resource policy lets ``account`` put events on it: an Allow of
    ``events:PutEvents`` to that account (id, root or any of its ARNs), or to ``"*"`` on the
    condition ``aws:PrincipalOrgID`` equal to the account's organization. A statement with any
    other condition is not evaluated and admits nobody."""
    document = json.loads(bus.policy) if bus.policy else {"Statement": []}
    for statement in document["Statement"]:
        actions = statement.get("Action", [])
        actions = [actions] if isinstance(actions, str) else actions
        if statement.get("Effect") != "Allow" or not {"events:PutEvents", "events:*"} & set(
            actions
        ):
            continue
        principal = statement.get("Principal")
        principals = principal.get("AWS", []) if isinstance(principal, dict) else principal
        principals = [principals] if isinstance(principals, str) else principals
        condition = statement.get("Condition") or {}
        if "*" in principals:
            if not condition:
                return True  # a public bus
            org = (condition.get("StringEquals") or {}).get("aws:PrincipalOrgID")
            only_org = list(condition) == ["StringEquals"] and len(condition["StringEquals"]) == 1
            if only_org and org is not None and org == organization_of(account):
                return True
            continue
        named = any(p == account or p.startswith(f"arn:aws:iam::{account}:") for p in principals)
        if named and not condition:
            return True
    return False


def organization_of(account: str) -> str | None:
    """The id of the organization ``account`` belongs to in moto's Organizations, if any."""
    from moto.organizations.models import organizations_backends

    master, partition = organizations_backends.master_accounts.get(account, (account, "aws"))
    org = organizations_backends[master][partition].org
    return org.id if org else None


def _parse_time(value: str | float | datetime) -> datetime:
    if isinstance(value, datetime):
        return value
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value, UTC)
    if value.isdigit():  # epoch milliseconds, as some AWS services (and their docs) send it
        return datetime.fromtimestamp(int(value) / 1000, UTC)
    return datetime.fromisoformat(value.replace("Z", "+00:00"))
