"""The console entry point: ``alphintra __complete`` is answered before the command tree (Typer, Rich and every
command module) is imported, because a shell runs it on each Tab (``alphintra.cli.complete``); every other
command goes to ``alphintra.cli.main``."""

from __future__ import annotations

import sys


def main() -> None:
    if sys.argv[1:2] == ["__complete"]:
        from alphintra.cli.complete import run

        sys.exit(run(sys.argv[2:]))
    from alphintra.cli.main import main as full

    full()
