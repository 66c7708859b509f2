"""What reaches the app besides the settings: cdk.json's own text, ``-c`` keys, and ``bootstrap: true``.

A key written twice in cdk.json, an ``outpost:*`` context key the app does not read, and a
``null`` that would silently mean "the default" are each refused with one line; a production
(or any) environment synthesized with ``bootstrap: true`` gets a warning naming the outage,
and ``make deploy`` asks before deploying it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import app
from config import ConfigError, load_environments
from config.bootstrap import CONFIRM_VARIABLE, bootstrap_warnings, confirm_bootstrap
from config.context import check_context_keys, read_cdk_json, read_context
from tests.environments import of_kind
from tests.settings import set_path
from tests.synth import ROOT, shipped_context

DEV, PROD = of_kind("development"), of_kind("production")
NAMES = tuple(shipped_context()["outpost"]["environments"])
PYTHON_ENV = dict(os.environ)


def run(args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env={**PYTHON_ENV, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        stdin=subprocess.DEVNULL,
    )


def one_line(result: subprocess.CompletedProcess[str], exit_code: int) -> str:
    """The one line of stderr of a refused run, which exited ``exit_code`` without a traceback."""
    assert result.returncode == exit_code, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


# --- a key written twice ------------------------------------------------------------------


def cdk_json_text(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "cdk.json"
    path.write_text(text)
    return path


def shipped_text() -> str:
    return (ROOT / "cdk.json").read_text()


def test_a_setting_written_twice_is_refused(tmp_path: Path) -> None:
    text = shipped_text().replace('"nat_gateways": 1,', '"nat_gateways": 1,\n"nat_gateways": 2,', 1)
    with pytest.raises(ConfigError) as caught:
        read_cdk_json(cdk_json_text(tmp_path, text))
    assert str(caught.value) == (
        f"outpost.environments.{DEV}.network.nat_gateways = 2: is written twice in cdk.json (JSON keeps "
        "the last copy and drops the first without a word): keep one"
    )


def test_an_environment_block_written_twice_is_refused(tmp_path: Path) -> None:
    """The last copy would replace the first whole (it used to surface as "account is required")."""
    document = json.loads(shipped_text())
    environments = document["context"]["outpost"]["environments"]
    copy = json.dumps({"kind": "development"})
    body = json.dumps(environments)[:-1] + f', "{DEV}": {copy}}}'
    text = json.dumps(document).replace(json.dumps(environments), body)
    with pytest.raises(ConfigError, match=rf"^outpost.environments.{DEV} = '{{...}}': is written twice"):
        read_cdk_json(cdk_json_text(tmp_path, text))


def test_python_m_config_refuses_a_duplicate_in_one_line(tmp_path: Path) -> None:
    text = shipped_text().replace('"kind": "production",', '"kind": "production",\n"kind": "development",', 1)
    result = run(["-m", "config", "--cdk-json", str(cdk_json_text(tmp_path, text))])
    line = one_line(result, 2)
    assert line.startswith(
        f"config error: outpost.environments.{PROD}.kind = 'development': is written twice"
    )


def test_the_app_refuses_a_duplicate_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Under the CDK CLI the app reads cdk.json itself first: the CLI would keep the last copy."""
    text = shipped_text().replace(
        '"region": "us-east-1",', '"region": "us-east-1",\n"region": "us-east-2",', 1
    )
    monkeypatch.setattr(app, "CDK_JSON", cdk_json_text(tmp_path, text))
    assert app.main() == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "config error: outpost.defaults.region = 'us-east-2': is written twice in cdk.json (JSON keeps the "
        "last copy and drops the first without a word): keep one"
    ]


def test_null_is_refused_in_cdk_json(tmp_path: Path) -> None:
    """The CDK drops null-valued keys from the app's context: ``null`` would mean "the default"."""
    document = json.loads(shipped_text())
    set_path(document["context"]["outpost"]["environments"][DEV], "monitoring.alarm_email", None)
    with pytest.raises(ConfigError) as caught:
        read_context(cdk_json_text(tmp_path, json.dumps(document)))
    assert str(caught.value).startswith(
        f"outpost.environments.{DEV}.monitoring.alarm_email = None: null reads as not written"
    )


def test_the_shipped_cdk_json_reads_as_json_does() -> None:
    assert read_cdk_json(ROOT / "cdk.json") == json.loads(shipped_text())


# --- context keys on the command line -----------------------------------------------------


@pytest.mark.parametrize(
    ("key", "rule"),
    [
        (
            f"outpost:{PROD}:acount",
            "is not a context key the app reads (outpost:only, outpost:<env>:account, ",
        ),
        (f"outpost:{PROD}:acount", f"did you mean outpost:{PROD}:account?"),
        ("outpost:prd:account", f"prd is not a configured environment ({', '.join(NAMES)})"),
        ("outpost:prd:certificate_arn", "prd is not a configured environment"),
        ("outpost:onyl", "did you mean outpost:only?"),
        ("outpost:environments", "is not a context key the app reads"),
    ],
)
def test_an_unknown_outpost_context_key_is_refused(key: str, rule: str) -> None:
    with pytest.raises(ConfigError) as caught:
        check_context_keys({**shipped_context(), key: "333333333333"}, NAMES)
    assert caught.value.key == key
    assert rule in str(caught.value)
    assert "\n" not in str(caught.value)


def test_the_keys_the_app_reads_and_everyone_elses_pass() -> None:
    context = {
        **shipped_context(),  # cdk.json's feature flags: not ours to judge
        "outpost:only": DEV,
        f"outpost:{PROD}:account": "333333333333",
        f"outpost:{DEV}:certificate_arn": "arn:aws:acm:...",
        "aws:cdk:enable-path-metadata": True,
        "@aws-cdk/core:bootstrapQualifier": "hnb659fds",
    }
    check_context_keys(context, NAMES)


def test_cdk_synth_with_a_misspelt_override_prints_one_line() -> None:
    """What ``cdk synth -c outpost:prod:acount=...`` shows: the CLI hands every -c to the app."""
    context = {**shipped_context(), f"outpost:{PROD}:acount": "333333333333"}
    result = run(["app.py"], CDK_CONTEXT_JSON=json.dumps(context), CDK_OUTDIR="/nonexistent")
    line = one_line(result, 2)
    assert line.startswith(f"config error: outpost:{PROD}:acount = '333333333333': is not a context key")


# --- bootstrap: true ------------------------------------------------------------------------


def bootstrapping(name: str) -> Any:
    context = shipped_context()
    set_path(context["outpost"]["environments"][name], "service.control_plane.bootstrap", True)
    return context


def test_bootstrap_in_production_is_warned_naming_the_outage() -> None:
    (env,) = load_environments(bootstrapping(PROD).get, only=PROD)
    (warning,) = bootstrap_warnings([env])
    assert warning.startswith(
        f"warning: outpost.environments.{PROD}.service.control_plane.bootstrap = true: the production "
        "control-plane service is synthesized with 0 tasks and scaling pinned at 0; deployed onto a "
        "running environment that is an outage"
    )
    assert bootstrap_warnings(load_environments(shipped_context().get)) == []


def test_cdk_synth_prints_the_warning(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    import aws_cdk as cdk

    app.build(cdk.App(outdir=str(tmp_path), context={**bootstrapping(PROD), "outpost:only": PROD}))
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(f"warning: outpost.environments.{PROD}.service.control_plane.bootstrap = true")


@pytest.mark.parametrize(
    ("confirmation", "answer", "go", "message"),
    [
        (
            "",
            None,
            False,
            f"not deployed unconfirmed; make asks at a terminal, elsewhere set {CONFIRM_VARIABLE}=",
        ),
        (PROD, None, True, f"confirmed by {CONFIRM_VARIABLE}={PROD}"),
        ("yes", None, False, f"{CONFIRM_VARIABLE} = 'yes': must be the environment's name ({PROD})"),
        ("", PROD, True, None),
        ("", "y", False, "not deployed: bootstrap: true was not confirmed"),
    ],
)
def test_make_deploy_asks_before_a_deploy_with_bootstrap(
    confirmation: str, answer: str | None, go: bool, message: str | None
) -> None:
    (env,) = load_environments(bootstrapping(PROD).get, only=PROD)
    ask = None if answer is None else (lambda prompt: answer)
    ok, said = confirm_bootstrap(env, confirmation=confirmation, ask=ask)
    assert ok is go
    if message is None:
        assert said is None
    else:
        assert said is not None
        assert message in said


def test_without_bootstrap_nothing_is_asked() -> None:
    (env,) = load_environments(shipped_context().get, only=PROD)

    def never(prompt: str) -> str:
        raise AssertionError("asked")

    assert confirm_bootstrap(env, confirmation="", ask=never) == (True, None)


def test_the_confirmation_command_without_a_terminal(tmp_path: Path) -> None:
    """``make deploy`` runs ``python -m config --confirm-bootstrap ENV``; in CI there is no terminal."""
    path = cdk_json_text(tmp_path, json.dumps({"context": bootstrapping(PROD)}))
    refused = run(["-m", "config", "--cdk-json", str(path), "--confirm-bootstrap", PROD])
    assert refused.returncode == 3
    assert "Traceback" not in refused.stderr
    warning, error = refused.stderr.strip().splitlines()
    assert warning.startswith("warning: ")
    assert error.startswith(
        f"config error: outpost.environments.{PROD}.service.control_plane.bootstrap = true"
    )
    confirmed = run(
        ["-m", "config", "--cdk-json", str(path), "--confirm-bootstrap", PROD], **{CONFIRM_VARIABLE: PROD}
    )
    assert confirmed.returncode == 0, confirmed.stderr
    quiet = run(["-m", "config", "--confirm-bootstrap", PROD])
    assert (quiet.returncode, quiet.stderr) == (0, "")


def test_make_deploy_runs_the_confirmation_before_cdk_deploy() -> None:
    makefile = (ROOT / "Makefile").read_text()
    deploy = makefile[makefile.index("\ndeploy:") :].split("\n\n")[0]
    confirm = deploy.index("-m config --confirm-bootstrap $(ENV)")
    # make deploy drives the CDK CLI through tools/changes/deploy.py (docs/changes.md).
    assert confirm < deploy.index("$(PY) -m tools.changes.deploy")
