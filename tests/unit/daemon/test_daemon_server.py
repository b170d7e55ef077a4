"""The whole server cycle in this process: listen, start the host, serve, stop on request, clean up."""

from __future__ import annotations

import asyncio
import logging
import stat
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from alphintra.config.settings import Settings, load_settings
from alphintra.daemon.client import AsyncEngineClient, EngineClient
from alphintra.daemon.lifecycle import LifecycleHost
from alphintra.daemon.runfiles import PidFile
from alphintra.daemon.server import log_file_for, run_daemon
from alphintra.errors import ConflictError, OperationFailed
from tests.waiting import wait_for


@pytest.fixture
def settings(isolated_home: Path) -> Iterator[Settings]:
    with tempfile.TemporaryDirectory(prefix="as", dir="/tmp") as short:
        settings = load_settings()
        settings.engine.socket = Path(short) / "engine.sock"  # tmp_path is too long for a unix socket
        yield settings
    # run_daemon attaches file handlers to process-wide loggers; detach them so later tests start clean.
    for name in ("alphintra", "uvicorn", "uvicorn.error"):
        logger = logging.getLogger(name)
        for handler in [h for h in logger.handlers if h.get_name() == "jsonl"]:
            logger.removeHandler(handler)
            handler.close()


def _ready(client: EngineClient) -> bool:
    try:
        return client.ready()
    except OperationFailed:
        return False


async def async_view(socket_path: Path) -> tuple[object, object]:
    async with AsyncEngineClient(socket_path=socket_path, timeout=5) as client:
        stream = client.subscribe("risk/alerts")
        first = await anext(stream)
        await stream.aclose()
        return (await client.get("/health")), (first.type, first.topic, first.seq)


def test_serves_until_stopped_over_the_api_then_cleans_up(settings: Settings) -> None:
    socket_path = settings.engine.socket
    assert socket_path is not None
    events: list[str] = []
    seen: dict[str, object] = {}
    failures: list[BaseException] = []

    def operator() -> None:
        try:
            with EngineClient(socket_path=socket_path, timeout=5) as client:
                wait_for(lambda: _ready(client), "ready")
                seen["mode"] = stat.S_IMODE(socket_path.lstat().st_mode)
                seen["pid_file"] = settings.paths.pid_file.read_text().strip()
                seen["health"] = client.health()
                seen["status"] = client.status()
                seen["async"] = asyncio.run(async_view(socket_path))
                with client.subscribe("orders/updates") as stream:
                    hello = stream.recv(timeout=5)
                    seen["hello"] = hello.type if hello else None
                    client.stop()
                    seen["end"] = stream.recv(timeout=10)  # the engine ends the stream normally
        except BaseException as exc:
            failures.append(exc)

    host = LifecycleHost(
        on_start=[lambda: events.append("start"), lambda: threading.Thread(target=operator).start()],
        on_stop=[lambda: events.append("stop strategies")],
        on_flush=[lambda: events.append("flush journal")],
    )
    code = run_daemon(settings, host_factory=lambda _: host)
    assert failures == []
    assert code == 0
    assert events == ["start", "stop strategies", "flush journal"]
    assert seen["mode"] == 0o600
    assert seen["health"] == {"status": "ok"}
    status = seen["status"]
    assert isinstance(status, dict)
    assert status["socket"] == str(socket_path) and status["ready"] is True and status["tcp"] is None
    assert seen["pid_file"] == str(status["pid"])
    assert seen["hello"] == "subscribed"
    assert seen["async"] == ({"status": "ok"}, ("subscribed", "risk/alerts", 0))
    assert seen["end"] is None
    assert not socket_path.exists()
    assert not settings.paths.pid_file.exists()
    log = log_file_for(settings).read_text()
    assert '"msg":"engine daemon exited","exit_code":0' in log


def test_host_that_fails_to_start_exits_1_and_cleans_up(settings: Settings) -> None:
    def explode() -> None:
        raise RuntimeError("journal is corrupt at offset 42")

    stopped: list[bool] = []
    host = LifecycleHost(on_start=[explode], on_stop=[lambda: stopped.append(True)])
    assert run_daemon(settings, host_factory=lambda _: host) == 1
    assert stopped == [True]  # stop still runs after a failed start
    assert settings.engine.socket is not None and not settings.engine.socket.exists()
    assert not settings.paths.pid_file.exists()
    assert "journal is corrupt at offset 42" in log_file_for(settings).read_text()


def test_refuses_to_start_twice(settings: Settings) -> None:
    with PidFile(settings.paths.pid_file), pytest.raises(ConflictError, match="already running"):
        run_daemon(settings, host_factory=lambda _: LifecycleHost())
    assert settings.engine.socket is not None and not settings.engine.socket.exists()
