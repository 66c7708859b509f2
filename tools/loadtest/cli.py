"""``python -m tools.loadtest``: load-test a deployed environment, or self-test against 127.0.0.1.

Exit codes: 0 the run met the thresholds; 1 it exceeded one; 2 bad usage or a target the
harness refuses (nothing was sent); 3 the run measured nothing trustworthy (4xx answers,
dispatches not confirmed as dry runs).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from config import ConfigError, EnvironmentConfig, load_environments
from config.context import read_context
from tools.loadtest import metrics, results, target
from tools.loadtest.model import LoadModel
from tools.loadtest.plan import Plan, environment_plan, generators_needed, keys_needed, self_test_plan
from tools.loadtest.thresholds import Thresholds, thresholds_for

API_KEY_ENV = "OUTPOST_API_KEY"
# The most dispatches a run may see unconfirmed as dry runs (each cancelled at once).
MAX_REAL_DISPATCHES = 10
CDK_JSON = Path(__file__).resolve().parents[2] / "cdk.json"
Print = Callable[[str], None]


@dataclass(frozen=True)
class Setup:
    url: str
    plan: Plan
    # A boto3 session with credentials and the Service stack's outputs, when there are any.
    aws: Any
    outputs: dict[str, str]
    # Why CloudWatch will not be read, when it will not.
    no_metrics: str | None


def _parser(model: LoadModel) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m tools.loadtest",
        description=__doc__,
        epilog="The load model (docs/loadtest.md):\n" + model.describe(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--env", required=True, help="the environment of cdk.json whose settings apply")
    parser.add_argument("--url", help="the API's base URL (default: the Service stack's ApiUrl output)")
    parser.add_argument("--auth", choices=("bearer", "x-api-key"), default="bearer", help="key header")
    parser.add_argument("--print-model", action="store_true", help="print model and thresholds; send nothing")
    parser.add_argument(
        "--daily-users", type=int, default=model.daily_users, help="scale the model (10x: 10000)"
    )
    parser.add_argument("--cdk-json", type=Path, default=CDK_JSON, help=argparse.SUPPRESS)
    real = parser.add_argument_group("a deployed environment")
    real.add_argument("--generators", type=int, default=1, help="machines sharing the load (WAF: per IP)")
    real.add_argument("--sustain-seconds", type=float, default=600.0, help="full load after the ramp")
    real.add_argument("--max-real-dispatches", type=int, default=0, help="unconfirmed dry runs tolerated")
    real.add_argument("--metrics-wait", type=float, default=120.0, help="wait for CloudWatch's last points")
    local = parser.add_argument_group("self-test (loopback only)")
    local.add_argument("--self-test", action="store_true", help="against a local stand-in on 127.0.0.1")
    local.add_argument("--time-scale", type=float, default=600.0, help="durations divided by this")
    local.add_argument("--users", type=int, default=8)
    local.add_argument("--run-seconds", type=float, default=2.5)
    local.add_argument("--max-requests", type=int, default=2_500)
    return parser


def _environment(cdk_json: Path, name: str) -> EnvironmentConfig:
    context = read_context(cdk_json)
    return load_environments(context.get, only=name)[0]


def _aws_session(region: str) -> Any:
    """A boto3 session when credentials are at hand, else None (the lookup calls no AWS API)."""
    import boto3  # type: ignore[import-untyped]  # only a run against AWS needs it

    session = boto3.Session(region_name=region)
    return session if session.get_credentials() is not None else None


def _self_test_setup(args: argparse.Namespace, model: LoadModel) -> Setup:
    if not args.url:
        raise target.TargetError("--self-test needs --url http://127.0.0.1:<port> (the stand-in's)")
    url = target.require_loopback(args.url)
    plan = self_test_plan(
        model,
        time_scale=args.time_scale,
        users=args.users,
        run_seconds=args.run_seconds,
        max_requests=args.max_requests,
    )
    return Setup(url=url, plan=plan, aws=None, outputs={}, no_metrics="self-test: the stand-in is not on AWS")


def _environment_setup(
    args: argparse.Namespace, env: EnvironmentConfig, model: LoadModel, *, keys: int
) -> Setup:
    limit = env.ingress.rate_limit_per_5_minutes
    needed = generators_needed(model, limit)
    if args.generators < needed:
        raise target.TargetError(
            f"the model sends {model.peak_requests_per_window:,.0f} requests per 5 minutes; the WAF blocks "
            f"an address past {limit} (ingress.rate_limit_per_5_minutes): run on {needed} machines with "
            f"--generators {needed}, or raise the limit"
        )
    credential_limit = env.ingress.rate_limit_per_credential_per_5_minutes
    keys_wanted = keys_needed(model, credential_limit, generators=args.generators)
    if keys < keys_wanted:
        raise target.TargetError(
            f"this machine sends {model.peak_requests_per_window / args.generators:,.0f} requests per 5 "
            f"minutes; the WAF blocks a key past {credential_limit} "
            f"(ingress.rate_limit_per_credential_per_5_minutes): give {keys_wanted} keys of the load-test "
            f"tenant, comma-separated in {API_KEY_ENV} (each machine its own)"
        )
    if not 0 <= args.max_real_dispatches <= MAX_REAL_DISPATCHES:
        raise target.TargetError(f"--max-real-dispatches must be 0-{MAX_REAL_DISPATCHES}")
    session = _aws_session(env.region)
    stack = target.service_stack_name(env)
    outputs: dict[str, str] = {}
    unreadable = None
    if session is not None:
        try:
            outputs = target.stack_outputs(session.client("cloudformation"), stack)
        except Exception as err:  # botocore's errors (no such stack, access denied): one line
            unreadable = f"cannot read stack {stack}: {err}"
    if args.url:
        url = target.check_url(args.url)
    elif session is None:
        raise target.TargetError(f"no AWS credentials to read the ApiUrl output of {stack}: pass --url")
    elif unreadable:
        raise target.TargetError(f"{unreadable}: pass --url")
    else:
        url = target.api_url(outputs, stack)
    no_metrics = unreadable
    if session is None:
        no_metrics = "no AWS credentials (set AWS_PROFILE or AWS_* variables to read CloudWatch)"
    elif not unreadable and target.SERVICE_NAME_OUTPUT not in outputs:
        no_metrics = f"stack {stack} has no {target.SERVICE_NAME_OUTPUT} output"
    plan = environment_plan(model, generators=args.generators, sustain_seconds=args.sustain_seconds)
    return Setup(url=url, plan=plan, aws=session, outputs=outputs, no_metrics=no_metrics)


def _headers(auth: str, key: str) -> dict[str, str]:
    return {"X-API-Key": key} if auth == "x-api-key" else {"Authorization": f"Bearer {key}"}


def api_keys(value: str | None) -> tuple[str, ...]:
    """The keys in ``OUTPOST_API_KEY``: one, or several separated by commas (the WAF limits each)."""
    return tuple(key.strip() for key in (value or "").split(",") if key.strip())


def main(argv: list[str] | None = None, *, out: Print = print) -> int:
    args = _parser(LoadModel()).parse_args(argv)
    if args.daily_users < 1:
        print("loadtest error: --daily-users must be at least 1", file=sys.stderr)
        return results.USAGE
    model = LoadModel(daily_users=args.daily_users)
    try:
        env = _environment(args.cdk_json, args.env)
    except ConfigError as err:
        print(f"config error: {err}", file=sys.stderr)
        return results.USAGE
    thresholds = thresholds_for(env, model)
    if args.print_model:
        out(model.describe())
        out(f"thresholds: {thresholds.explanation}")
        return results.PASSED
    keys = api_keys(os.environ.get(API_KEY_ENV))
    try:
        if not keys:
            raise target.TargetError(f"set {API_KEY_ENV} to the API key of a load-test tenant (not a file)")
        setup = (
            _self_test_setup(args, model)
            if args.self_test
            else _environment_setup(args, env, model, keys=len(keys))
        )
    except target.TargetError as err:
        print(f"loadtest error: {err}", file=sys.stderr)
        return results.USAGE
    return _run(args, env, setup, thresholds, tuple(_headers(args.auth, key) for key in keys), out)


def _run(
    args: argparse.Namespace,
    env: EnvironmentConfig,
    setup: Setup,
    thresholds: Thresholds,
    headers: tuple[dict[str, str], ...],
    out: Print,
) -> int:
    from tools.loadtest import driver  # imports Locust, which patches the standard library: only here

    plan = setup.plan
    out(f"loadtest {env.name}: {setup.url}{' (self-test)' if args.self_test else ''}")
    out(
        f"plan: {plan.users} users (one dispatch each), {plan.spawn_rate:.3g} started/s, dispatches of "
        f"{plan.dispatch_seconds:g} s polled every {plan.poll_seconds:g} s, {plan.run_seconds:g} s, "
        f"at most {plan.max_requests} requests"
    )
    out(f"thresholds: {thresholds.explanation}")
    recording = driver.run(
        plan,
        url=setup.url,
        headers=headers,
        max_real_dispatches=0 if args.self_test else args.max_real_dispatches,
        progress=None if args.self_test else out,
    )
    if recording.refused:
        out(f"result: INVALID: {recording.refused}")
        return results.INVALID
    summaries = results.summarize(recording.samples)
    verdict = results.judge(summaries, thresholds, real_dispatches=len(recording.unconfirmed))
    out(results.render(summaries))
    cleanup_errors = sum(not 200 <= s.status < 300 for s in recording.cleanup)
    cleanup = f"clean-up {len(recording.cleanup)} requests, {cleanup_errors} failed"
    out(f"stopped: {recording.stopped_because}; {cleanup}")
    if recording.generator_cpu_warning:
        out("load generator: CPU above 90% during the run, so latencies may be overstated")
    for line in _metrics(args, env, setup, recording.started, recording.ended):
        out(line)
    out(results.render_verdict(verdict))
    return verdict.exit_code


def _metrics(
    args: argparse.Namespace, env: EnvironmentConfig, setup: Setup, start: Any, end: Any
) -> list[str]:
    if setup.no_metrics:
        return [f"control plane metrics: skipped ({setup.no_metrics})"]
    if args.metrics_wait > 0:
        time.sleep(args.metrics_wait)
    try:
        values = metrics.read(
            setup.aws.client("cloudwatch"),
            cluster=env.cluster_name,
            service=setup.outputs[target.SERVICE_NAME_OUTPUT],
            start=start,
            end=end,
        )
    except Exception as err:  # the run's result must not be lost to a failed metrics read
        return [f"control plane metrics: could not read CloudWatch ({err})"]
    return metrics.describe(values, env.service.control_plane)
