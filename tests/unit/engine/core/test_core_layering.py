"""engine.core is the pure domain: it imports nothing of the project outside itself and nothing that does I/O. The
engine as a whole imports nothing of the project outside itself either (no storage, daemon, CLI, TUI, venue
adapters, strategies or configuration, not even for type checking), and none of its modules is over 800 lines."""

from __future__ import annotations

import ast
from pathlib import Path

import alphintra.engine.core as core

CORE = Path(core.__file__).parent
ENGINE = CORE.parent
MAX_LINES = 800
FORBIDDEN = {
    "time",
    "datetime",
    "os",
    "io",
    "pathlib",
    "socket",
    "random",
    "logging",
    "subprocess",
    "threading",
    "asyncio",
    "sqlite3",
    "shutil",
    "tempfile",
}


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_core_modules_import_only_the_core_and_pure_stdlib() -> None:
    modules = sorted(CORE.glob("*.py"))
    assert len(modules) >= 8
    for path in modules:
        for name in imported_modules(path):
            if name.startswith("alphintra"):
                assert name.startswith("alphintra.engine.core"), f"{path.name} imports {name}"
            assert name.split(".")[0] not in FORBIDDEN, f"{path.name} imports {name} (I/O or a clock)"


def test_the_package_exports_lazily_what_it_lists() -> None:
    assert sorted(core.__all__) == sorted(core._EXPORTS)
    for name in core.__all__:
        assert getattr(core, name) is not None


def test_the_engine_imports_only_the_engine() -> None:
    modules = sorted(ENGINE.rglob("*.py"))
    assert len(modules) > 40
    outside = {
        f"{path.relative_to(ENGINE)}: {name}"
        for path in modules
        for name in imported_modules(path)
        if name.startswith("alphintra") and name != "alphintra.engine" and not name.startswith("alphintra.engine.")
    }
    assert outside == set()


def test_no_engine_module_is_over_800_lines() -> None:
    sizes = {str(p.relative_to(ENGINE)): len(p.read_text().splitlines()) for p in ENGINE.rglob("*.py")}
    assert {name: n for name, n in sizes.items() if n > MAX_LINES} == {}
