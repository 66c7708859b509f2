"""The one way this app runs a container: Linux, non-root, read-only root, no capabilities.

Both the agents' tasks and the control plane's essential container is a
:class:`HardenedContainer`: the image from its ECR repository at a fixed tag, a hard memory
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


class HardenedContainer(ecs.ContainerDefinition):
    """The essential container of ``task_definition``, made as ``add_container`` makes one (a
    child of the task definition, so its path and every reference to it are the same).

    ``scratch`` maps volume names of the task definition to writable paths (the root
    filesystem is read-only); ``mounts`` are mounted after them. Its ``LinuxParameters``
    (every capability dropped; no resource of its own) is ``<construct_id>Linux`` beside it.
    """

    def __init__(
        self,
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
    ) -> None:
        linux_parameters = ecs.LinuxParameters(task_definition, f"{construct_id}Linux")
        linux_parameters.drop_capabilities(ecs.Capability.ALL)
        super().__init__(
            task_definition,
            construct_id,
            task_definition=task_definition,
            # A hard limit, the task's size: the container cannot take more (CT.ECS.PR.7).
            memory_limit_mib=memory,
            container_name=container_name,
            image=ecs.ContainerImage.from_ecr_repository(repository, image_tag),
            essential=True,
            user=user,
            readonly_root_filesystem=True,
            linux_parameters=linux_parameters,
            logging=ecs.LogDrivers.aws_logs(stream_prefix=stream_prefix, log_group=log_group),
            **options,
        )
        self.add_mount_points(
            *(
                ecs.MountPoint(source_volume=volume, container_path=path, read_only=False)
                for volume, path in scratch.items()
            ),
            *mounts,
        )
