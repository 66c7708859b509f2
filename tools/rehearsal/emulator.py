"""The local AWS emulator: a moto server on 127.0.0.1, started and always stopped by its PID.

Nothing here ever reaches AWS: the server binds to 127.0.0.1 on a port the OS picks, the
clients carry dummy keys and the emulator's endpoint, and every ``AWS_*`` setting of the
calling shell (profiles, keys, config files, endpoints) is removed first, so neither a
user's credentials nor their config can be read. Lambda code is never run: Docker is
pointed at a socket that does not exist.

An account is reached the way CDK reaches it, by assuming the stack's deploy role there:
moto maps the credentials of ``AssumeRole`` to the account of the role's ARN ("the ARN can
point to another account, providing an opportunity to switch accounts", moto's STS docs).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3  # type: ignore[import-untyped]

ROOT = Path(__file__).resolve().parents[2]
DUMMY_KEY = "rehearsal"  # what moto accepts as the caller in its default account
SERVER_LINE = re.compile(r"Running on http://127\.0\.0\.1:(\d+)")
# moto's server imports every service model before it listens: ~3 s on a quiet machine, but
# two sessions of `make test` at load average 20 missed a 30 s bound. A server that never
# starts still fails, with its log, after this long.
START_TIMEOUT = 120.0


FAKE_AWS_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": DUMMY_KEY,
    "AWS_SECRET_ACCESS_KEY": DUMMY_KEY,
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def isolate_from_aws(environ: Any = os.environ) -> None:
    """Remove every AWS setting (profile, keys, session token, config files, endpoints) from
    ``environ`` and put dummy keys in their place."""
    for key in [k for k in environ if k.startswith(("AWS_", "BOTO_"))]:
        del environ[key]
    environ.update(FAKE_AWS_ENVIRONMENT)


@dataclass(frozen=True)
class Support:
    """What moto's CloudFormation creates: resource types, and ``Fn::GetAtt`` it can answer."""

    modeled: frozenset[str] = frozenset()
    answerable: frozenset[tuple[str, str]] = frozenset()


@dataclass
class Emulator:
    """A running moto server."""

    endpoint: str
    pid: int
    log: Path
    support: Support = field(default_factory=Support)

    def session(self, region: str, role_arn: str | None = None) -> boto3.session.Session:
        """A session with dummy keys; with ``role_arn``, that role's account (AssumeRole)."""
        session = boto3.session.Session(
            aws_access_key_id=DUMMY_KEY, aws_secret_access_key=DUMMY_KEY, region_name=region
        )
        if role_arn is None:
            return session
        sts = session.client("sts", endpoint_url=self.endpoint)
        credentials = sts.assume_role(RoleArn=role_arn, RoleSessionName="rehearsal")["Credentials"]
        return boto3.session.Session(
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
            region_name=region,
        )

    def client(self, session: boto3.session.Session, service: str) -> Any:
        return session.client(service, endpoint_url=self.endpoint)


def _wait_for_port(process: subprocess.Popen[bytes], log: Path) -> int:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        match = SERVER_LINE.search(log.read_text(errors="replace"))
        if match:
            return int(match.group(1))
        if process.poll() is not None:
            raise RuntimeError(f"the emulator exited with {process.returncode}: {log.read_text()[-2000:]}")
        time.sleep(0.05)
    raise RuntimeError(f"the emulator did not start within {START_TIMEOUT:.0f} s (log: {log})")


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop the server by its PID: SIGTERM, then SIGKILL if it has not gone in 5 seconds."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def started(
    emulator: Emulator | None, log_dir: Path | None, attributes: Iterable[tuple[str, str]]
) -> AbstractContextManager[Emulator]:
    """``emulator`` when the caller runs one (the test session shares one), else a new one for the
    ``with`` block (``running``)."""
    return nullcontext(emulator) if emulator is not None else running(log_dir, attributes)


@contextmanager
def running(log_dir: Path | None = None, attributes: Iterable[tuple[str, str]] = ()) -> Iterator[Emulator]:
    """A moto server for the duration of the ``with`` block, stopped whatever happens.

    ``attributes`` are the ``(type, attribute)`` pairs of ``Fn::GetAtt`` the rehearsal will
    send: the server says which of them moto answers (``Emulator.support``)."""
    isolate_from_aws()
    directory = Path(log_dir or tempfile.mkdtemp(prefix="rehearsal-"))
    directory.mkdir(parents=True, exist_ok=True)
    stem = directory / f"moto-{os.getpid()}-{time.monotonic_ns()}"
    log, query, reply = (stem.with_suffix(s) for s in (".log", ".query.json", ".support.json"))
    query.write_text(json.dumps({"attributes": sorted(set(attributes))}))
    env = dict(os.environ)
    env["DOCKER_HOST"] = "unix:///nonexistent/docker.sock"  # no Lambda code ever runs
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "tools.rehearsal.moto_server", str(query), str(reply)],
            stdout=sink,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=ROOT,
        )
    try:
        port = _wait_for_port(process, log)
        answer = json.loads(reply.read_text())
        support = Support(frozenset(answer["modeled"]), frozenset((t, a) for t, a in answer["answerable"]))
        yield Emulator(endpoint=f"http://127.0.0.1:{port}", pid=process.pid, log=log, support=support)
    finally:
        stop(process)
