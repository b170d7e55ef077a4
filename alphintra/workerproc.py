"""What the daemon's worker processes share: how they start, and how their log records reach the daemon.

Work that is Python-heavy and off the order path (the state projection, an exchange's public market data) runs in a
process of its own, so that it does not take the GIL the engine thread and the API need. Each starts from
multiprocessing's fork server (:func:`context`): a clean single-threaded process that imported the worker's module
once, so a start is a fork, not a fresh interpreter importing everything again.

A worker's log records travel over a pipe (:func:`send_logs`, in the worker) and are handled by the daemon's own
loggers (:func:`pump_logs`, in the daemon), so they land in the daemon's console and JSON log like its own.

:class:`WorkerHandle` is the daemon's side of a worker that takes commands and answers (an exchange venue, its
market data): the process and its two pipes, a reader thread that routes what the worker says, callers waiting for
answers, and a new worker when one dies. The project's errors cross the pipe as plain values (:func:`described`):
their constructors take the parts, so they do not pickle.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import logging
import logging.handlers
import multiprocessing
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from alphintra import errors
from alphintra.errors import AlphintraError, OperationFailed, ValidationError

_log = logging.getLogger("alphintra.workers")
_RESTART_S = 1.0
_RESTART_MAX_S = 30.0

_PRELOAD: set[str] = set()


def restart_delay(failures: int) -> float:
    """The pause before starting a dead worker again after ``failures`` new ones in a row that did not come up: a
    second, doubling up to half a minute, so that a worker that cannot start (a full disk, a store that refuses it)
    is tried again without spinning and without a log line every second."""
    return min(_RESTART_MAX_S, _RESTART_S * float(2 ** min(failures, 16)))


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


def described(exc: BaseException) -> tuple[Any, ...]:
    """An error as plain values, for the pipe (see :func:`error_from`)."""
    if isinstance(exc, ValidationError):
        return ("validation", exc.field, exc.rule, exc.value)
    if isinstance(exc, AlphintraError):
        return ("error", type(exc).__name__, exc.message, exc.detail)
    return ("error", "OperationFailed", f"{type(exc).__name__}: {exc}", None)


_KNOWN: dict[str, type[AlphintraError]] = {
    c.__name__: c
    for c in (AlphintraError, OperationFailed, errors.ConflictError, errors.NotFoundError, errors.RetryableError)
}


def error_from(parts: tuple[Any, ...], *known: type[AlphintraError]) -> AlphintraError:
    """The error :func:`described` took apart: its class when it is one of the project's plain-message errors (or
    of ``known``), else an :class:`OperationFailed` with its message."""
    if parts[0] == "validation":
        return ValidationError(parts[1], parts[2], parts[3])
    kinds = {**_KNOWN, **{c.__name__: c for c in known}}
    return kinds.get(parts[1], OperationFailed)(parts[2], detail=parts[3])


class WorkerHandle:
    """The daemon's side of a worker (see the module). A subclass says how to read the worker's messages
    (:meth:`_take`, calling :meth:`_ready` when the worker is up) and what a death and a new worker mean
    (:meth:`_on_exit`, :meth:`_after_restart`); the worker sends ``("ready", ...)`` or ``("failed", described)``
    first."""

    def __init__(self, ctx: Any, target: Callable[..., None], args: tuple[Any, ...], name: str) -> None:
        self._ctx = ctx
        self._target = target
        self._args = args
        self._name = name
        self._lock = threading.RLock()  # a restart spawns under it: close sees the old worker or the new
        self._answers: dict[Any, concurrent.futures.Future[tuple[Any, ...]]] = {}
        self._commands: Connection | None = None
        self._process: Any = None
        self._reader: threading.Thread | None = None
        self._closing = False
        self._started = False  # a first start that fails is the caller's error, not a worker to start again
        self._failures = 0  # new workers in a row that did not come up (the delay before the next grows)
        self.restarts = 0

    @property
    def pid(self) -> int | None:
        return None if self._process is None else int(self._process.pid)

    # -- life ---------------------------------------------------------------------------------------------------

    def _start_worker(self, timeout: float) -> None:
        inbox = self._spawn()
        self._reader = threading.Thread(target=self._read, args=(inbox,), name=f"{self._name}-rx", daemon=True)
        self._reader.start()
        try:
            self._wait("start", timeout)
        except BaseException:
            self.close()
            raise

    def _spawn(self) -> Connection:
        commands_in, commands = self._ctx.Pipe(duplex=False)
        inbox, out = self._ctx.Pipe(duplex=False)
        with self._lock:
            self._expect("start")
            process = self._ctx.Process(
                target=self._target, args=(commands_in, out, *self._args), name=self._name, daemon=True
            )
            process.start()
            commands_in.close()
            out.close()  # the worker holds the only write end: its exit ends our reading
            if self._commands is not None:
                self._commands.close()  # a dead worker's
            self._commands, self._process = commands, process
        reading: Connection = inbox
        return reading

    def close(self) -> None:
        """Stop the worker (the reader joins it: one waiter on its exit code)."""
        with self._lock:
            self._closing = True
            commands, process = self._commands, self._process
        if commands is None:
            return
        with contextlib.suppress(OSError):
            commands.send(("close",))
        reader = self._reader
        if reader is not None and reader is not threading.current_thread():
            reader.join(20)
            if reader.is_alive():
                process.terminate()
                reader.join(10)
        commands.close()

    # -- what the worker says -------------------------------------------------------------------------------------

    def _read(self, inbox: Connection) -> None:
        while True:
            with contextlib.suppress(EOFError, OSError):
                while True:
                    message = inbox.recv()
                    if isinstance(message, logging.LogRecord):
                        handle_log(message)
                    elif message[0] == "failed":
                        self._answer("start", ("error", message[1]))
                    else:
                        self._take(message)
            inbox.close()
            process = self._process
            process.join()
            why = f"the {self._name} worker exited (code {process.exitcode})"
            self._answer("start", ("error", ("error", "OperationFailed", why, None)))
            self._on_exit(why)
            with self._lock:
                if self._closing or not self._started:
                    return
                self.restarts += 1
                delay = restart_delay(self._failures)
                self._failures += 1
            _log.error("%s; starting it again", why)
            time.sleep(delay)
            with self._lock:
                if self._closing:
                    return
                inbox = self._spawn()
            threading.Thread(target=self._restarted, name=f"{self._name}-restart", daemon=True).start()

    def _take(self, message: tuple[Any, ...]) -> None:
        raise NotImplementedError

    def _ready(self) -> None:
        self._started = True
        self._failures = 0
        self._answer("start", ("ok", None))

    def _on_exit(self, why: str) -> None:
        """The worker exited (the reader's thread, before any new one starts)."""

    def _after_restart(self) -> None:
        """A new worker is up (a helper thread: the reader goes on reading its answers)."""

    def _restarted(self) -> None:
        try:
            self._wait("start", self._start_timeout())
        except AlphintraError as exc:
            _log.error("the new %s worker did not come up: %s", self._name, exc)
            return
        self._after_restart()

    def _start_timeout(self) -> float:
        return 60.0

    # -- commands and answers -------------------------------------------------------------------------------------

    def _expect(self, key: Any) -> None:
        with self._lock:
            self._answers[key] = concurrent.futures.Future()

    def _answer(self, key: Any, answer: tuple[Any, ...]) -> None:
        with self._lock:
            future = self._answers.get(key)
        if future is not None and not future.done():
            future.set_result(answer)

    def _fail_waiting(self, parts: tuple[Any, ...]) -> None:
        """Every caller still waiting (but for the start) gets the error ``parts``."""
        with self._lock:
            waiting = [f for k, f in self._answers.items() if k != "start"]
        for future in waiting:
            if not future.done():
                future.set_result(("error", parts))

    def _unavailable(self, message: str) -> AlphintraError:
        return OperationFailed(message)

    def _send(self, message: tuple[Any, ...]) -> None:
        with self._lock:
            commands = self._commands
            if commands is None or self._closing:
                raise self._unavailable(f"the {self._name} worker is not running")
            try:
                commands.send(message)
            except OSError:
                raise self._unavailable(f"the {self._name} worker is not running") from None

    def _wait(self, key: Any, timeout: float, *known: type[AlphintraError]) -> Any:
        with self._lock:
            future = self._answers[key]
        try:
            answer = future.result(timeout)
        except concurrent.futures.TimeoutError:
            raise self._unavailable(f"the {self._name} worker did not answer within {timeout:g} s") from None
        finally:
            with self._lock:
                self._answers.pop(key, None)
        if answer[0] != "ok":
            raise error_from(answer[1], *known)
        return answer[1]


__all__ = [
    "Outbox",
    "WorkerHandle",
    "context",
    "described",
    "error_from",
    "handle_log",
    "pump_logs",
    "restart_delay",
    "send_logs",
]
