"""`alphintra tui`: the full-screen trading workstation (Textual), talking to the engine daemon.

Register with ``app.command("tui")(tui.tui)``. Textual and the TUI package are imported inside the command: shell
completion re-runs the program on every Tab.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

MODES = ("dashboard", "trade", "strategies", "risk", "backtests")


def tui(
    embedded: Annotated[
        bool,
        typer.Option(
            "--embedded",
            help="Start a paper engine in the background when none is running, and stop it on exit.",
        ),
    ] = False,
    url: Annotated[
        str | None,
        typer.Option("--url", metavar="URL", help="A remote engine over TCP (http://host:port) instead of the socket."),
    ] = None,
    token: Annotated[
        str | None,
        typer.Option("--token", envvar="ALPHINTRA_TOKEN", help="Bearer token for --url.", show_default=False),
    ] = None,
    symbol: Annotated[str | None, typer.Option("--symbol", "-s", help="Symbol selected at start.")] = None,
    screen: Annotated[
        str, typer.Option("--screen", help=f"Screen shown at start: {', '.join(MODES)}.", show_default=True)
    ] = "dashboard",
    light: Annotated[bool, typer.Option("--light", help="Start with the light theme (f2 toggles).")] = False,
    replay: Annotated[
        Path | None,
        typer.Option("--replay", metavar="FILE", help="Show a recording (JSON) instead of a live engine; read-only."),
    ] = None,
    record: Annotated[
        Path | None,
        typer.Option("--record", metavar="FILE", help="Save what the running engine shows now to FILE, then exit."),
    ] = None,
    wait: Annotated[float, typer.Option("--wait", min=1.0, help="Seconds to wait for an --embedded engine.")] = 30.0,
) -> None:
    """The trading workstation: watchlist, book, chart, order entry, positions, strategies, risk and backtests."""
    from alphintra.errors import ValidationError

    if screen not in MODES:
        raise ValidationError("--screen", f"must be one of {', '.join(MODES)}", screen)
    if embedded and (url or replay):
        raise ValidationError("--embedded", "starts a local engine; it cannot go with --url or --replay")
    if token and not url:
        raise ValidationError("--token", "is only for --url")

    if record is not None:
        _record(record, url, token)
        return

    from alphintra.tui.app import AlphintraApp

    if replay is not None:
        from alphintra.tui.recorded import RecordedDataSource

        AlphintraApp(
            RecordedDataSource.load(replay), symbol=symbol, mode=screen, dark=not light, subtitle=f"replay {replay}"
        ).run()
        return

    from alphintra.config.settings import get_settings
    from alphintra.daemon.client import AsyncEngineClient
    from alphintra.tui.source import EngineDataSource

    settings = get_settings()
    started_here = False
    if url is None:
        started_here = _ensure_local_engine(settings, embedded=embedded, wait=wait)
        client = AsyncEngineClient.local(settings)
        where = "embedded paper engine" if started_here else str(client.target.socket_path)
    else:
        client = AsyncEngineClient(url=url, token=token)
        where = url
    try:
        AlphintraApp(EngineDataSource(client), symbol=symbol, mode=screen, dark=not light, subtitle=where).run()
    finally:
        if started_here:
            from alphintra.daemon.control import stop_daemon

            stop_daemon(settings, wait_seconds=wait)


def _ensure_local_engine(settings: object, *, embedded: bool, wait: float) -> bool:
    """True when this command started the engine (and so must stop it); fails early when none runs."""
    from alphintra.config.settings import Settings
    from alphintra.daemon.runfiles import probe_daemon
    from alphintra.errors import OperationFailed

    assert isinstance(settings, Settings)
    if probe_daemon(settings.paths.pid_file).running:
        return False
    if not embedded:
        raise OperationFailed(
            "no engine is running for this data home",
            detail="start one with `alphintra engine start`, or run `alphintra tui --embedded`",
        )
    from alphintra.cli.common import info
    from alphintra.daemon.control import spawn_daemon

    launched = spawn_daemon(settings, wait_seconds=wait)
    info(f"embedded paper engine started (pid {launched.pid})")
    return True


def _record(path: Path, url: str | None, token: str | None) -> None:
    import json

    from alphintra.cli.common import info
    from alphintra.daemon.client import EngineClient
    from alphintra.tui.recorded import record

    with EngineClient.local() if url is None else EngineClient.remote(url, token) as engine:
        data = record(engine)
    path.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    info(f"recording saved to {path}")


__all__ = ["tui"]
