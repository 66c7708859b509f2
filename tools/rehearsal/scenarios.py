"""``python -m tools.rehearsal.scenarios [cdk.out] [--only NAME]``: operator changes, each actually made.

For each change in ``SCENARIOS`` (a ``cdk.json`` edit, or a code edit where the setting is
code, e.g. the agent list): copy the app wing into a scratch directory, make the change there,
synthesize it (a fresh process, as ``cdk synth`` runs the app), then

- per stack, what a deploy of it would do to each resource relative to ``cdk.out`` (the
  baseline): add, update in place, replace (a changed property that the type's CloudFormation
  resource schema lists in ``createOnlyProperties``, from the schemas cfn-lint ships) or
  delete, and which of those resources hold data (and whether they are retained);
- whether ``make rehearse-update`` passes: ``python -m tools.rehearsal.update SCRATCH/cdk.out
  --from-assembly cdk.out`` (an environment moved to another account or Region is not an
  update: its stacks are created there, so ``python -m tools.rehearsal`` is run instead).

Prints one Markdown row per change (docs/changes.md holds the table it printed). Slow: one
synth (about 30 s) and one rehearsal per change.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from tools.assembly import read_assembly
from tools.rehearsal.cdk_bootstrap import ROOT

APP_WING = (
    "app.py",
    "cdk.json",
    "config",
    "stacks",
    "constructs",
    "compliance",
    "permissions",
    "lambdas",
    "tools",
)
STATEFUL = {
    "AWS::S3::Bucket": "bucket",
    "AWS::DynamoDB::Table": "table",
    "AWS::EFS::FileSystem": "file system",
    "AWS::KMS::Key": "key",
    "AWS::SecretsManager::Secret": "secret",
    "AWS::ECR::Repository": "repository",
    "AWS::Logs::LogGroup": "log group",
    "AWS::CloudTrail::Trail": "trail",
    "AWS::Events::EventBus": "event bus",
    "AWS::Events::Archive": "archive",
}
SYNTH = (
    "import sys; from app import build; from compliance.packs import new_app; "
    "from pathlib import Path; from config.context import read_context; "
    "c = read_context(Path('cdk.json')); c.update({'aws:cdk:enable-path-metadata': True, "
    "'aws:cdk:enable-asset-metadata': True, 'aws:cdk:version-reporting': False}); "
    "app = new_app(outdir='cdk.out', context=c); build(app); app.synth()"
)

Edit = Callable[[Path], None]
DEV_CERTIFICATE = "arn:aws:acm:us-east-1:111111111111:certificate/00000000-0000-4000-8000-000000000001"


def context_edit(change: Callable[[dict[str, Any]], None]) -> Edit:
    def edit(root: Path) -> None:
        path = root / "cdk.json"
        document = json.loads(path.read_text())
        change(document["context"]["outpost"])
        path.write_text(json.dumps(document, indent=2))

    return edit


def text_edit(file: str, old: str, new: str) -> Edit:
    def edit(root: Path) -> None:
        path = root / file
        text = path.read_text()
        if old not in text:
            raise ValueError(f"{file}: {old!r} not found")
        path.write_text(text.replace(old, new))

    return edit


def both(*edits: Edit) -> Edit:
    def edit(root: Path) -> None:
        for each in edits:
            each(root)

    return edit


def _env(name: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda outpost: outpost["environments"][name]


def _set(env: str, path: str, value: Any) -> Edit:
    def change(outpost: dict[str, Any]) -> None:
        block = _env(env)(outpost)
        *parents, key = path.split(".")
        for part in parents:
            block = block.setdefault(part, {})
        block[key] = value

    return context_edit(change)


def _drop_agent(agent: str) -> Edit:
    def change(outpost: dict[str, Any]) -> None:
        def walk(value: Any) -> None:
            if isinstance(value, dict):
                if "agents" in value and isinstance(value["agents"], dict):
                    value["agents"].pop(agent, None)
                if "agent_mix_percent" in value and isinstance(value["agent_mix_percent"], dict):
                    mix = value["agent_mix_percent"]
                    share = mix.pop(agent, 0)
                    if mix:
                        first = next(iter(mix))
                        mix[first] += share
                for v in value.values():
                    walk(v)

        walk(outpost)

    return both(
        text_edit("config/registry.py", f', "{agent}")', ")"),
        context_edit(change),
    )


def _promote(env: str) -> Callable[[dict[str, Any]], None]:
    """``env`` made production: only its identity and network kept, the defaults for the rest."""

    def change(outpost: dict[str, Any]) -> None:
        block = outpost["environments"][env]
        network = block.get("network", {})
        zones = network.get("availability_zones", [])
        outpost["environments"][env] = {
            "kind": "production",
            "account": block["account"],
            **({"tags": block["tags"]} if "tags" in block else {}),
            "network": {
                "vpc_cidr": network["vpc_cidr"],
                "availability_zones": zones,
                "nat_gateways": len(zones),
            },
            "registry": {"repository_prefix": block["registry"]["repository_prefix"]},
            "monitoring": {"alarm_email": "oncall@example.com"},
            # Production serves HTTPS: the operator requests a certificate in this account first.
            "ingress": {"certificate_arn": DEV_CERTIFICATE, "domain_name": "api.dev.outpost.example.com"},
        }

    return change


def _add_agent(agent: str, like: str) -> Callable[[dict[str, Any]], None]:
    """``agent`` configured as ``like`` is: its task size and its model provider's egress."""

    def change(outpost: dict[str, Any]) -> None:
        agents = outpost["defaults"]["service"]["agents"]
        agents[agent] = dict(agents[like])
        egress = outpost["defaults"]["egress"]["agents"]
        egress[agent] = list(egress[like])

    return change


@dataclass(frozen=True)
class Scenario:
    name: str
    change: str  # what the operator does, in words
    edit: Edit


SCENARIOS = (
    Scenario(
        "zone",
        "prod: zone us-east-1c replaced by us-east-1d",
        _set("prod", "network.availability_zones", ["us-east-1a", "us-east-1b", "us-east-1d"]),
    ),
    Scenario(
        "cidr",
        "prod: network.vpc_cidr 10.20.0.0/16 -> 10.30.0.0/16",
        _set("prod", "network.vpc_cidr", "10.30.0.0/16"),
    ),
    Scenario(
        "prefix",
        "prod: registry.repository_prefix outpost-prod -> outpost-live",
        _set("prod", "registry.repository_prefix", "outpost-live"),
    ),
    Scenario(
        "bus",
        "prod: data.event_bus_name -> outpost-prod-bus",
        _set("prod", "data.event_bus_name", "outpost-prod-bus"),
    ),
    Scenario(
        "keep-images",
        "prod: registry.keep_tagged_images 100 -> 101",
        _set("prod", "registry.keep_tagged_images", 101),
    ),
    Scenario(
        "agent-removed",
        "every environment: the grok agent removed (config/registry.py AGENTS)",
        _drop_agent("grok"),
    ),
    Scenario(
        "agent-added",
        "every environment: a sixth agent, opencode (config/registry.py AGENTS)",
        both(
            text_edit("config/registry.py", '"aider", "grok")', '"aider", "grok", "opencode")'),
            text_edit(
                "constructs/provider_secrets.py",
                "\n\nclass ProviderSecrets(Construct):",
                '\nAGENT_PROVIDERS["opencode"] = AGENT_PROVIDERS["claude"]\n'
                "\n\nclass ProviderSecrets(Construct):",
            ),
            context_edit(_add_agent("opencode", like="claude")),
        ),
    ),
    Scenario(
        "task-size",
        "prod: claude agent cpu/memory 1024/2048 -> 2048/4096",
        _set("prod", "service.agents.claude", {"cpu": 2048, "memory": 4096}),
    ),
    Scenario(
        "audit-retention",
        "prod: audit.bucket_retention_days 365 -> 730",
        _set("prod", "audit.bucket_retention_days", 730),
    ),
    Scenario(
        "kind",
        "dev: kind development -> production (its development overrides dropped: production's floors)",
        context_edit(_promote("dev")),
    ),
    Scenario("account", "dev: account 111111111111 -> 333333333333", _set("dev", "account", "333333333333")),
    Scenario(
        "region",
        "dev: region us-east-1 -> us-west-2 (zones us-west-2a/b)",
        both(
            _set("dev", "region", "us-west-2"),
            _set("dev", "network.availability_zones", ["us-west-2a", "us-west-2b"]),
        ),
    ),
)


@cache
def _providers() -> dict[str, str]:
    directory = Path(str(resources.files("cfnlint.data.schemas")))
    found: dict[str, str] = json.loads((directory / "providers" / "us-east-1.json").read_text())
    return found


@cache
def create_only(type_name: str) -> tuple[tuple[str, ...], ...]:
    """The type's ``createOnlyProperties`` as paths (``("EncryptionConfiguration", "KmsKey")``)."""
    digest = _providers().get(type_name)
    if digest is None:
        return ()
    directory = Path(str(resources.files("cfnlint.data.schemas")))
    schema = json.loads((directory / "resources" / f"{digest}.json").read_text())
    return tuple(
        tuple(p for p in path.removeprefix("/properties/").split("/") if p != "*")
        for path in schema.get("createOnlyProperties", [])
    )


def changed(before: Any, after: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    if (
        isinstance(before, dict)
        and isinstance(after, dict)
        and not _intrinsic(before)
        and not _intrinsic(after)
    ):
        for key in sorted(set(before) | set(after)):
            yield from changed(before.get(key), after.get(key), (*path, key))
    elif before != after:
        yield path


def _intrinsic(value: Mapping[str, Any]) -> bool:
    return len(value) == 1 and next(iter(value)).startswith(("Fn::", "Ref"))


@dataclass(frozen=True)
class Action:
    logical_id: str
    type: str
    action: str  # add, update, replace, delete
    why: str = ""
    retained: bool = False

    @property
    def loses(self) -> str:
        """What data this action loses, if any ("" when none)."""
        kind = STATEFUL.get(self.type)
        if kind is None or self.action not in ("replace", "delete"):
            return ""
        if self.retained:
            return (
                f"{kind} {self.logical_id} orphaned (retained, the stack now uses a new empty one)"
                if (self.action == "replace")
                else f"{kind} {self.logical_id} orphaned (retained)"
            )
        return f"{kind} {self.logical_id} DELETED with its data"


def actions(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[Action]:
    """What CloudFormation does to each resource going from template ``before`` to ``after``."""
    old, new = before.get("Resources", {}), after.get("Resources", {})
    found = []
    for logical_id in sorted(set(old) | set(new)):
        if logical_id not in old:
            found.append(Action(logical_id, new[logical_id]["Type"], "add"))
            continue
        if logical_id not in new:
            resource = old[logical_id]
            found.append(
                Action(
                    logical_id,
                    resource["Type"],
                    "delete",
                    retained=resource.get("DeletionPolicy") == "Retain",
                )
            )
            continue
        a, b = old[logical_id], new[logical_id]
        paths = list(changed(a.get("Properties", {}), b.get("Properties", {})))
        if not paths and a == b:
            continue
        forcing = [
            "/".join(p)
            for p in paths
            if any(p[: len(c)] == c or c[: len(p)] == p for c in create_only(b["Type"]))
        ]
        if a["Type"] != b["Type"]:
            forcing.append("Type")
        if forcing:
            retained = a.get("UpdateReplacePolicy") == "Retain"
            found.append(Action(logical_id, b["Type"], "replace", ", ".join(sorted(set(forcing))), retained))
        elif paths:
            found.append(Action(logical_id, b["Type"], "update", ", ".join("/".join(p) for p in paths[:3])))
    return found


def _targets(value: Any) -> set[str]:
    """Logical ids an expression refers to (``Ref``, ``Fn::GetAtt``)."""
    found: set[str] = set()
    if isinstance(value, dict):
        if "Ref" in value and isinstance(value["Ref"], str):
            found.add(value["Ref"])
        target = value.get("Fn::GetAtt")
        if target is not None:
            found.add(str(target[0] if isinstance(target, list) else str(target).split(".", 1)[0]))
        for v in value.values():
            found |= _targets(v)
    elif isinstance(value, list):
        for v in value:
            found |= _targets(v)
    return found


def _weak_references(value: Any) -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    if isinstance(value, dict):
        ref = value.get("Fn::GetStackOutput")
        if isinstance(ref, dict) and isinstance(ref.get("StackName"), str):
            found.add((str(ref["StackName"]), str(ref["OutputName"])))
        for v in value.values():
            found |= _weak_references(v)
    elif isinstance(value, list):
        for v in value:
            found |= _weak_references(v)
    return found


def changed_reads(
    old: Mapping[str, Any], new: Mapping[str, Any], stacks: Mapping[str, list[Action]]
) -> list[str]:
    """Outputs another stack reads (``Fn::GetStackOutput``) whose value changes: the expression
    changed, or it refers to a resource that is replaced or deleted (a new physical id)."""
    by_name = {s.stack_name: s for s in new.values()}
    before = {s.stack_name: s for s in old.values()}
    found = []
    for consumer in new.values():
        for producer, output in sorted(_weak_references(consumer.template)):
            if producer not in by_name or producer not in before:
                continue
            now = by_name[producer].template.get("Outputs", {}).get(output, {}).get("Value")
            was = before[producer].template.get("Outputs", {}).get(output, {}).get("Value")
            gone = {
                a.logical_id
                for a in stacks.get(by_name[producer].display_name, [])
                if a.action in ("replace", "delete")
            }
            if now != was or _targets(now) & gone:
                found.append(f"{consumer.display_name} reads {producer}.{output}")
    return sorted(set(found))


def synthesize(scenario: Scenario, scratch: Path) -> Path:
    for item in APP_WING:
        source = ROOT / item
        (shutil.copytree if source.is_dir() else shutil.copy2)(source, scratch / item)
    scenario.edit(scratch)
    done = subprocess.run(
        [sys.executable, "-c", SYNTH], cwd=scratch, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"{scenario.name}: synth failed: {(done.stderr or done.stdout).strip()[-400:]}")
    return scratch / "cdk.out"


def _pascal_stage(display_name: str) -> str:
    return display_name.split("/", 1)[0]


def run_scenario(scenario: Scenario, baseline: Path, keep: Path | None = None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix=f"scenario-{scenario.name}-") as directory:
        outdir = synthesize(scenario, Path(directory))
        old = {s.display_name: s for s in read_assembly(baseline).stacks}
        new = {s.display_name: s for s in read_assembly(outdir).stacks}
        moved = sorted(name for name in new if name in old and new[name].environment != old[name].environment)
        stacks: dict[str, list[Action]] = {}
        for name in sorted(set(old) | set(new)):
            if name in moved:
                continue
            if name not in new:
                continue  # a stack the app no longer has: cdk deploy leaves it as it is
            before = old[name].template if name in old else {}
            after = new[name].template
            found = [a for a in actions(before, after) if a.logical_id not in ("CDKMetadata",)]
            if found:
                stacks[name] = found
        reads = changed_reads(old, new, stacks) if not moved else []
        if keep is not None:
            shutil.copytree(outdir, keep / scenario.name, dirs_exist_ok=True)
        stages = sorted({_pascal_stage(n) for n in moved})
        if moved:
            command = [sys.executable, "-m", "tools.rehearsal", str(outdir)]
            for stage in stages:
                command += ["--env", stage]
        else:
            command = [
                sys.executable,
                "-m",
                "tools.rehearsal.update",
                str(outdir),
                "--from-assembly",
                str(baseline),
                "--certificate",
                DEV_CERTIFICATE,
            ]
        rehearsal = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
        lines = [
            line for line in rehearsal.stdout.splitlines() if re.match(r"^\S+/\S+\s+(failed|stale|not)", line)
        ]
        return {
            "scenario": scenario,
            "moved": moved,
            "reads": reads,
            "stacks": stacks,
            "rehearsal": rehearsal.returncode,
            "rehearsal_lines": lines,
            "rehearsal_tail": rehearsal.stdout.strip().splitlines()[-1:] if rehearsal.stdout else [],
        }


def row(result: dict[str, Any]) -> str:
    scenario: Scenario = result["scenario"]
    if result["moved"]:
        stages = sorted({_pascal_stage(n) for n in result["moved"]})
        does = (
            f"{len(result['moved'])} stacks of {', '.join(stages)} **created new** in the new environment; "
            "the old "
            "stacks are not touched (CDK deploys by stack name and environment)"
        )
        lost = "none deleted; the old environment's data stays there, not moved"
    else:
        parts, losses = [], []
        for stack, found in result["stacks"].items():
            counts: dict[str, int] = {}
            for action in found:
                counts[action.action] = counts.get(action.action, 0) + 1
            summary = ", ".join(f"{n} {a}" for a, n in sorted(counts.items()))
            parts.append(f"{stack}: {summary}")
            losses += [f"{stack} {a.loses}" for a in found if a.loses]
        does = "; ".join(parts) or "nothing"
        lost = (
            "; ".join(losses[:4]) + (f" (+{len(losses) - 4} more)" if len(losses) > 4 else "")
            if losses
            else "no"
        )
    passed = (
        "passes" if result["rehearsal"] == 0 else "**fails**: " + " / ".join(result["rehearsal_lines"][:2])
    )
    stateful = [
        f"{stack} {a.action} {a.logical_id}"
        for stack, found in result["stacks"].items()
        for a in found
        if a.type in STATEFUL and a.action in ("replace", "delete")
    ]
    reasons = stateful[:3] + result["reads"][:3]
    refuses = "stops it: " + "; ".join(reasons) if reasons else "lets it through"
    return f"| {scenario.change} | {does} | {lost} | {refuses} | {passed} |"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.rehearsal.scenarios", description=__doc__)
    parser.add_argument("baseline", nargs="?", default="cdk.out", type=Path)
    parser.add_argument("--only", action="append", help="only this scenario (repeatable)")
    parser.add_argument("--json", type=Path, help="also write the replaced/deleted resources here")
    parser.add_argument("--keep", type=Path, help="keep each change's cloud assembly in KEEP/<name>")
    args = parser.parse_args(argv)
    chosen = [s for s in SCENARIOS if not args.only or s.name in args.only]
    details: dict[str, Any] = {}
    print("| change | what each stack does | data lost | make changes (its rule) | make rehearse-update |")
    print("|---|---|---|---|---|")
    for scenario in chosen:
        try:
            result = run_scenario(scenario, args.baseline.resolve(), args.keep)
        except RuntimeError as err:
            print(f"| {scenario.change} | {err} | | | |")
            continue
        print(row(result), flush=True)
        details[scenario.name] = {
            stack: [
                f"{a.action} {a.logical_id} ({a.type}) {a.why}".rstrip()
                for a in found
                if a.action != "update"
            ]
            for stack, found in result["stacks"].items()
        } | {"rehearsal": result["rehearsal_lines"] + result["rehearsal_tail"], "reads": result["reads"]}
    if args.json:
        args.json.write_text(json.dumps(details, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
