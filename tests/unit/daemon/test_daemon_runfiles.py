"""Pid file locking and socket binding."""

from __future__ import annotations

import os
import socket
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from alphintra.daemon.runfiles import (
    MAX_SOCKET_PATH,
    PidFile,
    bind_tcp_socket,
    bind_unix_socket,
    parse_host_port,
    probe_daemon,
    remove_socket_file,
    socket_answers,
)
from alphintra.errors import ConflictError, ValidationError


@pytest.fixture
def short_dir() -> Iterator[Path]:
    """pytest's tmp_path can exceed the 107-byte limit of a unix socket path."""
    with tempfile.TemporaryDirectory(prefix="ad", dir="/tmp") as name:
        yield Path(name)


def test_pid_file_holds_our_pid_and_refuses_a_second_holder(tmp_path: Path) -> None:
    path = tmp_path / "engine.pid"
    with PidFile(path) as first:
        assert first.held
        assert path.read_text() == f"{os.getpid()}\n"
        assert probe_daemon(path).running and probe_daemon(path).pid == os.getpid()
        with pytest.raises(ConflictError) as err:
            PidFile(path).acquire()
        assert err.value.message == f"an engine is already running for this data home (pid {os.getpid()})"
    assert not path.exists()
    assert probe_daemon(path).running is False


def test_stale_pid_file_is_taken_over(tmp_path: Path) -> None:
    path = tmp_path / "engine.pid"
    path.write_text("999999\n")  # a crashed daemon: file left behind, nobody holds the lock
    probe = probe_daemon(path)
    assert (probe.running, probe.pid) == (False, 999999)
    with PidFile(path):
        assert path.read_text() == f"{os.getpid()}\n"


def test_unix_socket_is_owner_only(short_dir: Path) -> None:
    path = short_dir / "engine.sock"
    sock = bind_unix_socket(path)
    try:
        assert stat.S_ISSOCK(path.lstat().st_mode)
        assert stat.S_IMODE(path.lstat().st_mode) == 0o600
        assert socket_answers(path)
        with pytest.raises(ConflictError, match="already listening"):
            bind_unix_socket(path)
    finally:
        sock.close()
        remove_socket_file(path)
    assert not path.exists()


def test_stale_socket_is_replaced(short_dir: Path) -> None:
    path = short_dir / "engine.sock"
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(path))
    stale.close()  # the file stays, nobody listens
    assert path.exists() and not socket_answers(path)
    sock = bind_unix_socket(path)
    try:
        assert socket_answers(path)
    finally:
        sock.close()


def test_a_regular_file_is_never_replaced(short_dir: Path) -> None:
    path = short_dir / "engine.sock"
    path.write_text("precious")
    with pytest.raises(ConflictError, match="is not a socket"):
        bind_unix_socket(path)
    assert path.read_text() == "precious"
    remove_socket_file(path)
    assert path.exists()


def test_too_long_socket_path_names_the_setting(short_dir: Path) -> None:
    path = short_dir / ("x" * MAX_SOCKET_PATH) / "engine.sock"
    with pytest.raises(ValidationError) as err:
        bind_unix_socket(path)
    assert err.value.field == "engine.socket"


@pytest.mark.parametrize(
    ("text", "expected"),
    [("127.0.0.1:8080", ("127.0.0.1", 8080)), ("localhost:0", ("localhost", 0)), ("[::1]:9000", ("::1", 9000))],
)
def test_parse_host_port(text: str, expected: tuple[str, int]) -> None:
    assert parse_host_port(text) == expected


@pytest.mark.parametrize("text", ["8080", ":8080", "host:", "host:http", "host:70000"])
def test_parse_host_port_rejects(text: str) -> None:
    with pytest.raises(ValidationError) as err:
        parse_host_port(text)
    assert err.value.field == "--tcp"


def test_tcp_port_in_use_is_a_conflict() -> None:
    first = bind_tcp_socket("127.0.0.1", 0)
    try:
        port = first.getsockname()[1]
        with pytest.raises(ConflictError, match=f"127.0.0.1:{port} is already in use"):
            bind_tcp_socket("127.0.0.1", port)
    finally:
        first.close()
