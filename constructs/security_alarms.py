"""The account's security alarms: the CIS AWS Foundations Benchmark metric filters on the trail's
log group, each with an alarm to the security topic, and optional GuardDuty threat detection.

The patterns are those of AWS Security Hub controls CloudWatch.1-14
(https://docs.aws.amazon.com/securityhub/latest/userguide/cloudwatch-controls.html), which are the
CIS AWS Foundations Benchmark's (v1.2.0 3.1-3.14, v1.4.0 4.1-4.15), plus the benchmark's
Organizations filter (v1.4.0 4.15), which has no Security Hub control, and this platform's own
(``ContainmentChanges``: the egress and DNS firewalls, the VPC endpoints). Each is tested against
CloudTrail records that must and must not match (``tests/app/test_security_alarms.py``).

Security Hub's check passes when a filter with the pattern is on the log group of a multi-region
trail recording management events, its metric has an alarm, and the alarm's action is an SNS topic
with a subscriber: ``audit.security_email`` is that subscriber, apart from the operations topic's.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_events as events
from aws_cdk import aws_guardduty as guardduty
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns

from compliance.acknowledgements import acknowledge, control_tower
from constructs import Construct
from constructs.alarm_topic import AlarmTopic, NotifyingAlarm

METRIC_NAMESPACE = "Outpost/CloudTrail"
SECURITY_HUB_PAGE = "https://docs.aws.amazon.com/securityhub/latest/userguide/cloudwatch-controls.html"


def _any_event(*names: str) -> str:
    return " || ".join(f"($.eventName = {name})" for name in names)


@dataclass(frozen=True)
class CisFilter:
    """One CIS metric filter: the control it answers, its metric's name, its pattern, and what
    the person paged does first (docs/audit.md repeats it as the runbook)."""

    control: str
    name: str
    pattern: str
    runbook: str


CIS_FILTERS: tuple[CisFilter, ...] = (
    CisFilter(
        "CloudWatch.1",
        "RootUse",
        '{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS '
        '&& $.eventType != "AwsServiceEvent" }',
        "Ask who holds the root credentials and why; if nobody can say, reset the root password, "
        "rotate its MFA and read the trail for what the session did.",
    ),
    CisFilter(
        "CloudWatch.2",
        "UnauthorizedApiCalls",
        '{ ($.errorCode = "*UnauthorizedOperation") || ($.errorCode = "AccessDenied*") }',
        "Find the caller (userIdentity.arn): an agent task role probing beyond its grants is a "
        "hijacked agent (stop its task); a deploy or control-plane role is a missing permission.",
    ),
    CisFilter(
        "CloudWatch.3",
        "ConsoleSignInWithoutMfa",
        '{ ($.eventName = "ConsoleLogin") && ($.additionalEventData.MFAUsed != "Yes") '
        '&& ($.userIdentity.type = "IAMUser") && ($.responseElements.ConsoleLogin = "Success") }',
        "An IAM user signed in to the console without MFA: confirm with them, then enforce MFA "
        "on the user (or remove its console password).",
    ),
    CisFilter(
        "CloudWatch.4",
        "IamPolicyChanges",
        "{ "
        + _any_event(
            "DeleteGroupPolicy",
            "DeleteRolePolicy",
            "DeleteUserPolicy",
            "PutGroupPolicy",
            "PutRolePolicy",
            "PutUserPolicy",
            "CreatePolicy",
            "DeletePolicy",
            "CreatePolicyVersion",
            "DeletePolicyVersion",
            "AttachRolePolicy",
            "DetachRolePolicy",
            "AttachUserPolicy",
            "DetachUserPolicy",
            "AttachGroupPolicy",
            "DetachGroupPolicy",
        )
        + " }",
        "Match it to a deployment (the CloudFormation execution role is the caller of every "
        "planned change); any other caller changed permissions by hand: revert and find out why.",
    ),
    CisFilter(
        "CloudWatch.5",
        "CloudTrailChanges",
        "{ " + _any_event("CreateTrail", "UpdateTrail", "DeleteTrail", "StartLogging", "StopLogging") + " }",
        "Check the trail still logs (aws cloudtrail get-trail-status); a StopLogging or DeleteTrail "
        "outside a deployment is an attempt to act unseen: restore it first, then investigate.",
    ),
    CisFilter(
        "CloudWatch.6",
        "ConsoleSignInFailures",
        '{ ($.eventName = ConsoleLogin) && ($.errorMessage = "Failed authentication") }',
        "Repeated failures for one user are password guessing: check the source addresses, lock "
        "the user if they do not recognise them.",
    ),
    CisFilter(
        "CloudWatch.7",
        "KeyDisablingOrDeletion",
        "{ ($.eventSource = kms.amazonaws.com) && (($.eventName = DisableKey) || "
        "($.eventName = ScheduleKeyDeletion)) }",
        "Data under a disabled or deleted key is unreadable: cancel a scheduled deletion "
        "(aws kms cancel-key-deletion) and re-enable the key unless the change was planned.",
    ),
    CisFilter(
        "CloudWatch.8",
        "S3BucketPolicyChanges",
        "{ ($.eventSource = s3.amazonaws.com) && ("
        + _any_event(
            "PutBucketAcl",
            "PutBucketPolicy",
            "PutBucketCors",
            "PutBucketLifecycle",
            "PutBucketReplication",
            "DeleteBucketPolicy",
            "DeleteBucketCors",
            "DeleteBucketLifecycle",
            "DeleteBucketReplication",
        )
        + ") }",
        "Match it to a deployment; otherwise compare the bucket's policy with its template "
        "(make diff) and restore it: a policy change can open the audit or artifacts bucket.",
    ),
    CisFilter(
        "CloudWatch.9",
        "ConfigChanges",
        "{ ($.eventSource = config.amazonaws.com) && ("
        + _any_event(
            "StopConfigurationRecorder",
            "DeleteDeliveryChannel",
            "PutDeliveryChannel",
            "PutConfigurationRecorder",
        )
        + ") }",
        "AWS Config is run by the account's owners, not this project: ask them whether the "
        "recorder change was theirs; a stopped recorder hides later changes.",
    ),
    CisFilter(
        "CloudWatch.10",
        "SecurityGroupChanges",
        "{ "
        + _any_event(
            "AuthorizeSecurityGroupIngress",
            "AuthorizeSecurityGroupEgress",
            "RevokeSecurityGroupIngress",
            "RevokeSecurityGroupEgress",
            "CreateSecurityGroup",
            "DeleteSecurityGroup",
        )
        + " }",
        "Every rule of this project is in the Network stack: a change outside a deployment is "
        "drift (aws cloudformation detect-stack-drift); revert it and find the caller.",
    ),
    CisFilter(
        "CloudWatch.11",
        "NetworkAclChanges",
        "{ "
        + _any_event(
            "CreateNetworkAcl",
            "CreateNetworkAclEntry",
            "DeleteNetworkAcl",
            "DeleteNetworkAclEntry",
            "ReplaceNetworkAclEntry",
            "ReplaceNetworkAclAssociation",
        )
        + " }",
        "This project manages no network ACL: any change is manual; find the caller and revert.",
    ),
    CisFilter(
        "CloudWatch.12",
        "NetworkGatewayChanges",
        "{ "
        + _any_event(
            "CreateCustomerGateway",
            "DeleteCustomerGateway",
            "AttachInternetGateway",
            "CreateInternetGateway",
            "DeleteInternetGateway",
            "DetachInternetGateway",
        )
        + " }",
        "Match it to a Network stack deployment; otherwise a new path in or out of a VPC: find "
        "the caller and revert.",
    ),
    CisFilter(
        "CloudWatch.13",
        "RouteTableChanges",
        "{ ($.eventSource = ec2.amazonaws.com) && ("
        + _any_event(
            "CreateRoute",
            "CreateRouteTable",
            "ReplaceRoute",
            "ReplaceRouteTableAssociation",
            "DeleteRouteTable",
            "DeleteRoute",
            "DisassociateRouteTable",
        )
        + ") }",
        "Match it to a Network stack deployment; a route changed by hand can send agent traffic "
        "around the NAT gateways and endpoints: revert it.",
    ),
    CisFilter(
        "CloudWatch.14",
        "VpcChanges",
        "{ "
        + _any_event(
            "CreateVpc",
            "DeleteVpc",
            "ModifyVpcAttribute",
            "AcceptVpcPeeringConnection",
            "CreateVpcPeeringConnection",
            "DeleteVpcPeeringConnection",
            "RejectVpcPeeringConnection",
            "AttachClassicLinkVpc",
            "DetachClassicLinkVpc",
            "DisableVpcClassicLink",
            "EnableVpcClassicLink",
        )
        + " }",
        "Match it to a Network stack deployment; a peering connection accepted by hand joins "
        "another network to the agents' VPC: delete it and find the caller.",
    ),
    CisFilter(
        "CIS 4.15",
        "OrganizationsChanges",
        "{ ($.eventSource = organizations.amazonaws.com) && ("
        + _any_event(
            '"AcceptHandshake"',
            '"AttachPolicy"',
            '"CreateAccount"',
            '"CreateOrganizationalUnit"',
            '"CreatePolicy"',
            '"DeclineHandshake"',
            '"DeleteOrganization"',
            '"DeleteOrganizationalUnit"',
            '"DeletePolicy"',
            '"DetachPolicy"',
            '"DisablePolicyType"',
            '"EnablePolicyType"',
            '"InviteAccountToOrganization"',
            '"LeaveOrganization"',
            '"MoveAccount"',
            '"RemoveAccountFromOrganization"',
            '"UpdatePolicy"',
            '"UpdateOrganizationalUnit"',
        )
        + ") }",
        "Organizations calls are recorded in the management account: in a member account this "
        "fires only for the account's own calls (LeaveOrganization, AcceptHandshake), which the "
        "organization's owners must hear about at once.",
    ),
    # Not the benchmark's: what keeps a hijacked agent's data in (docs/egress.md): the egress
    # firewall, the DNS firewall and the VPC endpoints' policies.
    CisFilter(
        "Outpost",
        "ContainmentChanges",
        "{ "
        + " || ".join(
            f"(($.eventSource = {source}) && ({_any_event(*names)}))"
            for source, names in (
                (
                    "network-firewall.amazonaws.com",
                    (
                        "UpdateRuleGroup",
                        "UpdateFirewallPolicy",
                        "AssociateFirewallPolicy",
                        "DisassociateSubnets",
                        "DeleteFirewall",
                        "UpdateFirewallDeleteProtection",
                    ),
                ),
                (
                    "route53resolver.amazonaws.com",
                    (
                        "DisassociateFirewallRuleGroup",
                        "UpdateFirewallRuleGroupAssociation",
                        "UpdateFirewallRule",
                        "DeleteFirewallRule",
                        "UpdateFirewallDomains",
                        "UpdateFirewallConfig",
                    ),
                ),
                ("ec2.amazonaws.com", ("CreateVpcEndpoint", "ModifyVpcEndpoint", "DeleteVpcEndpoints")),
            )
        )
        + " }",
        "Match it to a Network stack deployment; otherwise someone changed what keeps an agent's "
        "data in (the egress or DNS firewall, an endpoint or its policy): make diff names the "
        "drift; redeploy the Network stack and find the caller.",
    ),
)


class SecurityAlarms(Construct):
    """``filters`` and ``alarms`` (CIS name -> each), on ``log_group``, notifying ``topic``."""

    def __init__(
        self, scope: Construct, construct_id: str, *, log_group: logs.ILogGroup, topic: sns.ITopic
    ) -> None:
        super().__init__(scope, construct_id)
        self.filters: dict[str, logs.MetricFilter] = {}
        self.alarms: dict[str, cloudwatch.Alarm] = {}
        for cis in CIS_FILTERS:
            metric_filter = logs.MetricFilter(
                self,
                f"{cis.name}Filter",
                log_group=log_group,
                filter_pattern=logs.FilterPattern.literal(cis.pattern),
                metric_namespace=METRIC_NAMESPACE,
                metric_name=cis.name,
                metric_value="1",
            )
            self.filters[cis.name] = metric_filter
            # Once in 5 minutes is enough: the benchmark asks for a threshold of 1.
            self.alarms[cis.name] = NotifyingAlarm(
                self,
                cis.name,
                topic=topic,
                metric=metric_filter.metric(period=Duration.minutes(5), statistic="Sum"),
                threshold=1,
                description=f"{cis.control}: {cis.name} recorded by the trail. {cis.runbook}",
            )


# GuardDuty Runtime Monitoring: the agent GuardDuty runs as a sidecar of every Fargate task
# (https://docs.aws.amazon.com/guardduty/latest/ug/runtime-monitoring.html).
RUNTIME_MONITORING = "RUNTIME_MONITORING"
FARGATE_AGENT_MANAGEMENT = "ECS_FARGATE_AGENT_MANAGEMENT"
# S3 Protection: GuardDuty reads the S3 data events of every bucket of the account.
S3_DATA_EVENTS = "S3_DATA_EVENTS"


class ThreatDetection(Construct):
    """``detector``: the account's GuardDuty detector in this region, with Runtime Monitoring of
    ECS Fargate tasks (GuardDuty manages the agent and its VPC endpoint itself).

    One detector per account and Region (``AWS::GuardDuty::Detector``): an account whose
    organization already enables GuardDuty names that detector in ``audit.guardduty`` instead.
    """

    def __init__(self, scope: Construct, construct_id: str, *, production: bool) -> None:
        super().__init__(scope, construct_id)
        feature = guardduty.CfnDetector.CFNFeatureConfigurationProperty
        self.detector = guardduty.CfnDetector(
            self,
            "Detector",
            enable=True,
            finding_publishing_frequency="FIFTEEN_MINUTES",
            features=[
                feature(name=S3_DATA_EVENTS, status="ENABLED"),
                feature(
                    name=RUNTIME_MONITORING,
                    status="ENABLED",
                    additional_configuration=[
                        guardduty.CfnDetector.CFNFeatureAdditionalConfigurationProperty(
                            name=FARGATE_AGENT_MANAGEMENT, status="ENABLED"
                        )
                    ],
                ),
            ],
        )
        acknowledge(
            self.detector,
            "S3 protection is on, as the detector's S3_DATA_EVENTS feature: the rule reads only the "
            "older DataSources.S3Logs property, which CloudFormation refuses beside Features, and "
            "Features is the only way to turn on Fargate runtime monitoring (AWS::GuardDuty::Detector: "
            "use either DataSources or Features, not both).",
            control_tower("guardduty_s3_protection_enabled_check"),
        )
        # Findings are evidence: a production detector (and its findings) outlives the stack.
        self.detector.apply_removal_policy(RemovalPolicy.RETAIN if production else RemovalPolicy.DESTROY)


# GuardDuty's severity scale: 7.0-8.9 High, 9.0-10.0 Critical
# (https://docs.aws.amazon.com/guardduty/latest/ug/guardduty_findings-severity.html).
HIGH_SEVERITY = 7


class FindingsToTopic(Construct):
    """``rule``: GuardDuty findings of high or critical severity, to the security topic.

    GuardDuty sends every finding to EventBridge in its Region, and an updated one again at the
    detector's publishing frequency (https://docs.aws.amazon.com/guardduty/latest/ug/guardduty_findings_eventbridge.html).
    Lower severities stay in the GuardDuty console, where whoever answers for security reads them.
    """

    def __init__(self, scope: Construct, construct_id: str, *, topic: AlarmTopic) -> None:
        super().__init__(scope, construct_id)
        self.rule = events.CfnRule(
            self,
            "Rule",
            description="GuardDuty findings of high or critical severity, to the security topic",
            event_pattern={
                "source": ["aws.guardduty"],
                "detail-type": ["GuardDuty Finding"],
                "detail": {"severity": [{"numeric": [">=", HIGH_SEVERITY]}]},
            },
            state="ENABLED",
            targets=[events.CfnRule.TargetProperty(id="SecurityTopic", arn=topic.topic.topic_arn)],
        )
        topic.allow_rule(self.rule.attr_arn)
        self.failures = NotifyingAlarm(
            self,
            "DeliveryFailures",
            topic=topic.topic,
            metric=cloudwatch.Metric(
                namespace="AWS/Events",
                metric_name="FailedInvocations",
                dimensions_map={"RuleName": self.rule.ref},
                period=Duration.minutes(5),
                statistic="Sum",
            ),
            threshold=1,
            description="EventBridge could not deliver a GuardDuty finding to the security topic: read "
            "the findings in the GuardDuty console.",
        )
        acknowledge(
            self.rule,
            "A finding EventBridge fails to deliver is not lost: GuardDuty keeps every finding for 90 "
            "days and publishes an updated one again; the DeliveryFailures alarm (FailedInvocations "
            "of this rule) tells the security topic to read them in the GuardDuty console.",
            "Serverless-EventBusDLQ",
        )
