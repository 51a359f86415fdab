"""Workload accounts on the emulator: forwarding rules of accounts/target-account.yaml put events
on a bus of the tooling account as EventBridge does (same event, its own account), only where
the bus's policy admits them, one hop only; bus policies admit an organization's accounts and
deploy from a template. (S3 across accounts: the emulator's own tests.)"""

from __future__ import annotations

import json
import uuid
import warnings
from pathlib import Path
from typing import Any

import pytest
from mlopscp_emulator import Emulator
from mlopscp_emulator.trace import EventForwarded, TargetDeliveryFailed

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[3]
TARGET = ROOT / "accounts" / "target-account.yaml"
ADMITTED, REFUSED = "515151515151", "626262626262"
BUS = "workloads-under-test"


def queue(emulator: Emulator, name: str, account: str | None = None) -> tuple[str, str]:
    sqs = emulator.client("sqs", account=account)
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    return url, arn["QueueArn"]


def messages(emulator: Emulator, url: str, account: str | None = None) -> list[dict[str, Any]]:
    sqs, found = emulator.client("sqs", account=account), []
    while batch := sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
    ).get("Messages", []):
        for message in batch:
            found.append(message)
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return found


def bus_policy(arn: str, principal: Any, condition: dict[str, Any] | None = None) -> str:
    """A bus policy with one statement letting `principal` put events on the bus."""
    statement = {"Sid": "Senders", "Effect": "Allow", "Principal": principal}
    statement |= {"Action": "events:PutEvents", "Resource": arn}
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [statement | ({"Condition": condition} if condition else {})],
        }
    )


def listen(emulator: Emulator, bus: str, name: str) -> str:
    """A rule on a tooling bus catching drift signals into a queue; returns the queue URL."""
    url, arn = queue(emulator, name)
    events = emulator.client("events")
    events.put_rule(
        Name=name,
        EventBusName=bus,
        EventPattern=json.dumps({"source": ["mlopscp.monitoring"]}),
    )
    events.put_targets(Rule=name, EventBusName=bus, Targets=[{"Id": "q", "Arn": arn}])
    return url


@pytest.fixture(scope="module")
def control_bus(emulator: Emulator) -> dict[str, str]:
    """A bus of the tooling account admitting ADMITTED by id, the workload template in both
    accounts forwarding to it, and a queue reading what the bus receives."""
    events = emulator.client("events")
    arn = events.create_event_bus(Name=BUS)["EventBusArn"]
    events.put_permission(EventBusName=BUS, Policy=bus_policy(arn, {"AWS": [ADMITTED]}))
    url = listen(emulator, BUS, "control-bus-inbox")
    for account in (ADMITTED, REFUSED):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the queue policy: moto does not enforce it
            emulator.deploy(
                TARGET,
                stack_name="mlopscp-workload",
                account=account,
                parameters={
                    "AccountPurpose": "staging",
                    "ToolingAccountId": emulator.account,
                    "ExternalId": "the-external-id-of-this-test",
                    "ModelArtifactsBucket": "models-bucket",
                    "DataCaptureBucket": f"capture-{account}",
                    "ControlPlaneEventBusArn": arn,
                },
            )
    return {"arn": arn, "inbox": url}


def drift_signal(**fields: Any) -> dict[str, Any]:
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Model Drift Signal",
        "source": "mlopscp.monitoring",
        "account": "000000000000",  # PutEvents sets the account: never the caller's claim
        "time": "2026-07-27T02:00:00Z",
        "region": "us-east-1",
        "resources": ["arn:aws:s3:::reports"],
        "detail": {"model_id": "churn", **fields},
    }


def test_a_forwarded_event_arrives_unchanged_with_the_account_it_came_from(
    emulator: Emulator, control_bus: dict[str, str]
) -> None:
    event = drift_signal(reason="nightly report")
    matched = emulator.put_event(event, account=ADMITTED)
    emulator.wait_idle(30)
    assert matched == ["mlopscp-forward-drift-signals", "control-bus-inbox"]
    (message,) = messages(emulator, control_bus["inbox"])
    assert json.loads(message["Body"]) == {
        **event,
        "account": ADMITTED,  # the sender's, as on AWS, not the receiving bus's
    }
    forwarded = [r for r in emulator.trace.records if isinstance(r, EventForwarded)]
    assert forwarded[-1].bus_arn == control_bus["arn"]
    assert forwarded[-1].account == ADMITTED


def test_a_bus_refuses_an_account_its_policy_does_not_admit(
    emulator: Emulator, control_bus: dict[str, str]
) -> None:
    event = drift_signal()
    matched = emulator.put_event(event, account=REFUSED)
    emulator.wait_idle(30)
    assert matched == ["mlopscp-forward-drift-signals"]
    assert messages(emulator, control_bus["inbox"]) == []
    failures = [
        r
        for r in emulator.trace.records
        if isinstance(r, TargetDeliveryFailed) and r.event_id == event["id"]
    ]
    assert [f.error_code for f in failures] == ["AccessDeniedException"]
    sqs = emulator.client("sqs", account=REFUSED)
    url = sqs.get_queue_url(QueueName="mlopscp-forwarding-dead-letters")["QueueUrl"]
    (dead,) = messages(emulator, url, account=REFUSED)
    assert json.loads(dead["Body"])["id"] == event["id"]
    assert dead["MessageAttributes"]["ERROR_CODE"]["StringValue"] == "AccessDeniedException"


def test_what_the_workload_template_does_not_forward_stays_in_its_account(
    emulator: Emulator, control_bus: dict[str, str]
) -> None:
    event = drift_signal() | {"source": "mlopscp.other", "detail-type": "Something Else"}
    assert emulator.put_event(event, account=ADMITTED) == []


def test_an_event_crosses_one_bus_boundary_only(
    emulator: Emulator, control_bus: dict[str, str]
) -> None:
    """EventBridge does not pass on an event another bus forwarded to it."""
    events = emulator.client("events")
    events.create_event_bus(Name="one-more-hop")
    onward = listen(emulator, "one-more-hop", "one-more-hop-inbox")
    events.put_rule(
        Name="onward", EventBusName=BUS, EventPattern=json.dumps({"source": ["mlopscp.monitoring"]})
    )
    bus2 = events.describe_event_bus(Name="one-more-hop")["Arn"]
    events.put_targets(Rule="onward", EventBusName=BUS, Targets=[{"Id": "b", "Arn": bus2}])
    try:
        emulator.put_event(drift_signal(), account=ADMITTED)
        emulator.wait_idle(30)
        assert len(messages(emulator, control_bus["inbox"])) == 1
        assert messages(emulator, onward) == []
        emulator.put_event(drift_signal(), event_bus_name=BUS)  # put there directly: one hop
        emulator.wait_idle(30)
        assert len(messages(emulator, onward)) == 1
    finally:
        events.remove_targets(Rule="onward", EventBusName=BUS, Ids=["b"])
        events.delete_rule(Name="onward", EventBusName=BUS)
        messages(emulator, control_bus["inbox"])


def test_an_organization_wide_policy_admits_the_organizations_accounts(
    emulator: Emulator,
) -> None:
    org = emulator.client("organizations").create_organization(FeatureSet="ALL")["Organization"]
    created = emulator.client("organizations").create_account(
        Email="member@example.com", AccountName="member"
    )["CreateAccountStatus"]
    member = created["AccountId"]
    events = emulator.client("events")
    arn = events.create_event_bus(Name="org-bus")["EventBusArn"]
    organization = {"StringEquals": {"aws:PrincipalOrgID": org["Id"]}}
    events.put_permission(EventBusName="org-bus", Policy=bus_policy(arn, "*", organization))
    inbox = listen(emulator, "org-bus", "org-bus-inbox")
    for account in (member, "737373737373"):  # a member, then an account outside it
        sender = emulator.client("events", account=account)
        sender.put_rule(
            Name="to-org-bus", EventPattern=json.dumps({"source": ["mlopscp.monitoring"]})
        )
        sender.put_targets(Rule="to-org-bus", Targets=[{"Id": "bus", "Arn": arn}])
        emulator.put_event(drift_signal(), account=account)
    emulator.wait_idle(30)
    (received,) = messages(emulator, inbox)
    assert json.loads(received["Body"])["account"] == member


def test_a_bus_and_its_policy_and_rules_deploy_from_a_template(
    emulator: Emulator, tmp_path: Path
) -> None:
    template = tmp_path / "bus.yaml"
    template.write_text(
        json.dumps(
            {
                "AWSTemplateFormatVersion": "2010-09-09",
                "Resources": {
                    "Bus": {
                        "Type": "AWS::Events::EventBus",
                        "Properties": {
                            "Name": "templated-bus",
                            "Policy": {
                                "Version": "2012-10-17",
                                "Statement": [
                                    {
                                        "Sid": "Workloads",
                                        "Effect": "Allow",
                                        "Principal": {"AWS": [ADMITTED]},
                                        "Action": "events:PutEvents",
                                        "Resource": "*",
                                    }
                                ],
                            },
                        },
                    },
                    "RuleOnIt": {
                        "Type": "AWS::Events::Rule",
                        "Properties": {
                            "Name": "rule-on-templated-bus",
                            "EventBusName": {"Ref": "Bus"},  # Ref of a bus: its name
                            "EventPattern": {"source": ["mlopscp.monitoring"]},
                        },
                    },
                },
            }
        )
    )
    emulator.deploy(template, stack_name="templated-bus")
    described = emulator.client("events").describe_event_bus(Name="templated-bus")
    (statement,) = json.loads(described["Policy"])["Statement"]
    assert statement["Principal"] == {"AWS": [ADMITTED]}
    matched = emulator.put_event(drift_signal(), event_bus_name="templated-bus")
    assert matched == ["rule-on-templated-bus"]
