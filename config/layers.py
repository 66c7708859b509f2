"""An environment's settings: ``outpost.defaults`` with the environment's own block over it.

Objects merge key by key; anything else (a number, a string, a list) written in the
environment replaces the default whole. The merged objects remember where each key was
written, so an error names the line a user has to change: the environment's, or the
default's when the environment inherited it.

``null`` is not a value here: the CDK drops every key whose value is null from the context
it hands the app, so such a key reads as not written (and ``config/context.py`` refuses it in
``cdk.json``, where it would look like "none" and be the default).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from config.errors import ConfigError


class Written(dict[str, Any]):
    """A merged object: its keys and values, and where each key was written (a dotted path)."""

    where: dict[str, str]

    def __init__(self, items: Mapping[str, Any], where: Mapping[str, str]) -> None:
        super().__init__(items)
        self.where = dict(where)


def merge(base: Any, base_path: str, over: Any, over_path: str) -> Any:
    """``over`` on top of ``base``: objects key by key, anything else replaced whole."""
    if isinstance(over, Mapping) and base is not None and not isinstance(base, Mapping):
        # An object over something else: the default would vanish unnoticed. Settings that are
        # objects are objects everywhere.
        raise ConfigError(base_path, base, f"must be an object, as {over_path} is")
    if not isinstance(over, Mapping) or not isinstance(base, Mapping):
        return located(over, over_path)
    items: dict[str, Any] = {}
    where: dict[str, str] = {}
    for key, value in base.items():
        if value is None:
            continue
        items[key] = located(value, f"{base_path}.{key}")
        where[key] = f"{base_path}.{key}"
    for key, value in over.items():
        if value is None:
            continue
        if key in items:
            items[key] = merge(base[key], f"{base_path}.{key}", value, f"{over_path}.{key}")
        else:
            items[key] = located(value, f"{over_path}.{key}")
        where[key] = f"{over_path}.{key}"
    return Written(items, where)


def located(value: Any, path: str) -> Any:
    """``value`` as written at ``path``: every object in it knows where its keys are."""
    if not isinstance(value, Mapping):
        return value
    return Written(
        {key: located(item, f"{path}.{key}") for key, item in value.items() if item is not None},
        {key: f"{path}.{key}" for key, item in value.items() if item is not None},
    )


def plain(value: Any) -> Any:
    """The merged settings as plain JSON values (what an environment amounts to)."""
    if isinstance(value, Mapping):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value
