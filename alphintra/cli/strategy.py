"""`alphintra strategy`: the strategies available and their parameters."""

from __future__ import annotations

from typing import Annotated

import typer

from alphintra.cli.common import JsonOption, console, emit, print_json

app = typer.Typer(help="Strategies: list them, show their parameters.", no_args_is_help=True)


@app.command("list")
def list_strategies(as_json: JsonOption = False) -> None:
    """Built-in, plug-in and user strategies."""
    from alphintra.strategies import registry

    rows = []
    for name, cls in registry.available().items():
        desc = registry.describe(cls)
        rows.append({"name": name, "symbols": desc["symbols_required"] or "any", "description": desc["description"]})
    emit(rows, as_json, title="strategies")


@app.command("info")
def info_cmd(
    name: Annotated[str, typer.Argument(help="Strategy name.")],
    as_json: JsonOption = False,
) -> None:
    """A strategy's description and typed parameters (defaults and bounds)."""
    from alphintra.strategies import registry

    desc = registry.describe(registry.get(name))
    if as_json:
        print_json(desc)
        return
    console.print(f"[bold]{desc['name']}[/bold] — {desc['description']}")
    emit(
        [
            {
                "param": p["name"],
                "type": p["type"],
                "default": p["default"],
                "bounds": " ".join(f"{k}={v}" for k, v in p["constraints"].items()),
                "description": p["description"],
            }
            for p in desc["params"]
        ],
        False,
        title="parameters",
    )
