"""Per-template results of a rule set, kept by the content they judged.

The Control Tower rules and CDK's CloudFormation validation judge each template on its own:
the violations of a template follow from its bytes, its stack's account and region, and the
rule set (the plugin's version and the code that runs it). A result is kept under the SHA-256
of exactly those, so a template whose bytes did not change since the last run on this machine
(``touch app.py``, or a change to one stack that leaves the others' templates as they were) is
not judged again, and any change to it, to the rules or to how they run, is.

Honest only on a warm tree: CI starts from a clean clone, with no cache, and judges every
template. The cache lives in ``.cache/scan-results/`` (git-ignored; ``make clean`` removes it);
``OUTPOST_SCAN_CACHE=off`` turns it off, ``OUTPOST_SCAN_CACHE=<dir>`` moves it.

Every result is normalised to one violation per rule and template (a run over several
templates lists a rule once with resources of several), so a run gives the same result
whatever came from the cache.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent.parent
DEFAULT_DIR = ROOT / ".cache" / "scan-results"
_HERE = "<template>"  # a cached violation's template path, put back on reading


def cache_dir() -> Path | None:
    """Where results are kept, or None when ``OUTPOST_SCAN_CACHE=off``."""
    setting = os.environ.get("OUTPOST_SCAN_CACHE", "")
    if setting.lower() in ("off", "0", "false", "no"):
        return None
    return Path(setting) if setting else DEFAULT_DIR


def per_template(violations: Sequence[Mapping[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """The violations split by template (resolved path): one entry per rule and template."""
    found: dict[str, list[dict[str, Any]]] = {}
    for violation in violations:
        by_template: dict[str, list[Mapping[str, Any]]] = {}
        for resource in violation.get("violatingResources", []):
            by_template.setdefault(str(Path(resource["templatePath"]).resolve()), []).append(resource)
        for template, resources in by_template.items():
            found.setdefault(template, []).append({**violation, "violatingResources": resources})
    return found


def key(template: Path, rules: str, extra: str = "") -> str:
    digest = hashlib.sha256()
    for part in (rules.encode(), extra.encode(), template.read_bytes()):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def _relocated(value: Any, old: str, new: str) -> Any:
    """``value`` with every ``templatePath`` equal to ``old`` replaced by ``new``."""
    if isinstance(value, dict):
        return {
            k: (new if k == "templatePath" and v == old else _relocated(v, old, new))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_relocated(v, old, new) for v in value]
    return value


class Judged:
    """The results of ``rules`` over ``templates``: those kept in ``directory`` (default
    ``cache_dir()``) read at once, the ``missing`` ones added by ``add`` after a run over them.
    ``rules`` names the rule set and how it runs; ``extra`` what else of a template its result
    depends on (its account and region)."""

    def __init__(
        self,
        templates: Sequence[Path],
        *,
        rules: str,
        extra: Callable[[Path], str] = lambda _: "",
        directory: Path | None = None,
    ) -> None:
        self.templates = [str(t.resolve()) for t in templates]
        self._dir = directory if directory is not None else cache_dir()
        self._keys = {str(t.resolve()): key(t, rules, extra(t)) for t in templates}
        self._found: dict[str, list[dict[str, Any]]] = {}
        self.missing: list[Path] = []
        for template in templates:
            resolved = str(template.resolve())
            kept = self._dir / f"{self._keys[resolved]}.json" if self._dir else None
            if kept is not None and kept.exists():
                self._found[resolved] = _relocated(json.loads(kept.read_text()), _HERE, resolved)
            else:
                self.missing.append(template)

    def add(self, result: Mapping[str, Any]) -> None:
        """A run's result over ``missing``: kept, and part of ``result()``."""
        fresh = per_template(result.get("violations", []))
        for template in self.missing:
            resolved = str(template.resolve())
            self._found[resolved] = fresh.get(resolved, [])
            if self._dir is not None:
                self._dir.mkdir(parents=True, exist_ok=True)
                partial = self._dir / f"{self._keys[resolved]}.json.{os.getpid()}"
                partial.write_text(json.dumps(_relocated(self._found[resolved], resolved, _HERE)))
                partial.replace(self._dir / f"{self._keys[resolved]}.json")
        self.missing = []

    def result(self) -> dict[str, Any]:
        """``{"success", "violations"}`` over every template, as one run over them would say."""
        violations = [v for template in self.templates for v in self._found[template]]
        return {"success": not violations, "violations": violations}


def read_kept(key_: str, directory: Path | None = None) -> Any | None:
    """What ``keep`` stored under ``key_`` (in ``directory``, default ``cache_dir()``), or None."""
    where = directory if directory is not None else cache_dir()
    path = where / f"{key_}.json" if where is not None else None
    return json.loads(path.read_text()) if path is not None and path.exists() else None


def keep(key_: str, value: Any, directory: Path | None = None) -> None:
    """Store ``value`` under ``key_`` (nothing when the cache is off); written whole or not at all."""
    where = directory if directory is not None else cache_dir()
    if where is None:
        return
    where.mkdir(parents=True, exist_ok=True)
    partial = where / f"{key_}.json.{os.getpid()}"
    partial.write_text(json.dumps(value))
    partial.replace(where / f"{key_}.json")
