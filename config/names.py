"""How the app names things: an environment's resources, and ids made from a setting's name.

Every fixed name of an environment's resources starts with ``outpost-<env>`` (or
``outpost/<env>/`` where AWS names are paths: secrets, log groups), so two environments in one
account never choose the same one and IAM can name a resource before it exists.
"""

from __future__ import annotations

import re

PREFIX = "outpost"


def resource_name(env_name: str, *parts: str, separator: str = "-") -> str:
    """``resource_name("prod", "audit")`` -> ``outpost-prod-audit``; ``resource_name("prod")`` ->
    ``outpost-prod``; ``resource_name("prod", "github-token", separator="/")`` ->
    ``outpost/prod/github-token``."""
    return separator.join((PREFIX, env_name, *parts))


def pascal(name: str) -> str:
    """A construct or output id from a name: ``control-plane`` -> ``ControlPlane``, ``warm_pool``
    -> ``WarmPool``, ``ecr.api`` -> ``EcrApi``, ``claude`` -> ``Claude``."""
    return "".join(part.capitalize() for part in re.split(r"[-_.]", name))
