"""CloudFormation resource types moto lacks, added to moto's model map while the emulator runs.

- ``AWS::Lambda::Url``: the function's URL is served on loopback by :mod:`mlopscp_emulator.http`;
  ``!GetAtt X.FunctionUrl`` is that ``http://127.0.0.1:<port>/`` URL (moto's own
  ``GetFunctionUrlConfig`` answers it too), ``!Ref`` and ``!GetAtt X.FunctionArn`` the
  function's ARN.
- ``AWS::SecretsManager::Secret``: created in moto's Secrets Manager, with ``SecretString`` or a
  ``GenerateSecretString`` value (``SecretStringTemplate`` + ``GenerateStringKey`` included);
  ``!Ref`` is the secret's ARN, as in CloudFormation.

The types are added by wrapping ``moto.cloudformation.parsing.get_model_map`` (undone by
:func:`uninstall`), not by subclassing moto's ``CloudFormationModel``, which would register them
for the whole process for good.

Two fixes to types moto has: ``!Ref`` of an ``AWS::Events::EventBus`` is the bus's name, as in
CloudFormation (moto hands over its Python object, which breaks a rule's ``EventBusName``); an
``AWS::Events::Archive``'s ``EventPattern`` is a JSON object in a template, as CloudFormation
takes it (moto's CloudFormation passes it on to ``CreateArchive``, which wants the string the API
takes), its ``RetentionDays`` a number even when it comes from a parameter, and its ``!Ref`` its
name.
"""

from __future__ import annotations

import json
import secrets
import string
from typing import Any

from moto.awslambda.utils import get_backend as lambda_backend
from moto.cloudformation import parsing
from moto.events.models import Archive, EventBus
from moto.secretsmanager.models import secretsmanager_backends

from mlopscp_emulator._patching import Patches
from mlopscp_emulator.http import HttpFront

_PATCHES = Patches()
_FRONT: HttpFront | None = None


class _Model:
    """What moto's CloudFormation needs of a resource model (duck-typed)."""

    physical_resource_id: str = ""
    cf_resource_type = ""
    logical_resource_id = ""

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    def is_created(self) -> bool:
        return True

    @classmethod
    def update_from_cloudformation_json(cls, original_resource: Any, *args: Any, **kw: Any) -> Any:
        return original_resource

    @classmethod
    def delete_from_cloudformation_json(cls, *args: Any, **kwargs: Any) -> None:
        return None


class FunctionUrl(_Model):
    ATTRIBUTES = ("FunctionUrl", "FunctionArn")

    def __init__(self, function_arn: str, url: str) -> None:
        self.physical_resource_id = function_arn
        self.function_arn = function_arn
        self.url = url

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Lambda::Url"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in cls.ATTRIBUTES

    def get_cfn_attribute(self, attribute_name: str) -> str:
        if attribute_name == "FunctionUrl":
            return self.url
        if attribute_name == "FunctionArn":
            return self.function_arn
        raise parsing.UnformattedGetAttTemplateException()

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> FunctionUrl:
        if _FRONT is None:
            raise RuntimeError("AWS::Lambda::Url needs the emulator's HTTP front (install it)")
        props = cloudformation_json["Properties"]
        if props.get("InvokeMode", "BUFFERED") != "BUFFERED":
            raise ValueError("the emulator serves only BUFFERED Function URLs")
        # The backend moto's config picks (the simple one when use_docker is off).
        function = lambda_backend(account_id, region_name).get_function(
            props["TargetFunctionArn"], props.get("Qualifier")
        )
        url = _FRONT.serve(function.function_arn)
        # moto's default InvokeMode is "Buffered", which is not one of AWS's values.
        config = function.create_url_config(
            {k: props[k] for k in ("AuthType", "Cors") if k in props} | {"InvokeMode": "BUFFERED"}
        )
        config.url = url  # GetFunctionUrlConfig answers the URL that really serves
        return cls(function.function_arn, url)


class Secret(_Model):
    def __init__(self, arn: str) -> None:
        self.physical_resource_id = arn

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::SecretsManager::Secret"

    @staticmethod
    def cloudformation_name_type() -> str:
        return "Name"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr == "Id"

    def get_cfn_attribute(self, attribute_name: str) -> str:
        if attribute_name == "Id":
            return self.physical_resource_id
        raise parsing.UnformattedGetAttTemplateException()

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Secret:
        props = cloudformation_json["Properties"]
        value = props.get("SecretString")
        if value is None:
            value = generated_secret_string(props.get("GenerateSecretString") or {})
        created = secretsmanager_backends[account_id][region_name].create_secret(
            name=props.get("Name", resource_name),
            secret_string=value,
            secret_binary=None,
            description=props.get("Description"),
            tags=props.get("Tags"),
            kms_key_id=props.get("KmsKeyId"),
            client_request_token=None,
            replica_regions=[],
            force_overwrite=False,
        )
        return cls(json.loads(created)["ARN"])


def generated_secret_string(spec: dict[str, Any]) -> str:
    """A random value following GenerateSecretString's PasswordLength, ExcludePunctuation,
    ExcludeCharacters, and SecretStringTemplate with GenerateStringKey."""
    alphabet = string.ascii_letters + string.digits
    if not spec.get("ExcludePunctuation"):
        alphabet += "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"
    alphabet = "".join(c for c in alphabet if c not in spec.get("ExcludeCharacters", ""))
    value = "".join(secrets.choice(alphabet) for _ in range(int(spec.get("PasswordLength", 32))))
    if "SecretStringTemplate" in spec:
        document = json.loads(spec["SecretStringTemplate"])
        document[spec["GenerateStringKey"]] = value
        return json.dumps(document)
    return value


MODELS: dict[str, Any] = {model.cloudformation_type(): model for model in (FunctionUrl, Secret)}


ARCHIVE_NAME_MAX = 48  # CreateArchive's ArchiveName constraint (botocore's model)


def _archive_as_the_api_takes_it(original: Any) -> Any:
    """Wrap moto's ``Archive.create_from_cloudformation_json``: the template's pattern object
    becomes the JSON text ``CreateArchive`` takes, ``RetentionDays`` an integer, and a generated
    name fits the API's 48 characters (CloudFormation shortens the stack and logical id parts
    of a generated name and keeps its unique suffix; moto's name broke CreateArchive for stacks
    with names longer than 14 characters)."""
    create = original.__func__

    def from_template(cls: Any, name: str, template: Any, *args: Any, **kwargs: Any) -> Any:
        properties = dict(template["Properties"])
        if "ArchiveName" not in properties and len(name) > ARCHIVE_NAME_MAX:
            prefix, suffix = name.rsplit("-", 1)
            name = f"{prefix[: ARCHIVE_NAME_MAX - len(suffix) - 1]}-{suffix}"
        if isinstance(properties.get("EventPattern"), dict):
            properties["EventPattern"] = json.dumps(properties["EventPattern"])
        if properties.get("RetentionDays") is not None:
            properties["RetentionDays"] = int(properties["RetentionDays"])
        return create(cls, name, {**template, "Properties": properties}, *args, **kwargs)

    return classmethod(from_template)


def install(front: HttpFront) -> None:
    global _FRONT
    _FRONT = front
    original = _PATCHES.set(parsing, "get_model_map", None)
    _PATCHES.set(parsing, "get_model_map", lambda: {**original(), **MODELS})
    _PATCHES.set(EventBus, "physical_resource_id", property(lambda bus: bus.name))
    _PATCHES.set(Archive, "physical_resource_id", property(lambda archive: archive.name))
    original_archive = _PATCHES.set(Archive, "create_from_cloudformation_json", None)
    _PATCHES.set(
        Archive, "create_from_cloudformation_json", _archive_as_the_api_takes_it(original_archive)
    )


def uninstall() -> None:
    global _FRONT
    _PATCHES.undo()
    _FRONT = None
