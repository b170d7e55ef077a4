"""Real daemon processes on a temporary data home, driven through the CLI and EngineClient."""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

import alphintra
from alphintra.daemon.client import EngineClient
from alphintra.daemon.protocol import AuthenticationError, PermissionDeniedError
from alphintra.daemon.runfiles import probe_daemon
from alphintra.errors import OperationFailed
from tests.pg_support import BACKENDS, state_database
from tests.waiting import wait_for

REPO = Path(alphintra.__file__).resolve().parent.parent

# The real entry point (root callback and error handler) with the engine and auth groups joined, whether or not
# the root app registers them yet.
CLI = """
import sys
from alphintra.cli import auth, engine
from alphintra.cli.main import app, main
names = {group.name for group in app.registered_groups}
for name, sub in (("engine", engine.app), ("auth", auth.app)):
    if name not in names:
        app.add_typer(sub, name=name)
main(sys.argv[1:])
"""


class Home:
    def __init__(self, root: Path, database_url: str | None = None) -> None:
        self.root = root
        self.socket = root / "engine.sock"
        self.pid_file = root / "engine.pid"
        self.log = root / "logs" / "engine.jsonl"
        self.env = dict(os.environ)
        self.env["ALPHINTRA_HOME"] = str(root)
        if database_url is not None:  # the trading state in PostgreSQL rather than state.db in the home
            self.env["ALPHINTRA_DATABASE_URL"] = database_url
        self.env["PYTHONPATH"] = str(REPO) + os.pathsep + self.env.get("PYTHONPATH", "")

    def argv(self, *args: str) -> list[str]:
        return [sys.executable, "-c", CLI, *args]

    def cli(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(self.argv(*args), env=self.env, capture_output=True, text=True, timeout=timeout)

    def spawn(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            self.argv(*args), env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )

    def client(self) -> EngineClient:
        return EngineClient(socket_path=self.socket, timeout=5)


def is_ready(home: Home) -> bool:
    try:
        with home.client() as client:
            return client.ready()
    except OperationFailed:
        return False


@pytest.fixture
def home(request: pytest.FixtureRequest) -> Iterator[Home]:
    """A data home; ``indirect`` parametrisation with a backend name puts its trading state there."""
    # A short path of its own: pytest's tmp_path can exceed the 107 bytes a unix socket path may have.
    with (
        state_database(getattr(request, "param", None)) as url,
        tempfile.TemporaryDirectory(prefix="ae", dir="/tmp") as name,
    ):
        home = Home(Path(name), url)
        try:
            yield home
        finally:
            probe = probe_daemon(home.pid_file)
            if probe.running and probe.pid:  # a failed test must not leave its daemon behind
                os.kill(probe.pid, signal.SIGTERM)
                wait_for(lambda: not probe_daemon(home.pid_file).running, "leftover daemon to stop")


@pytest.mark.both_backends
def test_background_start_status_and_stop(home: Home) -> None:
    started = home.cli("engine", "start")
    assert started.returncode == 0, started.stderr
    assert "engine started (pid" in started.stderr
    assert stat.S_IMODE(home.socket.lstat().st_mode) == 0o600
    pid = int(home.pid_file.read_text())

    with home.client() as client:
        assert client.health() == {"status": "ok"}
        assert client.ready() is True

    again = home.cli("engine", "start")
    assert again.returncode == 1
    assert f"an engine is already running for this data home (pid {pid})" in again.stderr

    status = home.cli("engine", "status", "--json")
    assert status.returncode == 0, status.stderr
    data = json.loads(status.stdout)
    assert (data["running"], data["pid"], data["ready"], data["socket"]) == (True, pid, True, str(home.socket))
    assert data["version"] == alphintra.__version__
    assert data["tcp"] is None
    assert data["uptime_seconds"] >= 0

    stopped = home.cli("engine", "stop")
    assert stopped.returncode == 0, stopped.stderr
    assert f"engine stopped (pid {pid})" in stopped.stderr
    assert not home.socket.exists()
    assert not home.pid_file.exists()
    wait_for(lambda: not _alive(pid), "the daemon process to exit")
    gone = home.cli("engine", "status", "--json")
    assert gone.returncode == 1 and json.loads(gone.stdout)["running"] is False
    with home.client() as client, pytest.raises(OperationFailed, match="no engine is running"):
        client.health()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (exited, not yet reaped by its parent) still answers kill(0); look at its state.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


@pytest.mark.parametrize("home", BACKENDS, indirect=True)
def test_sigterm_stops_a_foreground_daemon_cleanly(home: Home) -> None:
    proc = home.spawn("engine", "start", "--foreground")
    try:
        wait_for(lambda: is_ready(home), "the daemon to be ready")
        with home.client() as client, client.subscribe("orders/updates") as stream:
            first = stream.recv(timeout=5)
            assert first is not None and first.type == "subscribed"
            proc.send_signal(signal.SIGTERM)
            assert stream.recv(timeout=15) is None  # the stream ends normally: "engine stopping"
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert not home.socket.exists()
    assert not home.pid_file.exists()
    records = [json.loads(line) for line in home.log.read_text().splitlines()]
    messages = [r["msg"] for r in records]
    assert messages.index("engine ready") < messages.index("stopping") < messages.index("engine daemon exited")
    assert next(r for r in records if r["msg"] == "stopping")["signal"] == signal.SIGTERM
    assert next(r for r in records if r["msg"] == "engine daemon exited")["exit_code"] == 0


@pytest.mark.both_backends
def test_tcp_requires_a_token_and_enforces_roles(home: Home) -> None:
    proc = home.spawn("engine", "start", "--foreground", "--tcp", "127.0.0.1:0")
    try:
        wait_for(lambda: is_ready(home), "the daemon to be ready")
        with home.client() as local:
            address = local.status()["tcp"]
        assert address.startswith("127.0.0.1:")
        url = f"http://{address}"

        with EngineClient.remote(url, None) as anonymous:
            assert anonymous.health() == {"status": "ok"}
            with pytest.raises(AuthenticationError, match="a bearer token is required over TCP"):
                anonymous.status()

        viewer_token = home.cli("auth", "token", "create", "--user", "vic", "--role", "viewer", "--ttl", "30m")
        assert viewer_token.returncode == 0, viewer_token.stderr
        with EngineClient.remote(url, viewer_token.stdout.strip()) as viewer:
            assert viewer.status()["ready"] is True
            assert viewer.get("/api/v1/auth/whoami") == {"user": "vic", "role": "viewer", "listener": "tcp"}
            with pytest.raises(PermissionDeniedError, match="admin is required"):
                viewer.stop()
            with viewer.subscribe("orders/updates") as stream:
                hello = stream.recv(timeout=5)
                assert hello is not None and hello.type == "subscribed"

        with EngineClient.remote(url, "forged.token.value") as forged, pytest.raises(AuthenticationError):
            forged.status()

        admin_token = home.cli("auth", "token", "create", "--user", "ann", "--role", "admin", "--json")
        with EngineClient.remote(url, json.loads(admin_token.stdout)["token"]) as admin:
            admin.stop()
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert not home.socket.exists()
    host, port = address.rsplit(":", 1)
    with socket.socket() as probe:
        assert probe.connect_ex((host, int(port))) != 0  # the TCP listener is gone too


def test_stale_socket_and_pid_file_do_not_block_a_start(home: Home) -> None:
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(home.socket))
    stale.close()
    home.pid_file.write_text("999999\n")
    started = home.cli("engine", "start", "--json")
    assert started.returncode == 0, started.stderr
    data = json.loads(started.stdout)
    assert data["ready"] is True
    assert data["pid"] == int(home.pid_file.read_text())
    assert home.cli("engine", "stop").returncode == 0
    assert not home.pid_file.exists()


def test_start_failure_is_reported_with_the_daemon_output(home: Home) -> None:
    home.socket.mkdir()  # something that is not a socket sits where the socket must go
    result = home.cli("engine", "start", "--wait", "20")
    assert result.returncode == 1
    stderr = " ".join(result.stderr.split())  # Rich wraps long lines
    assert "the engine exited during start (exit code 1)" in stderr
    assert f"{home.socket} exists and is not a socket; refusing to replace it" in stderr
    assert not home.pid_file.exists()
