"""The command line's refusals: each is one line on stderr, exit 2, and nothing is sent.

``cli._run`` (the only code that imports Locust and opens connections) is replaced in every
test here, so that even a broken guard cannot send traffic: it fails the test instead.
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from config import load_environments
from tests.tools.loadtest.aws import service_stack, stubbed
from tools.loadtest import cli
from tools.loadtest.model import LoadModel
from tools.loadtest.plan import environment_plan, generators_needed
from tools.loadtest.results import PASSED, USAGE

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


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_one_key_would_hit_the_waf_per_credential_limit_so_the_run_asks_for_more(
    env: str, monkeypatch: pytest.MonkeyPatch, runs: list[cli.Setup], capsys: pytest.CaptureFixture[str]
) -> None:
    # 2,307 requests per 5 minutes at peak; the WAF allows 600 per key (both environments), each
    # used to at most 80 %: 2,307 / 480 -> 5 keys on one machine.
    monkeypatch.setenv(cli.API_KEY_ENV, "only-one")
    assert cli.main(["--env", env, "--url", "https://api.example.com"]) == USAGE
    assert runs == []
    line = refusal(capsys)
    assert "ingress.rate_limit_per_credential_per_5_minutes" in line
    assert line.endswith(
        f"give 5 keys of the load-test tenant, comma-separated in {cli.API_KEY_ENV} (each machine its own)"
    )


def test_the_keys_are_split_on_commas() -> None:
    assert cli.api_keys(" a, b,,c ") == ("a", "b", "c")
    assert cli.api_keys("") == ()


@pytest.mark.parametrize(("daily_users", "generators"), [(1_000, 1), (10_000, 1)])
def test_one_address_carries_the_modeled_peak_through_the_per_ip_limit(
    daily_users: int, generators: int
) -> None:
    """All traffic comes from one upstream (the MCP server): the per-IP limit sits above 10x."""
    for env in load_environments(SHIPPED["context"].get):
        model = LoadModel(daily_users=daily_users)
        assert generators_needed(model, env.ingress.rate_limit_per_5_minutes) == generators


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


class FakeSession:
    """A boto3 session whose clients are stubbed (tests/tools/loadtest/aws.py)."""

    def __init__(self, **clients: Any) -> None:
        self.clients = clients

    def client(self, name: str) -> Any:
        return self.clients[name]


def outputs_stack(outputs: dict[str, str]) -> Any:
    client, stubber = service_stack(outputs)
    stubber.activate()
    return client


def missing_stack() -> Any:
    client, stubber = stubbed("cloudformation")
    stubber.add_client_error(
        "describe_stacks", "ValidationError", "Stack with id Prod-Service does not exist", 400
    )
    stubber.activate()
    return client


@pytest.mark.usefixtures("api_key")
def test_with_credentials_the_url_and_service_come_from_the_stack(
    monkeypatch: pytest.MonkeyPatch, runs: list[cli.Setup]
) -> None:
    outputs = {"ApiUrl": "https://api.outpost.example.com", "ControlPlaneServiceName": "svc"}
    session = FakeSession(cloudformation=outputs_stack(outputs))
    monkeypatch.setattr(cli, "_aws_session", lambda region: session)
    assert cli.main(["--env", "prod", "--generators", "2"]) == PASSED
    (setup,) = runs
    assert (setup.url, setup.no_metrics, setup.outputs) == ("https://api.outpost.example.com", None, outputs)


@pytest.mark.usefixtures("api_key")
def test_a_stack_that_cannot_be_read_needs_the_url_and_skips_cloudwatch(
    monkeypatch: pytest.MonkeyPatch, runs: list[cli.Setup], capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(cli, "_aws_session", lambda region: FakeSession(cloudformation=missing_stack()))
    assert cli.main(["--env", "prod", "--generators", "2"]) == USAGE
    assert refusal(capsys).startswith("loadtest error: cannot read stack Prod-Service: ")
    monkeypatch.setattr(cli, "_aws_session", lambda region: FakeSession(cloudformation=missing_stack()))
    assert cli.main(["--env", "prod", "--generators", "2", "--url", "https://a.example.com"]) == PASSED
    assert runs[0].no_metrics is not None
    assert "does not exist" in runs[0].no_metrics


def metrics_setup(cloudwatch: Any) -> cli.Setup:
    plan = environment_plan(LoadModel(), generators=2)
    outputs = {"ControlPlaneServiceName": "svc"}
    return cli.Setup(
        url="https://a", plan=plan, aws=FakeSession(cloudwatch=cloudwatch), outputs=outputs, no_metrics=None
    )


def test_cloudwatch_figures_are_reported_and_a_failed_read_is_one_line() -> None:
    (env,) = load_environments(SHIPPED["context"].get, only="prod")
    args = argparse.Namespace(metrics_wait=0)
    start, end = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, 0, 20, tzinfo=UTC)
    client, stubber = stubbed("cloudwatch")
    stubber.add_response(
        "get_metric_data",
        {"MetricDataResults": [{"Id": "tasks", "Values": [2.0, 3.0]}, {"Id": "cpu", "Values": [30.0]}]},
    )
    stubber.activate()
    lines = cli._metrics(args, env, metrics_setup(client), start, end)
    assert lines[0] == "control plane tasks: 2 to 3 during the run (min_tasks 2, max_tasks 10)"
    client, stubber = stubbed("cloudwatch")
    stubber.add_client_error("get_metric_data", "AccessDenied", "not allowed", 403)
    stubber.activate()
    (line,) = cli._metrics(args, env, metrics_setup(client), start, end)
    assert line.startswith("control plane metrics: could not read CloudWatch (")
