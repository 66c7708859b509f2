"""The account's security alarms (Audit stack): each CIS metric filter's pattern against
CloudTrail records that must and must not match, each filter on the trail's log group with an
alarm that notifies the security topic, made once per account; and GuardDuty as configured."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from constructs.security_alarms import (
    CIS_FILTERS,
    FARGATE_AGENT_MANAGEMENT,
    METRIC_NAMESPACE,
    RUNTIME_MONITORING,
    S3_DATA_EVENTS,
)
from tests.audit_templates import audit, only
from tests.environments import STAGES, config_of
from tests.filter_pattern import compile_pattern
from tests.synth import Synthesized
from tests.templates import ending, ref

OWNERS = [s for s in STAGES if config_of(s).owns_account_alarms]
NOT_OWNERS = [s for s in STAGES if not config_of(s).owns_account_alarms]
DETECTORS = [s for s in STAGES if config_of(s).audit.creates_detector]
NO_DETECTOR = [s for s in STAGES if not config_of(s).audit.creates_detector]


def record(**fields: Any) -> dict[str, Any]:
    """A CloudTrail record (management event of an IAM user), with ``fields`` over it; a
    ``None`` field is left out."""
    base: dict[str, Any] = {
        "eventVersion": "1.09",
        "userIdentity": {
            "type": "IAMUser",
            "principalId": "AIDAEXAMPLE",
            "arn": "arn:aws:iam::111111111111:user/alice",
            "accountId": "111111111111",
            "userName": "alice",
        },
        "eventTime": "2026-12-05T10:00:00Z",
        "eventSource": "ec2.amazonaws.com",
        "eventName": "DescribeInstances",
        "awsRegion": "us-east-1",
        "sourceIPAddress": "203.0.113.7",
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": "111111111111",
    }
    for key, value in fields.items():
        if value is None:
            base.pop(key, None)
        else:
            base[key] = value
    return base


ROOT = {"type": "Root", "principalId": "111111111111", "arn": "arn:aws:iam::111111111111:root"}
LOGIN = {"eventSource": "signin.amazonaws.com", "eventName": "ConsoleLogin", "eventType": "AwsConsoleSignIn"}

# The event names each "any of" class lists in the benchmark, typed here apart from the
# construct: a typo in any one of them there fails a test.
BENCHMARK_EVENTS = {
    "IamPolicyChanges": (
        "iam.amazonaws.com",
        "DeleteGroupPolicy DeleteRolePolicy DeleteUserPolicy PutGroupPolicy PutRolePolicy PutUserPolicy "
        "CreatePolicy DeletePolicy CreatePolicyVersion DeletePolicyVersion AttachRolePolicy DetachRolePolicy "
        "AttachUserPolicy DetachUserPolicy AttachGroupPolicy DetachGroupPolicy",
    ),
    "CloudTrailChanges": (
        "cloudtrail.amazonaws.com",
        "CreateTrail UpdateTrail DeleteTrail StartLogging StopLogging",
    ),
    "KeyDisablingOrDeletion": ("kms.amazonaws.com", "DisableKey ScheduleKeyDeletion"),
    "S3BucketPolicyChanges": (
        "s3.amazonaws.com",
        "PutBucketAcl PutBucketPolicy PutBucketCors PutBucketLifecycle PutBucketReplication "
        "DeleteBucketPolicy DeleteBucketCors DeleteBucketLifecycle DeleteBucketReplication",
    ),
    "ConfigChanges": (
        "config.amazonaws.com",
        "StopConfigurationRecorder DeleteDeliveryChannel PutDeliveryChannel PutConfigurationRecorder",
    ),
    "SecurityGroupChanges": (
        "ec2.amazonaws.com",
        "AuthorizeSecurityGroupIngress AuthorizeSecurityGroupEgress RevokeSecurityGroupIngress "
        "RevokeSecurityGroupEgress CreateSecurityGroup DeleteSecurityGroup",
    ),
    "NetworkAclChanges": (
        "ec2.amazonaws.com",
        "CreateNetworkAcl CreateNetworkAclEntry DeleteNetworkAcl DeleteNetworkAclEntry "
        "ReplaceNetworkAclEntry ReplaceNetworkAclAssociation",
    ),
    "NetworkGatewayChanges": (
        "ec2.amazonaws.com",
        "CreateCustomerGateway DeleteCustomerGateway AttachInternetGateway CreateInternetGateway "
        "DeleteInternetGateway DetachInternetGateway",
    ),
    "RouteTableChanges": (
        "ec2.amazonaws.com",
        "CreateRoute CreateRouteTable ReplaceRoute ReplaceRouteTableAssociation DeleteRouteTable DeleteRoute "
        "DisassociateRouteTable",
    ),
    "VpcChanges": (
        "ec2.amazonaws.com",
        "CreateVpc DeleteVpc ModifyVpcAttribute AcceptVpcPeeringConnection CreateVpcPeeringConnection "
        "DeleteVpcPeeringConnection RejectVpcPeeringConnection AttachClassicLinkVpc DetachClassicLinkVpc "
        "DisableVpcClassicLink EnableVpcClassicLink",
    ),
    "OrganizationsChanges": (
        "organizations.amazonaws.com",
        "AcceptHandshake AttachPolicy CreateAccount CreateOrganizationalUnit CreatePolicy DeclineHandshake "
        "DeleteOrganization DeleteOrganizationalUnit DeletePolicy DetachPolicy DisablePolicyType "
        "EnablePolicyType InviteAccountToOrganization LeaveOrganization MoveAccount "
        "RemoveAccountFromOrganization UpdatePolicy UpdateOrganizationalUnit",
    ),
}

# Filter name -> (records it must match, records it must not match).
SAMPLES: dict[str, tuple[list[dict[str, Any]], list[dict[str, Any]]]] = {
    "RootUse": (
        [record(userIdentity=ROOT, eventName="CreateAccessKey", eventSource="iam.amazonaws.com")],
        [
            record(eventName="CreateAccessKey"),
            # AWS acting for the root user (invokedBy), or an AWS service event.
            record(userIdentity={**ROOT, "invokedBy": "support.amazonaws.com"}),
            record(userIdentity=ROOT, eventType="AwsServiceEvent"),
        ],
    ),
    "UnauthorizedApiCalls": (
        [
            record(errorCode="AccessDenied", errorMessage="User is not authorized"),
            record(errorCode="Client.UnauthorizedOperation"),
            record(errorCode="AccessDeniedException", eventSource="kms.amazonaws.com"),
        ],
        [record(), record(errorCode="ThrottlingException")],
    ),
    "ConsoleSignInWithoutMfa": (
        [
            record(
                **LOGIN,
                additionalEventData={"MFAUsed": "No", "LoginTo": "https://console.aws.amazon.com"},
                responseElements={"ConsoleLogin": "Success"},
            )
        ],
        [
            record(
                **LOGIN, additionalEventData={"MFAUsed": "Yes"}, responseElements={"ConsoleLogin": "Success"}
            ),
            record(
                **LOGIN,
                additionalEventData={"MFAUsed": "No"},
                responseElements={"ConsoleLogin": "Failure"},
                errorMessage="Failed authentication",
            ),
            # Federated (SSO) sign-ins carry their MFA in the identity provider.
            record(
                **LOGIN,
                userIdentity={"type": "AssumedRole", "arn": "arn:aws:sts::111111111111:assumed-role/Admin/a"},
                additionalEventData={"MFAUsed": "No"},
                responseElements={"ConsoleLogin": "Success"},
            ),
        ],
    ),
    "IamPolicyChanges": (
        [
            record(eventSource="iam.amazonaws.com", eventName=name)
            for name in ("PutRolePolicy", "AttachRolePolicy", "CreatePolicyVersion", "DetachGroupPolicy")
        ],
        [record(eventSource="iam.amazonaws.com", eventName=name) for name in ("GetRolePolicy", "CreateRole")],
    ),
    "CloudTrailChanges": (
        [
            record(eventSource="cloudtrail.amazonaws.com", eventName=name)
            for name in ("StopLogging", "DeleteTrail")
        ],
        [record(eventSource="cloudtrail.amazonaws.com", eventName="LookupEvents")],
    ),
    "ConsoleSignInFailures": (
        [record(**LOGIN, errorMessage="Failed authentication", responseElements={"ConsoleLogin": "Failure"})],
        [
            record(**LOGIN, responseElements={"ConsoleLogin": "Success"}),
            record(errorMessage="Failed authentication"),
        ],
    ),
    "KeyDisablingOrDeletion": (
        [
            record(eventSource="kms.amazonaws.com", eventName=name)
            for name in ("DisableKey", "ScheduleKeyDeletion")
        ],
        [
            record(eventSource="kms.amazonaws.com", eventName="EnableKey"),
            # The event name alone is not enough: it must come from KMS.
            record(eventSource="example.amazonaws.com", eventName="DisableKey"),
        ],
    ),
    "S3BucketPolicyChanges": (
        [
            record(eventSource="s3.amazonaws.com", eventName=name)
            for name in ("PutBucketPolicy", "DeleteBucketCors")
        ],
        [
            record(eventSource="s3.amazonaws.com", eventName="GetBucketPolicy"),
            record(eventSource="s3.amazonaws.com", eventName="PutObject"),
        ],
    ),
    "ConfigChanges": (
        [record(eventSource="config.amazonaws.com", eventName="StopConfigurationRecorder")],
        [record(eventSource="config.amazonaws.com", eventName="DescribeConfigurationRecorders")],
    ),
    "SecurityGroupChanges": (
        [record(eventName=name) for name in ("AuthorizeSecurityGroupIngress", "DeleteSecurityGroup")],
        [record(eventName="DescribeSecurityGroups")],
    ),
    "NetworkAclChanges": (
        [record(eventName=name) for name in ("CreateNetworkAclEntry", "ReplaceNetworkAclAssociation")],
        [record(eventName="DescribeNetworkAcls")],
    ),
    "NetworkGatewayChanges": (
        [record(eventName=name) for name in ("AttachInternetGateway", "CreateCustomerGateway")],
        [record(eventName="DescribeInternetGateways"), record(eventName="CreateNatGateway")],
    ),
    "RouteTableChanges": (
        [record(eventName=name) for name in ("CreateRoute", "DisassociateRouteTable")],
        [
            record(eventName="DescribeRouteTables"),
            record(eventSource="example.amazonaws.com", eventName="CreateRoute"),
        ],
    ),
    "VpcChanges": (
        [
            record(eventName=name)
            for name in ("AcceptVpcPeeringConnection", "ModifyVpcAttribute", "DeleteVpc")
        ],
        [record(eventName="DescribeVpcs"), record(eventName="CreateVpcEndpoint")],
    ),
    "OrganizationsChanges": (
        [
            record(eventSource="organizations.amazonaws.com", eventName=name)
            for name in ("LeaveOrganization", "AcceptHandshake", "AttachPolicy")
        ],
        [record(eventSource="organizations.amazonaws.com", eventName="DescribeOrganization")],
    ),
    "ContainmentChanges": (
        [
            record(eventSource="network-firewall.amazonaws.com", eventName="UpdateRuleGroup"),
            record(eventSource="network-firewall.amazonaws.com", eventName="DisassociateSubnets"),
            record(eventSource="route53resolver.amazonaws.com", eventName="DisassociateFirewallRuleGroup"),
            record(eventSource="route53resolver.amazonaws.com", eventName="UpdateFirewallDomains"),
            record(eventSource="route53resolver.amazonaws.com", eventName="UpdateFirewallConfig"),
            record(eventName="ModifyVpcEndpoint"),
            record(eventName="CreateVpcEndpoint"),
        ],
        [
            record(eventSource="network-firewall.amazonaws.com", eventName="DescribeRuleGroup"),
            record(eventSource="route53resolver.amazonaws.com", eventName="ListFirewallRules"),
            record(eventSource="route53resolver.amazonaws.com", eventName="UpdateResolverRule"),
            record(eventName="DescribeVpcEndpoints"),
            # The same name from another service is not a change of ours.
            record(eventSource="example.amazonaws.com", eventName="ModifyVpcEndpoint"),
        ],
    ),
}
# Security Hub controls CloudWatch.1-14, each once.
CIS_CONTROLS = {f"CloudWatch.{n}" for n in range(1, 15)}


def test_every_cis_control_has_one_filter_and_samples() -> None:
    controls = [cis.control for cis in CIS_FILTERS]
    assert set(controls) >= CIS_CONTROLS
    assert len(controls) == len(set(controls))
    assert set(SAMPLES) == {cis.name for cis in CIS_FILTERS}


@pytest.mark.parametrize("cis", CIS_FILTERS, ids=lambda cis: cis.name)
def test_every_pattern_fits_cloudwatch_logs(cis: Any) -> None:
    """PutMetricFilter's filterPattern: at most 1,024 characters (CloudWatch Logs API reference)."""
    assert len(cis.pattern) <= 1024


@pytest.mark.parametrize("cis", CIS_FILTERS, ids=lambda cis: cis.name)
def test_pattern_matches_what_it_must_and_nothing_else(cis: Any) -> None:
    predicate = compile_pattern(cis.pattern)
    must, must_not = SAMPLES[cis.name]
    if cis.name in BENCHMARK_EVENTS:
        source, names = BENCHMARK_EVENTS[cis.name]
        must = must + [record(eventSource=source, eventName=name) for name in names.split()]
    for event in must:
        assert predicate(event), (cis.name, event)
    for event in must_not:
        assert not predicate(event), (cis.name, event)
    # Every other filter's must-match records are no match here, except where classes overlap
    # (an unauthorized call is also some other class's event name: not in these samples).
    for other, (records, _) in SAMPLES.items():
        if other != cis.name:
            for event in records:
                if cis.name != "UnauthorizedApiCalls":
                    assert not predicate(copy.deepcopy(event)), (cis.name, other, event)


def _filters(synthesized: Synthesized, stage: str) -> dict[str, dict[str, Any]]:
    found = synthesized.resources(f"{stage}/Audit", "AWS::Logs::MetricFilter")
    return {
        r["Properties"]["MetricTransformations"][0]["MetricName"]: r["Properties"] for r in found.values()
    }


@pytest.mark.parametrize("stage", OWNERS)
def test_every_filter_reads_the_trail_log_group_with_its_pattern(
    synthesized: Synthesized, stage: str
) -> None:
    group_id, _ = only(synthesized, stage, "AWS::Logs::LogGroup")
    _trail_id, trail = only(synthesized, stage, "AWS::CloudTrail::Trail")
    # The trail writes to this group, records every management event, in every region.
    assert trail["Properties"]["CloudWatchLogsLogGroupArn"] == {"Fn::GetAtt": [group_id, "Arn"]}
    assert trail["Properties"]["IsMultiRegionTrail"] is True
    filters = _filters(synthesized, stage)
    assert set(filters) == {cis.name for cis in CIS_FILTERS}
    for cis in CIS_FILTERS:
        props = filters[cis.name]
        assert props["LogGroupName"] == ref(group_id), cis.name
        assert props["FilterPattern"] == cis.pattern, cis.name
        (transformation,) = props["MetricTransformations"]
        assert transformation == {
            "MetricName": cis.name,
            "MetricNamespace": METRIC_NAMESPACE,
            "MetricValue": "1",
        }


@pytest.mark.parametrize("stage", OWNERS)
def test_every_filter_has_an_alarm_notifying_the_security_topic(synthesized: Synthesized, stage: str) -> None:
    topic_id, topic = ending(
        synthesized, f"{stage}/Audit", "/SecurityTopic/Topic/Resource", "AWS::SNS::Topic"
    )
    # Encrypted with its own key, apart from the operations topic (Alerts stack).
    key_id, _ = ending(synthesized, f"{stage}/Audit", "/SecurityTopic/TopicKey/Resource", "AWS::KMS::Key")
    assert topic["Properties"]["KmsMasterKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
    alarms = {
        a["Properties"]["MetricName"]: a["Properties"]
        for a in synthesized.resources(f"{stage}/Audit", "AWS::CloudWatch::Alarm").values()
        if a["Properties"]["Namespace"] == METRIC_NAMESPACE
    }
    assert set(alarms) == {cis.name for cis in CIS_FILTERS}
    for name, props in alarms.items():
        assert props["Namespace"] == METRIC_NAMESPACE, name
        assert props["Threshold"] == 1
        assert props["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
        assert props["Statistic"] == "Sum"
        assert props["Period"] == 300
        assert props["AlarmActions"] == [ref(topic_id)], name
        assert props["OKActions"] == [ref(topic_id)], name
        assert props["TreatMissingData"] == "notBreaching"
    email = config_of(stage).audit.security_email
    subscriptions = synthesized.resources(f"{stage}/Audit", "AWS::SNS::Subscription")
    assert [s["Properties"]["Endpoint"] for s in subscriptions.values()] == ([email] if email else [])
    for subscription in subscriptions.values():
        assert subscription["Properties"]["TopicArn"] == ref(topic_id)
        assert subscription["Properties"]["Protocol"] == "email"


@pytest.mark.parametrize("stage", OWNERS)
def test_the_operations_topic_keeps_its_own_subscribers(synthesized: Synthesized, stage: str) -> None:
    """The security e-mail is subscribed to the security topic only (and the on-call one to the
    operations topic only): each hears its own alarms."""
    operations = config_of(stage).monitoring.alarm_email
    alerts = synthesized.resources(f"{stage}/Alerts", "AWS::SNS::Subscription")
    assert [s["Properties"]["Endpoint"] for s in alerts.values()] == ([operations] if operations else [])


@pytest.mark.parametrize("stage", NOT_OWNERS)
def test_a_second_environment_of_an_account_makes_no_second_set(synthesized: Synthesized, stage: str) -> None:
    """Its trail records the same account: a second set of filters would page twice."""
    assert not synthesized.resources(f"{stage}/Audit", "AWS::Logs::MetricFilter")
    assert not synthesized.resources(f"{stage}/Audit", "AWS::CloudWatch::Alarm")
    assert not synthesized.resources(f"{stage}/Audit", "AWS::SNS::Topic")


def test_every_account_has_exactly_one_owner() -> None:
    owners: dict[str, list[str]] = {}
    for stage in STAGES:
        if config_of(stage).owns_account_alarms:
            owners.setdefault(config_of(stage).account, []).append(stage)
    assert {config_of(s).account for s in STAGES} == set(owners)
    assert all(len(stages) == 1 for stages in owners.values()), owners


@pytest.mark.parametrize("stage", DETECTORS)
def test_guardduty_monitors_fargate_tasks_at_runtime(synthesized: Synthesized, stage: str) -> None:
    _, detector = only(synthesized, stage, "AWS::GuardDuty::Detector")
    props = detector["Properties"]
    assert props["Enable"] is True
    s3, runtime = props["Features"]
    assert s3 == {"Name": S3_DATA_EVENTS, "Status": "ENABLED"}
    assert runtime["Name"] == RUNTIME_MONITORING
    assert runtime["Status"] == "ENABLED"
    assert runtime["AdditionalConfiguration"] == [{"Name": FARGATE_AGENT_MANAGEMENT, "Status": "ENABLED"}]
    # CloudFormation refuses DataSources beside Features.
    assert "DataSources" not in props
    expected = "Retain" if config_of(stage).is_production else "Delete"
    assert detector["DeletionPolicy"] == expected
    assert "GuardDutyDetectorId" in audit(synthesized, stage)["Outputs"]


@pytest.mark.parametrize("stage", NO_DETECTOR)
def test_no_detector_unless_asked(synthesized: Synthesized, stage: str) -> None:
    """``off``, or the id of the account's existing detector (a second one would fail)."""
    assert not synthesized.resources(f"{stage}/Audit", "AWS::GuardDuty::Detector")


WATCHED_BY_GUARDDUTY = [s for s in OWNERS if config_of(s).audit.guardduty != "off"]


@pytest.mark.parametrize("stage", WATCHED_BY_GUARDDUTY)
def test_high_severity_findings_page_the_security_topic(synthesized: Synthesized, stage: str) -> None:
    path = f"{stage}/Audit"
    topic_id, _ = ending(synthesized, path, "/SecurityTopic/Topic/Resource", "AWS::SNS::Topic")
    rule_id, rule = only(synthesized, stage, "AWS::Events::Rule")
    props = rule["Properties"]
    assert props["EventPattern"] == {
        "source": ["aws.guardduty"],
        "detail-type": ["GuardDuty Finding"],
        "detail": {"severity": [{"numeric": [">=", 7]}]},
    }
    assert props["Targets"] == [{"Id": "SecurityTopic", "Arn": ref(topic_id)}]
    # Only this rule may publish, and EventBridge may use the topic's key.
    (policy,) = synthesized.resources(path, "AWS::SNS::TopicPolicy").values()
    (publish,) = [
        s
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        if s.get("Sid") == "AllowTheFindingsRule"
    ]
    assert publish["Principal"] == {"Service": "events.amazonaws.com"}
    assert publish["Condition"] == {"ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": [rule_id, "Arn"]}}}
    _, key = ending(synthesized, path, "/SecurityTopic/TopicKey/Resource", "AWS::KMS::Key")
    (use,) = [
        s
        for s in key["Properties"]["KeyPolicy"]["Statement"]
        if s.get("Principal") == {"Service": "events.amazonaws.com"}
    ]
    assert sorted(use["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey*"]
    # SNS's guide: aws:SourceAccount/SourceArn/SourceOrgID in a key policy are not supported for
    # EventBridge-to-encrypted topics (the statement would never match); the data key's
    # encryption context, this account's topics, scopes it instead.
    assert "aws:Source" not in json.dumps(use.get("Condition", {}))
    config = config_of(stage)
    this_accounts_topics = f"arn:aws:sns:{config.region}:{config.account}:*"
    assert use["Condition"] == {
        "StringLike": {"kms:EncryptionContext:aws:sns:topicArn": this_accounts_topics}
    }
    # A finding EventBridge cannot deliver raises an alarm of its own.
    (failures,) = [
        a["Properties"]
        for a in synthesized.resources(path, "AWS::CloudWatch::Alarm").values()
        if a["Properties"]["MetricName"] == "FailedInvocations"
    ]
    assert failures["Dimensions"] == [{"Name": "RuleName", "Value": ref(rule_id)}]
    assert failures["AlarmActions"] == [ref(topic_id)]
