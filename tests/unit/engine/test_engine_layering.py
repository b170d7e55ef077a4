"""Dependencies point one way: the engine imports nothing of the project outside itself (no storage, daemon, CLI,
TUI, venue adapters, strategies or configuration), not even for type checking; and no module of it is over 800
lines."""

from __future__ import annotations

import ast
from pathlib import Path

import alphintra.engine as engine

ENGINE = Path(engine.__file__).parent
MAX_LINES = 800


def project_imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names if alias.name.startswith("alphintra"))
        elif (
            isinstance(node, ast.ImportFrom) and node.module and node.level == 0 and node.module.startswith("alphintra")
        ):
            names.add(node.module)
    return names


def test_the_engine_imports_only_the_engine() -> None:
    modules = sorted(ENGINE.rglob("*.py"))
    assert len(modules) > 40
    outside = {
        f"{path.relative_to(ENGINE)}: {name}"
        for path in modules
        for name in project_imports(path)
        if name != "alphintra.engine" and not name.startswith("alphintra.engine.")
    }
    assert outside == set()


def test_no_engine_module_is_over_800_lines() -> None:
    sizes = {str(p.relative_to(ENGINE)): len(p.read_text().splitlines()) for p in ENGINE.rglob("*.py")}
    assert {name: n for name, n in sizes.items() if n > MAX_LINES} == {}
