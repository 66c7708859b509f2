"""``cdk.json`` as the app reads it: no key written twice, no ``outpost:*`` context key we do not read.

JSON lets an object repeat a key and keeps the last copy without a word (so a duplicated
environment block silently replaced the first one); and the CDK CLI hands the app every
``-c key=value`` it is given, read or not (so ``-c outpost:prod:acount=...`` changed nothing,
silently). Both are refused here with one line.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from config.environment import CONTEXT_KEY, account_override_key
from config.errors import ConfigError
from config.ingress import certificate_override_key

ONLY_KEY = f"{CONTEXT_KEY}:only"
# The per-environment context keys the app reads: -c outpost:<env>:<name>=...
OVERRIDES = {"account": account_override_key, "certificate_arn": certificate_override_key}


class _Pairs(list[tuple[str, Any]]):
    """A JSON object's members in the order written, duplicates kept (``object_pairs_hook``)."""


def read_cdk_json(path: Path) -> dict[str, Any]:
    """The whole of ``cdk.json``; a key written twice in one object is a ``ConfigError``."""
    try:
        text = path.read_text()
    except OSError as err:
        raise ConfigError(str(path), None, f"cannot be read: {err.strerror}") from None
    try:
        document = json.loads(text, object_pairs_hook=_Pairs)
    except json.JSONDecodeError as err:
        raise ConfigError(str(path), None, f"is not JSON: {err}") from None
    result = _unique(document, "")
    if not isinstance(result, dict):
        raise ConfigError(str(path), None, "must hold a JSON object")
    context = result.get("context")
    if isinstance(context, dict):
        check_no_nulls(context.get(CONTEXT_KEY))
    return result


def read_context(path: Path) -> dict[str, Any]:
    """The ``context`` of ``cdk.json`` (what the CDK CLI passes to the app, before ``-c``)."""
    context = read_cdk_json(path).get("context")
    if not isinstance(context, dict):
        raise ConfigError(f"{path}: context", context, "must be an object")
    return context


def check_no_nulls(value: Any, path: str = CONTEXT_KEY) -> None:
    """No ``null`` in the settings: the CDK drops such a key from the context the app reads, so
    ``"alarm_email": null`` would not mean "none" but "not written" (the default applies)."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            if item is None:
                raise ConfigError(
                    f"{path}.{key}",
                    None,
                    "null reads as not written (the CDK drops null from the app's context, so a default "
                    "would apply): leave the key out, or write a value",
                )
            check_no_nulls(item, f"{path}.{key}")


def _unique(value: Any, path: str) -> Any:
    if isinstance(value, list) and not isinstance(value, _Pairs):
        return [_unique(item, f"{path}[{i}]") for i, item in enumerate(value)]
    if not isinstance(value, _Pairs):
        return value
    result: dict[str, Any] = {}
    for key, item in value:
        # Keys under "context" are named as the settings name them ("outpost.environments.dev").
        where = key if path in ("", "context") else f"{path}.{key}"
        if key in result:
            raise ConfigError(
                where,
                _shown(item),
                "is written twice in cdk.json (JSON keeps the last copy and drops the first without a "
                "word): keep one",
            )
        result[key] = _unique(item, where)
    return result


def _shown(value: Any) -> Any:
    return "{...}" if isinstance(value, _Pairs) else value


def check_context_keys(context: Mapping[str, Any], environments: Iterable[str]) -> None:
    """Every ``outpost:*`` key in ``context`` is one the app reads, for a configured environment.

    The app sees all of its context (cdk.json's own, the CDK's feature flags, every ``-c``);
    only the keys under our prefix are ours to judge.
    """
    names = list(environments)
    known = [ONLY_KEY, *(key_of(name) for name in names for key_of in OVERRIDES.values())]
    for key in context:
        if not key.startswith(f"{CONTEXT_KEY}:") or key in known:
            continue
        parts = key.split(":")
        if len(parts) == 3 and parts[2] in OVERRIDES and parts[1] not in names:
            rule = f"{parts[1]} is not a configured environment ({', '.join(names)})"
        else:
            close = difflib.get_close_matches(key, known, n=1)
            hint = f": did you mean {close[0]}?" if close else ""
            rule = (
                f"is not a context key the app reads ({ONLY_KEY}, {CONTEXT_KEY}:<env>:account, "
                f"{CONTEXT_KEY}:<env>:certificate_arn){hint}"
            )
        raise ConfigError(key, context[key], rule)
