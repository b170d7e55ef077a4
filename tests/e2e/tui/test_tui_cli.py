"""`alphintra tui` outside the full screen: argument checks, --record from a real engine, and the --embedded engine's
start and stop around a session."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from alphintra.cli.tui import _ensure_local_engine, tui
from alphintra.config.settings import get_settings, reset_settings_cache
from alphintra.daemon.control import stop_daemon
from alphintra.daemon.runfiles import probe_daemon
from alphintra.errors import OperationFailed, ValidationError

app = typer.Typer()
app.command()(tui)


@pytest.fixture
def short_home(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    # A short path of its own: a unix socket path may not exceed 107 bytes.
    with tempfile.TemporaryDirectory(prefix="au", dir="/tmp") as name:
        monkeypatch.setenv("ALPHINTRA_HOME", name)
        reset_settings_cache()
        try:
            yield Path(name)
        finally:
            settings = get_settings()
            if probe_daemon(settings.paths.pid_file).running:
                stop_daemon(settings, wait_seconds=30)
            reset_settings_cache()


def test_bad_arguments_are_refused_before_anything_starts() -> None:
    result = CliRunner().invoke(app, ["--screen", "nope"])
    assert isinstance(result.exception, ValidationError)
    assert result.exception.message == (
        "--screen: must be one of dashboard, trade, strategies, risk, backtests (got 'nope')"
    )
    result = CliRunner().invoke(app, ["--embedded", "--url", "http://127.0.0.1:1"])
    assert isinstance(result.exception, ValidationError)
    assert result.exception.field == "--embedded"


def test_without_an_engine_it_says_how_to_get_one(short_home: Path) -> None:
    result = CliRunner().invoke(app, [])
    assert isinstance(result.exception, OperationFailed)
    assert result.exception.message == "no engine is running for this data home"
    assert result.exception.detail == "start one with `alphintra engine start`, or run `alphintra tui --embedded`"


def test_embedded_starts_a_paper_engine_and_record_saves_what_it_shows(short_home: Path) -> None:
    settings = get_settings()
    assert _ensure_local_engine(settings, embedded=True, wait=30) is True
    probe = probe_daemon(settings.paths.pid_file)
    assert probe.running
    # A second TUI on the same home uses the running engine and must not stop it on exit.
    assert _ensure_local_engine(settings, embedded=True, wait=30) is False

    out = short_home / "rec.json"
    result = CliRunner().invoke(app, ["--record", str(out)])
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert [s["symbol"] for s in data["symbols"]] == ["BTC/USD", "ETH/USD", "GOOG"]
    assert data["portfolio"]["equity"] == "100000"
    assert data["orders"] == [] and data["positions"] == []
    assert set(data["books"]) == {"BTC/USD", "ETH/USD", "GOOG"}

    stop_daemon(settings, wait_seconds=30)
    assert not probe_daemon(settings.paths.pid_file).running
