"""engine.core is the pure domain: it imports nothing of the project outside itself and nothing that does I/O."""

from __future__ import annotations

import ast
from pathlib import Path

import alphintra.engine.core as core

CORE = Path(core.__file__).parent
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
