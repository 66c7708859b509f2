"""The deploy rehearsal against the emulator (moto on 127.0.0.1): end to end on a cut-down
copy of today's assembly, and throwaway copies that AWS would refuse.

Each copy gets an account of its own, so the tests share one emulator per session.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.environments import of_kind, stage_of_kind
from tests.synth import Synthesized
from tools.rehearsal.emulator import Emulator, running
from tools.rehearsal.run import main

# The stage the rehearsal is tried on: the first development environment's.
DEV = stage_of_kind("development")


def copy_of(synthesized: Synthesized, target: Path, *, account: str, keep: set[str] | None = None) -> Path:
    """The first development stage of today's assembly in ``target``, moved to ``account``; with ``keep``,
    only those stacks (``Audit``, ``Registry``, ...)."""
    shutil.copytree(synthesized.outdir, target)
    for path in target.glob("assembly-*/*.json"):
        path.write_text(path.read_text().replace("111111111111", account))
    if keep is not None:
        manifest_file = target / f"assembly-{DEV}" / "manifest.json"
        manifest = json.loads(manifest_file.read_text())
        stacks = {k for k, a in manifest["artifacts"].items() if a["type"] == "aws:cloudformation:stack"}
        dropped = {k for k in stacks if manifest["artifacts"][k]["displayName"].split("/")[1] not in keep}
        manifest["artifacts"] = {k: a for k, a in manifest["artifacts"].items() if k not in dropped}
        manifest_file.write_text(json.dumps(manifest))
    return target


def edit_service(outdir: Path, change: Any) -> None:
    [path] = list((outdir / f"assembly-{DEV}").glob(f"{DEV}Service*.template.json"))
    template = json.loads(path.read_text())
    change(template["Resources"])
    path.write_text(json.dumps(template))


def run(
    outdir: Path, capsys: pytest.CaptureFixture[str], emulator: Emulator | None = None, *args: str
) -> tuple[int, str]:
    code = main([str(outdir), "--env", of_kind("development"), *args], emulator=emulator)
    return code, capsys.readouterr().out


def service_line(
    outdir: Path, change: Any, capsys: pytest.CaptureFixture[str], emulator: Emulator
) -> tuple[int, str, str]:
    """Rehearse ``outdir`` after ``change`` to the Service template: exit code, the Service
    stack's line, the whole output."""
    edit_service(outdir, change)
    code, out = run(outdir, capsys, emulator)
    [line] = [line for line in out.splitlines() if line.startswith(f"{DEV}/Service")]
    return code, line, out


def moto_processes(marker: str) -> list[int]:
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if marker in (proc / "cmdline").read_bytes().decode(errors="replace"):
                    found.append(int(proc.name))
            except OSError:
                continue
    return found


def test_rehearsal_creates_stacks_and_stops_its_emulator(
    synthesized: Synthesized, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """End to end with its own emulator: bootstrap, assets, two stacks, then no server left."""
    outdir = copy_of(synthesized, tmp_path / "cdk.out", account="333333333333", keep={"Audit", "Registry"})
    logs = tmp_path / "logs"
    code, out = run(outdir, capsys, None, "--log-dir", str(logs))
    assert code == 0, out
    lines = out.splitlines()
    assert any(line.split() == [f"{DEV}/Audit", "created"] for line in lines), out
    assert any(line.split() == [f"{DEV}/Registry", "created"] for line in lines), out
    assert "bootstrapped 333333333333/us-east-1 (CDKToolkit)" in out
    assert "skipped, not created at all (no moto model): AWS::CloudTrail::Trail" in out
    assert list(logs.glob("*.log"))
    assert moto_processes(str(logs)) == []


def test_the_emulator_is_stopped_by_its_pid_whatever_happens(tmp_path: Path) -> None:
    pids: list[int] = []

    def fail_while_running() -> None:
        with running(tmp_path) as live:
            pids.append(live.pid)
            os.kill(live.pid, 0)  # running: no error
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        fail_while_running()
    [pid] = pids
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_stacks_reach_their_account_through_the_deploy_role(
    synthesized: Synthesized, emulator: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outdir = copy_of(
        synthesized, tmp_path / "cdk.out", account="666666666666", keep={"Audit", "Network", "Registry"}
    )
    code, out = run(outdir, capsys, emulator)
    assert code == 0, out
    role = "arn:aws:iam::666666666666:role/cdk-hnb659fds-deploy-role-666666666666-us-east-1"
    session = emulator.session("us-east-1", role)
    stacks = emulator.client(session, "cloudformation").describe_stacks()["Stacks"]
    assert {s["StackName"]: s["StackStatus"] for s in stacks} == {
        "CDKToolkit": "CREATE_COMPLETE",
        f"{DEV}-Audit": "CREATE_COMPLETE",
        f"{DEV}-Network": "CREATE_COMPLETE",
        f"{DEV}-Registry": "CREATE_COMPLETE",
    }
    repositories = emulator.client(session, "ecr").describe_repositories()["repositories"]
    assert {r["repositoryName"] for r in repositories} >= {"outpost-dev/control-plane", "outpost-dev/claude"}
    # Nothing landed in the account of the dummy keys.
    assert emulator.client(emulator.session("us-east-1"), "cloudformation").describe_stacks()["Stacks"] == []


def test_a_control_plane_policy_past_6144_characters_fails_the_service_stack(
    synthesized: Synthesized, emulator: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outdir = copy_of(synthesized, tmp_path / "cdk.out", account="444444444444")

    def grow(resources: dict[str, Any]) -> None:
        policies = [
            r
            for k, r in resources.items()
            if r["Type"] == "AWS::IAM::ManagedPolicy" and k.startswith("ControlPlane")
        ]
        policy = max(policies, key=lambda r: len(json.dumps(r)))
        policy["Properties"]["PolicyDocument"]["Statement"] += [
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{'x' * 200}{i}/*"}
            for i in range(30)
        ]

    code, line, out = service_line(outdir, grow, capsys, emulator)
    assert code == 1
    assert "failed: ControlPlane" in line
    assert "managed policy of" in line
    assert "exceeds 6,144" in line
    assert any(line.split() == [f"{DEV}/Data", "created"] for line in out.splitlines()), out


def test_arm64_agents_sent_to_fargate_spot_on_platform_1_3_fail_the_service_stack(
    synthesized: Synthesized, emulator: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outdir = copy_of(synthesized, tmp_path / "cdk.out", account="555555555555")

    def spot(resources: dict[str, Any]) -> None:
        for resource in resources.values():
            if resource["Type"] == "AWS::ECS::TaskDefinition":
                resource["Properties"]["RuntimePlatform"]["CpuArchitecture"] = "ARM64"
                for container in resource["Properties"]["ContainerDefinitions"]:
                    for variable in container.get("Environment", []):
                        if variable["Name"] == "OUTPOST_AGENT_CAPACITY_PROVIDER":
                            variable["Value"] = "FARGATE_SPOT"
                        if variable["Name"] == "OUTPOST_AGENT_PLATFORM_VERSION":
                            variable["Value"] = "1.3.0"

    code, line, _ = service_line(outdir, spot, capsys, emulator)
    assert code == 1
    assert "ControlPlaneTaskDefinition" in line
    assert "ARM64 Linux tasks on platform version 1.4.0 or later only" in line
