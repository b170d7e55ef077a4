"""The audit log: who changed what, when, from where, with the values before and after.

Home: ``$ALPHINTRA_HOME/audit.jsonl``, an append-only file of JSON lines, mode 0600. Its own file rather than the
journal because its writers are the daemon (orders, cancels, modifies, limits, halts, resumes: every change made
through the API) *and* the CLI (user and role changes, made with no daemon needed), and because it is evidence
about the engine, not engine state to replay.

Durability: an entry is written and fsynced before the change it records is answered (``access.py`` holds the
response back until then), so nothing acknowledged is missing from the log. Writers in one process share fsyncs
(group commit: a writer whose line another writer's fsync already covered does not sync again); writers in
different processes append under ``flock``. A line torn by a crash was never acknowledged: the next writer to open
the file cuts it off before appending, and readers skip it.

Each entry: ``ts`` (ISO-8601 UTC), ``user``, ``role``, ``via`` (``unix``, ``tcp`` or ``cli``), ``peer`` (the TCP
peer address, or null), ``action``, ``target``, ``status``, ``before``, ``after`` and ``request`` (the request
body with secret-looking fields redacted).
"""

from __future__ import annotations

import fcntl
import functools
import json
import os
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

AUDIT_FILE = "audit.jsonl"
_SECRET_WORDS = ("secret", "password", "passphrase", "token", "api_key", "apikey", "private", "credential")
REDACTED = "***"


def utc_iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@functools.lru_cache(maxsize=4096)
def _secret(key: object) -> bool:
    # Field names repeat (every order has the same two dozen): the word search runs once per name.
    return any(w in str(key).lower() for w in _SECRET_WORDS)


def redact(value: Any) -> Any:
    """A copy of a JSON value with every secret-looking field's value replaced (secrets never reach the log)."""
    if isinstance(value, dict):
        return {
            k: REDACTED if _secret(k) else (redact(v) if isinstance(v, dict | list) else v) for k, v in value.items()
        }
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value


class AuditLog:
    """Appends entries durably; reads them back filtered. Thread-safe; several processes may append."""

    def __init__(self, root: Path, *, clock: Callable[[], float] | None = None) -> None:
        import time

        self.path = root / AUDIT_FILE
        self.clock = clock if clock is not None else time.time
        self._fd: int | None = None
        self._write_lock = threading.Lock()
        self._sync_lock = threading.Lock()
        self._written = 0  # lines written by this process
        self._synced = 0  # lines of this process known durable

    def _open(self) -> int:
        if self._fd is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                _cut_torn_tail(fd)
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
            self._fd = fd
        return self._fd

    def entry(self, **fields: Any) -> dict[str, Any]:
        """An entry stamped now; ``fields`` as listed in the module docstring."""
        base: dict[str, Any] = {
            "ts": utc_iso(self.clock()),
            "user": None,
            "role": None,
            "via": None,
            "peer": None,
            "action": None,
            "target": None,
            "status": None,
            "before": None,
            "after": None,
            "request": None,
        }
        base.update(fields)
        base["request"] = redact(base["request"])
        base["before"] = redact(base["before"])
        base["after"] = redact(base["after"])
        return base

    def append(self, entry: dict[str, Any]) -> None:
        """Write one entry and return once it is on disk; raises OSError when it could not be (then the change it
        records must not be acknowledged)."""
        self.sync(self.write(entry))

    def write(self, entry: dict[str, Any]) -> int:
        """Hand one entry to the file (not yet durable: see :meth:`sync`); returns its number in this process."""
        line = _line(entry)
        with self._write_lock:
            fd = self._open()
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                _write_all(fd, line)
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
            self._written += 1
            return self._written

    def write_many(self, entries: list[dict[str, Any]]) -> int:
        """Hand several entries to the file in one write (not yet durable); returns the number of the last."""
        data = b"".join([_line(e) for e in entries])
        with self._write_lock:
            fd = self._open()
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                _write_all(fd, data)
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
            self._written += len(entries)
            return self._written

    @property
    def written(self) -> int:
        """How many entries this process has handed to the file."""
        return self._written

    def covers(self, upto: int) -> bool:
        """Whether the entries up to number ``upto`` are already on disk (no fsync needed)."""
        return self._synced >= upto

    def sync(self, upto: int) -> None:
        """Return once the entries up to number ``upto`` are on disk; one fsync covers every entry written before it."""
        with self._sync_lock:
            if self._synced >= upto:
                return  # another writer's fsync covered it
            with self._write_lock:
                target = self._written
                fd = self._open()
            os.fsync(fd)
            self._synced = target

    def close(self) -> None:
        with self._write_lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None

    def read(
        self, *, user: str | None = None, since: str | None = None, limit: int | None = None
    ) -> list[dict[str, Any]]:
        """Entries oldest first; ``since`` (ISO-8601 UTC) keeps those at or after it, ``limit`` the newest."""
        bound = None if since is None else parse_since(since)
        out = []
        for entry in self._lines():
            if user is not None and entry.get("user") != user:
                continue
            if bound is not None and _parse_ts(str(entry.get("ts", ""))) < bound:
                continue
            out.append(entry)
        return out[-limit:] if limit is not None else out

    def _lines(self) -> Iterator[dict[str, Any]]:
        try:
            fh = self.path.open("rb")
        except FileNotFoundError:
            return
        with fh:
            for raw in fh:
                if not raw.endswith(b"\n"):
                    return  # a torn last line: never acknowledged
                try:
                    yield json.loads(raw)
                except ValueError:
                    continue


def parse_since(text: str, field: str = "since") -> datetime:
    from alphintra.errors import ValidationError

    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValidationError(field, "must be an ISO-8601 time, e.g. 2026-12-07T03:00:00Z", text) from None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _parse_ts(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return datetime.min.replace(tzinfo=UTC)


def _line(entry: dict[str, Any]) -> bytes:
    try:
        return orjson.dumps(entry, default=str, option=orjson.OPT_NON_STR_KEYS | orjson.OPT_APPEND_NEWLINE)
    except (orjson.JSONEncodeError, TypeError):  # what orjson does not take (an integer over 64 bits): the stdlib
        return (json.dumps(entry, separators=(",", ":"), default=str) + "\n").encode()


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _cut_torn_tail(fd: int) -> None:
    size = os.lseek(fd, 0, os.SEEK_END)
    if size == 0 or os.pread(fd, 1, size - 1) == b"\n":
        return
    # Find the last complete line and truncate after it.
    pos = size
    while pos > 0:
        start = max(0, pos - 65536)
        chunk = os.pread(fd, pos - start, start)
        cut = chunk.rfind(b"\n")
        if cut >= 0:
            os.ftruncate(fd, start + cut + 1)
            os.fsync(fd)
            return
        pos = start
    os.ftruncate(fd, 0)
    os.fsync(fd)


__all__ = ["AUDIT_FILE", "REDACTED", "AuditLog", "parse_since", "redact", "utc_iso"]
