"""What every small Lambda function of the app in the VPC needs, and nothing more."""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs

from constructs import Construct


def vpc_function_statements(
    scope: Construct,
    *,
    dead_letter_queue: sqs.IQueue,
    dead_letter_key: kms.IKey,
    log_group: logs.ILogGroup,
) -> list[iam.PolicyStatement]:
    """Dead-letter its failed events, write its own logs, send traces, run in the VPC.

    X-Ray and the network-interface calls have no resource-level permission (hence ``*``,
    acknowledged where each function's policy is made); everything else names its resource.
    """
    region = Stack.of(scope).region
    return [
        iam.PolicyStatement(
            sid="DeadLetterFailedEvents",
            actions=["sqs:SendMessage"],
            resources=[dead_letter_queue.queue_arn],
        ),
        iam.PolicyStatement(
            sid="UseTheDeadLetterKeyThroughSqs",
            actions=["kms:Decrypt", "kms:GenerateDataKey"],
            resources=[dead_letter_key.key_arn],
            conditions={"StringEquals": {"kms:ViaService": f"sqs.{region}.amazonaws.com"}},
        ),
        iam.PolicyStatement(
            sid="WriteItsLogs",
            actions=["logs:CreateLogStream", "logs:PutLogEvents"],
            resources=[log_group.log_group_arn],
        ),
        iam.PolicyStatement(
            sid="UploadTraces",
            actions=["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
            resources=["*"],
        ),
        iam.PolicyStatement(
            sid="RunInTheVpc",
            actions=[
                "ec2:CreateNetworkInterface",
                "ec2:DescribeNetworkInterfaces",
                "ec2:DescribeSubnets",
                "ec2:DeleteNetworkInterface",
                "ec2:AssignPrivateIpAddresses",
                "ec2:UnassignPrivateIpAddresses",
            ],
            resources=["*"],
        ),
    ]
