"""What the daemon's worker processes share: how they start, and how their log records reach the daemon.

Work that is Python-heavy and off the order path (the state projection, an exchange's public market data) runs in a
process of its own, so that it does not take the GIL the engine thread and the API need. Each starts from
multiprocessing's fork server (:func:`context`): a clean single-threaded process that imported the worker's module
once, so a start is a fork, not a fresh interpreter importing everything again.

A worker's log records travel over a pipe (:func:`send_logs`, in the worker) and are handled by the daemon's own
loggers (:func:`pump_logs`, in the daemon), so they land in the daemon's console and JSON log like its own.
"""

from __future__ import annotations

import contextlib
import logging
import logging.handlers
import multiprocessing
import threading
from multiprocessing.connection import Connection
from typing import Any

_PRELOAD: set[str] = set()


def context(*preload: str) -> Any:
    """The fork-server context, with ``preload`` (module names) imported by the server before it forks. The server
    starts with the first worker, with every module asked for so far: a caller that will start several kinds of
    worker names them all before the first (later names are imported by each worker itself)."""
    _PRELOAD.update(preload)
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(sorted(_PRELOAD))
    return ctx


class Outbox:
    """A worker's pipe to the daemon, one message at a time (a worker sends from several threads); also the queue
    of its log handler, so that log records and the worker's own messages share the pipe in order."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.lock = threading.Lock()

    def send(self, message: Any) -> None:
        with self.lock:
            self.conn.send(message)

    put_nowait = send


def send_logs(conn: Connection, logger: str = "alphintra") -> Outbox:
    """In a worker: every record of ``logger`` (and below) goes to the daemon through ``conn`` (as a
    :class:`logging.LogRecord`; see :func:`handle_log`). Returns the outbox, for the worker's other messages."""
    outbox = Outbox(conn)
    root = logging.getLogger(logger)
    root.handlers[:] = [logging.handlers.QueueHandler(outbox)]  # type: ignore[arg-type]
    root.setLevel(logging.DEBUG)
    root.propagate = False
    return outbox


def handle_log(record: logging.LogRecord) -> None:
    """In the daemon: a worker's record, to the logger it was made for (its level applies)."""
    logger = logging.getLogger(record.name)
    if logger.isEnabledFor(record.levelno):
        logger.handle(record)


def pump_logs(conn: Connection) -> None:
    """In the daemon: hand each record from a worker to the logger it was made for, until the worker's end of the
    pipe closes (it exited)."""
    with contextlib.suppress(EOFError, OSError):
        while True:
            handle_log(conn.recv())


__all__ = ["Outbox", "context", "handle_log", "pump_logs", "send_logs"]
