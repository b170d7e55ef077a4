"""Run the daemon: one process, one event loop, a unix-socket listener and optionally a TCP one.

Order of events (each step undone in reverse on the way out, whatever happens):

1. lock the pid file (refuses a second daemon for the same data home),
2. bind the unix socket (0600) and, when asked, the TCP port,
3. serve both listeners with uvicorn, the app wrapped once per listener so requests know where they came from,
4. start the engine host in a thread (``/health`` answers at once, ``/ready`` once the host is started),
5. on SIGTERM/SIGINT or ``POST /api/v1/engine/stop``: close WebSocket streams, stop the listeners (in-flight
   requests get a grace period), stop the host (strategies stopped, journal flushed),
6. remove the socket and the pid file; exit 0 (1 when the host failed to start or stop).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import socket
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from alphintra.config.logs import get_logger
from alphintra.errors import AlphintraError

if TYPE_CHECKING:
    import uvicorn
    from fastapi import FastAPI

    from alphintra.config.settings import Settings
    from alphintra.daemon.lifecycle import EngineHost

# The prefix of the log line that says why the engine did not start; ``spawn_daemon`` looks for it.
START_FAILED = "engine failed to start: "

log = get_logger("daemon.server")

GRACEFUL_SECONDS = 5.0
HOST_STOP_SECONDS = 30.0
LOG_FILE = "engine.jsonl"

HostFactory = Callable[["Settings"], "EngineHost"]


@dataclass(frozen=True, slots=True)
class Listeners:
    unix: socket.socket
    socket_path: Path
    tcp: socket.socket | None
    tcp_address: str | None


def socket_path_for(settings: Settings) -> Path:
    return (settings.engine.socket or settings.paths.socket).expanduser()


def log_file_for(settings: Settings) -> Path:
    return settings.paths.logs / LOG_FILE


@contextlib.contextmanager
def _listeners(settings: Settings, tcp: str | None) -> Iterator[Listeners]:
    from alphintra.daemon.runfiles import (
        bind_tcp_socket,
        bind_unix_socket,
        parse_host_port,
        remove_socket_file,
    )

    path = socket_path_for(settings)
    tcp_sock: socket.socket | None = None
    tcp_address: str | None = None
    if tcp:
        host, port = parse_host_port(tcp)
        tcp_sock = bind_tcp_socket(host, port)
        bound = tcp_sock.getsockname()
        tcp_address = f"[{bound[0]}]:{bound[1]}" if ":" in str(bound[0]) else f"{bound[0]}:{bound[1]}"
    try:
        unix_sock = bind_unix_socket(path)
    except BaseException:
        if tcp_sock is not None:
            tcp_sock.close()
        raise
    try:
        yield Listeners(unix_sock, path, tcp_sock, tcp_address)
    finally:
        unix_sock.close()
        if tcp_sock is not None:
            tcp_sock.close()
        remove_socket_file(path)


def _uvicorn_server(app: object) -> uvicorn.Server:
    import uvicorn

    class _Server(uvicorn.Server):
        # The daemon handles signals itself (one handler for two servers); uvicorn's own capture would re-raise
        # the signal after shutdown and kill the process before the host is stopped.
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield

    config = uvicorn.Config(
        app,  # type: ignore[arg-type]
        lifespan="off",
        log_config=None,
        access_log=False,
        # Stream messages are small JSON, mostly on a unix socket: compressing each cost the event loop more than
        # the bytes it saved (zlib per message, on the order path's thread).
        ws_per_message_deflate=False,
        timeout_graceful_shutdown=int(GRACEFUL_SECONDS),
    )
    return _Server(config)


def _in_daemon_thread(fn: Callable[[], None], name: str) -> asyncio.Future[None]:
    """Run ``fn`` in a daemon thread: a host call that hangs must not keep a stopping process alive
    (``asyncio.to_thread`` uses the default executor, which ``asyncio.run`` joins on exit)."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[None] = loop.create_future()

    def settle(exc: BaseException | None) -> None:
        if future.done():
            return
        if exc is None:
            future.set_result(None)
        else:
            future.set_exception(exc)

    def run() -> None:
        outcome: BaseException | None = None
        try:
            fn()
        except BaseException as exc:
            outcome = exc
        with contextlib.suppress(RuntimeError):  # the loop is already closed: nobody is waiting any more
            loop.call_soon_threadsafe(settle, outcome)

    threading.Thread(target=run, name=name, daemon=True).start()
    return future


async def _serve(app: FastAPI, host: EngineHost, listeners: Listeners) -> int:
    from alphintra.daemon.app import DaemonInfo, ListenerApp
    from alphintra.daemon.gcpolicy import keep, policy_for
    from alphintra.daemon.ws import WebSocketHub

    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    signals_seen: list[int] = []
    info: DaemonInfo = app.state.info
    hub: WebSocketHub = app.state.hub

    def request_stop() -> None:
        loop.call_soon_threadsafe(stop.set)

    info.request_stop = request_stop

    servers = [(_uvicorn_server(ListenerApp(app, "unix")), listeners.unix)]
    if listeners.tcp is not None:
        servers.append((_uvicorn_server(ListenerApp(app, "tcp")), listeners.tcp))

    def on_signal(signum: int) -> None:
        signals_seen.append(signum)
        if stop.is_set():  # a second signal: stop waiting for slow connections
            for server, _ in servers:
                server.force_exit = True
        stop.set()

    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, on_signal, signum)

    serving = [asyncio.ensure_future(server.serve(sockets=[sock])) for server, sock in servers]
    started = _in_daemon_thread(host.start, "engine-start")
    stopped = asyncio.ensure_future(stop.wait())
    exit_code = 0
    log.info("engine daemon listening", extra={"pid": info.pid, "socket": info.socket, "tcp": info.tcp or ""})

    # Serve until a stop is requested, a listener dies, or the host fails to start.
    pending: set[asyncio.Future[Any]] = {stopped, started, *serving}
    heap: asyncio.Future[None] | None = None  # the heap policy (gcpolicy.py), once the engine is ready
    while not stop.is_set():
        done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
        if started in done:
            error = started.exception()
            if error is not None:
                _start_failed(error)
                exit_code = 1
                break
            log.info("engine ready")
            heap = asyncio.ensure_future(keep(policy_for(host), stop))
        if any(task in done for task in serving):
            log.error("a listener stopped unexpectedly; shutting down")
            exit_code = 1
            break

    log.info("stopping", extra={"signal": signals_seen[0] if signals_seen else 0})
    stopped.cancel()
    if heap is not None:
        await heap  # it saw the stop: every object is the collector's again
    hub.close_all(reason="engine stopping")
    # Let the streams send their own close (1001, "engine stopping") before uvicorn's shutdown closes what is
    # left with 1012; bounded, because a stuck client must not delay the stop.
    await hub.drain(timeout=1.0)
    for server, _ in servers:
        server.should_exit = True
    for result in await asyncio.gather(*serving, return_exceptions=True):
        if isinstance(result, BaseException):
            log.error("listener failed: %s", result, exc_info=result)
            exit_code = 1

    # Stop even after a failed or unfinished start: a host's stop copes with both.
    try:
        await asyncio.wait_for(_in_daemon_thread(host.stop, "engine-stop"), HOST_STOP_SECONDS)
    except TimeoutError:
        log.error("engine host did not stop within %.0f s", HOST_STOP_SECONDS)
        exit_code = 1
    except Exception as exc:
        log.error("engine host failed to stop: %s", exc, exc_info=exc)
        exit_code = 1
    if not started.done():
        log.error("engine start was still running at exit")
        exit_code = 1
    elif exit_code == 0 and (error := started.exception()) is not None:  # a start that failed after the stop
        _start_failed(error)
        exit_code = 1
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.remove_signal_handler(signum)
    return exit_code


def _start_failed(error: BaseException) -> None:
    """One log line a person can act on (the parent of a background start shows it): an error the project raised
    on purpose (a damaged journal, a full disk) is its message and advice, not a traceback; anything else is a bug
    and keeps its traceback."""
    if isinstance(error, AlphintraError):
        advice = f"; {error.detail}" if error.detail else ""
        log.error("%s%s%s", START_FAILED, error.message, advice)
    else:
        log.error("%s%s", START_FAILED, error, exc_info=error)


def run_daemon(
    settings: Settings,
    *,
    tcp: str | None = None,
    host_factory: HostFactory | None = None,
    verbosity: int = 0,
) -> int:
    """Serve until stopped, in this process; returns the exit code. Raises ConflictError when already running."""
    from alphintra import __version__
    from alphintra.config.logs import setup_logging
    from alphintra.config.paths import ensure_home, private_umask, warn_if_exposed
    from alphintra.daemon.app import DaemonInfo, create_app
    from alphintra.daemon.audit import AuditLog
    from alphintra.daemon.auth import Authenticator, load_or_create_secret
    from alphintra.daemon.limits import ApiLimits, LimitSettings
    from alphintra.daemon.metrics import EngineMetrics
    from alphintra.daemon.runfiles import PidFile, check_socket_path
    from alphintra.daemon.users import UserStore
    from alphintra.daemon.ws import WebSocketHub

    tcp = tcp if tcp is not None else settings.engine.tcp
    private_umask()  # the journal, state.db and its -wal/-shm, logs, market data: owner only
    ensure_home(settings.paths.root)
    check_socket_path(socket_path_for(settings))
    logger = setup_logging(verbosity, False, json_file=log_file_for(settings))
    _route_uvicorn_logs(logger)
    warn_if_exposed(settings.paths)
    if host_factory is None and not _state_schema_ready(settings):
        return 2
    with PidFile(settings.paths.pid_file), _listeners(settings, tcp) as listeners:
        secret = load_or_create_secret(settings) if listeners.tcp is not None else None
        metrics = EngineMetrics()
        hub = WebSocketHub(metrics=metrics)
        info = DaemonInfo(version=__version__, socket=str(listeners.socket_path), tcp=listeners.tcp_address)
        host = host_factory(settings) if host_factory is not None else _default_host(settings)
        routers = host.routers() if hasattr(host, "routers") else ()
        app = create_app(
            host,
            metrics=metrics,
            hub=hub,
            authenticator=Authenticator(secret, users=UserStore(settings.paths.root)),
            info=info,
            routers=routers,
            limits=ApiLimits(LimitSettings(**settings.api.model_dump())),
            audit=AuditLog(settings.paths.root),
        )
        app.state.settings = settings
        if hasattr(host, "attach"):
            host.attach(app)
        code = asyncio.run(_serve(app, host, listeners))
    log.info("engine daemon exited", extra={"exit_code": code})
    return code


def ensure_state_schema(settings: Settings) -> None:
    """The state database is at the schema this code needs (an empty one is created at it); raises
    :class:`~alphintra.storage.state.schema.SchemaVersionError` (exit 2) naming the command that fixes it."""
    import os

    if os.environ.get("ALPHINTRA_ENGINE_BARE") == "1":
        return  # the API shell alone opens no database
    from alphintra.storage.state import StateStore

    with StateStore(settings.effective_database_url) as store:
        store.create_all()


def _state_schema_ready(settings: Settings) -> bool:
    from alphintra.storage.state.schema import SchemaVersionError

    try:
        ensure_state_schema(settings)
    except SchemaVersionError as exc:
        log.error("refusing to start: %s", exc.message, extra={"exit_code": 2})
        return False
    return True


def _default_host(settings: Settings) -> EngineHost:
    """The paper-trading engine; ALPHINTRA_ENGINE_BARE=1 serves the API shell alone (the daemon's own tests)."""
    import os

    from alphintra.daemon.lifecycle import LifecycleHost

    if os.environ.get("ALPHINTRA_ENGINE_BARE") == "1":
        return LifecycleHost()
    from alphintra.daemon.trading.host import TradingHost

    return TradingHost(settings)


def _route_uvicorn_logs(logger: object) -> None:
    """uvicorn logs to its own loggers; send them to the daemon's handlers so they land in engine.jsonl."""
    import logging

    assert isinstance(logger, logging.Logger)

    def drop_terminal_colours(record: logging.LogRecord) -> bool:
        record.__dict__.pop("color_message", None)
        return True

    for name in ("uvicorn", "uvicorn.error"):
        target = logging.getLogger(name)
        target.handlers = list(logger.handlers)
        target.setLevel(logging.INFO)
        target.propagate = False
        target.filters = [drop_terminal_colours]


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m alphintra.daemon [--tcp HOST:PORT] [-v]``: the process ``alphintra engine start`` spawns."""
    from alphintra.config.settings import get_settings

    parser = argparse.ArgumentParser(prog="python -m alphintra.daemon", description="Run the Alphintra engine daemon.")
    parser.add_argument("--tcp", default=None, help="also listen on HOST:PORT (JWT required)")
    parser.add_argument("-v", "--verbose", action="count", default=0)
    args = parser.parse_args(argv)
    try:
        return run_daemon(get_settings(), tcp=args.tcp, verbosity=args.verbose)
    except AlphintraError as exc:
        sys.stderr.write(f"error: {exc.message}\n")
        if exc.detail:
            sys.stderr.write(f"{exc.detail}\n")
        return exc.exit_code


__all__ = ["Listeners", "ensure_state_schema", "log_file_for", "main", "run_daemon", "socket_path_for"]
