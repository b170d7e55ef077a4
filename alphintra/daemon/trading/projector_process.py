"""The state projection's runner: :class:`StateProjection` in a process of its own, beside the daemon.

Why a process. Folding records and writing rows is Python work; on the daemon's threads it took the GIL the
engine thread and the API need, a third of a millisecond to nearly a millisecond per order, and every hand-over of
the GIL on the order path waited for it. In its own process it runs on the second core with its own interpreter.
Nothing about the projection itself changes: it reads the journal files, writes rows together with the journal
position they bring the store to, and continues from the stored position after any stop, a crash included.

What the daemon and the process share (:class:`ProjectorState`): a few 64-bit integers in shared memory (the
journal's durable end, the position applied, whether the projection is open, whether it is closing, whether the
process sleeps) and a doorbell pipe. The engine thread tells the durable end with one store into shared memory, no
lock and no system call; it rings the doorbell only when the process has gone to sleep after a quiet spell, so a
busy engine never pays a system call for it. The process polls every :data:`_POLL_S` while it recently had work.
A daemon killed outright closes the doorbell's write end: the process sees the end of the pipe and exits (its
transaction, if any, is rolled back: the rows stay the fold of ``1..applied_seq``). A process that dies is started
again and continues from the stored position; one lock file keeps a second process off the store until the first
has gone.

It starts from the fork server, and its log records reach the daemon's own loggers (:mod:`alphintra.workerproc`).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Sequence
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from alphintra.config.logs import get_logger
from alphintra.daemon.trading.projector import StateProjection
from alphintra.engine.core.instrument import Instrument, InstrumentRegistry
from alphintra.lockfile import locked
from alphintra.osthread import name_os_thread
from alphintra.workerproc import context, pump_logs, restart_delay, send_logs

log = get_logger("daemon.projector")
_RETRY_S = 0.5
_POLL_S = 0.01  # while work came recently: how often the process looks at the durable end
_BUSY_FOR_S = 0.2  # polling continues this long after the last work, then the process sleeps on the doorbell
# Records are projected in groups, one transaction each: a commit per order cost more than the order's whole
# fold. A group closes after this long, at a chunk's worth of records, or at once when a caller waits for it.
_GROUP_S = 0.5
_GROUP_RECORDS = 5_000
_SLEEP_S = 0.5  # a sleeping process looks anyway this often (a ring lost to a race costs at most this)
_LOCK_NAME = "projector.lock"
_DURABLE, _APPLIED, _OPENED, _CLOSING, _SLEEPING, _WANTED = range(6)


class ProjectorState:
    """The integers the daemon and the projecting process share, and the doorbell (see the module)."""

    def __init__(self, values: Any, bell: Connection | None, listen: Connection | None) -> None:
        self.values = values  # a multiprocessing RawArray of 64-bit ints
        self.bell = bell  # the daemon's end (writes)
        self.listen = listen  # the process's end (reads)

    # -- the daemon's side --------------------------------------------------------------------------------------

    def notify(self, durable_seq: int) -> None:
        """The journal is durable up to ``durable_seq`` (engine thread, after each batch's sync)."""
        values = self.values
        if durable_seq > values[_DURABLE]:
            values[_DURABLE] = durable_seq
            self._wake()

    def _wake(self) -> None:
        """Ring only a process that went to sleep: a busy one looks at the shared values by itself."""
        values = self.values
        if values[_SLEEPING]:
            values[_SLEEPING] = 0
            self.ring()

    def ring(self) -> None:
        bell = self.bell
        if bell is not None:
            with contextlib.suppress(OSError):  # the process is gone: its successor reads the durable end itself
                bell.send_bytes(b"")

    def wait_applied(self, seq: int, timeout: float) -> bool:
        """Block until the projection has applied record ``seq`` (False on timeout); the process projects at once
        what a caller waits for, rather than at the end of its group."""
        values = self.values
        deadline = time.monotonic() + timeout
        if values[_APPLIED] < seq:
            values[_WANTED] = max(values[_WANTED], seq)
            self._wake()
        while not (values[_OPENED] and values[_APPLIED] >= seq):
            if time.monotonic() >= deadline:
                return False
            time.sleep(_POLL_S)
        return True

    # -- the process's side ---------------------------------------------------------------------------------------

    @property
    def durable(self) -> int:
        return int(self.values[_DURABLE])

    @property
    def closing(self) -> bool:
        return bool(self.values[_CLOSING])

    def progress(self, applied: int, *, opened: bool = True) -> None:
        self.values[_APPLIED] = applied
        self.values[_OPENED] = int(opened)

    def work(self, applied: int, rebuilding: bool) -> tuple[int, bool]:
        """Wait until there is something to do: a group of durable records beyond ``applied`` (see
        :data:`_GROUP_S`), a rebuild going on, or the close. Returns (the durable end, closing)."""
        values = self.values
        last_work = time.monotonic()
        waiting_since: float | None = None
        while True:
            self._check_daemon()
            durable = int(values[_DURABLE])
            if values[_CLOSING] or rebuilding:
                return durable, bool(values[_CLOSING])
            now = time.monotonic()
            if durable > applied:
                if waiting_since is None:
                    waiting_since = now
                if values[_WANTED] > applied or now - waiting_since >= _GROUP_S or durable - applied >= _GROUP_RECORDS:
                    return durable, False
                time.sleep(_POLL_S)
                last_work = now
                continue
            if now - last_work < _BUSY_FOR_S:
                time.sleep(_POLL_S)
                continue
            values[_SLEEPING] = 1
            if values[_CLOSING] or values[_DURABLE] > applied:
                values[_SLEEPING] = 0
                continue
            self._sleep(_SLEEP_S)
            values[_SLEEPING] = 0

    def pause(self, seconds: float) -> None:
        """Wait ``seconds`` before trying again (a ring or the close cuts it short)."""
        if not self.closing:
            self._sleep(seconds)

    def _sleep(self, seconds: float) -> None:
        listen = self.listen
        if listen is None:
            time.sleep(seconds)
            return
        if listen.poll(seconds):
            self._drain()

    def _check_daemon(self) -> None:
        listen = self.listen
        if listen is not None and listen.poll(0):
            self._drain()

    def _drain(self) -> None:
        listen = self.listen
        assert listen is not None
        try:
            while listen.poll(0):
                listen.recv_bytes()
        except (EOFError, OSError):  # the daemon is gone: nothing will be durable beyond what the journal holds
            raise DaemonGone from None


class DaemonGone(Exception):
    """The daemon's end of the doorbell closed: it exited or was killed."""


def run_projection(state: ProjectorState, core: StateProjection) -> None:
    """Keep ``core`` caught up with the durable end in ``state`` until the close (the process's main loop)."""
    opened = False
    while True:
        try:
            if not opened:
                core.open(state.durable)
                opened = True
                state.progress(core.applied_seq)
            _loop(state, core)
            return
        except DaemonGone:
            raise
        except Exception as exc:  # the database is away or busy: the journal keeps everything, try again
            log.error("state projection stopped at journal record %d: %s", core.applied_seq, exc)
            opened = False
            state.progress(core.applied_seq, opened=False)
            if state.closing:
                return
            state.pause(_RETRY_S)
            core.reset()  # what was folded but not written is read again from the stored position


def _loop(state: ProjectorState, core: StateProjection) -> None:
    while True:
        upto, closing = state.work(core.applied_seq, core.rebuilding)
        if closing and core.applied_seq >= upto and not core.rebuilding:
            return
        applied = 0
        while True:
            step = core.advance(upto)
            applied += step
            if not step and not core.rebuilding:
                break
        state.progress(core.applied_seq)
        if not applied and core.applied_seq < upto:  # said durable, not readable (yet): no busy loop
            if closing:
                log.error("state projection: journal records %d..%d cannot be read", core.applied_seq + 1, upto)
                return
            state.pause(_RETRY_S)


# ---------------------------------------------------------------------------------------------- the process


def _child(
    values: Any,
    listen: Connection,
    logs: Connection,
    url: str,
    journal_dir: str,
    instruments: Sequence[Instrument],
    risk_from: int | None,
) -> None:
    """The projecting process: its logs to the daemon, the lock, the store, then the loop."""
    from alphintra.storage.state import StateStore

    name_os_thread("projector")  # top, profilers and the benches' CPU split tell it apart
    send_logs(logs)
    state = ProjectorState(values, None, listen)
    journal = Path(journal_dir)
    try:
        with locked(journal / _LOCK_NAME):  # a predecessor still finishing (after a kill of the daemon) goes first
            store = StateStore(url)
            registry = InstrumentRegistry(instruments)
            try:
                run_projection(state, StateProjection(store, journal, registry, risk_from=risk_from))
            finally:
                store.close()
    except DaemonGone:
        pass


class ProjectorProcess:
    """Runs the state projection in a child process (see the module); the daemon's handle on it."""

    def __init__(
        self,
        url: str,
        journal_dir: Path,
        instruments: InstrumentRegistry,
        *,
        durable_seq: int = 0,
        risk_from: int | None = None,
    ) -> None:
        self._ctx = context(__name__)
        self._args = (url, str(journal_dir), tuple(instruments.list()), risk_from)
        self.state = ProjectorState(self._ctx.RawArray("q", 6), None, None)
        self.state.values[_DURABLE] = durable_seq
        self._lock = threading.Lock()
        self._closing = False
        self._process: Any = None
        self._logs: Connection | None = None
        self.restarts = 0
        self._failures = 0  # processes in a row that died before they opened the store (the delay grows)
        self._start()
        self._watch = threading.Thread(target=self._watch_process, name="projector-watch", daemon=True)
        self._watch.start()

    @property
    def applied_seq(self) -> int:
        return int(self.state.values[_APPLIED])

    @property
    def pid(self) -> int | None:
        return None if self._process is None else int(self._process.pid)

    def notify(self, durable_seq: int) -> None:
        self.state.notify(durable_seq)

    def wait_applied(self, seq: int, timeout: float = 30.0) -> bool:
        return self.state.wait_applied(seq, timeout)

    def _start(self) -> None:
        """A fresh process with fresh pipes (a dead one's may be half-written)."""
        listen, bell = self._ctx.Pipe(duplex=False)
        logs_in, logs_out = self._ctx.Pipe(duplex=False)
        values = self.state.values
        values[_OPENED] = 0
        values[_SLEEPING] = 0
        process = self._ctx.Process(
            target=_child, args=(values, listen, logs_out, *self._args), name="projector", daemon=True
        )
        process.start()
        listen.close()
        logs_out.close()  # the process holds the only write end: its exit ends our reading
        old = self.state.bell
        self.state.bell = bell
        if old is not None:
            old.close()
        self._process, self._logs = process, logs_in

    def _watch_process(self) -> None:
        """Hand the process's log records to the daemon's loggers; start it again if it dies."""
        while True:
            logs, process = self._logs, self._process
            assert logs is not None
            pump_logs(logs)  # until the process exits
            process.join()
            logs.close()
            with self._lock:
                if self._closing:
                    return
                # One that had opened the store ran: start the next at once. One that never got that far (its
                # lock file or the store refused, e.g. a full disk) is retried ever less often.
                opened = bool(self.state.values[_OPENED])
                if opened:
                    self._failures = 0
                delay = restart_delay(self._failures)
                if not opened:
                    self._failures += 1
                log.error(
                    "the state projection process exited (code %s) at journal record %d; starting it again in %g s",
                    process.exitcode,
                    self.applied_seq,
                    delay,
                )
                self.restarts += 1
            time.sleep(delay)
            with self._lock:
                if self._closing:
                    return
                self._start()

    def close(self, timeout: float = 60.0) -> None:
        """Project what is durable, then stop (the watcher joins the process: one waiter on its exit code)."""
        with self._lock:
            self._closing = True
            self.state.values[_CLOSING] = 1
            self.state.ring()
        self._watch.join(timeout)
        if self._watch.is_alive():
            log.error("the state projection did not finish within %g s; stopping it", timeout)
            self._process.terminate()
            self._watch.join(10)
        bell = self.state.bell
        if bell is not None:
            bell.close()
            self.state.bell = None


__all__ = ["DaemonGone", "ProjectorProcess", "ProjectorState", "run_projection"]
