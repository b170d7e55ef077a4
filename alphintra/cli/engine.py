"""`alphintra engine`: run the daemon, stop it, ask how it is, read its log, repair its journal."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from alphintra.cli.common import JsonOption, OutputState, console, emit, info, print_json

app = typer.Typer(help="Run and control the engine daemon.", no_args_is_help=True)

TcpOption = Annotated[
    str | None,
    typer.Option(
        "--tcp",
        metavar="HOST:PORT",
        help="Also listen on TCP (every request then needs a token; port 0 picks a free port).",
        show_default=False,
    ),
]


@app.command("start")
def start(
    foreground: Annotated[
        bool, typer.Option("--foreground", help="Run in this process (logs to the terminal) until stopped.")
    ] = False,
    tcp: TcpOption = None,
    wait: Annotated[
        float, typer.Option("--wait", min=1.0, help="Seconds to wait for the engine to become ready.")
    ] = 30.0,
    as_json: JsonOption = False,
) -> None:
    """Start the engine daemon on the unix socket ($ALPHINTRA_HOME/engine.sock), in the background by default."""
    from alphintra.config.settings import get_settings
    from alphintra.daemon.runfiles import parse_host_port

    settings = get_settings()
    if tcp is not None:
        parse_host_port(tcp)
    if foreground:
        from alphintra.daemon.server import run_daemon

        code = run_daemon(settings, tcp=tcp, verbosity=max(OutputState.verbose, 1))
        raise typer.Exit(code)

    from alphintra.daemon.control import spawn_daemon
    from alphintra.daemon.server import ensure_state_schema

    ensure_state_schema(settings)  # a database the daemon would refuse: say so here (exit 2), not "exited during start"
    launched = spawn_daemon(settings, tcp=tcp, verbosity=OutputState.verbose, wait_seconds=wait)
    if as_json:
        print_json(launched.status)
        return
    where = f"socket {launched.socket}"
    if launched.status.get("tcp"):
        where += f", tcp {launched.status['tcp']}"
    info(f"engine started (pid {launched.pid}, {where})")


@app.command("stop")
def stop(
    wait: Annotated[float, typer.Option("--wait", min=1.0, help="Seconds to wait for a clean exit.")] = 30.0,
) -> None:
    """Stop the daemon gracefully: strategies stop, the journal is flushed, socket and pid file are removed."""
    from alphintra.config.settings import get_settings
    from alphintra.daemon.control import stop_daemon

    pid = stop_daemon(get_settings(), wait_seconds=wait)
    info(f"engine stopped (pid {pid})")


@app.command("rebuild-state")
def rebuild_state(as_json: JsonOption = False) -> None:
    """Rebuild the SQL state (orders, trades, positions, balances) from the journal, from its first record.

    The daemon must be stopped: a running one keeps the state caught up by itself, and rebuilds it on start when
    it is missing or does not match the journal. Tables the journal does not hold are left as they are.
    """
    from alphintra.config.settings import get_settings
    from alphintra.daemon.trading.projector import rebuild_state as rebuild

    report = rebuild(get_settings())
    if as_json:
        print_json(report)
        return
    info(
        f"state rebuilt from the journal up to record {report['applied_seq']}: {report['orders']} orders, "
        f"{report['trades']} trades, {report['positions']} positions, {report['balances']} balances "
        f"in {report['seconds']} s ({report['database']})"
    )


def _uptime(seconds: float) -> str:
    whole = int(seconds)
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h {minutes}m"
    if hours:
        return f"{hours}h {minutes}m {secs}s"
    return f"{minutes}m {secs}s" if minutes else f"{secs}s"


def _storage(data: dict[str, Any]) -> str | None:
    """ "READ-ONLY (why)" while the daemon cannot write its journal (disk full), else "ok"."""
    host = data.get("host")
    storage = host.get("storage") if isinstance(host, dict) else None
    if not isinstance(storage, dict):
        return None
    if storage.get("read_only"):
        return f"READ-ONLY, new orders refused: {storage.get('reason')}"
    return "ok"


@app.command("status")
def status(as_json: JsonOption = False) -> None:
    """Is a daemon running? pid, uptime, socket, tcp, readiness and version (exit 1 when none runs)."""
    from alphintra.config.paths import warn_if_exposed
    from alphintra.config.settings import get_settings
    from alphintra.daemon.client import EngineClient
    from alphintra.daemon.runfiles import probe_daemon
    from alphintra.daemon.server import socket_path_for
    from alphintra.errors import OperationFailed

    settings = get_settings()
    warn_if_exposed(settings.paths)
    socket_path = socket_path_for(settings)
    probe = probe_daemon(settings.paths.pid_file)
    data: dict[str, Any]
    if not probe.running:
        data = {"running": False, "pid": None, "socket": str(socket_path), "ready": False}
    else:
        try:
            with EngineClient(socket_path=socket_path, timeout=5.0) as client:
                data = client.status()
        except OperationFailed as exc:
            data = {
                "running": True,
                "pid": probe.pid,
                "socket": str(socket_path),
                "ready": False,
                "problem": exc.message,
            }
    if as_json:
        print_json(data)
    elif not data["running"]:
        console.print(f"engine: [bold]not running[/bold] (socket {socket_path})")
    if not data["running"]:
        raise typer.Exit(1)  # scripts test `alphintra engine status` for a running engine
    if as_json:
        return
    shown = {
        "pid": data.get("pid"),
        "ready": data.get("ready"),
        "uptime": _uptime(float(data["uptime_seconds"])) if "uptime_seconds" in data else None,
        "socket": data.get("socket"),
        "tcp": data.get("tcp"),
        "version": data.get("version"),
        "websocket clients": data.get("websocket_clients"),
        "storage": _storage(data),
        "problem": data.get("problem"),
    }
    emit({k: v for k, v in shown.items() if v is not None}, False, title="engine")


@app.command("repair")
def repair(
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask before cutting the journal.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Back up a damaged journal and cut it at its first invalid record (the engine must be stopped).

    The whole journal is copied to $ALPHINTRA_HOME/backups/journal-<UTC time>/ first; segments and snapshots
    after the damage are moved there, never deleted. Every valid record before the damage is kept.
    """
    from alphintra.config.settings import get_settings
    from alphintra.errors import ValidationError
    from alphintra.storage.journal_repair import find_damage, repair_journal

    paths = get_settings().paths
    if as_json and not yes:
        raise ValidationError("--yes", "is required with --json (repair asks before it changes anything)")
    damage = find_damage(paths.journal) if paths.journal.is_dir() else None
    if damage is None:
        if as_json:
            print_json({"journal": str(paths.journal), "damaged": False, "backup": None})
        elif paths.journal.is_dir():
            info(f"the journal {paths.journal} is intact: nothing to repair")
        else:
            info(f"there is no journal at {paths.journal}: nothing to repair")
        return
    if not as_json:
        console.print(f"journal damaged: {damage.segment} at byte {damage.offset}: {damage.why}")
        console.print(f"  keeps {damage.records} records (up to seq {damage.last_good_seq})")
        moved = len(damage.later_segments) + len(damage.later_snapshots)
        console.print(
            f"  cuts {damage.cut_bytes} bytes ({damage.records_lost} records or fragments)"
            + (f"; {moved} later file(s) move into the backup" if moved else "")
        )
    if not yes:
        typer.confirm(f"Back up the journal into {paths.root / 'backups'} and cut it there?", abort=True)
    report = repair_journal(paths.journal, paths.root / "backups")
    if as_json:
        print_json(report.to_dict())
        return
    if report.damage is None:
        info("the journal is intact now: nothing was cut")
        return
    info(f"journal repaired: it ends at seq {report.damage.last_good_seq}; the original is in {report.backup}")


@app.command("logs")
def logs(
    lines: Annotated[int, typer.Option("-n", "--lines", min=0, help="How many of the last lines to show.")] = 50,
    follow: Annotated[bool, typer.Option("-f", "--follow", help="Keep printing new lines until Ctrl-C.")] = False,
    raw: Annotated[bool, typer.Option("--raw", help="Print the JSON lines as stored.")] = False,
) -> None:
    """Show the daemon's log ($ALPHINTRA_HOME/logs/engine.jsonl)."""
    from alphintra.config.settings import get_settings
    from alphintra.daemon.control import follow_lines, format_log_line, tail_lines
    from alphintra.daemon.server import log_file_for

    path = log_file_for(get_settings())
    if not path.exists() and not follow:
        info(f"no engine log yet ({path})")
        return

    def show(line: str) -> None:
        typer.echo(line if raw else format_log_line(line))

    for line in tail_lines(path, lines):
        show(line)
    if follow:
        try:
            for line in follow_lines(path, should_stop=lambda: False):
                show(line)
        except KeyboardInterrupt:
            return
