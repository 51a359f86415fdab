"""Every checkov skip is still needed, and names a check checkov has.

`make checkov` scans each template with the global ``skip-check`` list of .checkov.yaml and the
resources' own ``Metadata: checkov: skip:`` entries. A skip outlives its reason silently: a
check checkov dropped or renamed, a false positive it has learned to avoid, a resource fixed
since. This runs checkov again with no skip at all, on copies of the templates without their
Metadata skips, and fails for:

- a skipped id that is no CloudFormation check of this checkov;
- a global skip that no resource of any template fails any more;
- a resource's skip of a check that resource passes.

Usage, with checkov's venv: python tooling/checks/checkov_skips.py .checkov.yaml TEMPLATE...
"""

from __future__ import annotations

import copy
import json
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

Finding = tuple[str, str, str]  # (template, check id, "AWS::Type.LogicalId")


def metadata_skips(template_name: str, template: dict[str, Any]) -> set[Finding]:
    found = set()
    for name, resource in (template.get("Resources") or {}).items():
        checkov = ((resource.get("Metadata") or {}).get("checkov")) or {}
        for skip in checkov.get("skip") or []:
            found.add((template_name, str(skip["id"]), f"{resource['Type']}.{name}"))
    return found


def without_metadata_skips(template: dict[str, Any]) -> dict[str, Any]:
    stripped = copy.deepcopy(template)
    for resource in (stripped.get("Resources") or {}).values():
        (resource.get("Metadata") or {}).pop("checkov", None)
    return stripped


def problems(
    known: set[str],
    global_skips: Iterable[str],
    resource_skips: set[Finding],
    failed: set[Finding],
) -> list[str]:
    """What is wrong with the skips, given what fails when nothing is skipped."""
    found = []
    failing_ids = {check for _, check, _ in failed}
    for check in sorted(global_skips):
        if check not in known:
            found.append(f".checkov.yaml skips {check}: no such CloudFormation check")
        elif check not in failing_ids:
            found.append(f".checkov.yaml skips {check}: no resource fails it any more")
    for template, check, resource in sorted(resource_skips):
        if check not in known:
            found.append(f"{template}: {resource} skips {check}: no such CloudFormation check")
        elif (template, check, resource) not in failed:
            found.append(f"{template}: {resource} skips {check}, which it passes")
    return found


def main(argv: list[str]) -> int:
    import yaml
    from checkov.cloudformation.checks.resource.registry import cfn_registry
    from checkov.cloudformation.parser import parse
    from checkov.cloudformation.runner import Runner
    from checkov.runner_filter import RunnerFilter

    config, *templates = argv
    global_skips = yaml.safe_load(Path(config).read_text()).get("skip-check") or []
    known = {check.id for checks in cfn_registry.checks.values() for check in checks}
    resource_skips: set[Finding] = set()
    failed: set[Finding] = set()
    with tempfile.TemporaryDirectory() as scratch:
        for path in templates:
            template = parse(path)[0]
            resource_skips |= metadata_skips(path, template)
            bare = Path(scratch) / (Path(path).stem + ".json")
            bare.write_text(json.dumps(without_metadata_skips(template)))
            report = Runner().run(
                root_folder=None,
                files=[str(bare)],
                runner_filter=RunnerFilter(framework=["cloudformation"]),
            )
            failed |= {(path, f.check_id, f.resource) for f in report.failed_checks}
    found = problems(known, global_skips, resource_skips, failed)
    for problem in found:
        print(problem, file=sys.stderr)
    if not found:
        counts = f"{len(global_skips)} global, {len(resource_skips)} per resource"
        print(f"checkov skips: {counts}, all needed")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
