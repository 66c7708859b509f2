"""What AWS checks when it creates a stack and the emulator does not, checked before each create.

Each limit names the AWS page it comes from. ``check(stacks, options)`` takes stacks in
deployment order (``tools.assembly.Stack``, e.g. from ``read_assembly`` or
``Stack.from_template``) and returns every ``Finding``: the stack that would fail, the
resource, and the reason. Values in policies are the realistic ones of ``rehearsal.resolve``,
so a size is the size IAM will measure. Limits that span stacks (rules of one security group,
managed policies of one role, reserved Lambda concurrency of one account and Region) are
counted in deployment order; the finding lands on the stack whose resource crosses the limit.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from config.agents import FARGATE_SIZES, SPOT_MINIMUM_PLATFORM, platform_at_least
from tools.assembly import Stack
from tools.rehearsal.alarms import CLOUDWATCH_PAGE, ECS_ALARMS_PAGE, alarm_problems, unknown_deployment_alarms
from tools.rehearsal.resolve import StackSet

# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html
# ("IAM and AWS STS quotas"): managed policy 6,144 characters, a role's inline policies
# together 10,240, a role trust policy 2,048 (adjustable to 4,096), 10 managed policies per
# role (adjustable to 20); "IAM doesn't count white space when calculating the size".
IAM_QUOTAS = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html"
MANAGED_POLICY_SIZE = 6_144
ROLE_INLINE_POLICIES_SIZE = 10_240
TRUST_POLICY_SIZE = 2_048
MANAGED_POLICIES_PER_ROLE = 10
# https://docs.aws.amazon.com/vpc/latest/userguide/amazon-vpc-limits.html#vpc-limits-security-groups
# ("Amazon VPC quotas"): inbound or outbound rules per security group, 60 each.
VPC_QUOTAS = (
    "https://docs.aws.amazon.com/vpc/latest/userguide/amazon-vpc-limits.html#vpc-limits-security-groups"
)
RULES_PER_SECURITY_GROUP = 60
# https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-limits.html
# ("Quotas for your Application Load Balancers"): rules per Application Load Balancer,
# excluding default rules, 100. Counted per load balancer over all its listeners, which also
# keeps every single listener within 100.
ALB_QUOTAS = "https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-limits.html"
RULES_PER_LOAD_BALANCER = 100
# https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html
# ("Understand CloudFormation quotas"): template body 51,200 bytes in a request, 1 MB in
# S3 (what the CDK CLI uses: every stack here has a stackTemplateAssetObjectUrl); 500
# resources, 200 outputs, 200 parameters per template.
CFN_QUOTAS = "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html"
TEMPLATE_BODY_BYTES = 51_200
TEMPLATE_S3_BYTES = 1_048_576
RESOURCES, OUTPUTS, PARAMETERS = 500, 200, 200
# https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-tasks-services.html#fargate-tasks-size
# ("Task CPU and memory"): the pairs Fargate accepts (config.agents.FARGATE_SIZES).
FARGATE_SIZE_PAGE = "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-tasks-services.html#fargate-tasks-size"
# https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-quotas.html ("Amazon ECS
# service quotas"): containers per task definition, 10. And the task definition parameters
# (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_definition_parameters.html#container_definition_memory):
# with a task-level memory, the containers' hard memory limits may not add up to more.
ECS_QUOTAS = "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-quotas.html"
CONTAINERS_PER_TASK_DEFINITION = 10
CONTAINER_MEMORY_PAGE = (
    "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_definition_parameters.html"
    "#container_definition_memory"
)
# https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_CapacityProviderStrategyItem.html:
# "FARGATE_SPOT supports Linux tasks with the X86_64 architecture on platform version 1.3.0 or
# later. FARGATE_SPOT supports Linux tasks with the ARM64 architecture on platform version 1.4.0
# or later" (Graviton on Fargate Spot since September 2024; older copies of the developer guide's
# "AWS Fargate capacity providers" page still say ARM64 is not supported at all).
FARGATE_SPOT_PAGE = (
    "https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_CapacityProviderStrategyItem.html"
)
# The environment variables through which the control plane picks the capacity provider and the
# platform version of the agent tasks it starts with RunTask (constructs/control_plane.py);
# RunTask's platform version defaults to LATEST.
AGENT_CAPACITY_PROVIDER = "OUTPOST_AGENT_CAPACITY_PROVIDER"
AGENT_PLATFORM_VERSION = "OUTPOST_AGENT_PLATFORM_VERSION"
# https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateListener.html
# (CreateListener errors: CertificateNotFound, "The specified certificate does not exist").
CERTIFICATE_PAGE = (
    "https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateListener.html"
)
# https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html ("Configuring
# reserved concurrency"): you can reserve up to the account's concurrency minus 100, which
# stay unreserved for functions without a reservation. The account quota ("Concurrent
# executions", https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html) is
# 1,000 by default but can be as low as 10 in a new account: Options says which is assumed.
LAMBDA_CONCURRENCY_PAGE = "https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html"
UNRESERVED_MINIMUM = 100


@dataclass(frozen=True)
class Options:
    """What the rehearsal assumes about the accounts: certificates that exist, Lambda quota."""

    certificates: frozenset[str] = frozenset()
    lambda_concurrency_quota: int = 1_000


@dataclass(frozen=True)
class Finding:
    stack: str  # Dev/Service
    resource: str  # logical id (construct path)
    reason: str
    page: str

    def __str__(self) -> str:
        return f"{self.resource}: {self.reason} ({self.page})"


def policy_size(document: Any) -> int:
    """Characters of a policy as IAM counts them: its JSON without any white space."""
    return len(re.sub(r"\s", "", json.dumps(document, separators=(",", ":"), ensure_ascii=False)))


def _label(stack: Stack, logical_id: str) -> str:
    path = str(stack.template["Resources"].get(logical_id, {}).get("Metadata", {}).get("aws:cdk:path", ""))
    path = path.removeprefix(stack.display_name + "/").removesuffix("/Resource")
    return f"{logical_id} ({path})" if path else logical_id


def _of_type(stack: Stack, *types: str) -> Iterator[tuple[str, Mapping[str, Any]]]:
    for logical_id, resource in stack.template.get("Resources", {}).items():
        if resource.get("Type") in types:
            yield logical_id, resource.get("Properties", {})


@dataclass
class _Checker:
    stacks: Sequence[Stack]
    options: Options
    findings: list[Finding] = field(default_factory=list)
    # Alarm names created so far, per account and Region (tools/rehearsal/alarms.py).
    alarm_names: dict[tuple[str, str], set[str]] = field(default_factory=lambda: defaultdict(set))

    def __post_init__(self) -> None:
        self.resolvers = StackSet(self.stacks)

    def fail(self, stack: Stack, logical_id: str, reason: str, page: str) -> None:
        self.findings.append(Finding(stack.display_name, _label(stack, logical_id), reason, page))

    def value(self, stack: Stack, raw: Any) -> Any:
        return self.resolvers.resolver(stack).resolve(raw)

    # --- one stack at a time --------------------------------------------------------------

    def template_quotas(self, stack: Stack) -> None:
        template = stack.template
        size = (
            len(stack.template_file.read_bytes())
            if stack.template_file.exists()
            else len(json.dumps(template))
        )
        limit, how = (
            (TEMPLATE_S3_BYTES, "in S3") if stack.template_url else (TEMPLATE_BODY_BYTES, "in the request")
        )
        if size > limit:
            self.fail(stack, "template", f"template of {size:,} bytes exceeds {limit:,} ({how})", CFN_QUOTAS)
        for section, limit in (("Resources", RESOURCES), ("Outputs", OUTPUTS), ("Parameters", PARAMETERS)):
            count = len(template.get(section, {}))
            if count > limit:
                self.fail(
                    stack, "template", f"{count} {section.lower()} exceed {limit} per stack", CFN_QUOTAS
                )

    def iam(self, stack: Stack) -> None:
        for logical_id, props in _of_type(stack, "AWS::IAM::ManagedPolicy"):
            size = policy_size(self.value(stack, props.get("PolicyDocument", {})))
            if size > MANAGED_POLICY_SIZE:
                self.fail(
                    stack,
                    logical_id,
                    f"managed policy of {size:,} characters exceeds {MANAGED_POLICY_SIZE:,} "
                    "(IAM: LimitExceeded, Cannot exceed quota for PolicySize)",
                    IAM_QUOTAS,
                )
        inline: Counter[str] = Counter()
        for _, props in _of_type(stack, "AWS::IAM::Policy"):
            for role in props.get("Roles", []):
                if isinstance(role, dict) and "Ref" in role:
                    inline[role["Ref"]] += policy_size(self.value(stack, props.get("PolicyDocument", {})))
        for logical_id, props in _of_type(stack, "AWS::IAM::Role"):
            trust = policy_size(self.value(stack, props.get("AssumeRolePolicyDocument", {})))
            if trust > TRUST_POLICY_SIZE:
                self.fail(
                    stack,
                    logical_id,
                    f"trust policy of {trust:,} characters exceeds {TRUST_POLICY_SIZE:,}",
                    IAM_QUOTAS,
                )
            own = sum(
                policy_size(self.value(stack, p.get("PolicyDocument", {}))) for p in props.get("Policies", [])
            )
            total = own + inline[logical_id]
            if total > ROLE_INLINE_POLICIES_SIZE:
                self.fail(
                    stack,
                    logical_id,
                    f"inline policies of {total:,} characters together exceed {ROLE_INLINE_POLICIES_SIZE:,}",
                    IAM_QUOTAS,
                )

    def containers(self, stack: Stack, logical_id: str, props: Mapping[str, Any]) -> None:
        """At most 10 containers, whose hard memory limits fit the task's memory."""
        boxes = props.get("ContainerDefinitions", [])
        if len(boxes) > CONTAINERS_PER_TASK_DEFINITION:
            self.fail(
                stack,
                logical_id,
                f"{len(boxes)} containers exceed {CONTAINERS_PER_TASK_DEFINITION} per task definition",
                ECS_QUOTAS,
            )
        task_memory = self.value(stack, props.get("Memory"))
        limits = [self.value(stack, box.get("Memory")) for box in boxes if box.get("Memory") is not None]
        if task_memory and limits and sum(int(m) for m in limits) > int(task_memory):
            self.fail(
                stack,
                logical_id,
                f"containers' hard memory limits add up to {sum(int(m) for m in limits)} MiB, more than the "
                f"task's {task_memory}",
                CONTAINER_MEMORY_PAGE,
            )

    def fargate(self, stack: Stack) -> None:
        definitions = dict(_of_type(stack, "AWS::ECS::TaskDefinition"))
        architecture = {
            logical_id: str(
                self.value(stack, props.get("RuntimePlatform", {})).get("CpuArchitecture", "X86_64")
            )
            for logical_id, props in definitions.items()
        }
        for logical_id, props in definitions.items():
            if "FARGATE" not in props.get("RequiresCompatibilities", []):
                continue
            cpu, memory = (self.value(stack, props.get(k)) for k in ("Cpu", "Memory"))
            allowed = FARGATE_SIZES.get(int(cpu or 0), ())
            if int(memory or 0) not in allowed:
                self.fail(
                    stack,
                    logical_id,
                    f"Fargate has no task size of cpu {cpu} with memory {memory}",
                    FARGATE_SIZE_PAGE,
                )
            self.containers(stack, logical_id, props)
            for container in props.get("ContainerDefinitions", []):
                env = {e.get("Name"): e.get("Value") for e in container.get("Environment", [])}
                if self.value(stack, env.get(AGENT_CAPACITY_PROVIDER)) != "FARGATE_SPOT":
                    continue
                platform = str(self.value(stack, env.get(AGENT_PLATFORM_VERSION)) or "LATEST")
                started = [
                    v["Ref"] for v in env.values() if isinstance(v, dict) and v.get("Ref") in definitions
                ]
                refused = sorted(t for t in started if not _spot_runs(architecture[t], platform))
                if refused:
                    self.fail(
                        stack,
                        logical_id,
                        f"{AGENT_CAPACITY_PROVIDER}=FARGATE_SPOT with {AGENT_PLATFORM_VERSION}={platform}, "
                        f"but the tasks it starts ({', '.join(refused)}) are "
                        f"{architecture[refused[0]]}: {_spot_rule(architecture[refused[0]])}",
                        FARGATE_SPOT_PAGE,
                    )
        for logical_id, props in _of_type(stack, "AWS::ECS::Service"):
            strategy = self.value(stack, props.get("CapacityProviderStrategy", []))
            spot = any(
                s.get("CapacityProvider") == "FARGATE_SPOT" and (s.get("Weight") or s.get("Base"))
                for s in strategy
            )
            definition = props.get("TaskDefinition")
            if not (spot and isinstance(definition, dict) and definition.get("Ref") in definitions):
                continue
            cpu = architecture[definition["Ref"]]
            platform = str(self.value(stack, props.get("PlatformVersion")) or "LATEST")
            if not _spot_runs(cpu, platform):
                self.fail(
                    stack,
                    logical_id,
                    f"capacity-provider strategy names FARGATE_SPOT on platform version {platform}, task "
                    f"definition {definition['Ref']} is {cpu}: {_spot_rule(cpu)}",
                    FARGATE_SPOT_PAGE,
                )

    def certificates(self, stack: Stack) -> None:
        for logical_id, props in _of_type(
            stack, "AWS::ElasticLoadBalancingV2::Listener", "AWS::ElasticLoadBalancingV2::ListenerCertificate"
        ):
            for certificate in self.value(stack, props.get("Certificates", [])):
                arn = str(certificate.get("CertificateArn", ""))
                if arn not in self.options.certificates:
                    self.fail(
                        stack,
                        logical_id,
                        f"certificate {arn} is not one of the certificates that exist "
                        "(CertificateNotFound; if an operator created it, "
                        "add it to tools/rehearsal/settings.json)",
                        CERTIFICATE_PAGE,
                    )
                elif arn.split(":")[3:5] != [stack.region, stack.account]:
                    self.fail(
                        stack,
                        logical_id,
                        f"certificate {arn} is not in {stack.account}/{stack.region}",
                        CERTIFICATE_PAGE,
                    )

    def alarms(self, stack: Stack) -> None:
        """Alarms CloudWatch accepts, and deployments that watch alarms that exist."""
        known = self.alarm_names[stack.environment]
        for logical_id, props in _of_type(stack, "AWS::CloudWatch::Alarm"):
            name = str(self.resolvers.resolver(stack).reference(logical_id, "Ref"))
            for reason in alarm_problems(self.value(stack, props), name):
                self.fail(stack, logical_id, reason, CLOUDWATCH_PAGE)
            known.add(name)
        for logical_id, props in _of_type(stack, "AWS::ECS::Service"):
            watched = self.value(stack, props.get("DeploymentConfiguration", {}).get("Alarms", {}))
            for reason in unknown_deployment_alarms(watched, known):
                self.fail(stack, logical_id, reason, ECS_ALARMS_PAGE)

    # --- across stacks, in deployment order -----------------------------------------------

    def counted(self) -> None:
        """Limits on things that several stacks add to: rules, attachments, reservations."""
        rules: Counter[tuple[str, str]] = Counter()
        lb_rules: Counter[str] = Counter()
        listeners: dict[str, str] = {}
        attached: Counter[str] = Counter()
        role_names: dict[str, str] = {}
        reserved: Counter[tuple[str, str]] = Counter()

        def add_rule(stack: Stack, logical_id: str, group: Any, direction: str, count: int = 1) -> None:
            rules[(str(group), direction)] += count
            if rules[(str(group), direction)] > RULES_PER_SECURITY_GROUP:
                self.fail(
                    stack,
                    logical_id,
                    f"security group {group} would have {rules[(str(group), direction)]} {direction} rules "
                    f"(at most {RULES_PER_SECURITY_GROUP})",
                    VPC_QUOTAS,
                )

        for stack in self.stacks:
            resolver = self.resolvers.resolver(stack)
            for logical_id, props in _of_type(stack, "AWS::EC2::SecurityGroup"):
                group = resolver.reference(logical_id, "GroupId")
                add_rule(stack, logical_id, group, "inbound", len(props.get("SecurityGroupIngress", [])))
                add_rule(stack, logical_id, group, "outbound", len(props.get("SecurityGroupEgress", [])))
            for kind, direction in (("Ingress", "inbound"), ("Egress", "outbound")):
                for logical_id, props in _of_type(stack, f"AWS::EC2::SecurityGroup{kind}"):
                    add_rule(stack, logical_id, self.value(stack, props.get("GroupId")), direction)
            for logical_id, props in _of_type(stack, "AWS::ElasticLoadBalancingV2::Listener"):
                listeners[str(resolver.reference(logical_id, "Ref"))] = str(
                    self.value(stack, props.get("LoadBalancerArn"))
                )
            for logical_id, props in _of_type(stack, "AWS::ElasticLoadBalancingV2::ListenerRule"):
                listener = str(self.value(stack, props.get("ListenerArn")))
                balancer = listeners.get(listener, listener)
                lb_rules[balancer] += 1
                if lb_rules[balancer] > RULES_PER_LOAD_BALANCER:
                    self.fail(
                        stack,
                        logical_id,
                        f"load balancer {balancer} would have {lb_rules[balancer]} listener rules "
                        f"(at most {RULES_PER_LOAD_BALANCER}, excluding default rules)",
                        ALB_QUOTAS,
                    )
            for logical_id, props in _of_type(stack, "AWS::IAM::Role"):
                name = str(resolver.reference(logical_id, "Ref"))
                role_names[name] = logical_id
                attached[name] += len(props.get("ManagedPolicyArns", []))
                self._attachments(stack, logical_id, name, attached[name])
            for logical_id, props in _of_type(stack, "AWS::IAM::ManagedPolicy"):
                for role in self.value(stack, props.get("Roles", [])):
                    attached[str(role)] += 1
                    self._attachments(stack, logical_id, str(role), attached[str(role)])
            for logical_id, props in _of_type(stack, "AWS::Lambda::Function"):
                value = self.value(stack, props.get("ReservedConcurrentExecutions"))
                if value is None:
                    continue
                reserved[stack.environment] += int(value)
                left = self.options.lambda_concurrency_quota - reserved[stack.environment]
                if left < UNRESERVED_MINIMUM:
                    self.fail(
                        stack,
                        logical_id,
                        f"reserved concurrency {value} leaves {left} unreserved in "
                        f"{'/'.join(stack.environment)}; "
                        f"Lambda keeps at least {UNRESERVED_MINIMUM} (assumed account quota "
                        f"{self.options.lambda_concurrency_quota:,})",
                        LAMBDA_CONCURRENCY_PAGE,
                    )

    def _attachments(self, stack: Stack, logical_id: str, role: str, count: int) -> None:
        if count > MANAGED_POLICIES_PER_ROLE:
            self.fail(
                stack,
                logical_id,
                f"role {role} would have {count} managed policies (at most {MANAGED_POLICIES_PER_ROLE})",
                IAM_QUOTAS,
            )


def check(stacks: Iterable[Stack], options: Options | None = None) -> list[Finding]:
    """Every limit over ``stacks`` (in deployment order), as findings per stack."""
    checker = _Checker(list(stacks), options or Options())
    for stack in checker.stacks:
        checker.template_quotas(stack)
        checker.iam(stack)
        checker.fargate(stack)
        checker.certificates(stack)
        checker.alarms(stack)
    checker.counted()
    return checker.findings


def by_stack(findings: Iterable[Finding]) -> dict[str, list[Finding]]:
    grouped: dict[str, list[Finding]] = defaultdict(list)
    for finding in findings:
        grouped[finding.stack].append(finding)
    return dict(grouped)


def _spot_runs(architecture: str, platform: str) -> bool:
    """Fargate Spot runs Linux tasks of ``architecture`` on ``platform`` (config/service.py)."""
    minimum = SPOT_MINIMUM_PLATFORM.get(architecture)
    return minimum is not None and platform_at_least(platform, minimum)


def _spot_rule(architecture: str) -> str:
    minimum = SPOT_MINIMUM_PLATFORM.get(architecture)
    if minimum is None:
        return f"Fargate Spot does not run {architecture} tasks"
    return f"Fargate Spot runs {architecture} Linux tasks on platform version {minimum} or later only"
