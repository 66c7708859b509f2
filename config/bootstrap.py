"""``service.control_plane.bootstrap: true``: right for a first deploy, an outage on a running one.

With it the control-plane service is synthesized with 0 tasks and its scaling pinned at 0, so
a first deploy into an empty registry does not wait for images that are not pushed yet. The
same template deployed onto a running environment stops every control-plane task: the API
answers 503 until the next deploy. So synth warns, and ``make deploy`` asks first.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from config.environment import EnvironmentConfig, environment_path

# The variable `make deploy` reads when no one is at a terminal (CI): the environment's name.
CONFIRM_VARIABLE = "CONFIRM_BOOTSTRAP"


def bootstrap_warnings(environments: Iterable[EnvironmentConfig]) -> list[str]:
    """One line per environment synthesized with ``bootstrap: true``."""
    return [
        f"warning: {environment_path(env.name)}.service.control_plane.bootstrap = true: the "
        f"{env.kind} control-plane service is synthesized with 0 tasks and scaling pinned at 0; "
        "deployed onto a running environment that is an outage (the API stops until the next deploy). "
        "Only for the first deploy into an empty registry; set it back to false after it."
        for env in environments
        if env.service.control_plane.bootstrap
    ]


def confirm_bootstrap(
    env: EnvironmentConfig, *, confirmation: str, ask: Callable[[str], str] | None
) -> tuple[bool, str | None]:
    """(go ahead?, a line to print) for ``make deploy ENV=<env>``, after its warning is printed.

    Nothing to confirm without ``bootstrap: true``. With it: ``confirmation`` (``CONFIRM_BOOTSTRAP``)
    equal to the environment's name goes ahead; else ``ask`` (a terminal's prompt) must be
    answered with the name; with no terminal, it stops.
    """
    if not env.service.control_plane.bootstrap:
        return True, None
    if confirmation == env.name:
        return True, f"confirmed by {CONFIRM_VARIABLE}={env.name}"
    if confirmation:
        return False, (
            f"config error: {CONFIRM_VARIABLE} = {confirmation!r}: must be the environment's name "
            f"({env.name}) to confirm a deploy with bootstrap: true"
        )
    if ask is None:
        return False, (
            f"config error: {environment_path(env.name)}.service.control_plane.bootstrap = true: "
            f"not deployed unconfirmed; make asks at a terminal, elsewhere set {CONFIRM_VARIABLE}={env.name}"
        )
    if ask(f"Type {env.name} to deploy it with bootstrap: true (anything else stops): ").strip() == env.name:
        return True, None
    return False, "not deployed: bootstrap: true was not confirmed"
