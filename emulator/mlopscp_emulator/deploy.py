"""Deploy a SAM template into the emulator the way `sam deploy` would, offline.

1. Load the template with samtranslator's YAML constructors (CloudFormation short-form tags).
2. Upload each local ``CodeUri`` / ``ContentUri`` / ``DefinitionUri`` to emulated S3 (code dirs as
   zips, definitions as files) and point the template at the ``s3://`` copies.
3. Translate SAM to CloudFormation with samtranslator, offline: the bundled managed-policy map,
   no IAM calls.
4. ``CreateStack`` in moto's CloudFormation. Resource types moto's CloudFormation cannot create
   are decided one by one (:data:`CREATED_THROUGH_API`, :data:`SKIPPED`); any other stops the
   deploy with a message naming them.
5. Patch what moto's CloudFormation leaves out: state machines are created again through the
   Step Functions API (the executing interpreter does not see CloudFormation's, and
   ``DefinitionSubstitutions`` are not applied there) under the same name, so ARNs in function
   environments point at the executing one; EventInvokeConfigs, alarms and SNS subscriptions are
   created through their APIs; functions' DeadLetterConfig and Layers, which moto drops, are
   read from the template.

Every ``Ref`` / ``Fn::GetAtt`` / ``Fn::Sub`` in those is resolved by moto's own CloudFormation
resolver against the created stack, so the values are the ones CloudFormation used.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import io
import json
import re
import time
import warnings
import zipfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import yaml
from botocore.exceptions import ClientError
from moto.cloudformation import parsing
from moto.cloudformation.models import cloudformation_backends
from samtranslator.internal.managed_policies import get_bundled_managed_policy_map
from samtranslator.metrics.metrics import Metrics
from samtranslator.model.exceptions import InvalidDocumentException
from samtranslator.parser.parser import Parser
from samtranslator.translator.translator import Translator
from samtranslator.yaml_helper import intrinsics_multi_constructor

from mlopscp_emulator._patching import Patches
from mlopscp_emulator.lambdas import FunctionInfo

ClientFactory = Callable[[str], Any]  # service -> boto3 client

# Resource types moto's CloudFormation cannot create that matter locally: created through the
# service's API after the stack, with properties resolved against it.
CREATED_THROUGH_API = (
    "AWS::Lambda::EventInvokeConfig",
    "AWS::CloudWatch::Alarm",
    "AWS::SNS::Subscription",
)
# Resource types moto's CloudFormation cannot create that change nothing locally.
SKIPPED = {
    "AWS::SQS::QueuePolicy": "moto does not enforce resource policies",
    "AWS::SNS::TopicPolicy": "moto does not enforce resource policies",
    "AWS::S3::BucketPolicy": "moto does not enforce resource policies",
    "AWS::Events::EventBusPolicy": "moto does not enforce resource policies",
    # The Emulator serves Function URLs (mlopscp_emulator.http via cfn_ext); a Deployer used
    # without it skips them.
    "AWS::Lambda::Url": "no HTTP front door outside the Emulator",
    "AWS::Scheduler::Schedule": "moto's EventBridge Scheduler never fires: put the event yourself",
    "AWS::Scheduler::ScheduleGroup": "moto's EventBridge Scheduler never fires",
    "AWS::Logs::MetricFilter": "moto computes no metrics from logs",
    "AWS::Logs::SubscriptionFilter": "moto delivers no log subscriptions",
}
_PLACEHOLDER = re.compile(r"\$\{([^}]*)\}")
_LOCAL_URI_PROPERTIES = {
    "AWS::Serverless::Function": "CodeUri",
    "AWS::Serverless::LayerVersion": "ContentUri",
    "AWS::Serverless::StateMachine": "DefinitionUri",
}


class DeployError(RuntimeError):
    """The template could not be deployed into the emulator; the message says why."""


@dataclass(frozen=True)
class RuleInfo:
    """An EventBridge rule of the stack, as EventBridge holds it."""

    name: str
    arn: str
    event_bus_name: str
    pattern: dict[str, Any] | None
    schedule: str | None
    targets: tuple[dict[str, Any], ...]


@dataclass
class Stack:
    """A deployed stack: logical ids to what CloudFormation (and the emulator) created."""

    name: str
    stack_id: str
    outputs: dict[str, str]
    resources: dict[str, str | None]
    functions: dict[str, FunctionInfo]
    state_machines: dict[str, str]
    rules: dict[str, RuleInfo]
    template: dict[str, Any] = field(repr=False)
    warnings: list[str] = field(default_factory=list)


class _CfnLoader(yaml.SafeLoader):
    """SafeLoader plus samtranslator's constructors for !Ref, !GetAtt, !Sub, !If, ..."""


_CfnLoader.add_multi_constructor("!", intrinsics_multi_constructor)


def load_template(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as stream:
        template = yaml.load(stream, Loader=_CfnLoader)  # noqa: S506 - a SafeLoader subclass
    if not isinstance(template, dict) or "Resources" not in template:
        raise DeployError(f"{path} is not a CloudFormation/SAM template (no Resources)")
    return template


def translate(template: dict[str, Any], parameters: Mapping[str, str], region: str) -> dict:
    """SAM to CloudFormation, offline (the bundled managed-policy map; no IAM, no credentials)."""
    session = boto3.session.Session(
        region_name=region,
        aws_access_key_id="offline",
        aws_secret_access_key="offline",  # noqa: S106 - never used: translation is offline
    )
    # The translator records usage metrics and warns at exit if nobody publishes them; its
    # default publisher discards them, so publishing is how the warning is silenced.
    metrics = Metrics()
    translator = Translator(None, Parser(), boto_session=session, metrics=metrics)
    try:
        return translator.translate(
            copy.deepcopy(template),
            parameter_values=dict(parameters),
            get_managed_policy_map=lambda: get_bundled_managed_policy_map("aws") or {},
        )
    except InvalidDocumentException as exc:
        causes = "; ".join(cause.message for cause in exc.causes)
        raise DeployError(f"SAM translation failed: {causes}") from exc
    finally:
        metrics.publish()


class Deployer:
    """Deploys templates into one account and region of a running emulator."""

    def __init__(self, clients: ClientFactory, account: str, region: str) -> None:
        self._clients = clients
        self._account = account
        self._region = region
        self._bucket = f"mlopscp-emulator-artifacts-{account}-{region}"

    def deploy(self, template_path: Path, stack_name: str, parameters: Mapping[str, str]) -> Stack:
        template_path = template_path.resolve()
        sam = load_template(template_path)
        artifacts = self._upload_artifacts(sam, template_path.parent)
        translated = translate(sam, parameters, self._region)
        cfn_template, deferred, notes = _split_unsupported(translated)
        for note in notes:
            warnings.warn(note, stacklevel=3)
        stack_id = self._create_stack(stack_name, cfn_template, parameters)
        moto_stack = cloudformation_backends[self._account][self._region].stacks[stack_id]
        resolve = _resolver(moto_stack.resource_map)
        for logical_id, resource in deferred.items():
            self._create_deferred(stack_name, logical_id, resource, resolve)
        resources = self._resources(stack_name, moto_stack)
        self._apply_bus_policies(translated, resources, resolve)
        state_machines = {
            logical_id: self._create_state_machine(
                resources[logical_id] or "", resource, artifacts, resolve
            )
            for logical_id, resource in _of_type(translated, "AWS::StepFunctions::StateMachine")
        }
        described = self._clients("cloudformation").describe_stacks(StackName=stack_name)
        return Stack(
            name=stack_name,
            stack_id=stack_id,
            outputs={
                o["OutputKey"]: o["OutputValue"] for o in described["Stacks"][0].get("Outputs", [])
            },
            resources=resources,
            functions=self._functions(translated, resources, artifacts, resolve),
            state_machines=state_machines,
            rules=self._rules(translated, resources, resolve),
            template=translated,
            warnings=notes,
        )

    # -- artifacts --------------------------------------------------------------------------

    def _upload_artifacts(self, sam: dict[str, Any], base: Path) -> dict[str, Path]:
        """Upload local code/definitions; rewrite their URIs in place; s3 key -> local path."""
        s3 = self._clients("s3")
        try:
            s3.create_bucket(Bucket=self._bucket)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "BucketAlreadyOwnedByYou":
                raise
        artifacts: dict[str, Path] = {}
        for logical_id, resource in sam["Resources"].items():
            prop = _LOCAL_URI_PROPERTIES.get(resource.get("Type", ""))
            properties = resource.get("Properties") or {}
            uri = properties.get(prop) if prop else None
            if not isinstance(uri, str) or uri.startswith("s3://"):
                continue
            local = (base / uri).resolve()
            if not local.exists():
                raise DeployError(f"{logical_id}: {prop} {uri} does not exist (under {base})")
            body = local.read_bytes() if local.is_file() else _zip(local)
            key = f"{hashlib.sha1(str(local).encode()).hexdigest()[:12]}/{local.name}"  # noqa: S324
            s3.put_object(Bucket=self._bucket, Key=key, Body=body)
            properties[prop] = f"s3://{self._bucket}/{key}"
            artifacts[key] = local
        return artifacts

    # -- the stack --------------------------------------------------------------------------

    def _create_stack(
        self, name: str, template: dict[str, Any], parameters: Mapping[str, str]
    ) -> str:
        cfn = self._clients("cloudformation")
        with _moto_cloudformation() as failures:
            try:
                created = cfn.create_stack(
                    StackName=name,
                    TemplateBody=json.dumps(template),
                    Parameters=[
                        {"ParameterKey": k, "ParameterValue": str(v)} for k, v in parameters.items()
                    ],
                    Capabilities=[
                        "CAPABILITY_IAM",
                        "CAPABILITY_NAMED_IAM",
                        "CAPABILITY_AUTO_EXPAND",
                    ],
                )
            except ClientError as exc:
                raise DeployError(f"CreateStack {name} failed: {exc}") from exc
            except Exception as exc:  # moto answers an exception inside CloudFormation with a 500
                detail = "; ".join(failures) or str(exc)
                raise DeployError(f"CreateStack {name} failed: {detail}") from exc
        status = self._wait_for_stack(name)
        if status != "CREATE_COMPLETE":
            events = cfn.describe_stack_events(StackName=name)["StackEvents"]
            failed = [
                f"{e['LogicalResourceId']}: {e.get('ResourceStatusReason', '')}"
                for e in events
                if e["ResourceStatus"].endswith("FAILED")
            ]
            raise DeployError(f"Stack {name} ended {status}: {'; '.join(failed)}")
        return str(created["StackId"])

    def _wait_for_stack(self, name: str, timeout: float = 60) -> str:
        cfn = self._clients("cloudformation")
        deadline = time.monotonic() + timeout
        while True:
            status = str(cfn.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"])
            if not status.endswith("_IN_PROGRESS") or time.monotonic() > deadline:
                return status
            time.sleep(0.1)

    def _resources(self, stack_name: str, moto_stack: Any) -> dict[str, str | None]:
        cfn = self._clients("cloudformation")
        listed = cfn.describe_stack_resources(StackName=stack_name)["StackResources"]
        resources: dict[str, str | None] = {}
        for item in listed:
            if "LogicalResourceId" not in item:
                continue  # moto lists a resource whose Condition is false, without its id
            physical = item.get("PhysicalResourceId")
            if not physical:  # moto leaves it out for some types (layer versions, permissions)
                created = moto_stack.resource_map._parsed_resources.get(item["LogicalResourceId"])
                physical = getattr(created, "arn", None)
            resources[item["LogicalResourceId"]] = physical
        return resources

    # -- what moto's CloudFormation leaves out ----------------------------------------------

    def _create_deferred(
        self,
        stack_name: str,
        logical_id: str,
        resource: dict[str, Any],
        resolve: Callable[[Any], Any],
    ) -> None:
        kind, props = resource["Type"], resolve(resource.get("Properties") or {})
        if kind == "AWS::Lambda::EventInvokeConfig":
            config = {
                k: props[k]
                for k in ("MaximumRetryAttempts", "MaximumEventAgeInSeconds", "DestinationConfig")
                if k in props
            }
            self._clients("lambda").put_function_event_invoke_config(
                FunctionName=props["FunctionName"], **config
            )
        elif kind == "AWS::CloudWatch::Alarm":
            props.setdefault("AlarmName", f"{stack_name}-{logical_id}")
            props.pop("Tags", None)
            self._clients("cloudwatch").put_metric_alarm(**props)
        elif kind == "AWS::SNS::Subscription":
            attributes = {
                k: v if isinstance(v, str) else json.dumps(v)
                for k, v in props.items()
                if k not in ("TopicArn", "Protocol", "Endpoint", "Region")
            }
            self._clients("sns").subscribe(
                TopicArn=props["TopicArn"],
                Protocol=props["Protocol"],
                Endpoint=props["Endpoint"],
                Attributes=attributes,
            )

    def _apply_bus_policies(
        self,
        translated: dict[str, Any],
        resources: Mapping[str, str | None],
        resolve: Callable[[Any], Any],
    ) -> None:
        """An event bus's ``Policy`` property, which moto's CloudFormation ignores, through
        PutPermission: the emulator's EventBridge enforces it on cross-account deliveries."""
        for logical_id, resource in _of_type(translated, "AWS::Events::EventBus"):
            policy = resolve((resource.get("Properties") or {}).get("Policy"))
            name = resources.get(logical_id)
            if policy and name:
                self._clients("events").put_permission(
                    EventBusName=name.rsplit("/", 1)[-1], Policy=json.dumps(policy)
                )

    def _create_state_machine(
        self,
        physical_id: str,
        resource: dict[str, Any],
        artifacts: Mapping[str, Path],
        resolve: Callable[[Any], Any],
    ) -> str:
        props = resource["Properties"]
        name = physical_id.rsplit(":", 1)[-1]
        if "DefinitionS3Location" in props:
            definition = artifacts[props["DefinitionS3Location"]["Key"]].read_text("utf-8")
        elif "Definition" in props:
            definition = json.dumps(resolve(props["Definition"]))
        else:
            definition = str(resolve(props["DefinitionString"]))
        substitutions = resolve(props.get("DefinitionSubstitutions") or {})
        definition = _PLACEHOLDER.sub(
            lambda m: str(substitutions.get(m.group(1), m.group(0))), definition
        )
        if unresolved := sorted(set(_PLACEHOLDER.findall(definition))):
            raise DeployError(
                f"State machine {name}: no DefinitionSubstitutions value for "
                + ", ".join(f"${{{p}}}" for p in unresolved)
            )
        sfn = self._clients("stepfunctions")
        arn = f"arn:aws:states:{self._region}:{self._account}:stateMachine:{name}"
        with contextlib.suppress(ClientError):  # a redeploy replaces it
            sfn.delete_state_machine(stateMachineArn=arn)
        created = sfn.create_state_machine(
            name=name,
            definition=definition,
            roleArn=str(resolve(props["RoleArn"])),
            type=props.get("StateMachineType", "STANDARD"),
        )
        return str(created["stateMachineArn"])

    def _functions(
        self,
        translated: dict[str, Any],
        resources: Mapping[str, str | None],
        artifacts: Mapping[str, Path],
        resolve: Callable[[Any], Any],
    ) -> dict[str, FunctionInfo]:
        lam = self._clients("lambda")
        functions = {}
        for logical_id, resource in _of_type(translated, "AWS::Lambda::Function"):
            props = resource["Properties"]
            key = str((props.get("Code") or {}).get("S3Key"))
            if key not in artifacts:
                warnings.warn(
                    f"{logical_id}: code is not a local CodeUri; invokes keep moto's "
                    "echo behaviour",
                    stacklevel=4,
                )
                continue
            config = lam.get_function_configuration(FunctionName=resources[logical_id])
            dead_letter = resolve(props.get("DeadLetterConfig") or {}).get("TargetArn")
            # moto's Lambda ignores LoggingConfig: the router writes where it points.
            log_group = resolve(props.get("LoggingConfig") or {}).get("LogGroup") or ""
            functions[logical_id] = FunctionInfo(
                name=config["FunctionName"],
                arn=config["FunctionArn"],
                handler=config["Handler"],
                code_dir=artifacts[key],
                layer_dirs=tuple(_layer_dirs(translated, props.get("Layers") or [], artifacts)),
                environment=dict((config.get("Environment") or {}).get("Variables") or {}),
                logical_id=logical_id,
                timeout=int(config.get("Timeout", 3)),
                memory_size=int(config.get("MemorySize", 128)),
                dead_letter_target=dead_letter,
                log_group=str(log_group),
            )
        return functions

    def _rules(
        self,
        translated: dict[str, Any],
        resources: Mapping[str, str | None],
        resolve: Callable[[Any], Any],
    ) -> dict[str, RuleInfo]:
        events = self._clients("events")
        rules = {}
        for logical_id, resource in _of_type(translated, "AWS::Events::Rule"):
            name = resources.get(logical_id)
            if not name:
                continue
            bus = str(resolve(resource["Properties"].get("EventBusName")) or "default")
            bus = bus.rsplit("/", 1)[-1]  # a name or an ARN
            described = events.describe_rule(Name=name, EventBusName=bus)
            targets = events.list_targets_by_rule(Rule=name, EventBusName=bus)["Targets"]
            pattern = described.get("EventPattern")
            rules[logical_id] = RuleInfo(
                name=name,
                arn=described["Arn"],
                event_bus_name=bus,
                pattern=json.loads(pattern) if pattern else None,
                schedule=described.get("ScheduleExpression"),
                targets=tuple(targets),
            )
        return rules


def _split_unsupported(
    template: dict[str, Any],
) -> tuple[dict[str, Any], dict[str, dict[str, Any]], list[str]]:
    """The template for moto's CloudFormation, the resources created later, and notes on what
    is left out and why."""
    kept, deferred, notes = _classify(template["Resources"])
    removed = set(template["Resources"]) - set(kept)
    for logical_id, resource in kept.items():
        if hits := removed & set(_references(resource.get("Properties"))):
            raise DeployError(
                f"{logical_id} refers to {', '.join(sorted(hits))}, which moto's "
                "CloudFormation cannot create"
            )
        depends = resource.get("DependsOn")
        if depends is not None:
            depends = [depends] if isinstance(depends, str) else depends
            resource["DependsOn"] = [d for d in depends if d not in removed]
    outputs = {}
    for key, output in (template.get("Outputs") or {}).items():
        if hits := removed & set(_references(output)):
            notes.append(f"output {key} is left out: it refers to {', '.join(sorted(hits))}")
        else:
            outputs[key] = output
    cfn_template = {**template, "Resources": kept, "Outputs": outputs}
    if not outputs:
        cfn_template.pop("Outputs")
    return cfn_template, deferred, notes


def _classify(
    resources: dict[str, dict[str, Any]],
) -> tuple[dict[str, Any], dict[str, dict[str, Any]], list[str]]:
    """Resources moto's CloudFormation creates, those created through APIs, skip notes."""
    supported = set(parsing.get_model_map()) | set(parsing.NULL_MODELS)
    kept, deferred, notes, unknown = {}, {}, [], []
    for logical_id, resource in resources.items():
        kind = resource["Type"]
        if kind in supported or kind.startswith("Custom::"):
            kept[logical_id] = resource
        elif kind in CREATED_THROUGH_API:
            deferred[logical_id] = resource
        elif kind in SKIPPED:
            notes.append(f"{logical_id} ({kind}) is skipped: {SKIPPED[kind]}")
        else:
            unknown.append(f"{logical_id} ({kind})")
    if unknown:
        raise DeployError(
            "moto's CloudFormation cannot create " + ", ".join(unknown) + ". Add the type to "
            "mlopscp_emulator.deploy.CREATED_THROUGH_API (with an API call) or SKIPPED (with "
            "the reason it does not matter locally)."
        )
    return kept, deferred, notes


def _references(node: Any) -> Iterator[str]:
    """Logical ids a template fragment refers to (Ref, Fn::GetAtt, ${X} in Fn::Sub)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref" and isinstance(value, str):
                yield value
            elif key == "Fn::GetAtt":
                yield value[0] if isinstance(value, list) else str(value).split(".")[0]
            elif key == "Fn::Sub":
                text = value[0] if isinstance(value, list) else value
                yield from (m.split(".")[0] for m in _PLACEHOLDER.findall(str(text)))
                yield from _references(value[1] if isinstance(value, list) else None)
            else:
                yield from _references(value)
    elif isinstance(node, list):
        for item in node:
            yield from _references(item)


def _resolver(resource_map: Any) -> Callable[[Any], Any]:
    """Resolve intrinsic functions exactly as moto's CloudFormation did for the stack."""

    def resolve(fragment: Any) -> Any:
        with _moto_cloudformation():
            return parsing.clean_json(copy.deepcopy(fragment), resource_map)

    return resolve


@contextmanager
def _moto_cloudformation() -> Iterator[list[str]]:
    """Two fixes to moto's CloudFormation while it works for us:

    - name the resource whose creation raised (the API only answers 500), in the yielded list;
    - drop ``!Ref AWS::NoValue`` from lists, as CloudFormation does: moto leaves a None there
      (for example ``Policies: [!If [HasX, {...}, !Ref AWS::NoValue]]`` breaks the IAM role).
    """
    failures: list[str] = []
    original_create = parsing.parse_and_create_resource
    original_clean = parsing.clean_json

    def create(logical_id: str, resource_json: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return original_create(logical_id, resource_json, *args, **kwargs)
        except Exception as exc:
            failures.append(
                f"{logical_id} ({resource_json.get('Type')}): {type(exc).__name__}: {exc}"[:500]
            )
            raise

    def clean_json(resource_json: Any, resources_map: Any) -> Any:
        if isinstance(resource_json, list):
            cleaned = (clean_json(item, resources_map) for item in resource_json)
            return [item for item in cleaned if item is not None]
        return original_clean(resource_json, resources_map)

    patches = Patches()
    patches.set(parsing, "parse_and_create_resource", create)
    patches.set(parsing, "clean_json", clean_json)
    try:
        yield failures
    finally:
        patches.undo()


def _layer_dirs(
    translated: dict[str, Any], layers: list[Any], artifacts: Mapping[str, Path]
) -> Iterator[Path]:
    for layer in layers:
        if isinstance(layer, dict) and "Ref" in layer:
            content = translated["Resources"].get(layer["Ref"], {}).get("Properties", {})
            key = str((content.get("Content") or {}).get("S3Key"))
            if key in artifacts:
                yield artifacts[key]


def _of_type(template: dict[str, Any], kind: str) -> Iterator[tuple[str, dict[str, Any]]]:
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] == kind:
            yield logical_id, resource


def _zip(directory: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(directory.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                archive.write(path, path.relative_to(directory))
    return buffer.getvalue()
