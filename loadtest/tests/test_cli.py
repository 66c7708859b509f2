"""The command line's refusals: each is one line on stderr, exit 2, and nothing is sent.

``cli._run`` (the only code that imports Locust and opens connections) is replaced in every
test here, so that even a broken guard cannot send traffic: it fails the test instead.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from loadtest import cli
from loadtest.results import PASSED, USAGE

SHIPPED = json.loads(cli.CDK_JSON.read_text())


@pytest.fixture
def runs(monkeypatch: pytest.MonkeyPatch) -> list[cli.Setup]:
    """The setups the harness would have run with (none, when it refuses)."""
    started: list[cli.Setup] = []

    def fake_run(_args: Any, _env: Any, setup: cli.Setup, *_: Any) -> int:
        started.append(setup)
        return PASSED

    monkeypatch.setattr(cli, "_run", fake_run)
    return started


def refusal(capsys: pytest.CaptureFixture[str]) -> str:
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    return lines[0]


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.1:8080",
        "http://192.168.1.10",
        "https://api.outpost.example.com",
        "http://localhost:8080",
        "http://[::ffff:10.0.0.1]:80",
        "http://0.0.0.0:8080",
        "http://127.0.0.1.example.com",
    ],
)
@pytest.mark.usefixtures("api_key")
def test_the_self_test_refuses_any_address_but_loopback(
    url: str, runs: list[cli.Setup], capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["--env", "dev", "--self-test", "--url", url]) == USAGE
    assert runs == []
    assert refusal(capsys) == (
        f"loadtest error: --url {url}: the self-test only sends traffic to a loopback address "
        "(127.0.0.1 or [::1])"
    )


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080", "http://127.3.2.1:1", "http://[::1]:8080/"])
@pytest.mark.usefixtures("api_key")
def test_the_self_test_accepts_loopback_addresses(url: str, runs: list[cli.Setup]) -> None:
    assert cli.main(["--env", "dev", "--self-test", "--url", url]) == PASSED
    assert [setup.url for setup in runs] == [url.rstrip("/")]
    assert runs[0].aws is None
    assert runs[0].no_metrics == "self-test: the stand-in is not on AWS"


@pytest.mark.usefixtures("api_key")
def test_the_self_test_needs_the_stand_ins_url(
    runs: list[cli.Setup], capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["--env", "dev", "--self-test"]) == USAGE
    assert runs == []
    assert "--self-test needs --url http://127.0.0.1:<port>" in refusal(capsys)


def test_no_key_no_run(
    monkeypatch: pytest.MonkeyPatch, runs: list[cli.Setup], capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv(cli.API_KEY_ENV, raising=False)
    assert cli.main(["--env", "dev", "--self-test", "--url", "http://127.0.0.1:1"]) == USAGE
    assert runs == []
    assert refusal(capsys) == (
        "loadtest error: set OUTPOST_API_KEY to the API key of a load-test tenant (not a file)"
    )


@pytest.mark.parametrize(("env", "generators"), [("dev", 3), ("prod", 2)])
@pytest.mark.usefixtures("api_key")
def test_one_machine_would_hit_the_waf_limit_so_the_run_asks_for_more(
    env: str, generators: int, runs: list[cli.Setup], capsys: pytest.CaptureFixture[str]
) -> None:
    # 2,307 requests per 5 minutes at peak; dev's WAF allows 1,000 per address, prod's 2,000,
    # each used to at most 80 %: 2,307 / 800 -> 3 machines, 2,307 / 1,600 -> 2.
    assert cli.main(["--env", env, "--url", "https://api.example.com"]) == USAGE
    assert runs == []
    line = refusal(capsys)
    assert "ingress.rate_limit_per_5_minutes" in line
    assert line.endswith(f"run on {generators} machines with --generators {generators}, or raise the limit")


@pytest.mark.usefixtures("api_key")
def test_an_environment_run_takes_the_flag_url_and_skips_cloudwatch_without_credentials(
    monkeypatch: pytest.MonkeyPatch, runs: list[cli.Setup]
) -> None:
    monkeypatch.setattr(cli, "_aws_session", lambda region: None)
    argv = ["--env", "prod", "--url", "https://api.example.com/", "--generators", "2"]
    assert cli.main(argv) == PASSED
    (setup,) = runs
    assert setup.url == "https://api.example.com"
    assert setup.plan.users == 53  # 106 concurrent dispatches over 2 machines
    assert setup.no_metrics is not None
    assert setup.no_metrics.startswith("no AWS credentials")


@pytest.mark.usefixtures("api_key")
def test_an_environment_run_without_url_or_credentials_is_refused(
    monkeypatch: pytest.MonkeyPatch, runs: list[cli.Setup], capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(cli, "_aws_session", lambda region: None)
    assert cli.main(["--env", "prod", "--generators", "2"]) == USAGE
    assert runs == []
    assert refusal(capsys) == (
        "loadtest error: no AWS credentials to read the ApiUrl output of Prod-Service: pass --url"
    )


@pytest.mark.usefixtures("api_key")
def test_the_real_dispatch_cap_is_bounded(runs: list[cli.Setup], capsys: pytest.CaptureFixture[str]) -> None:
    argv = [
        "--env",
        "prod",
        "--url",
        "https://a.example.com",
        "--generators",
        "2",
        "--max-real-dispatches",
        "11",
    ]
    assert cli.main(argv) == USAGE
    assert runs == []
    assert refusal(capsys) == "loadtest error: --max-real-dispatches must be 0-10"


def test_a_bad_setting_is_one_config_error_line(
    tmp_path: Path, runs: list[cli.Setup], capsys: pytest.CaptureFixture[str]
) -> None:
    broken = json.loads(json.dumps(SHIPPED))
    broken["context"]["outpost"]["environments"]["dev"]["monitoring"]["response_time_p95_ms"] = 5
    path = tmp_path / "cdk.json"
    path.write_text(json.dumps(broken))
    assert cli.main(["--env", "dev", "--cdk-json", str(path), "--print-model"]) == USAGE
    assert refusal(capsys) == (
        "config error: outpost.environments.dev.monitoring.response_time_p95_ms = 5: must be at least 10"
    )


def test_print_model_states_the_model_and_the_thresholds(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--env", "prod", "--print-model"]) == PASSED
    out = capsys.readouterr().out
    assert "4,000 dispatches a day" in out
    assert "106 concurrent dispatches (target 100+)" in out
    assert "2,307 per 5 minutes" in out
    assert "p95 at most 500 ms (outpost.environments.prod.monitoring.response_time_p95_ms)" in out
    assert "5xx below 0.433% of requests" in out


def test_help_states_the_model(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    out = capsys.readouterr().out
    assert "The load model (docs/loadtest.md):" in out
    assert "Little's law: 106 concurrent dispatches" in out


def test_daily_users_scale_the_model_and_the_5xx_fraction(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--env", "prod", "--print-model", "--daily-users", "10000"]) == PASSED
    out = capsys.readouterr().out
    assert "40,000 dispatches a day" in out
    assert "1,056 concurrent dispatches" in out
    assert "76.61 requests/s, 22,982 per 5 minutes" in out
    assert "5xx below 0.044% of requests" in out
