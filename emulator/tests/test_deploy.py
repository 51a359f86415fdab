"""Deploying a SAM template: what the stack holds and where deploys fail loudly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mlopscp_emulator import DeployError, Emulator, Stack
from mlopscp_emulator.deploy import _split_unsupported

from .conftest import FIXTURE_APP

pytestmark = pytest.mark.integration
APP_DIR = FIXTURE_APP.parent


def test_function_environment_holds_the_resolved_names(emulator: Emulator, stack: Stack) -> None:
    table = stack.outputs["TableName"]
    recorder = stack.functions["RecorderFunction"]
    assert table.startswith("fixture-ThingsTable-")
    assert recorder.environment == {"STAGE": "local", "TABLE_NAME": table, "GREETING": "hello"}
    worker = stack.functions["WorkerFunction"]
    assert worker.environment["FLOW_ARN"] == stack.state_machines["Flow"]
    configured = emulator.client("lambda").get_function_configuration(FunctionName=worker.name)
    assert configured["Environment"]["Variables"] == dict(worker.environment)


def test_functions_point_at_their_real_code_and_layers(stack: Stack) -> None:
    recorder = stack.functions["RecorderFunction"]
    assert recorder.code_dir == APP_DIR / "functions" / "recorder"
    assert recorder.layer_dirs == (APP_DIR / "layers" / "shared",)
    assert recorder.handler == "app.handler"
    assert (recorder.timeout, recorder.memory_size) == (10, 256)
    queue = stack.outputs["WorkerDeadLetterQueueUrl"].rsplit("/", 1)[-1]
    assert stack.functions["WorkerFunction"].dead_letter_target == (
        f"arn:aws:sqs:us-east-1:123456789012:{queue}"
    )


def test_the_state_machine_runs_the_real_asl_with_substitutions(
    emulator: Emulator, stack: Stack
) -> None:
    described = emulator.client("stepfunctions").describe_state_machine(
        stateMachineArn=stack.state_machines["Flow"]
    )
    definition = json.loads(described["definition"])
    assert "${" not in described["definition"]
    assert definition["States"]["Audit"]["Parameters"]["TableName"] == stack.outputs["TableName"]
    assert definition["States"]["Audit"]["Parameters"]["Item"]["pk"]["S"] == "audit-local"
    assert definition["States"]["Check"]["Resource"] == stack.functions["RecorderFunction"].arn
    assert stack.state_machines["Flow"] == stack.outputs["FlowArn"] == stack.resources["Flow"]


def test_rules_keep_the_templates_patterns_and_targets(stack: Stack) -> None:
    rule = stack.rules["RecorderFunctionThingHappened"]
    assert rule.pattern == {"source": ["fixture.app"], "detail-type": ["Thing Happened"]}
    (target,) = rule.targets
    assert target["Arn"] == stack.functions["RecorderFunction"].arn
    assert target["RetryPolicy"] == {"MaximumRetryAttempts": 2, "MaximumEventAgeInSeconds": 60}
    flow_rule = stack.rules["FlowFlowRequested"]
    assert flow_rule.targets[0]["Arn"] == stack.state_machines["Flow"]


def test_types_moto_cannot_create_are_created_through_their_api_or_skipped_with_a_reason(
    emulator: Emulator, stack: Stack
) -> None:
    alarms = emulator.client("cloudwatch").describe_alarms(AlarmNamePrefix="fixture-")
    (alarm,) = alarms["MetricAlarms"]
    assert alarm["Dimensions"] == [
        {"Name": "FunctionName", "Value": stack.functions["WorkerFunction"].name}
    ]
    config = emulator.client("lambda").get_function_event_invoke_config(
        FunctionName=stack.functions["RecorderFunction"].name
    )
    assert config["MaximumRetryAttempts"] == 1
    assert config["DestinationConfig"]["OnFailure"]["Destination"].endswith(
        stack.outputs["FailureQueueUrl"].rsplit("/", 1)[-1]
    )
    assert any(
        "RuleDeadLetterQueuePolicy" in w and "resource policies" in w for w in stack.warnings
    )


def test_an_unknown_unsupported_type_stops_the_deploy_naming_it() -> None:
    template = {
        "Resources": {
            "Table": {"Type": "AWS::DynamoDB::Table", "Properties": {}},
            "Bus": {"Type": "AWS::Pipes::Pipe", "Properties": {}},
        }
    }
    with pytest.raises(DeployError, match=r"Bus \(AWS::Pipes::Pipe\)"):
        _split_unsupported(template)


def test_a_placeholder_without_substitution_fails_the_deploy(
    emulator: Emulator, tmp_path: Path, unique: str
) -> None:
    (tmp_path / "sm.asl.json").write_text(
        json.dumps(
            {
                "StartAt": "P",
                "States": {"P": {"Type": "Pass", "Result": "${Known}-${Missing}", "End": True}},
            }
        )
    )
    (tmp_path / "template.yaml").write_text(
        "Transform: AWS::Serverless-2016-10-31\n"
        "Resources:\n"
        "  Machine:\n"
        "    Type: AWS::Serverless::StateMachine\n"
        "    Properties:\n"
        "      DefinitionUri: sm.asl.json\n"
        "      DefinitionSubstitutions:\n"
        "        Known: !Ref AWS::Region\n"
    )
    with pytest.raises(DeployError, match=r"no DefinitionSubstitutions value for \$\{Missing\}"):
        emulator.deploy(tmp_path / "template.yaml", stack_name=f"bad-{unique}")


def test_a_missing_code_dir_fails_the_deploy(emulator: Emulator, tmp_path: Path) -> None:
    (tmp_path / "template.yaml").write_text(
        "Transform: AWS::Serverless-2016-10-31\n"
        "Resources:\n"
        "  Fn:\n"
        "    Type: AWS::Serverless::Function\n"
        "    Properties: {CodeUri: nowhere, Handler: app.handler, Runtime: python3.13}\n"
    )
    with pytest.raises(DeployError, match="CodeUri nowhere does not exist"):
        emulator.deploy(tmp_path / "template.yaml", stack_name="missing-code")


def test_a_cross_account_client_lands_resources_in_that_account(
    emulator: Emulator, unique: str
) -> None:
    other = emulator.client("sqs", account="222222222222")
    url = other.create_queue(QueueName=f"cross-{unique}")["QueueUrl"]
    arn = other.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    assert arn["QueueArn"] == f"arn:aws:sqs:us-east-1:222222222222:cross-{unique}"
    mine = emulator.client("sqs").list_queues(QueueNamePrefix=f"cross-{unique}")
    assert "QueueUrls" not in mine
    identity = emulator.client("sts", account="222222222222").get_caller_identity()
    assert identity["Account"] == "222222222222"


def test_a_no_value_in_a_list_is_dropped_as_cloudformation_does(
    emulator: Emulator, stack: Stack
) -> None:
    role = stack.resources["RecorderFunctionRole"]
    policies = emulator.client("iam").list_role_policies(RoleName=role)["PolicyNames"]
    # The DynamoDB policy and SAM's destination policy; the !If fell to AWS::NoValue.
    assert sorted(policies) == [
        "RecorderFunctionEventInvokeConfigOnFailureSQSPolicy",
        "RecorderFunctionRolePolicy0",
    ]


def test_an_archive_takes_its_pattern_as_an_object_and_its_retention_from_a_parameter(
    emulator: Emulator, tmp_path: Path, unique: str
) -> None:
    (tmp_path / "template.yaml").write_text(
        "Parameters:\n"
        "  Days: {Type: Number, Default: 30}\n"
        "Resources:\n"
        "  Bus:\n"
        "    Type: AWS::Events::EventBus\n"
        f"    Properties: {{Name: bus-{unique}}}\n"
        "  Kept:\n"
        "    Type: AWS::Events::Archive\n"
        "    Properties:\n"
        "      SourceArn: !GetAtt Bus.Arn\n"
        "      RetentionDays: !Ref Days\n"
        "      EventPattern: {source: [aws.sagemaker], detail-type: [Model Drift Signal]}\n"
        "Outputs:\n"
        "  ArchiveName: {Value: !Ref Kept}\n"
    )
    deployed = emulator.deploy(tmp_path / "template.yaml", stack_name=f"archive-{unique}")
    described = emulator.client("events").describe_archive(
        ArchiveName=deployed.outputs["ArchiveName"]
    )
    assert described["RetentionDays"] == 30
    assert described["EventSourceArn"].endswith(f":event-bus/bus-{unique}")
    assert json.loads(described["EventPattern"]) == {
        "source": ["aws.sagemaker"],
        "detail-type": ["Model Drift Signal"],
    }


def test_a_generated_archive_name_fits_the_api_for_a_long_stack_name(
    emulator: Emulator, tmp_path: Path, unique: str
) -> None:
    (tmp_path / "template.yaml").write_text(
        "Resources:\n"
        "  Bus:\n"  # a bus of its own: an archive of the default bus would see other tests' events
        "    Type: AWS::Events::EventBus\n"
        f"    Properties: {{Name: long-{unique}}}\n"
        "  WorkloadBusArchiveOfALongLogicalId:\n"
        "    Type: AWS::Events::Archive\n"
        "    Properties:\n"
        "      SourceArn: !GetAtt Bus.Arn\n"
        "Outputs:\n"
        "  ArchiveName: {Value: !Ref WorkloadBusArchiveOfALongLogicalId}\n"
    )
    stack_name = f"incident-controls-and-more-{unique}"
    deployed = emulator.deploy(tmp_path / "template.yaml", stack_name=stack_name)
    name = deployed.outputs["ArchiveName"]
    assert len(name) <= 48
    assert name.startswith("incident-controls-")
    assert emulator.client("events").describe_archive(ArchiveName=name)["ArchiveName"] == name
