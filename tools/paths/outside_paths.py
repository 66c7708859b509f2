"""Calls from outside the VPC: alarms, budgets, GuardDuty findings and CloudTrail delivering
to this platform's topics, bucket and log group; CI's roles deploying and diffing."""

from __future__ import annotations

from tools.paths.terms import (
    ALARMS,
    BUDGETS,
    CI_DEPLOY,
    CI_DIFF,
    CLOUDTRAIL,
    CLOUDTRAIL_LOGS,
    EVENTS,
    GITHUB,
    REFUSED_BY_IAM,
    TLS,
    Call,
    Path,
    Route,
)

# The encryption context of every data key SNS asks KMS for on an encrypted topic.
SNS_DATA_KEY = {"kms:EncryptionContext:aws:sns:topicArn": "{topic}"}

AUDIT_AND_ALARM_PATHS: tuple[Path, ...] = (
    Path(
        ALARMS,
        "notifies the on-call topic when an alarm changes state",
        Route("none"),
        (
            Call(
                "sns:Publish",
                "{alarm_topic}",
                {"aws:SourceArn": "{alarm}", "aws:SourceAccount": "{account}", **TLS},
            ),
            Call("kms:GenerateDataKey", "{alarm_topic_key}", {"aws:SourceAccount": "{account}"}),
            Call("kms:Decrypt", "{alarm_topic_key}", {"aws:SourceAccount": "{account}"}),
        ),
        "0 (per state change)",
        "the alarm's AlarmActions (each alarm)",
        each="alarm",
    ),
    Path(
        EVENTS,
        "publishes a GuardDuty finding to the security topic",
        Route("none"),
        (
            Call(
                "sns:Publish",
                "{topic}",
                {"aws:SourceArn": "{rule}", "aws:SourceAccount": "{account}", **TLS},
            ),
            # SNS asks KMS on EventBridge's behalf with no aws:Source* keys (SNS developer guide,
            # "Configuring AWS KMS permissions": not supported for EventBridge-to-encrypted
            # topics), only the data key's encryption context, the topic's ARN.
            Call("kms:GenerateDataKey", "{topic_key}", SNS_DATA_KEY),
            Call("kms:Decrypt", "{topic_key}", SNS_DATA_KEY),
        ),
        "0 (per finding)",
        "Audit/GuardDutyFindings rule (where GuardDuty is on)",
        each="guardduty_rule",
    ),
    Path(
        BUDGETS,
        "notifies the topic when a budget threshold is crossed",
        Route("none"),
        (
            Call(
                "sns:Publish",
                "{topic}",
                {"aws:SourceArn": "{budget}", "aws:SourceAccount": "{account}", **TLS},
            ),
            Call("kms:GenerateDataKey", "{topic_key}", {"aws:SourceAccount": "{account}"}),
            Call("kms:Decrypt", "{topic_key}", {"aws:SourceAccount": "{account}"}),
        ),
        "0 (per threshold)",
        "Alerts/Budget",
        each="budget",
    ),
    Path(
        CLOUDTRAIL,
        "delivers log files to the audit bucket, encrypted with the audit key",
        Route("none"),
        (
            Call(
                "s3:GetBucketAcl",
                "{trail_bucket}",
                {"aws:SourceArn": "{trail}", "aws:SourceAccount": "{account}"},
            ),
            Call(
                "s3:PutObject",
                "{trail_object}",
                {
                    "aws:SourceArn": "{trail}",
                    "aws:SourceAccount": "{account}",
                    "s3:x-amz-acl": "bucket-owner-full-control",
                    **TLS,
                },
            ),
            Call(
                "kms:GenerateDataKey",
                "{trail_key}",
                {"aws:SourceArn": "{trail}", "kms:EncryptionContext:aws:cloudtrail:arn": "{trail}"},
            ),
        ),
        "0 (every few minutes)",
        "Audit/AuditTrail",
    ),
    Path(
        CLOUDTRAIL_LOGS,
        "sends events to the trail's log group",
        Route("none"),
        (
            Call("logs:CreateLogStream", "{trail_log_stream}"),
            Call("logs:PutLogEvents", "{trail_log_stream}"),
        ),
        "0 (continuous)",
        "Audit/AuditTrail CloudWatchLogsRoleArn",
    ),
)


CI_PATHS: tuple[Path, ...] = (
    Path(
        GITHUB,
        "a job in the environment's GitHub environment gets the deploy role",
        Route("none"),
        (
            Call(
                "sts:AssumeRoleWithWebIdentity",
                "{ci_deploy_role}",
                {
                    "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
                    "token.actions.githubusercontent.com:sub": "{environment_subject}",
                },
            ),
        ),
        "0 (per deploy)",
        "constructs/github_oidc.py",
    ),
    Path(
        CI_DEPLOY,
        "assumes the CDK bootstrap roles to deploy",
        Route("none"),
        (
            Call("sts:AssumeRole", "{bootstrap_deploy_role}"),
            Call("sts:AssumeRole", "{bootstrap_file_publishing_role}"),
        ),
        "0 (per deploy)",
        "constructs/github_oidc.py",
    ),
    Path(
        GITHUB,
        "a pull request's job gets the diff role",
        Route("none"),
        (
            Call(
                "sts:AssumeRoleWithWebIdentity",
                "{ci_diff_role}",
                {
                    "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
                    "token.actions.githubusercontent.com:sub": "{pull_request_subject}",
                },
            ),
        ),
        "0 (per pull request)",
        "constructs/github_oidc.py",
    ),
    Path(
        CI_DIFF,
        "reads its environment's own stacks and templates to diff",
        Route("none"),
        (
            Call("cloudformation:DescribeStacks", "{own_stack}"),
            Call("cloudformation:GetTemplate", "{own_stack}"),
        ),
        "0 (per pull request)",
        "constructs/github_oidc.py, docs/pull-request-diffs.md",
    ),
    Path(
        CI_DIFF,
        "assumes the CDK lookup role (ReadOnlyAccess: logs, task definitions, function code)",
        Route("none"),
        (Call("sts:AssumeRole", "{bootstrap_lookup_role}"),),
        "never",
        "docs/pull-request-diffs.md: a pull request runs its own code",
        expect=REFUSED_BY_IAM,
    ),
    Path(
        CI_DIFF,
        "reads a stack that is not its environment's (the bootstrap stack)",
        Route("none"),
        (Call("cloudformation:GetTemplate", "{bootstrap_stack}"),),
        "never",
        "constructs/github_oidc.py: <Stage>-* stacks only",
        expect=REFUSED_BY_IAM,
    ),
    Path(
        GITHUB,
        "a pull request's job gets the deploy role",
        Route("none"),
        (
            Call(
                "sts:AssumeRoleWithWebIdentity",
                "{ci_deploy_role}",
                {
                    "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
                    "token.actions.githubusercontent.com:sub": "{pull_request_subject}",
                },
            ),
        ),
        "never",
        "constructs/github_oidc.py",
        expect=REFUSED_BY_IAM,
    ),
    Path(
        CI_DIFF,
        "assumes the CDK deploy role",
        Route("none"),
        (Call("sts:AssumeRole", "{bootstrap_deploy_role}"),),
        "never",
        "constructs/github_oidc.py",
        expect=REFUSED_BY_IAM,
    ),
)
