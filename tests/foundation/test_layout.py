"""The package layout stays navigable: concerns in packages, no import circles, short modules,
and bundled plugins that need nothing of ``hub`` beyond its public API."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HUB = ROOT / "hub"
#: The only modules allowed loose at the top of ``hub/``: the public API and its two leaves.
LOOSE_MODULES = {"__init__.py", "errors.py", "config.py"}
MAX_LINES = 400
#: What a bundled plugin or connector may import from the hub (its tests may use the host too).
PUBLIC_API = ("hub", "hub.testing")


def _modules() -> dict[str, Path]:
    modules = {}
    for path in HUB.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def _imported(tree: ast.AST) -> set[str]:
    """Every ``hub...`` name imported anywhere in ``tree`` (functions and TYPE_CHECKING too)."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "hub" or node.module.startswith("hub."):
                names.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names if a.name.split(".")[0] == "hub")
    return names


def import_graph() -> dict[str, set[str]]:
    """Module -> the hub modules it imports (a ``from a import b`` names ``a.b`` when that is a
    module, else ``a``)."""
    modules = _modules()
    graph: dict[str, set[str]] = defaultdict(set)
    for name, path in modules.items():
        for target in _imported(ast.parse(path.read_text())):
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != name:
                graph[name].add(target)
    return graph


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in list(graph):
        if node not in index:
            visit(node)
    return cycles


def test_no_import_cycle_between_hub_modules():
    assert import_cycles(import_graph()) == []


def test_the_cycle_check_can_fail():
    assert import_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_hub_has_no_loose_module_but_the_public_api():
    loose = {p.name for p in HUB.glob("*.py")}
    assert loose == LOOSE_MODULES


def test_no_module_over_400_lines():
    long = {str(p.relative_to(ROOT)): n for p in _modules().values()
            if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert long == {}


def _plugin_sources() -> list[Path]:
    return [p for folder in ("plugins", "connectors") for p in (ROOT / folder).glob("*/hub_*/**/*.py")]


@pytest.mark.parametrize("path", _plugin_sources(), ids=lambda p: str(p.relative_to(ROOT)))
def test_bundled_plugins_import_only_the_public_api(path):
    private = sorted(name.rpartition(".")[0] if name.rpartition(".")[0] else name
                     for name in _imported(ast.parse(path.read_text()))
                     if not any(name == api or name.startswith(api + ".") for api in PUBLIC_API[1:])
                     and name.rpartition(".")[0] not in ("", "hub"))
    assert private == [], f"{path.name} imports private hub modules: import them through `hub`"
