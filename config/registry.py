"""Settings of the Registry stack: where images live and how long they are kept."""

from __future__ import annotations

from dataclasses import dataclass

from config.errors import ConfigError
from config.reader import Section
from config.schema import Group, integer, string, strings

AGENTS: tuple[str, ...] = ("claude", "codex", "gemini", "aider", "grok")
# One repository per image: the shared agent base, the five agents, the control plane, and the
# credential-injecting proxy that runs beside every agent (docs/credentials.md).
CREDENTIAL_PROXY_IMAGE = "credential-proxy"
IMAGES: tuple[str, ...] = ("base", *AGENTS, "control-plane", CREDENTIAL_PROXY_IMAGE)

# ECR repository names: lower-case path segments of letters and digits joined by . _ -
_REPOSITORY_PREFIX = r"[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*"
MAX_REPOSITORY_NAME = 256

REGISTRY = Group(
    "registry",
    "The Registry stack: where images live and how long they are kept.",
    (
        string(
            "repository_prefix",
            "repositories are `<prefix>/<image>` (e.g. `outpost-prod/claude`)",
            pattern=_REPOSITORY_PREFIX,
            pattern_rule="must be lower-case letters and digits, joined by . _ - or /",
            rules=(
                f"repository names at most {MAX_REPOSITORY_NAME} characters",
                "not another environment's in the same account and region",
            ),
        ),
        integer("keep_tagged_images", "tagged images kept per repository", minimum=1, maximum=1000),
        integer("untagged_expiry_days", "untagged images expire after this many days", minimum=1, maximum=30),
        strings(
            "existing_repositories",
            "images whose repository already exists (kept when the environment's stacks were destroyed): "
            "the Registry stack references it by name instead of creating it, and no longer manages "
            "its lifecycle policy or scan setting (docs/rehearsal.md, *Rebuild a development environment*)",
            default=[],
            choices=IMAGES,
            rules=(
                "only for a rebuild; a live environment keeps `[]` (the repositories would leave its stack)",
            ),
        ),
    ),
)


@dataclass(frozen=True)
class RegistryConfig:
    repository_prefix: str
    keep_tagged_images: int
    untagged_expiry_days: int
    # Images whose repository exists already and is referenced, not created (a rebuild).
    existing_repositories: tuple[str, ...] = ()

    def repository_name(self, image: str) -> str:
        """``outpost-prod/claude``: the stable name CI pushes to."""
        return f"{self.repository_prefix}/{image}"


def parse_registry(section: Section) -> RegistryConfig:
    prefix = section.string("repository_prefix")
    longest = max(len(image) for image in IMAGES)
    if len(prefix) + 1 + longest > MAX_REPOSITORY_NAME:
        raise ConfigError(
            section.key("repository_prefix"),
            prefix,
            f"makes repository names over {MAX_REPOSITORY_NAME} characters",
        )
    config = RegistryConfig(
        repository_prefix=prefix,
        keep_tagged_images=section.integer("keep_tagged_images"),
        untagged_expiry_days=section.integer("untagged_expiry_days"),
        existing_repositories=section.strings("existing_repositories"),
    )
    section.done()
    return config
