"""Module structure: the import circles that function-level imports used to hold apart stay
untangled (each module's imports at its top, dependencies one way)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import babyaipp

PACKAGE = Path(babyaipp.__file__).parent

# Groups of modules that once imported each other (inside functions or under TYPE_CHECKING).
GROUPS = {
    "engine": ("babyaipp.engine.bank", "babyaipp.engine.cli", "babyaipp.engine.reference"),
    "oracle": ("babyaipp.oracle.agent", "babyaipp.oracle.tasks"),
}
MODULES = sorted({m for group in GROUPS.values() for m in group})


def _source(module: str) -> ast.Module:
    path = PACKAGE.joinpath(*module.split(".")[1:]).with_suffix(".py")
    return ast.parse(path.read_text(), filename=str(path))


def _imported(node: ast.AST) -> set[str]:
    """Module names an import statement may refer to (``from a import b``: a and a.b)."""
    if isinstance(node, ast.Import):
        return {alias.name for alias in node.names}
    if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
        return {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
    return set()


def _imports(module: str) -> tuple[set[str], set[str]]:
    """(modules imported at the top level, modules imported anywhere else)."""
    tree = _source(module)
    top = {name for node in tree.body for name in _imported(node)}
    everywhere = {name for node in ast.walk(tree) for name in _imported(node)}
    nested = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.If)):
            for child in ast.walk(node):
                nested |= _imported(child)
    return top, nested | (everywhere - top)


@pytest.mark.parametrize("group", sorted(GROUPS))
def test_group_imports_are_at_the_top_and_one_way(group):
    members = GROUPS[group]
    edges = {}
    for module in members:
        top, nested = _imports(module)
        late = sorted(nested & set(members))
        assert not late, f"{module} imports {late} inside a function or an if block"
        edges[module] = top & set(members) - {module}

    # no cycle among the group's top-level imports (depth-first search)
    state: dict[str, str] = {}

    def visit(module: str, path: list[str]) -> None:
        if state.get(module) == "done":
            return
        assert state.get(module) != "open", f"import cycle: {' -> '.join([*path, module])}"
        state[module] = "open"
        for target in sorted(edges[module]):
            visit(target, [*path, module])
        state[module] = "done"

    for module in members:
        visit(module, [])


@pytest.mark.parametrize("module", MODULES)
def test_module_imports_fresh_on_its_own(module):
    """Imported first, in a fresh interpreter, each module loads (no hidden import order)."""
    run = subprocess.run(
        [sys.executable, "-c", f"import {module}"], capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr


def test_bank_command_runs_as_a_module():
    run = subprocess.run(
        [sys.executable, "-m", "babyaipp.engine.cli", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert "--size" in run.stdout
