"""The modules of ``alphintra.daemon.trading`` form no import cycle and use no other module's private names.

Every import counts -- module level, inside functions, and under ``TYPE_CHECKING`` -- because a cycle hidden in a
function is still a circle of modules that cannot be understood (or changed) one at a time. The collaborators see
the host through ``ports.Host``; the builder is the one place that wires them.
"""

from __future__ import annotations

import ast
from pathlib import Path

import alphintra.daemon.trading as package

PACKAGE = "alphintra.daemon.trading"
ROOT = Path(package.__file__).parent
# Names a module may reach for on another object without being that object's module: the host seen by others.
HOST_NAMES = {"host", "_host"}


def _modules() -> dict[str, ast.Module]:
    return {path.stem: ast.parse(path.read_text(), str(path)) for path in sorted(ROOT.glob("*.py"))}


def _imports(tree: ast.Module) -> list[tuple[str, str | None]]:
    """(module of the package imported, name imported from it or None) for every import in the tree."""
    out: list[tuple[str, str | None]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith(PACKAGE + "."):
                    out.append((alias.name[len(PACKAGE) + 1 :].split(".")[0], None))
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            if node.module == PACKAGE:  # from alphintra.daemon.trading import host_storage
                out.extend((alias.name, None) for alias in node.names)
            elif node.module.startswith(PACKAGE + "."):
                module = node.module[len(PACKAGE) + 1 :].split(".")[0]
                out.extend((module, alias.name) for alias in node.names)
    return out


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: {m for m, _ in _imports(tree) if m in modules and m != name} for name, tree in modules.items()}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_the_trading_package_has_no_import_cycle() -> None:
    graph = _graph()
    assert {"host", "builder", "ports", "routes"} <= set(graph)  # the parser sees the package
    assert "builder" in graph["host"] and "riskstate" in graph["builder"]  # and its imports
    cycle = _cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_the_cycle_check_finds_a_cycle() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_no_module_imports_a_private_name_or_module_of_another() -> None:
    found = []
    for name, tree in _modules().items():
        for module, imported in _imports(tree):
            if module.startswith("_") or (imported is not None and imported.startswith("_")):
                found.append(f"{name}: {module}.{imported or ''}")
    assert found == []


def test_no_module_but_the_host_touches_its_private_members() -> None:
    found = []
    for name, tree in _modules().items():
        if name == "host":
            continue
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__")):
                continue
            owner = node.value
            owner_name = (
                owner.id if isinstance(owner, ast.Name) else owner.attr if isinstance(owner, ast.Attribute) else None
            )
            if owner_name in HOST_NAMES or (isinstance(owner, ast.Attribute) and owner.attr == "host"):
                found.append(f"{name}:{node.lineno}: .{node.attr}")
    assert found == []


def test_no_daemon_module_is_over_800_lines() -> None:
    daemon = ROOT.parent
    sizes = {str(p.relative_to(daemon)): len(p.read_text().splitlines()) for p in daemon.rglob("*.py")}
    assert len(sizes) > 20
    assert {name: n for name, n in sizes.items() if n > 800} == {}
