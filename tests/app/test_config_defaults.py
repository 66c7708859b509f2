"""Settings by difference: ``outpost.defaults`` under every environment, and the page generated from them.

Objects merge key by key, lists and values are replaced whole; an error names the key where
the bad value was written (the environment's block, or the default it inherited); the strict
reader refuses unknown keys in the defaults as in an environment; a production environment
cannot inherit a value below a production floor; docs/settings.md is the code's.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from config import ConfigError, load_environments
from config.docs import PAGE, render
from config.environment import ENVIRONMENT
from config.layers import Written, merge, plain
from config.reader import Section
from config.schema import Group, Setting
from tests.environments import of_kind
from tests.settings import assert_one_clear_line, set_path
from tests.synth import ROOT, shipped_context

DEV, PROD = of_kind("development"), of_kind("production")
DEFAULTS = "outpost.defaults"


def with_default(path: str, value: Any) -> dict[str, Any]:
    context = shipped_context()
    set_path(context["outpost"]["defaults"], path, value)
    return context


def parsed(context: dict[str, Any]) -> dict[str, Any]:
    return {env.name: env for env in load_environments(context.get)}


# --- merging -----------------------------------------------------------------------------


def test_objects_merge_key_by_key_and_everything_else_is_replaced_whole() -> None:
    base = {"tags": {"Project": "p"}, "zones": ["a", "b", "c"], "n": 1, "deep": {"x": {"y": 1, "z": 2}}}
    over = {"tags": {"Team": "t"}, "zones": ["a"], "deep": {"x": {"z": 3}}}
    merged = merge(base, "d", over, "e")
    assert plain(merged) == {
        "tags": {"Project": "p", "Team": "t"},
        "zones": ["a"],
        "n": 1,
        "deep": {"x": {"y": 1, "z": 3}},
    }
    assert isinstance(merged, Written)
    assert merged.where == {"tags": "e.tags", "zones": "e.zones", "n": "d.n", "deep": "e.deep"}
    assert merged["tags"].where == {"Project": "d.tags.Project", "Team": "e.tags.Team"}
    assert merged["deep"]["x"].where == {"y": "d.deep.x.y", "z": "e.deep.x.z"}


def test_null_is_not_written() -> None:
    """The CDK drops null-valued keys from the app's context: here too, so both readers agree."""
    assert plain(merge({"email": "a@b.c", "n": 1}, "d", {"email": None}, "e")) == {"email": "a@b.c", "n": 1}


def test_a_default_reaches_every_environment_that_does_not_override_it() -> None:
    envs = parsed(with_default("ingress.idle_timeout_seconds", 120))
    assert {env.ingress.idle_timeout_seconds for env in envs.values()} == {120}
    context = with_default("ingress.idle_timeout_seconds", 120)
    set_path(context["outpost"]["environments"][DEV], "ingress.idle_timeout_seconds", 30)
    envs = parsed(context)
    assert (envs[DEV].ingress.idle_timeout_seconds, envs[PROD].ingress.idle_timeout_seconds) == (30, 120)


def test_an_environment_list_replaces_the_default_list() -> None:
    envs = parsed(shipped_context())
    defaults = shipped_context()["outpost"]["defaults"]
    assert envs[PROD].network.availability_zones == tuple(defaults["network"]["availability_zones"])
    assert len(envs[DEV].network.availability_zones) < len(defaults["network"]["availability_zones"])


def test_tags_merge_with_the_default_tags() -> None:
    envs = parsed(shipped_context())
    defaults = shipped_context()["outpost"]["defaults"]["tags"]
    for env in envs.values():
        assert set(defaults.items()) <= set(env.tags)


def test_the_shipped_environments_hold_only_their_differences() -> None:
    """No key of an environment's block repeats the value the defaults already give it."""
    outpost = shipped_context()["outpost"]

    def repeats(block: Any, base: Any, path: str) -> list[str]:
        if not isinstance(block, dict):
            return [path] if block == base else []
        if not isinstance(base, dict):
            return []
        return [p for key, value in block.items() for p in repeats(value, base.get(key), f"{path}.{key}")]

    for name, block in outpost["environments"].items():
        assert repeats(block, outpost["defaults"], name) == []


# --- where an error points ------------------------------------------------------------------


def test_a_bad_default_names_the_default_and_the_environment_that_inherited_it() -> None:
    with pytest.raises(ConfigError) as caught:
        load_environments(with_default("monitoring.cpu_percent", 5).get)
    assert_one_clear_line(caught.value, "must be at least 10", f"{DEFAULTS}.monitoring.cpu_percent")
    assert caught.value.key == f"{DEFAULTS}.monitoring.cpu_percent"
    assert "(inherited by environment " in str(caught.value)


def test_a_bad_value_in_an_environment_names_the_environment() -> None:
    context = shipped_context()
    set_path(context["outpost"]["environments"][PROD], "monitoring.cpu_percent", 5)
    with pytest.raises(ConfigError) as caught:
        load_environments(context.get)
    assert caught.value.key == f"outpost.environments.{PROD}.monitoring.cpu_percent"
    assert "inherited" not in str(caught.value)


def test_a_production_environment_cannot_inherit_a_weaker_default() -> None:
    """A default fit for development (30 days of logs) stops synth for production, naming the default."""
    context = with_default("service.log_retention_days", 30)
    with pytest.raises(ConfigError) as caught:
        load_environments(context.get, only=PROD)
    assert str(caught.value) == (
        f"{DEFAULTS}.service.log_retention_days = 30: must be at least 365 days in a production environment "
        f"(inherited by environment {PROD}: fix the default or override it in outpost.environments.{PROD})"
    )


def test_a_missing_setting_says_where_it_may_be_written() -> None:
    context = with_default("data.workspace_expiry_days", ...)
    set_path(context["outpost"]["environments"][DEV], "data.workspace_expiry_days", ...)
    with pytest.raises(ConfigError) as caught:
        load_environments(context.get, only=DEV)
    assert str(caught.value) == (
        f"outpost.environments.{DEV}.data.workspace_expiry_days = None: is required "
        "(write it in the environment or in outpost.defaults)"
    )


BAD_DEFAULTS = [
    ("network.surprise", 1, f"{DEFAULTS}.network.surprise", "is not a known setting"),
    ("colour", "blue", f"{DEFAULTS}.colour", "is not a known setting"),
    ("service.agents.mistral", {}, f"{DEFAULTS}.service.agents.mistral", "is not a known setting"),
    ("kind", "production", f"{DEFAULTS}.kind", "is set per environment"),
    ("network", [], f"{DEFAULTS}.network", "must be an object"),
    ("tags", {"aws:owner": "x"}, f"{DEFAULTS}.tags.aws:owner", "reserved"),
    ("region", "xx-fake-1", f"{DEFAULTS}.region", "must be an AWS commercial region"),
]


@pytest.mark.parametrize(("path", "value", "key", "rule"), BAD_DEFAULTS, ids=[b[0] for b in BAD_DEFAULTS])
def test_a_bad_default_is_one_clear_line(path: str, value: Any, key: str, rule: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_environments(with_default(path, value).get)
    assert_one_clear_line(caught.value, rule, key)
    assert caught.value.key == key


def test_the_defaults_must_be_an_object() -> None:
    context = shipped_context()
    context["outpost"]["defaults"] = ["us-east-1"]
    with pytest.raises(ConfigError, match=r"^outpost.defaults = \['us-east-1'\]: must be an object$"):
        load_environments(context.get)


def test_an_environment_block_must_be_an_object() -> None:
    context = shipped_context()
    context["outpost"]["environments"][DEV] = "development"
    with pytest.raises(ConfigError, match=rf"^outpost.environments.{DEV} = 'development': must be an object"):
        load_environments(context.get)


# --- the declarations and the page generated from them ----------------------------------------


def declared(group: Group, prefix: str = "") -> set[str]:
    keys = set()
    for key, entry in group.walk(prefix):
        if isinstance(entry, Setting):
            keys.add(key)
    return keys


def test_every_declared_setting_is_read_and_every_read_setting_is_declared(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The page documents what the parsers read: no declaration without a reader, and the reader
    refuses to read what is not declared (config.schema.SpecError)."""
    read: set[str] = set()
    original = Section._raw

    def recording(self: Section, name: str, default: Any) -> Any:
        if not isinstance(self._spec.entry(name), Group):
            path = f"{self._path}.{name}".split(".", 3)[3]  # after outpost.environments.<env>
            read.add(".".join("<agent>" if part in AGENTS else part for part in path.split(".")))
        return original(self, name, default)

    from config.registry import AGENTS

    monkeypatch.setattr(Section, "_raw", recording)
    context = shipped_context()
    # One environment writes an agent mix, so that its keys are read too.
    set_path(context["outpost"]["environments"][PROD], "cost.agent_mix_percent", {"claude": 100})
    load_environments(context.get)
    assert read == declared(ENVIRONMENT)


def test_the_settings_page_is_generated_from_the_code() -> None:
    """`python -m config --docs` writes it; commit the result with the change."""
    assert (ROOT / PAGE).read_text() == render(), "run `python -m config --docs` and commit docs/settings.md"


def test_the_page_shows_every_key_with_its_type_default_and_rule() -> None:
    page = render()
    for key, entry in ENVIRONMENT.walk():
        if isinstance(entry, Setting):
            (row,) = [line for line in page.splitlines() if line.startswith(f"| `{key}` |")]
            assert entry.type_text in row
            assert ("required" if entry.required else "`") in row
            assert entry.rule_text().split(";")[0].replace("|", "\\|") in row


def test_the_readme_example_of_a_new_environment_parses() -> None:
    """README, *Adding an environment*: the block shown is a working environment."""
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("### Adding an environment") :]
    block = section.split("```json", 1)[1].split("```", 1)[0]
    name, body = next(iter(json.loads("{" + block + "}").items()))
    context = shipped_context()
    context["outpost"]["environments"][name] = body
    envs = parsed(context)
    assert envs[name].kind == "development"
    assert envs[name].account == envs[DEV].account
