"""CDK's built-in CloudFormation validation, run once over the synthesized templates.

aws-cdk-lib runs its ``CloudFormationValidatePlugin`` (schema and best-practice rules, on a
WebAssembly engine) inside every synth unless the app turns it off. Its engine takes about
1.7 s to start and then reads every template: about 3 of the 10 seconds of this app's
``cdk synth``, paid again by every ``cdk diff`` and ``cdk deploy``. The app turns it off
(``compliance.packs.new_app``) and it runs here instead, beside the Control Tower rules
(``review.guard``), in ``make scan`` (hence CI) and the test session: the same plugin, the
same rules (``@aws-cdk/core:validateAgainstDefaultRules`` makes its warnings count), the
app's acknowledgements (``CloudFormation-Validate::W3010``) applied as synth applied them.
The plugin report is written as ``cfn-validate-report.json``;
``tools.assembly.validation_report`` merges it.
"""

from __future__ import annotations

import functools
import importlib.metadata
from pathlib import Path
from typing import Any, cast

from tools import assembly
from tools.review.result_cache import cache_dir

PLUGIN = assembly.TEMPLATE_VALIDATION_PLUGIN


def run_rules(templates: list[assembly.Template]) -> tuple[dict[str, Any], str]:
    """The plugin's violations over ``templates`` (the shape ``review.guard`` reads), and its version."""
    import aws_cdk as cdk  # the jsii runtime starts here, not when the review package loads
    import jsii

    @jsii.implements(cdk.IPolicyValidationContext)
    class Context:
        def __init__(self, stacks: list[cdk.PolicyValidationStack]) -> None:
            self._stacks = stacks

        @property
        def stack_templates(self) -> list[cdk.PolicyValidationStack]:
            return self._stacks

        @property
        def template_paths(self) -> list[str]:
            return [stack.template_path for stack in self._stacks]

    stacks = [
        cdk.PolicyValidationStack(
            stack_construct_path=template.stack,
            template_path=str(template.path.resolve()),
            account_id=template.account,
            region=template.region,
        )
        for template in templates
    ]
    plugin = _plugin()
    # jsii.implements declares the interface at run time; mypy takes it on trust.
    report = plugin.validate(cast(cdk.IPolicyValidationContext, Context(stacks)))
    violations = [
        {
            "ruleName": violation.rule_name,
            "description": violation.description,
            "fix": violation.fix or "",
            "severity": violation.severity or "error",
            "ruleMetadata": dict(violation.rule_metadata or {}),
            "violatingResources": [
                {
                    "resourceLogicalId": resource.resource_logical_id,
                    "templatePath": resource.template_path,
                    "locations": list(resource.locations),
                }
                for resource in violation.violating_resources
            ],
        }
        for violation in report.violations
    ]
    version = plugin.version or ""
    _keep_version(version)
    return {"success": report.success, "violations": violations}, version


def rules_identity() -> str:
    """What the validation's result depends on besides a template (``review.result_cache``): the
    aws-cdk-lib that ships the plugin, and this module, which runs it."""
    return f"cfn-validate aws-cdk-lib=={_library_version()} {Path(__file__).read_text()}"


def _library_version() -> str:
    return importlib.metadata.version("aws-cdk-lib")


def _version_file() -> Path | None:
    directory = cache_dir()
    return directory / f"cfn-validate-version-aws-cdk-lib-{_library_version()}" if directory else None


def _keep_version(version: str) -> None:
    where = _version_file()
    if where is not None and version:
        where.parent.mkdir(parents=True, exist_ok=True)
        where.write_text(version)


def version() -> str:
    """The plugin's version, as its report names it: kept beside the cached results (it follows
    aws-cdk-lib's version), so a run whose every template was judged before starts no engine."""
    where = _version_file()
    if where is not None and where.exists():
        return where.read_text().strip()
    found: str = _plugin().version or ""
    _keep_version(found)
    return found


@functools.cache
def _plugin() -> Any:
    """One engine per process, as aws-cdk-lib keeps one (it takes about 1.7 s to start)."""
    import aws_cdk as cdk

    return cdk.CloudFormationValidatePlugin()
