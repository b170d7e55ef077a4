"""The daemon's files in the data home: the pid file (with its lock) and the listening sockets.

Single instance is enforced by an exclusive ``flock`` on the pid file held for the daemon's lifetime, not by
"does the pid exist": a lock dies with its process, so a crashed daemon never leaves a file that blocks the
next start, and a recycled pid can never be mistaken for a live daemon.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import socket
import stat
from dataclasses import dataclass
from pathlib import Path

from alphintra.errors import ConflictError, OperationFailed, ValidationError

# sun_path is 108 bytes on Linux (104 on macOS) including the terminating NUL.
MAX_SOCKET_PATH = 103


@dataclass(frozen=True, slots=True)
class DaemonProbe:
    """What the pid file says about a daemon for this data home."""

    running: bool
    pid: int | None


class PidFile:
    """An exclusively locked pid file; ``acquire`` raises ConflictError when a live daemon holds it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        for _ in range(5):
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                pid = _read_pid_fd(fd)
                os.close(fd)
                shown = f" (pid {pid})" if pid else ""
                raise ConflictError(
                    f"an engine is already running for this data home{shown}",
                    detail=f"pid file {self.path}; stop it with `alphintra engine stop`",
                ) from None
            # The previous holder may have unlinked the path between our open and our lock: then we hold a
            # lock on an orphaned inode and must retry on the new file.
            try:
                same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
            except FileNotFoundError:
                same = False
            if not same:
                os.close(fd)
                continue
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
            os.fsync(fd)
            self._fd = fd
            return
        raise OperationFailed(f"could not lock the pid file {self.path}: it keeps being replaced")

    def release(self) -> None:
        if self._fd is None:
            return
        # Unlink while still holding the lock so that nobody sees our pid without our lock.
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)
        os.close(self._fd)
        self._fd = None

    def __enter__(self) -> PidFile:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _read_pid_fd(fd: int) -> int | None:
    os.lseek(fd, 0, os.SEEK_SET)
    text = os.read(fd, 64).decode(errors="replace").strip()
    return int(text) if text.isdigit() else None


def probe_daemon(pid_file: Path) -> DaemonProbe:
    """Is a daemon holding this pid file? Stale files (no lock holder) are reported as not running."""
    try:
        fd = os.open(pid_file, os.O_RDONLY)
    except FileNotFoundError:
        return DaemonProbe(False, None)
    try:
        pid = _read_pid_fd(fd)
        try:
            # A shared lock is enough to learn whether an exclusive holder exists, and is dropped at once.
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return DaemonProbe(True, pid)
        return DaemonProbe(False, pid)
    finally:
        os.close(fd)


def check_socket_path(path: Path) -> None:
    if len(os.fsencode(path)) > MAX_SOCKET_PATH:
        raise ValidationError(
            "engine.socket",
            f"a unix socket path must be at most {MAX_SOCKET_PATH} bytes; set engine.socket to a shorter path",
            str(path),
        )


def socket_answers(path: Path, timeout: float = 1.0) -> bool:
    """True when something accepts connections on the unix socket ``path``."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.connect(os.fspath(path))
        except OSError:
            return False
    return True


def bind_unix_socket(path: Path, backlog: int = 128) -> socket.socket:
    """Bind a listening unix socket readable and writable by the owner only.

    A stale socket file (nobody answering) is removed; a live one or a non-socket file at the path is refused.
    The mode is set between bind and listen: until ``listen`` every connect is refused, so no other user can
    slip in while the file briefly has the default mode.
    """
    check_socket_path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() or path.is_symlink():
        if not stat.S_ISSOCK(path.lstat().st_mode):
            raise ConflictError(f"{path} exists and is not a socket; refusing to replace it")
        if socket_answers(path):
            raise ConflictError(f"another process is already listening on {path}")
        path.unlink()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(os.fspath(path))
        os.chmod(path, 0o600)
        sock.listen(backlog)
    except OSError as exc:
        sock.close()
        raise OperationFailed(f"cannot listen on {path}: {exc.strerror or exc}") from None
    sock.setblocking(False)
    return sock


def parse_host_port(text: str, *, field: str = "--tcp", allow_zero: bool = True) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:8080`` for IPv6); port 0 asks the OS for a free port when allowed."""
    host, sep, port = text.strip().rpartition(":")
    host = host.strip("[]")
    low = 0 if allow_zero else 1
    if not sep or not host or not port.isdigit() or not low <= int(port) <= 65535:
        raise ValidationError(field, f"must be HOST:PORT with a port between {low} and 65535", text)
    return host, int(port)


def bind_tcp_socket(host: str, port: int, backlog: int = 128) -> socket.socket:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise ValidationError("--tcp", "host does not resolve", host, reason=str(exc)) from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(backlog)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise ConflictError(f"{host}:{port} is already in use") from None
        raise OperationFailed(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.setblocking(False)
    return sock


def remove_socket_file(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        if stat.S_ISSOCK(path.lstat().st_mode):
            path.unlink()


__all__ = [
    "MAX_SOCKET_PATH",
    "DaemonProbe",
    "PidFile",
    "bind_tcp_socket",
    "bind_unix_socket",
    "check_socket_path",
    "parse_host_port",
    "probe_daemon",
    "remove_socket_file",
    "socket_answers",
]
