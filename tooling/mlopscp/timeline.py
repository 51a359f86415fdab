"""Render what the emulator did for an event: rules matched, functions run, states entered."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from mlopscp_emulator.trace import (
    EventForwarded,
    ExecutionStarted,
    LambdaInvocation,
    RuleMatched,
    TargetDeliveryFailed,
)

_SENTENCE = 400  # longer strings are documents, not sentences
_GLANCE = 120  # nested data beyond this is cut


@dataclass
class Timeline:
    rules: list[str] = field(default_factory=list)
    invocations: list[dict[str, Any]] = field(default_factory=list)
    executions: list[dict[str, Any]] = field(default_factory=list)
    delivery_failures: list[str] = field(default_factory=list)
    forwards: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [f"rules matched: {', '.join(collapse(self.rules, longest=1)) or 'none'}"]
        out += [f"  ⇢ {forward}" for forward in self.forwards]
        said: list[list[str]] = []  # one block per invocation, a poll's repeats said once
        for call in self.invocations:
            head, details = (call["error"], []) if call["error"] else describe(call["result"])
            block = [f"  λ {call['function']} ({call['type']}) -> {head}"]
            block += [f"      · {detail}" for detail in details]
            said.append(block)
        for block, times in _runs(said):
            out += [block[0] + (f"  x{times}" if times > 1 else ""), *block[1:]]
        for execution in self.executions:
            out.append(
                f"  ⎇ {execution['state_machine']}: {' → '.join(collapse(execution['states']))}"
                f"  [{execution['status']}]"
            )
        out += [f"  ✗ delivery failed: {failure}" for failure in self.delivery_failures]
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "rules": self.rules,
            "invocations": self.invocations,
            "executions": self.executions,
            "delivery_failures": self.delivery_failures,
            "forwards": self.forwards,
        }


def build(emulator: Any, stack: Any, records: list[Any]) -> Timeline:
    names = {info.name: logical for logical, info in stack.functions.items()}
    machines = {arn: logical for logical, arn in stack.state_machines.items()}
    timeline = Timeline()
    for record in records:
        if isinstance(record, RuleMatched):
            rule = _rule_label(stack, record.rule)
            account = record.rule_arn.split(":")[4]
            if account != emulator.account:
                rule += f" [account {account}]"
            timeline.rules.append(rule + (" (redelivered)" if record.redelivery else ""))
        elif isinstance(record, EventForwarded):
            timeline.forwards.append(
                f"{record.rule} put the event of account {record.account} on "
                f"account {record.bus_arn.split(':')[4]}'s bus {record.bus_arn.rsplit('/', 1)[-1]}"
            )
        elif isinstance(record, LambdaInvocation):
            timeline.invocations.append(
                {
                    "function": names.get(record.function, record.function),
                    "type": "sync" if record.invocation_type == "RequestResponse" else "async",
                    "result": record.result,
                    "error": f"{record.error_type}: {record.error.get('errorMessage', '')}"[:200]
                    if record.error
                    else None,
                }
            )
        elif isinstance(record, ExecutionStarted):
            sfn = emulator.client("stepfunctions")
            status = sfn.describe_execution(executionArn=record.execution_arn)["status"]
            timeline.executions.append(
                {
                    "state_machine": machines.get(
                        record.state_machine_arn, record.state_machine_arn
                    ),
                    "execution_arn": record.execution_arn,
                    "states": emulator.execution_states(record.execution_arn),
                    "status": status,
                }
            )
        elif isinstance(record, TargetDeliveryFailed):
            timeline.delivery_failures.append(f"{record.rule}: {record.error_message}")
    return timeline


def _rule_label(stack: Any, rule_name: str) -> str:
    for logical, info in stack.rules.items():
        if getattr(info, "name", None) == rule_name:
            return f"{rule_name} ({logical})"
    return rule_name


def describe(result: Any) -> tuple[str, list[str]]:
    """A function's result as a line of its fields, and a decision's reasons in full, one a
    line (a triage result nests them in its summary)."""
    if not isinstance(result, dict):
        return json.dumps(result, default=str), []
    summary = result.get("summary")
    reasons = summary.get("reasons") if isinstance(summary, dict) else result.get("reasons")
    shown = {k: v for k, v in result.items() if not (k == "summary" and reasons is not None)}
    if reasons is not None:
        shown.pop("reasons", None)
    head = " ".join(f"{key}={_field(value)}" for key, value in shown.items()) or "{}"
    return head, [str(reason) for reason in reasons or []]


def _field(value: Any) -> str:
    """A sentence (a reason, a verdict's headline) whole; a document (a page's HTML) or nested
    data cut to a glance: what the scenario checks is said in its ✓ lines."""
    if isinstance(value, str):
        if value.startswith("arn:") and value.count(":") >= 5:
            return value.split(":", 5)[5]  # the resource is what tells
        if "\n" in value or value.lstrip().startswith("<") or len(value) > _SENTENCE:
            return f"<{len(value)} characters>"
        return value
    text = json.dumps(value, default=str, separators=(",", ":"))
    return text if len(text) <= _GLANCE else text[: _GLANCE - 1] + "…"


def _runs(blocks: list[list[str]]) -> list[tuple[list[str], int]]:
    runs: list[tuple[list[str], int]] = []
    for block in blocks:
        if runs and runs[-1][0] == block:
            runs[-1] = (block, runs[-1][1] + 1)
        else:
            runs.append((block, 1))
    return runs


def collapse(states: list[str], longest: int = 4) -> list[str]:
    """A poll loop said once with its count: [Wait, Check, Wait, Check, Wait, Check, Done] ->
    ["(Wait → Check) x3", "Done"]; [Running, Running, Running] -> ["Running x3"]."""
    out: list[str] = []
    i = 0
    while i < len(states):
        best_length, best_times = 1, 1
        for length in range(1, longest + 1):
            cycle = states[i : i + length]
            times = 1
            while states[i + times * length : i + (times + 1) * length] == cycle:
                times += 1
            if times > 1 and times * length > best_times * best_length:
                best_length, best_times = length, times
        cycle = states[i : i + best_length]
        if best_times == 1:
            out.append(states[i])
        elif best_length == 1:
            out.append(f"{cycle[0]} x{best_times}")
        else:
            out.append(f"({' → '.join(cycle)}) x{best_times}")
        i += best_length * best_times
    return out
