"""`alphintra config`: show, create and locate the settings file."""

from __future__ import annotations

from importlib import resources
from typing import Annotated

import typer

from alphintra.cli.common import JsonOption, emit, info

app = typer.Typer(help="Show and create the configuration.", no_args_is_help=True)


def _flatten(data: dict[str, object], prefix: str = "") -> dict[str, object]:
    out: dict[str, object] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flatten(value, f"{name}."))
        else:
            out[name] = value
    return out


@app.command("show")
def show(as_json: JsonOption = False) -> None:
    """Print the effective settings (defaults, file, environment and flags combined)."""
    from alphintra.config.settings import get_settings, settings_as_dict

    data = settings_as_dict(get_settings())
    emit(data if as_json else _flatten(data), as_json, title="effective settings")


@app.command("init")
def init(
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Write a commented template to the config file path."""
    from alphintra.config.paths import config_file
    from alphintra.errors import ConflictError

    path = config_file()
    if path.exists() and not force:
        raise ConflictError(f"{path} already exists; use --force to overwrite it")
    path.parent.mkdir(parents=True, exist_ok=True)
    template = resources.files("alphintra.config").joinpath("template.toml").read_text(encoding="utf-8")
    tmp = path.with_suffix(".toml.tmp")
    tmp.write_text(template, encoding="utf-8")
    tmp.replace(path)
    info(f"wrote {path}")


@app.command("path")
def path(as_json: JsonOption = False) -> None:
    """Print where the config file and the data home are."""
    from alphintra.config.paths import HomePaths, config_file, warn_if_exposed

    home = HomePaths()
    warn_if_exposed(home)
    data = {
        "config_file": str(config_file()),
        "home": str(home.root),
        "market": str(home.market),
        "state_db": str(home.state_db),
        "journal": str(home.journal),
        "logs": str(home.logs),
        "reports": str(home.reports),
        "socket": str(home.socket),
    }
    emit(data, as_json, title="paths")
