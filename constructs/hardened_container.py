"""The one way this app runs a container: Linux, non-root, read-only root, no capabilities.

Both the agents' tasks and the control plane's add their container with
``add_hardened_container``: the image from its ECR repository at a fixed tag, a hard memory
limit, every Linux capability dropped, a read-only root filesystem with writable scratch
volumes mounted on it, and logs to a KMS-encrypted group. What differs (ports, environment,
secrets, health check, stop timeout) is passed through as container options.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_logs as logs

from constructs import Construct

ARM64_LINUX = ecs.RuntimePlatform(
    cpu_architecture=ecs.CpuArchitecture.ARM64,
    operating_system_family=ecs.OperatingSystemFamily.LINUX,
)


def linux(architecture: str) -> ecs.RuntimePlatform:
    """Fargate's Linux platform on ``ARM64`` or ``X86_64`` (``config.service.ARCHITECTURES``)."""
    return ecs.RuntimePlatform(
        cpu_architecture=ecs.CpuArchitecture.of(architecture),
        operating_system_family=ecs.OperatingSystemFamily.LINUX,
    )


def add_hardened_container(
    scope: Construct,
    task_definition: ecs.TaskDefinition,
    construct_id: str,
    *,
    container_name: str,
    memory: int,
    repository: ecr.IRepository,
    image_tag: str,
    user: str,
    log_group: logs.ILogGroup,
    stream_prefix: str,
    scratch: Mapping[str, str],
    mounts: Sequence[ecs.MountPoint] = (),
    **options: Any,
) -> ecs.ContainerDefinition:
    """Add the essential container of ``task_definition``; its ``LinuxParameters`` is ``<scope>/Linux``.

    ``scratch`` maps volume names of the task definition to writable paths (the root
    filesystem is read-only); ``mounts`` are mounted after them.
    """
    linux = ecs.LinuxParameters(scope, "Linux")
    linux.drop_capabilities(ecs.Capability.ALL)
    container = task_definition.add_container(
        construct_id,
        # A hard limit, the task's size: the container cannot take more (CT.ECS.PR.7).
        memory_limit_mib=memory,
        container_name=container_name,
        image=ecs.ContainerImage.from_ecr_repository(repository, image_tag),
        essential=True,
        user=user,
        readonly_root_filesystem=True,
        linux_parameters=linux,
        logging=ecs.LogDrivers.aws_logs(stream_prefix=stream_prefix, log_group=log_group),
        **options,
    )
    container.add_mount_points(
        *(
            ecs.MountPoint(source_volume=volume, container_path=path, read_only=False)
            for volume, path in scratch.items()
        ),
        *mounts,
    )
    return container
