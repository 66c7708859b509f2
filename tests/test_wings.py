"""The two wings of the tree (docs/layout.md): the app wing builds templates, the tools wing
reads them back after synth. Arrows run from the tools to the app, never back, and no two tools
import each other in a circle. Read from the source with ``ast`` (nothing is imported), so a
stray import inside a function counts as much as one at the top of a module."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
APP_WING = ("app.py", "config", "stacks", "constructs", "permissions", "compliance", "lambdas")
TOOLS = ROOT / "tools"


def _modules(*entries: str) -> Iterator[Path]:
    for entry in entries:
        path = ROOT / entry
        if path.is_file():
            yield path
        else:
            yield from sorted(p for p in path.rglob("*.py") if "__pycache__" not in p.parts)


def imported(path: Path, root: Path = ROOT) -> set[str]:
    """Every module ``path`` imports, absolute (``from . import x`` resolved against its package)."""
    package = path.relative_to(root).with_suffix("").parts[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = list(package[: len(package) - node.level + 1]) if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def tool_of(module: str) -> str | None:
    """``review`` for ``tools.review.report``, ``assembly`` for ``tools.assembly``; None outside tools."""
    parts = module.split(".")
    return parts[1] if parts[0] == "tools" and len(parts) > 1 else None


def test_imports_are_read_relative_and_absolute(tmp_path: Path) -> None:
    """The reader the two rules stand on sees every import form."""
    sample = tmp_path / "tools" / "review" / "sample.py"
    sample.parent.mkdir(parents=True)
    sample.write_text(
        "import tools.cost\nfrom tools.rehearsal import run\nfrom . import scan\nfrom ..cost import prices\n"
        "def later() -> None:\n    from tools.loadtest import cli\n"
    )
    found = imported(sample, tmp_path)
    assert {
        "tools.cost",
        "tools.rehearsal.run",
        "tools.review.scan",
        "tools.cost.prices",
        "tools.loadtest.cli",
    } <= (found)


@pytest.mark.parametrize("path", list(_modules(*APP_WING)), ids=lambda p: str(p.relative_to(ROOT)))
def test_the_app_wing_imports_no_tool(path: Path) -> None:
    tools = sorted(m for m in imported(path) if m == "tools" or m.startswith("tools."))
    assert not tools, f"{path.relative_to(ROOT)} imports {tools}: the app wing must not import a tool"


def tool_graph() -> dict[str, set[str]]:
    """Tool -> the other tools it imports (a tool: a package or module directly under tools/)."""
    graph: dict[str, set[str]] = {}
    for path in _modules("tools"):
        own = tool_of(".".join(path.relative_to(ROOT).with_suffix("").parts))
        if own is None or own == "__init__":
            continue
        edges = graph.setdefault(own, set())
        edges.update(t for m in imported(path) if (t := tool_of(m)) not in (None, own, "__init__"))
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every circle of imports, each once as the path that closes it."""
    found: list[list[str]] = []
    state: dict[str, str] = {}

    def visit(node: str, trail: list[str]) -> None:
        if state.get(node) == "done":
            return
        if state.get(node) == "visiting":
            found.append([*trail[trail.index(node) :], node])
            return
        state[node] = "visiting"
        for target in sorted(graph.get(node, ())):
            visit(target, [*trail, node])
        state[node] = "done"

    for node in sorted(graph):
        visit(node, [])
    return found


def test_cycles_are_found() -> None:
    assert cycles({"cost": {"review"}, "review": {"cost", "assembly"}, "assembly": set()}) == [
        ["cost", "review", "cost"]
    ]
    assert cycles({"cost": {"assembly"}, "review": {"cost", "assembly"}}) == []


def test_no_two_tools_import_each_other_in_a_circle() -> None:
    graph = tool_graph()
    assert {"review", "rehearsal", "cost", "loadtest"} <= graph.keys()
    assert cycles(graph) == [], " and ".join(" -> ".join(c) for c in cycles(graph))
