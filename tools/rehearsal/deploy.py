"""Creating (or updating) stacks on the emulator, one account and Region at a time.

For each stack, in dependency order: skip it if a stack it depends on failed; fail it on a
limit finding (``rehearsal.limits``) or on its template's ``Rules`` (the bootstrap version
check); otherwise resolve its weak references from the emulator, create it, answer its
custom resources, and read the outcome (status and events) back.
"""

from __future__ import annotations

import hashlib
import json
import re
import urllib.request
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError  # type: ignore[import-untyped]
from botocore.parsers import ResponseParserError  # type: ignore[import-untyped]

from tools.assembly import Stack
from tools.rehearsal.adapt import MissingReferenceError, for_emulator
from tools.rehearsal.emulator import Emulator
from tools.rehearsal.limits import Finding
from tools.rehearsal.physical_names import Place
from tools.rehearsal.resolve import Resolver

LISTENER_TYPES = ("AWS::ElasticLoadBalancingV2::Listener", "AWS::ElasticLoadBalancingV2::ListenerCertificate")
CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"]
ERROR_LINE = re.compile(r"^[A-Za-z_][\w.]*(?:Error|Exception)\b.*$", re.MULTILINE)
ECR_IMAGE = re.compile(r"^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com/([^:@]+)[:@](.+)$")


@dataclass
class Result:
    stack: str  # Dev/Service
    status: str  # created, updated, unchanged, failed, not attempted
    detail: str = ""


@dataclass
class Account:
    """The emulator as one account and Region sees it (the deploy role's session)."""

    emulator: Emulator
    account: str
    region: str
    role: str
    session: Any = None
    _outputs: dict[str, dict[str, str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.session = self.emulator.session(self.region, self.role)

    def client(self, service: str) -> Any:
        return self.emulator.client(self.session, service)

    def output(self, stack_name: str, name: str) -> str:
        if stack_name not in self._outputs:
            try:
                stack = self.client("cloudformation").describe_stacks(StackName=stack_name)["Stacks"][0]
            except ClientError as err:
                raise KeyError(stack_name) from err
            self._outputs[stack_name] = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
        return self._outputs[stack_name][name]

    def forget(self, stack_name: str) -> None:
        self._outputs.pop(stack_name, None)


class Deployment:
    """Stacks of one or more environments deployed onto one emulator."""

    def __init__(self, emulator: Emulator, findings: Mapping[str, list[Finding]]) -> None:
        self.emulator = emulator
        self.findings = findings
        self.accounts: dict[tuple[str, str], Account] = {}
        self.results: dict[str, Result] = {}
        self.pushed: list[str] = []
        self.deployed: dict[str, str] = {}  # stack name -> the template it was last given
        # As `cdk deploy` decides "no changes": the synthesized template (weak references
        # unresolved) against the one the stack holds; set by the update rehearsal.
        self.skip_as_cli = False
        self.sent: dict[str, dict[str, Any]] = {}  # stack name -> the synthesized template it holds
        # stack name -> {(producer stack, output): the value its weak reference resolved to}
        self.read: dict[str, dict[tuple[str, str], str]] = {}
        self.stand_ins: dict[str, str] = {}  # certificate stand-in -> its ARN in the emulator

    def account(self, stack: Stack) -> Account:
        key = stack.environment
        if key not in self.accounts:
            role = (
                stack.deploy_role
                or f"arn:aws:iam::{stack.account}:role/cdk-hnb659fds-deploy-role-{key[0]}-{key[1]}"
            )
            self.accounts[key] = Account(self.emulator, stack.account, stack.region, role)
        return self.accounts[key]

    def resolver(self, stack: Stack, parameters: Mapping[str, Any] | None = None) -> Resolver:
        account = self.account(stack)
        return Resolver(
            stack.template,
            Place(stack.account, stack.region, stack.stack_name),
            outputs=lambda name, _region, output: account.output(name, output),
            parameters=parameters,
        )

    # --- checks before a create ---------------------------------------------------------

    def blocked(self, stack: Stack, by_artifact: Mapping[str, Stack]) -> str | None:
        for dependency in stack.dependencies:
            upstream = by_artifact.get(dependency)
            if upstream is None:
                continue
            result = self.results.get(upstream.display_name)
            if result is None or result.status in ("failed", "not attempted"):
                return f"depends on {upstream.display_name}, which was not created"
        return None

    def rules(self, stack: Stack) -> str | None:
        """The template's ``Rules`` (CDK's bootstrap-version check), which moto ignores."""
        rules = stack.template.get("Rules", {})
        if not rules:
            return None
        parameters = {}
        for name, declared in stack.template.get("Parameters", {}).items():
            if str(declared.get("Type", "")).startswith("AWS::SSM::Parameter::Value"):
                try:
                    value = self.account(stack).client("ssm").get_parameter(Name=declared["Default"])
                except ClientError:
                    return f"SSM parameter {declared['Default']} not found (run cdk bootstrap first)"
                parameters[name] = value["Parameter"]["Value"]
        resolver = self.resolver(stack, parameters)
        for name, rule in rules.items():
            if "RuleCondition" in rule and not resolver.resolve(rule["RuleCondition"]):
                continue
            for assertion in rule.get("Assertions", []):
                if not resolver.resolve(assertion["Assert"]):
                    return f"rule {name}: {assertion.get('AssertDescription', 'assertion failed')}"
        return None

    # --- create -------------------------------------------------------------------------

    def deploy(self, stacks: Iterable[Stack], *, push_images: bool = True) -> list[Result]:
        ordered = list(stacks)
        by_artifact = {s.artifact_id: s for s in ordered}
        results = []
        for stack in ordered:
            result = self.deploy_one(stack, by_artifact, push_images=push_images)
            self.results[stack.display_name] = result
            results.append(result)
        return results

    def deploy_one(self, stack: Stack, by_artifact: Mapping[str, Stack], *, push_images: bool) -> Result:
        name = stack.display_name
        reason = self.blocked(stack, by_artifact)
        if reason:
            return Result(name, "not attempted", reason)
        findings = self.findings.get(name, [])
        if findings:
            return Result(name, "failed", "; ".join(str(f) for f in findings))
        reason = self.rules(stack)
        if reason:
            return Result(name, "failed", reason)
        account = self.account(stack)
        cloudformation = account.client("cloudformation")
        existing = self._status(cloudformation, stack.stack_name)
        if self.skip_as_cli and existing is not None and self.sent.get(stack.stack_name) == stack.template:
            return Result(name, "unchanged")  # template, tags and parameters as they were: the CLI skips it
        read: dict[tuple[str, str], str] = {}

        def output(producer: str, key: str) -> str:
            read[(producer, key)] = value = account.output(producer, key)
            return value

        try:
            body = for_emulator(stack.template, self.resolver(stack), output, self.emulator.support)
        except MissingReferenceError as err:
            return Result(name, "failed", str(err))
        self.certificates(stack, body)
        if push_images:
            missing = self.push_images(stack)
            if missing:
                return Result(name, "failed", missing)
        if existing is not None:
            self._name_buckets(cloudformation, stack.stack_name, body)
            self._as_cloudformation_removes(account, stack.stack_name, body)
        text = json.dumps(body, sort_keys=True)
        if not self.skip_as_cli and existing is not None and self.deployed.get(stack.stack_name) == text:
            return Result(name, "unchanged")  # as cdk deploy skips a stack whose template did not change
        self.deployed[stack.stack_name] = text
        try:
            request = self._template_request(stack, body)
            if existing is None:
                cloudformation.create_stack(
                    StackName=stack.stack_name, Capabilities=CAPABILITIES, **self._role(stack), **request
                )
            else:
                cloudformation.update_stack(
                    StackName=stack.stack_name, Capabilities=CAPABILITIES, **self._role(stack), **request
                )
        except ClientError as err:
            if "No updates are to be performed" in str(err):
                return Result(name, "unchanged")
            return Result(name, "failed", f"emulator refused: {err}")
        except (BotoCoreError, ResponseParserError) as err:  # the emulator answered 500 (its own error)
            return Result(name, "failed", f"emulator error: {self.emulator_error() or err}")
        account.forget(stack.stack_name)
        self._answer_custom_resources(account, stack, body)
        status = self._status(cloudformation, stack.stack_name)
        if status in ("CREATE_COMPLETE", "UPDATE_COMPLETE"):
            self.sent[stack.stack_name] = stack.template
            self.read[stack.stack_name] = read
            return Result(name, "created" if existing is None else "updated")
        return Result(name, "failed", f"{status}: {self._failure(cloudformation, stack.stack_name)}")

    def _name_buckets(self, cloudformation: Any, stack_name: str, body: dict[str, Any]) -> None:
        """moto 5.2.5 fails to update a bucket without ``BucketName`` (KeyError): give each the
        name it already has, which is what CloudFormation keeps (adapt.WORKAROUNDS)."""
        unnamed = [
            k
            for k, r in body.get("Resources", {}).items()
            if r.get("Type") == "AWS::S3::Bucket" and "BucketName" not in r.get("Properties", {})
        ]
        if not unnamed:
            return
        listed = cloudformation.describe_stack_resources(StackName=stack_name)["StackResources"]
        physical = {e.get("LogicalResourceId"): e.get("PhysicalResourceId") for e in listed}
        for logical_id in unnamed:
            if physical.get(logical_id):
                body["Resources"][logical_id].setdefault("Properties", {})["BucketName"] = physical[
                    logical_id
                ]

    def _as_cloudformation_removes(self, account: Account, stack_name: str, body: dict[str, Any]) -> None:
        """What CloudFormation does to a resource an update removes, and moto 5.2.5 does not
        (adapt.WORKAROUNDS): one with ``DeletionPolicy: Retain`` is kept (here: carried into
        the body, so moto does not delete it); an ECR repository with ``EmptyOnDelete`` is
        emptied before it is deleted; a role's managed policies are detached first."""
        previous = json.loads(self.deployed.get(stack_name, "{}")).get("Resources", {})
        resources = body.setdefault("Resources", {})
        removed = {k: r for k, r in previous.items() if k not in resources}
        if not removed:
            return
        physical = {
            e.get("LogicalResourceId"): e.get("PhysicalResourceId")
            for e in account.client("cloudformation").describe_stack_resources(StackName=stack_name)[
                "StackResources"
            ]
        }
        for logical_id, resource in removed.items():
            if resource.get("DeletionPolicy") == "Retain":
                resources[logical_id] = resource
            elif resource.get("Type") == "AWS::ECR::Repository" and resource.get("Properties", {}).get(
                "EmptyOnDelete"
            ):
                name = physical.get(logical_id)
                ecr = account.client("ecr")
                images = ecr.list_images(repositoryName=name).get("imageIds", []) if name else []
                if images:
                    ecr.batch_delete_image(repositoryName=name, imageIds=images)
            elif resource.get("Type") == "AWS::IAM::Role" and physical.get(logical_id):
                iam = account.client("iam")
                role = physical[logical_id]
                for policy in iam.list_attached_role_policies(RoleName=role).get("AttachedPolicies", []):
                    iam.detach_role_policy(RoleName=role, PolicyArn=policy["PolicyArn"])

    def _role(self, stack: Stack) -> dict[str, str]:
        return {"RoleARN": stack.execution_role} if stack.execution_role else {}

    def _template_request(self, stack: Stack, body: dict[str, Any]) -> dict[str, str]:
        """Upload the template the emulator gets next to the stack's own template asset, as
        ``cdk deploy`` does, and create from that URL (no bucket yet: in the request)."""
        text = json.dumps(body, separators=(",", ":"))
        if not stack.template_url:
            return {"TemplateBody": text}
        bucket = stack.template_url.removeprefix("s3://").split("/", 1)[0]
        key = f"rehearsal/{stack.stack_name}-{hashlib.sha256(text.encode()).hexdigest()[:16]}.json"
        self.account(stack).client("s3").put_object(Bucket=bucket, Key=key, Body=text.encode())
        return {"TemplateURL": f"https://{bucket}.s3.{stack.region}.amazonaws.com/{key}"}

    def _status(self, cloudformation: Any, stack_name: str) -> str | None:
        try:
            return str(cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]["StackStatus"])
        except ClientError:
            return None

    def _failure(self, cloudformation: Any, stack_name: str) -> str:
        events = cloudformation.describe_stack_events(StackName=stack_name)["StackEvents"]
        failed = [e for e in events if str(e.get("ResourceStatus", "")).endswith("FAILED")]
        if failed:
            event = failed[-1]
            return f"{event['LogicalResourceId']}: {event.get('ResourceStatusReason', '')}"
        return "no resource reported a failure (custom resources still waiting?)"

    def _answer_custom_resources(self, account: Account, stack: Stack, body: dict[str, Any]) -> None:
        """Answer SUCCESS for every custom resource, as its Lambda would (moto cannot run it)."""
        custom = [
            k for k, r in body.get("Resources", {}).items() if str(r.get("Type", "")).startswith("Custom::")
        ]
        if not custom:
            return
        stack_id = account.client("cloudformation").describe_stacks(StackName=stack.stack_name)["Stacks"][0][
            "StackId"
        ]
        credentials = account.session.get_credentials()
        for logical_id in custom:
            response = {
                "Status": "SUCCESS",
                "StackId": stack_id,
                "LogicalResourceId": logical_id,
                "RequestId": logical_id,
                "PhysicalResourceId": f"{stack.stack_name}-{logical_id}",
                "Data": {},
            }
            request = urllib.request.Request(
                f"{self.emulator.endpoint}/cloudformation_{stack.region}/cfnresponse?stack={stack_id}",
                data=json.dumps(response).encode(),
                method="PUT",
                headers={
                    "Content-Type": "application/json",
                    # moto reads the caller's account from the access key of a SigV4 header.
                    "Authorization": f"AWS4-HMAC-SHA256 Credential={credentials.access_key}/20250101/"
                    f"{stack.region}/cloudformation/aws4_request, SignedHeaders=host, Signature=0",
                },
            )
            with urllib.request.urlopen(request, timeout=30) as reply:  # the emulator on 127.0.0.1
                reply.read()

    def push_images(self, stack: Stack) -> str | None:
        """Runbook step 2 ("push images"): put every image the stack's task definitions name
        into its repository, which must exist (the Registry stack created it)."""
        resolver = self.resolver(stack)
        ecr = self.account(stack).client("ecr")
        for logical_id, resource in stack.template.get("Resources", {}).items():
            if resource.get("Type") != "AWS::ECS::TaskDefinition":
                continue
            for container in resource.get("Properties", {}).get("ContainerDefinitions", []):
                image = str(resolver.resolve(container.get("Image", "")))
                match = ECR_IMAGE.match(image)
                if not match or (match.group(1), match.group(2)) != stack.environment:
                    continue
                repository, tag = match.group(3), match.group(4)
                manifest = json.dumps(
                    {
                        "schemaVersion": 2,
                        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                        "config": {"digest": "sha256:" + "0" * 64},
                        "layers": [],
                    }
                )
                try:
                    ecr.put_image(repositoryName=repository, imageManifest=manifest, imageTag=tag)
                except ecr.exceptions.RepositoryNotFoundException:
                    return f"{logical_id} runs {image}, but repository {repository} does not exist"
                except ecr.exceptions.ImageAlreadyExistsException:
                    continue
                except ClientError as err:
                    return f"{logical_id}: pushing {image} failed: {err}"
                self.pushed.append(f"{repository}:{tag}")
        return None

    def certificates(self, stack: Stack, body: dict[str, Any]) -> None:
        """Create each certificate stand-in a listener names in the emulator's ACM (it checks that
        they exist), and give the listener the ARN the emulator chose (it cannot be set)."""
        acm = self.account(stack).client("acm")
        for resource in body.get("Resources", {}).values():
            if resource.get("Type") not in LISTENER_TYPES:
                continue
            for certificate in resource.get("Properties", {}).get("Certificates", []):
                arn = str(certificate.get("CertificateArn", ""))
                if arn not in self.stand_ins:
                    domain = f"{hashlib.sha256(arn.encode()).hexdigest()[:12]}.rehearsal.example.com"
                    self.stand_ins[arn] = acm.request_certificate(DomainName=domain)["CertificateArn"]
                certificate["CertificateArn"] = self.stand_ins[arn]

    def emulator_error(self) -> str:
        errors = ERROR_LINE.findall(self.emulator.log.read_text(errors="replace"))
        return errors[-1] if errors else ""
