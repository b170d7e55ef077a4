"""`alphintra __complete KIND PREFIX`: the values a shell completion script cannot know when it is generated.

The static scripts (``completion_scripts``) call this on a Tab after an option or argument that takes a strategy
name or a stored symbol, so it runs on every such Tab and must answer in about the time Python takes to start:
it imports nothing but the standard library and ``alphintra.config.paths`` (no Typer, Rich, pydantic, polars or
DuckDB), and ``alphintra.cli.launch`` dispatches to it before the command tree is imported. It prints one
candidate per line, those starting with PREFIX, sorted; an unknown kind prints nothing and exits 2. Fixed lists
(timeframes, time in force) are written into the scripts themselves.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from urllib.parse import unquote

# `name = "breakout"` (or `name: ClassVar[str] = "breakout"`) in a class body of a user's strategy file: read,
# not imported, because importing a user's file may be slow or fail.
_NAME_LINE = re.compile(r"""^[ \t]+name\s*(?::[^=\n]+)?=\s*["']([A-Za-z0-9_.-]+)["']""", re.MULTILINE)


def strategy_names() -> set[str]:
    """The built-ins, the names of ``alphintra.strategies`` entry points, and the ``name`` attributes in the
    user's strategies folder: the names ``alphintra.strategies.registry`` finds, without importing any."""
    from importlib.metadata import entry_points

    from alphintra.config.paths import data_home
    from alphintra.strategies.builtins import ELSEWHERE, NAMES

    names = set(NAMES) | set(ELSEWHERE)
    names.update(ep.name for ep in entry_points(group="alphintra.strategies"))
    folder = data_home() / "strategies"
    if folder.is_dir():
        for path in folder.glob("*.py"):
            try:
                names.update(_NAME_LINE.findall(path.read_text(encoding="utf-8", errors="replace")))
            except OSError:
                continue
    return names


def stored_symbols(root: Path | None = None) -> set[str]:
    """Symbols with data in the market store: the dataset directories that hold a committed manifest
    (``<kind>/exchange=X/symbol=Y[/timeframe=Z]/_manifest.json``, ``storage.market.layout``), read without
    DuckDB or Parquet."""
    if root is None:
        from alphintra.config.paths import HomePaths

        root = HomePaths().market
    symbols: set[str] = set()
    for pattern in ("*/exchange=*/symbol=*/_manifest.json", "*/exchange=*/symbol=*/timeframe=*/_manifest.json"):
        for manifest in root.glob(pattern):
            part = next(p for p in reversed(manifest.parts) if p.startswith("symbol="))
            symbols.add(unquote(part.removeprefix("symbol=")))
    return symbols


KINDS: dict[str, Callable[[], Iterable[str]]] = {"strategy": strategy_names, "symbol": stored_symbols}


def candidates(kind: str, prefix: str = "") -> list[str]:
    return sorted(value for value in KINDS[kind]() if value.startswith(prefix))


def run(args: list[str]) -> int:
    """The hidden command: ``args`` is ``KIND [PREFIX]``; the exit code is returned."""
    if not 1 <= len(args) <= 2 or args[0] not in KINDS:
        return 2
    try:
        found = candidates(args[0], args[1] if len(args) == 2 else "")
    except OSError:  # an unreadable home completes nothing rather than printing a traceback into the prompt
        return 1
    if found:
        sys.stdout.write("\n".join(found) + "\n")
    return 0
