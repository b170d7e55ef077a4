"""Controlling a daemon from outside: start it in the background, stop it, read its log.

Waiting is always "poll a condition until a deadline": ready over the socket after a start, the pid-file lock
released after a stop; never a fixed sleep that is too long on a fast machine and too short on a slow one.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import alphintra
from alphintra.daemon.runfiles import probe_daemon
from alphintra.errors import ConflictError, OperationFailed

if TYPE_CHECKING:
    from alphintra.config.settings import Settings

OUTPUT_FILE = "engine.out"
POLL_SECONDS = 0.05


@dataclass(frozen=True, slots=True)
class Launched:
    pid: int
    socket: Path
    status: dict[str, object]


def output_file_for(settings: Settings) -> Path:
    """Where a background daemon's stdout/stderr go (crashes before logging is set up land here)."""
    return settings.paths.logs / OUTPUT_FILE


def _child_env(settings: Settings) -> dict[str, str]:
    env = dict(os.environ)
    env["ALPHINTRA_HOME"] = str(settings.home.expanduser().resolve())
    # The daemon must run the same code as the CLI that starts it, installed or not.
    package_root = str(Path(alphintra.__file__).resolve().parent.parent)
    existing = env.get("PYTHONPATH")
    env["PYTHONPATH"] = package_root + (os.pathsep + existing if existing else "")
    return env


def spawn_daemon(
    settings: Settings,
    *,
    tcp: str | None = None,
    verbosity: int = 0,
    wait_seconds: float = 30.0,
    clock: Callable[[], float] = time.monotonic,
) -> Launched:
    """Start ``python -m alphintra.daemon`` detached and wait until it is ready or has failed."""
    from alphintra.daemon.client import EngineClient
    from alphintra.daemon.server import socket_path_for

    probe = probe_daemon(settings.paths.pid_file)
    if probe.running:
        raise ConflictError(
            f"an engine is already running for this data home (pid {probe.pid})",
            detail="stop it with `alphintra engine stop`",
        )
    out_path = output_file_for(settings)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "alphintra.daemon"]
    if tcp:
        command += ["--tcp", tcp]
    command += ["-v"] * verbosity
    start_offset = out_path.stat().st_size if out_path.exists() else 0
    with open(os.open(out_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600), "ab") as out:
        proc = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # survives the terminal that started it; no SIGINT from its Ctrl-C
            env=_child_env(settings),
        )
    socket_path = socket_path_for(settings)
    deadline = clock() + wait_seconds
    with EngineClient(socket_path=socket_path, timeout=2.0) as client:
        while True:
            code = proc.poll()
            if code is not None:
                detail = _failure_detail(out_path, start_offset)
                reason = _start_failure(detail)
                raise OperationFailed(
                    f"the engine exited during start (exit code {code})" + (f": {reason}" if reason else ""),
                    detail=None if reason else detail,
                )
            if socket_path.exists():
                try:
                    if client.ready():
                        return Launched(proc.pid, socket_path, client.status())
                except OperationFailed:
                    pass  # bound but not yet serving, or the socket is a stale one about to be replaced
            if clock() >= deadline:
                raise OperationFailed(
                    f"the engine (pid {proc.pid}) did not become ready within {wait_seconds:g} s; "
                    "it is still running: see `alphintra engine logs`",
                    detail=_failure_detail(out_path, start_offset),
                )
            time.sleep(POLL_SECONDS)


def _start_failure(output: str | None) -> str | None:
    """The reason the daemon logged for a failed start (its last such line), if it logged one."""
    from alphintra.daemon.server import START_FAILED

    found = [line.split(START_FAILED, 1)[1] for line in (output or "").splitlines() if START_FAILED in line]
    return found[-1].strip() if found else None


def _failure_detail(out_path: Path, offset: int) -> str | None:
    text = ""
    if out_path.exists():
        with out_path.open("rb") as fh:
            fh.seek(offset)
            text = fh.read().decode(errors="replace")
    lines = [line for line in text.splitlines() if line.strip()][-15:]
    return "\n".join(lines) if lines else None


def stop_daemon(settings: Settings, *, wait_seconds: float = 30.0, clock: Callable[[], float] = time.monotonic) -> int:
    """SIGTERM the daemon named by the pid file and wait until it has released it; returns its pid."""
    pid_file = settings.paths.pid_file
    probe = probe_daemon(pid_file)
    if not probe.running or probe.pid is None:
        raise OperationFailed(f"no engine is running (no live pid file at {pid_file})")
    try:
        os.kill(probe.pid, signal.SIGTERM)
    except ProcessLookupError:
        raise OperationFailed(f"no engine is running (pid {probe.pid} is gone)") from None
    except PermissionError:
        raise OperationFailed(f"not allowed to signal the engine (pid {probe.pid})") from None
    deadline = clock() + wait_seconds
    while probe_daemon(pid_file).running:
        if clock() >= deadline:
            raise OperationFailed(
                f"the engine (pid {probe.pid}) did not stop within {wait_seconds:g} s",
                detail="it may still be flushing; check `alphintra engine logs`",
            )
        time.sleep(POLL_SECONDS)
    return probe.pid


def tail_lines(path: Path, count: int) -> list[str]:
    """The last ``count`` lines of a text file without reading it all into memory."""
    if count <= 0 or not path.exists():
        return []
    with path.open("r", encoding="utf-8", errors="replace") as fh:
        return [line.rstrip("\n") for line in deque(fh, maxlen=count)]


def follow_lines(
    path: Path,
    *,
    should_stop: Callable[[], bool],
    poll: Callable[[], None] = lambda: time.sleep(0.25),
) -> Iterator[str]:
    """New lines appended to ``path`` from now on, surviving rotation (the file replaced or truncated)."""
    fh = path.open("r", encoding="utf-8", errors="replace") if path.exists() else None
    if fh is not None:
        fh.seek(0, os.SEEK_END)
    partial = ""
    try:
        while not should_stop():
            if fh is None:
                if path.exists():
                    fh = path.open("r", encoding="utf-8", errors="replace")
                else:
                    poll()
                    continue
            chunk = fh.read()
            if chunk:
                partial += chunk
                *complete, partial = partial.split("\n")
                yield from complete
                continue
            try:
                current = path.stat()
            except FileNotFoundError:
                current = None
            rotated = current is None or current.st_ino != os.fstat(fh.fileno()).st_ino
            if rotated or (current is not None and current.st_size < fh.tell()):
                fh.close()
                fh = None
                partial = ""
                continue
            poll()
    finally:
        if fh is not None:
            fh.close()


def format_log_line(line: str) -> str:
    """One JSON log record as ``time level logger: message key=value ...``; other lines pass through."""
    try:
        record = json.loads(line)
    except ValueError:
        return line
    if not isinstance(record, dict):
        return line
    ts = str(record.pop("ts", ""))
    with contextlib.suppress(ValueError):
        ts = datetime.fromisoformat(ts).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
    level = str(record.pop("level", ""))
    logger = str(record.pop("logger", ""))
    message = str(record.pop("msg", ""))
    exc = record.pop("exc", None)
    extras = " ".join(f"{k}={v}" for k, v in record.items())
    text = f"{ts} {level:<7} {logger}: {message}" + (f"  {extras}" if extras else "")
    return text + (f"\n{exc}" if exc else "")


__all__ = [
    "Launched",
    "follow_lines",
    "format_log_line",
    "output_file_for",
    "spawn_daemon",
    "stop_daemon",
    "tail_lines",
]
