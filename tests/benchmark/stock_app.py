#!/usr/bin/env python3
"""The stock app ``cdk synth`` of this project is measured against (tests/benchmark/synth_ratio.py).

What a CDK user writes from the library's own patterns, with nothing of this project: one
``ApplicationLoadBalancedFargateService``, an ECR repository and a CloudTrail trail, in one
stack, with the same six cdk-nag packs registered the same way (``Validations.add_plugins``)
and CDK's built-in CloudFormation validation off, as this app has it (it runs after synth).
Run by the CDK CLI: ``cdk synth --app '.venv/bin/python tests/benchmark/stock_app.py'``.
With ``--empty`` the stack holds nothing: the same start-up, packs and synth of an empty tree,
the fixed cost every app pays before its first resource. With ``--copies=N`` the app holds N
such stacks: the stock app grown to another app's size.
"""

import contextlib
import sys

import aws_cdk as cdk
from aws_cdk import aws_cloudtrail as cloudtrail
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_ecs_patterns as ecs_patterns
from cdk_nag import (
    AwsSolutionsChecks,
    HIPAASecurityChecks,
    NIST80053R4Checks,
    NIST80053R5Checks,
    PCIDSS321Checks,
    ServerlessChecks,
)

# The availability zones a first `cdk synth` would look up and keep in cdk.context.json. Without
# them the CLI tries the lookup (AWS credentials, the network) and, offline, synthesizes the app a
# second time: the stock app measured twice per run, as it was until this was found.
AZ_CONTEXT = {
    "availability-zones:account=111111111111:region=us-east-1": ["us-east-1a", "us-east-1b", "us-east-1c"]
}


def stock_stack(scope: cdk.App, name: str) -> None:
    """One stack of the stock app: the pattern, a repository and a trail."""
    stack = cdk.Stack(scope, name, env=cdk.Environment(account="111111111111", region="us-east-1"))
    vpc = ec2.Vpc(stack, "Vpc", availability_zones=["us-east-1a", "us-east-1b"], nat_gateways=1)
    repository = ecr.Repository(stack, "Repository", image_tag_mutability=ecr.TagMutability.IMMUTABLE)
    ecs_patterns.ApplicationLoadBalancedFargateService(
        stack,
        "Service",
        vpc=vpc,
        task_image_options=ecs_patterns.ApplicationLoadBalancedTaskImageOptions(
            image=ecs.ContainerImage.from_ecr_repository(repository, "1.0.0"), container_port=3000
        ),
    )
    cloudtrail.Trail(stack, "Trail")


app = cdk.App(builtin_cloud_formation_validation=False, context=AZ_CONTEXT)
if "--empty" in sys.argv:
    cdk.Stack(app, "Stock", env=cdk.Environment(account="111111111111", region="us-east-1"))
else:
    copies = next((int(a.split("=", 1)[1]) for a in sys.argv if a.startswith("--copies=")), 1)
    for copy in range(1, copies + 1):
        stock_stack(app, "Stock" if copy == 1 else f"Stock{copy}")
cdk.Validations.of(app).add_plugins(
    *(
        pack(app)
        for pack in (
            AwsSolutionsChecks,
            HIPAASecurityChecks,
            NIST80053R4Checks,
            NIST80053R5Checks,
            PCIDSS321Checks,
            ServerlessChecks,
        )
    )
)
# The packs find things in the stock app; the synth's work is done all the same (as in app.py).
with contextlib.suppress(RuntimeError):
    app.synth()
