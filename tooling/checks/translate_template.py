"""Translate the SAM template to plain CloudFormation offline, for cfn-lint and checkov.

cfn-lint 1.x checks the SAM source against SAM's schemas but does not run the transform, so a bad
``!GetAtt`` attribute, a ``!Ref`` to a missing resource inside a policy template or a wrong
Runtime only show up on the translated template; checkov runs its IAM checks only there too.

Offline means: the managed-policy map bundled with samtranslator instead of IAM calls, and a fixed
region. Local ``CodeUri``/``ContentUri`` become ``s3://`` values (the translator accepts nothing
else). A local state machine ``DefinitionUri`` is inlined instead, and the translator's output
(a ``DefinitionString`` joined from lines) turned back into a ``Definition`` object, which
CloudFormation accepts alike: cfn-lint validates the ASL only in that form (rule E3601).

Usage: python tooling/checks/translate_template.py [template.yaml] [.tmp/translated.json]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import boto3
from samtranslator.internal.managed_policies import get_bundled_managed_policy_map
from samtranslator.model.exceptions import InvalidDocumentException
from samtranslator.parser.parser import Parser
from samtranslator.translator.translator import Translator
from samtranslator.yaml_helper import yaml_parse

REGION = "us-east-1"
PLACEHOLDER_BUCKET = "s3://template-checks-placeholder"
# Property holding local code, per SAM resource type.
CODE_PROPERTIES = {
    "AWS::Serverless::Function": "CodeUri",
    "AWS::Serverless::LayerVersion": "ContentUri",
}


def translate(template_path: Path) -> dict[str, Any]:
    template = yaml_parse(template_path.read_text())
    _localise(template, template_path.parent)
    managed_policies = get_bundled_managed_policy_map("aws") or {}
    translator = Translator(None, Parser(), boto_session=boto3.Session(region_name=REGION))
    translated: dict[str, Any] = translator.translate(
        template, parameter_values={}, get_managed_policy_map=lambda: managed_policies
    )
    for resource in translated["Resources"].values():
        if resource["Type"] == "AWS::StepFunctions::StateMachine":
            _definition_as_object(resource["Properties"])
    return translated


def _definition_as_object(properties: dict[str, Any]) -> None:
    """{"Fn::Join": [sep, [plain lines]]} -> the JSON object those lines spell."""
    joined = properties.get("DefinitionString", {})
    parts = joined.get("Fn::Join") if isinstance(joined, dict) else None
    if parts and all(isinstance(line, str) for line in parts[1]):
        properties["Definition"] = json.loads(parts[0].join(parts[1]))
        del properties["DefinitionString"]


def _localise(template: dict[str, Any], root: Path) -> None:
    function_globals = template.get("Globals", {}).get("Function", {})
    if _is_local(function_globals.get("CodeUri")):
        function_globals["CodeUri"] = f"{PLACEHOLDER_BUCKET}/{function_globals['CodeUri']}"
    for resource in template.get("Resources", {}).values():
        properties = resource.get("Properties", {})
        code_property = CODE_PROPERTIES.get(resource.get("Type"))
        if code_property and _is_local(properties.get(code_property)):
            properties[code_property] = f"{PLACEHOLDER_BUCKET}/{properties[code_property]}"
        if resource.get("Type") == "AWS::Serverless::StateMachine" and _is_local(
            properties.get("DefinitionUri")
        ):
            asl_path = root / properties.pop("DefinitionUri")
            properties["Definition"] = json.loads(asl_path.read_text())


def _is_local(uri: object) -> bool:
    return isinstance(uri, str) and not uri.startswith("s3://")


def main(argv: list[str]) -> int:
    source = Path(argv[0] if argv else "template.yaml")
    target = Path(argv[1] if len(argv) > 1 else ".tmp/translated.json")
    try:
        translated = translate(source)
    except InvalidDocumentException as error:
        for cause in error.causes:
            print(f"{source}: {cause.message}", file=sys.stderr)
        return 1
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(translated, indent=2) + "\n")
    print(f"{source} -> {target}: {len(translated['Resources'])} CloudFormation resources")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
