"""The TUI reaches the engine only through the daemon client: no storage, engine or strategy imports anywhere in it."""

from __future__ import annotations

import ast
from pathlib import Path

import alphintra.tui

ALLOWED = ("alphintra.tui", "alphintra.daemon.client", "alphintra.errors", "alphintra.formatting")


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def test_the_tui_imports_only_itself_the_client_and_the_errors_of_the_project() -> None:
    root = Path(alphintra.tui.__file__).parent
    files = sorted(root.rglob("*.py"))
    assert len(files) > 20
    offending = {
        f"{path.relative_to(root)}: {name}"
        for path in files
        for name in imported_modules(path)
        if name.startswith("alphintra") and not name.startswith(ALLOWED)
    }
    assert offending == set()
