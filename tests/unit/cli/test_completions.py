"""The committed completion scripts must match the live command tree (regenerate with `make completions`)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import typer

from alphintra.cli.completion_scripts import FILENAMES, SHELLS, render
from alphintra.cli.main import app

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize("shell", SHELLS)
def test_committed_scripts_are_fresh(shell: str) -> None:
    committed = (ROOT / "completions" / FILENAMES[shell]).read_text(encoding="utf-8")
    assert committed == render(shell, typer.main.get_command(app)), (
        f"completions/{FILENAMES[shell]} is stale: run `make completions`"
    )


def _bash_complete(*words: str) -> list[str]:
    script = ROOT / "completions" / FILENAMES["bash"]
    array = " ".join(f"'{w}'" for w in words)
    cmd = f'source "{script}"; COMP_WORDS=({array}); COMP_CWORD={len(words) - 1}; _alphintra; echo "${{COMPREPLY[@]}}"'
    out = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True, check=True)
    return out.stdout.split()


def test_bash_completes_the_tree() -> None:
    assert {"config", "completions"} <= set(_bash_complete("alphintra", ""))
    assert _bash_complete("alphintra", "config", "sh") == ["show"]
    assert _bash_complete("alphintra", "completions", "show", "") == ["bash", "zsh", "fish", "--help", "-h"]
    assert _bash_complete("alphintra", "-v", "config", "show", "--j") == ["--json"]


# Every shell installed here checks the syntax of its script (bash always is; zsh and fish where present).
@pytest.mark.parametrize("shell", [s for s in SHELLS if shutil.which(s)])
def test_scripts_parse(shell: str) -> None:
    script = ROOT / "completions" / FILENAMES[shell]
    flag = ["--no-execute"] if shell == "fish" else ["-n"]
    subprocess.run([shutil.which(shell) or shell, *flag, str(script)], check=True)


@pytest.mark.parametrize("fish", [s for s in ["fish"] if shutil.which(s)])
def test_fish_completes_the_tree(fish: str) -> None:
    script = ROOT / "completions" / FILENAMES["fish"]
    out = subprocess.run(
        [fish, "-c", f"source {script}; complete -C 'alphintra config '"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert {line.split("\t")[0] for line in out.stdout.splitlines()} >= {"show", "init", "path"}
