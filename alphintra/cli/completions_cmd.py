"""`alphintra completions`: print or install the shell completion scripts."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from alphintra.cli.common import info

app = typer.Typer(help="Shell completion scripts for bash, zsh and fish.", no_args_is_help=True)


class Shell(StrEnum):
    bash = "bash"
    zsh = "zsh"
    fish = "fish"


def _script(shell: Shell) -> str:
    from alphintra.cli.completion_scripts import render
    from alphintra.cli.main import app as root_app

    return render(shell.value, typer.main.get_command(root_app))


@app.command("show")
def show(shell: Annotated[Shell, typer.Argument(help="Target shell.")]) -> None:
    """Print the completion script for SHELL."""
    typer.echo(_script(shell), nl=False)


@app.command("install")
def install(shell: Annotated[Shell, typer.Argument(help="Target shell.")]) -> None:
    """Write the completion script where SHELL looks for it."""
    from alphintra.cli.completion_scripts import install_path

    target = install_path(shell.value)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(_script(shell), encoding="utf-8")
    info(f"installed {shell.value} completion to {target}")
    if shell is Shell.zsh:
        info("add `fpath=(~/.zfunc $fpath); autoload -Uz compinit && compinit` to ~/.zshrc if it is not there")
    elif shell is Shell.bash:
        info("bash-completion loads it in new shells; or `source` the file now")
