"""The update and recreate rehearsals (issue 19): ``tools.rehearsal.update`` creates every stack
from the previous templates and updates them as ``cdk deploy`` would; ``tools.rehearsal.recreate``
destroys a development environment and creates it again. Each run deploys a cut-down copy of
today's assembly into an account of its own on the session's emulator (127.0.0.1)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from config import IMAGES
from config.names import pascal
from tests.environments import config_of, of_kind
from tests.synth import Synthesized
from tests.test_snapshots import masked
from tests.tools.test_rehearsal import DEV, copy_of
from tools.assembly import read_assembly
from tools.rehearsal import recreate, scenarios, update
from tools.rehearsal.cdk_bootstrap import ROOT
from tools.rehearsal.emulator import Emulator


def stack_file(outdir: Path, stack: str) -> Path:
    [path] = list((outdir / f"assembly-{DEV}").glob(f"{DEV}{stack}*.template.json"))
    return path


def lines(out: str) -> dict[str, str]:
    """``Dev/Network`` -> the rest of its line (the last line of each stack wins)."""
    found = {}
    for line in out.splitlines():
        if line.startswith(f"{DEV}/"):
            name, _, rest = line.partition(" ")
            found[name] = rest.strip()
    return found


def test_snapshots_unmask_to_the_templates_synth_writes(synthesized: Synthesized) -> None:
    """The previous templates come from snapshots: every masked asset hash is put back."""
    for stack in read_assembly(synthesized.outdir).stacks:
        assert update.unmask(masked(stack.template), stack.template, "0" * 64) == stack.template, (
            stack.display_name
        )


def test_a_bad_ref_stops_with_one_line(synthesized: Synthesized, capsys: pytest.CaptureFixture[str]) -> None:
    code = update.main([str(synthesized.outdir), "--from", "no-such-ref-anywhere"])
    assert code == 2
    assert (
        capsys.readouterr().err.strip()
        == "rehearse-update: --from no-such-ref-anywhere: not a commit of this repository"
    )


def test_a_consumer_skipped_as_unchanged_reads_a_stale_output_and_fails_naming_both_ends(
    synthesized: Synthesized, emulator: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Previous: an output of Network that Data reads had another value. The update changes Network's template
    only; cdk deploy skips Data (its template did not change), whose weak reference still holds
    the old value: stale."""
    current = copy_of(synthesized, tmp_path / "cdk.out", account="777777777777", keep={"Network", "Data"})
    previous = tmp_path / "previous"
    shutil.copytree(current, previous)
    network = stack_file(previous, "Network")
    template = json.loads(network.read_text())
    read = json.loads(stack_file(current, "Data").read_text())
    key = sorted(set(re.findall(r'"OutputName": "([^"]+)"', json.dumps(read, indent=1))))[0]
    template["Outputs"][key]["Value"] = "sg-0123456789abcdef0"
    network.write_text(json.dumps(template))

    code = update.main(
        [str(current), "--from-assembly", str(previous), "--env", of_kind("development")], emulator
    )
    out = capsys.readouterr().out
    assert code == 1, out
    found = lines(out)
    assert found[f"{DEV}/Network"] == "updated", out
    stale = [line for line in out.splitlines() if line.startswith(f"{DEV}/Data") and "stale" in line]
    assert stale, out
    assert f"reads output {key} of stack {DEV}-Network as 'sg-0123456789abcdef0'" in stale[0]
    assert f"cdk deploy skipped {DEV}/Data as unchanged" in stale[0]
    assert any(line.split() == [f"{DEV}/Data", "unchanged"] for line in out.splitlines()), out


def test_an_unchanged_assembly_updates_nothing(
    synthesized: Synthesized, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    current = copy_of(synthesized, tmp_path / "cdk.out", account="888888888888", keep={"Network", "Data"})
    code = update.main([str(current), "--from-assembly", str(current), "--env", of_kind("development")])
    out = capsys.readouterr().out
    assert code == 0, out
    assert lines(out) == {f"{DEV}/Network": "unchanged", f"{DEV}/Data": "unchanged"}


def test_recreate_adopts_the_kept_repositories_and_creates_audit_and_registry_again(
    synthesized: Synthesized, emulator: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The runbook: the destroyed Registry kept its repositories (images survive), the
    environment is synthesized again with ``registry.existing_repositories`` naming them (in the
    account its stacks were in), and every stack is created the second time."""
    outdir = copy_of(synthesized, tmp_path / "cdk.out", account="999999999999", keep={"Audit", "Registry"})
    runbook = tmp_path / "runbook.out"
    code = recreate.main(
        [str(outdir), "--env", of_kind("development"), "--runbook-outdir", str(runbook)], emulator
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert lines(out) == {f"{DEV}/Audit": "created", f"{DEV}/Registry": "created"}
    prefix = config_of(DEV).registry.repository_prefix
    for image in IMAGES:
        assert f"retained: {DEV}/Registry {pascal(image)}Repository" in out, image
    assert f"retained: {DEV}/Audit AuditBucket" in out
    assert (
        f"registry.existing_repositories = {list(IMAGES)} (-c outpost:only={of_kind('development')})" in out
    )
    assert "2 of 2 stacks created again" in out
    [registry] = [s for s in read_assembly(runbook, [DEV]).stacks if s.display_name == f"{DEV}/Registry"]
    assert registry.account == "999999999999"
    assert not [r for r in registry.template["Resources"].values() if r["Type"] == "AWS::ECR::Repository"]
    assert f"{prefix}/claude" in json.dumps(registry.template["Outputs"])


def test_recreate_without_the_runbook_fails_naming_each_kept_repository(
    synthesized: Synthesized, emulator: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Repositories are retained in every kind with their fixed names: created again without
    the runbook, the Registry fails ("already exists"), naming each one and the setting."""
    outdir = copy_of(synthesized, tmp_path / "cdk.out", account="101010101010", keep={"Registry"})
    code = recreate.main([str(outdir), "--env", of_kind("development"), "--without-adoption"], emulator)
    out = capsys.readouterr().out
    assert code == 1, out
    line = lines(out)[f"{DEV}/Registry"]
    assert line.startswith("failed: ")
    prefix = config_of(DEV).registry.repository_prefix
    for image in IMAGES:
        assert (
            f"creates AWS::ECR::Repository '{prefix}/{image}', which {DEV}/Registry retained "
            f"({pascal(image)}Repository"
        ) in line, image
    assert line.count("already exists (adopt it: registry.existing_repositories") == len(IMAGES)


def test_scenario_actions_follow_the_resource_schemas() -> None:
    """The change table's verbs: a create-only property replaces (RepositoryName, from the ECR
    schema), another property updates in place, a resource gone is deleted; a retained
    replaced repository is orphaned, a deleted log group loses its events."""
    repository: dict[str, Any] = {
        "Type": "AWS::ECR::Repository",
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Properties": {
            "RepositoryName": "outpost-prod/base",
            "LifecyclePolicy": {"LifecyclePolicyText": "a"},
        },
    }
    renamed = {
        **repository,
        "Properties": {**repository["Properties"], "RepositoryName": "outpost-live/base"},
    }
    relifed = {
        **repository,
        "Properties": {**repository["Properties"], "LifecyclePolicy": {"LifecyclePolicyText": "b"}},
    }
    logs = {"Type": "AWS::Logs::LogGroup", "Properties": {"RetentionInDays": 30}}

    [replace] = scenarios.actions({"Resources": {"Repo": repository}}, {"Resources": {"Repo": renamed}})
    assert (replace.action, replace.why, replace.retained) == ("replace", "RepositoryName", True)
    assert replace.loses == "repository Repo orphaned (retained, the stack now uses a new empty one)"
    [update_] = scenarios.actions({"Resources": {"Repo": repository}}, {"Resources": {"Repo": relifed}})
    assert (update_.action, update_.loses) == ("update", "")
    [delete] = scenarios.actions({"Resources": {"Logs": logs}}, {"Resources": {}})
    assert (delete.action, delete.loses) == ("delete", "log group Logs DELETED with its data")


def test_an_update_that_changes_a_bucket_and_removes_retained_and_emptied_resources_passes(
    synthesized: Synthesized, emulator: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """What CloudFormation does and moto 5.2.5 does not, on update: a bucket without a name
    updated in place (moto: KeyError, a 500 that stopped the whole rehearsal); repositories the
    update removes, one retained (kept), one deleted with its images."""
    current = copy_of(synthesized, tmp_path / "cdk.out", account="121212121212", keep={"Audit", "Registry"})
    previous = tmp_path / "previous"
    shutil.copytree(current, previous)
    audit = stack_file(previous, "Audit")
    template = json.loads(audit.read_text())
    bucket = next(
        r
        for k, r in template["Resources"].items()
        if k.startswith("AuditBucket") and r["Type"] == "AWS::S3::Bucket"
    )
    assert "BucketName" not in bucket["Properties"]
    bucket["Properties"]["Tags"] = [*bucket["Properties"].get("Tags", []), {"Key": "Was", "Value": "before"}]
    audit.write_text(json.dumps(template))
    registry = stack_file(previous, "Registry")
    template = json.loads(registry.read_text())
    repositories = [k for k, r in template["Resources"].items() if r["Type"] == "AWS::ECR::Repository"]
    for suffix, policy in (("Kept", "Retain"), ("Emptied", "Delete")):
        extra = json.loads(json.dumps(template["Resources"][repositories[0]]))
        extra["Properties"]["RepositoryName"] += f"-{suffix.lower()}"
        extra["Properties"]["EmptyOnDelete"] = policy == "Delete"
        extra["DeletionPolicy"] = extra["UpdateReplacePolicy"] = policy
        template["Resources"][f"Old{suffix}Repository"] = extra
    registry.write_text(json.dumps(template))

    code = update.main(
        [str(current), "--from-assembly", str(previous), "--env", of_kind("development")], emulator
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert lines(out) == {f"{DEV}/Audit": "updated", f"{DEV}/Registry": "updated"}, out
    assert "a removed resource with DeletionPolicy Retain kept" in out


def test_only_the_stages_that_changed_are_rehearsed(synthesized: Synthesized) -> None:
    """A change to one development stack rehearses its stage; the production and Delivery
    stages, unchanged and read by none of its stacks, take no emulator time."""
    assembly = read_assembly(synthesized.outdir)
    previous = {s.display_name: json.loads(json.dumps(s.template)) for s in assembly.stacks}
    assert (
        update.changed_stages(list(assembly.stages), assembly, update.previous_stacks(assembly, previous))
        == []
    )
    previous[f"{DEV}/Audit"]["Description"] = "before"
    before = update.previous_stacks(assembly, previous)
    assert update.changed_stages(list(assembly.stages), assembly, before) == [DEV]


@pytest.mark.parametrize("scenario", scenarios.SCENARIOS, ids=lambda s: s.name)
def test_every_operator_change_still_applies_to_todays_code(
    scenario: scenarios.Scenario, tmp_path: Path
) -> None:
    """Each rehearsed change (docs/operator-changes.md) edits today's files as written: a code
    edit whose text has moved fails here, not the day someone reruns the table (the sixth-agent
    row did, once the providers' declarations grew). Only the edit; the synth is the tool's."""
    for item in ("cdk.json", "config", "constructs"):
        source = ROOT / item
        (shutil.copytree if source.is_dir() else shutil.copy2)(source, tmp_path / item)
    scenario.edit(tmp_path)
