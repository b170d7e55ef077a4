"""What keeps the trading host's memory no further ahead than its journal: the batch journal, read-only mode on a
full or failing disk, and periodic snapshots.

* :class:`BatchJournal` -- the node's journal sink. Records gather while the engine thread runs a batch and reach
  the file in one ``append_many`` at :meth:`BatchJournal.sync`, right before its fsync; only then are callers
  answered. A write or fsync that fails (``StorageUnavailable``, or any ``OSError``) leaves the journal broken
  until the host has put the node back to what is durable (:meth:`BatchJournal.discard`): a later sync of an
  empty buffer must not pass a lost batch off as written.
* :class:`StorageGuard` -- read-only mode. After a failed write the host refuses every mutating command with
  503 ``storage_unavailable`` (``/ready`` says not ready and why, ``engine status`` shows it, the gauge
  ``alphintra_storage_read_only`` is 1) and probes the disk from the engine thread every ``probe_s`` seconds by
  writing and syncing a small ``StorageCheck`` record; the first that succeeds ends read-only mode.
* :class:`BatchAudit` -- the audit entries of a batch's orders (REST, batch, order-entry stream): the handlers
  hand them over on the engine thread with the order's answer; they reach the audit log in one write after the
  journal's, and the log's fsync runs on a helper thread *while* the journal's runs, so an acknowledgement waits
  for one fsync's time rather than two in a row (the audit hook then finds its entry durable and only checks).
  An entry whose order the journal then fails to keep is followed by one with status 503 (never acknowledged).
* :class:`Snapshots` -- every ``snapshot_every`` journal records the host captures its named parts (``node``, and
  whatever else registers, e.g. ``risk``) on the engine thread between two batches; a worker thread serialises
  them and writes ``Journal.write_snapshot(state, seq)``. A restart restores each part from the newest snapshot
  and replays only the records after it; a part missing from a snapshot starts empty and folds the records.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from alphintra.config.logs import get_logger
from alphintra.engine._node_snapshot import NodeCapture, order_state
from alphintra.errors import StorageUnavailable
from alphintra.osthread import name_os_thread
from alphintra.storage.journal import encoded

log = get_logger("daemon.trading")

# The record a read-only host writes to learn whether the disk takes writes again; replay folds ignore it.
STORAGE_CHECK = "StorageCheck"


def as_storage_error(exc: BaseException) -> StorageUnavailable:
    """The one error callers see for a journal that could not be written (disk full, I/O error, closed file)."""
    if isinstance(exc, StorageUnavailable):
        return exc
    return StorageUnavailable(f"the journal could not be written ({type(exc).__name__}: {exc}); nothing was kept")


class BatchJournal:
    """The node's journal sink (see the module docstring): one write and one fsync per engine batch."""

    def __init__(self, journal: Any) -> None:
        self.journal = journal
        self._pending: list[dict[str, Any]] = []
        self._lock = threading.Lock()  # strategies may journal from the stopping thread after the engine's end
        self._broken: StorageUnavailable | None = None

    def append(self, record: dict[str, Any]) -> int:
        with self._lock:
            self._pending.append(record)
            return int(self.journal.last_seq) + len(self._pending)

    @property
    def last_seq(self) -> int:
        return int(self.journal.last_seq) + len(self._pending)

    @property
    def pending(self) -> int:
        return len(self._pending)

    @property
    def broken(self) -> StorageUnavailable | None:
        return self._broken

    def write(self) -> None:
        with self._lock:
            if self._broken is not None:
                raise self._broken
            pending, self._pending = self._pending, []
            if pending:
                try:
                    self.journal.append_many(pending)
                except Exception as exc:
                    # The journal wrote none of them (it cuts a failed write back): they wait, in order, for
                    # either a retry (read-only probe) or the rewind that drops them.
                    self._pending = pending + self._pending
                    self._broken = as_storage_error(exc)
                    raise self._broken from exc

    def sync(self) -> int:
        self.write()
        try:
            return int(self.journal.sync())
        except Exception as exc:
            self._broken = as_storage_error(exc)
            raise self._broken from exc

    def retry(self) -> None:
        """Allow writing again after a failure (the records still waiting go first)."""
        with self._lock:
            self._broken = None

    def discard(self) -> int:
        """Forget the records not yet written and the failure: the node has been put back to what is durable."""
        with self._lock:
            dropped = len(self._pending)
            self._pending = []
            self._broken = None
            return dropped

    def close(self) -> None:
        try:
            self.write()
        finally:
            self.journal.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.journal, name)


class AuditTicket:
    """An audit entry handed to :class:`BatchAudit`: its number in the audit log once written (0 until then)."""

    __slots__ = ("number",)

    def __init__(self) -> None:
        self.number = 0


class BatchAudit:
    """The audit entries of one engine batch, written and fsync-ed alongside its journal (see the module docstring)."""

    def __init__(self, audit: Any) -> None:
        self.audit = audit  # an AuditLog, or None: nothing is audited (the hook is off too)
        self._pending: list[tuple[dict[str, Any], AuditTicket]] = []
        self._written: list[dict[str, Any]] = []  # the last batch's entries, until its journal is durable
        self._syncer: ThreadPoolExecutor | None = None

    def add(self, fields: dict[str, Any]) -> AuditTicket:
        """Engine thread: audit ``fields`` (AuditLog.entry's) with this batch."""
        ticket = AuditTicket()
        if self.audit is not None:
            self._pending.append((fields, ticket))
        return ticket

    def drop(self) -> None:
        """Forget the batch's entries (a read-only batch): their hooks write them the usual way."""
        self._pending = []

    def sync_with(self, journal: BatchJournal) -> None:
        """Engine thread, at the end of a batch: write the journal, then the entries, then fsync both at once."""
        pending, self._pending = self._pending, []
        if not pending:
            journal.sync()
            return
        journal.write()  # a failure here: no entry is written for orders that were not kept
        audit = self.audit
        entries = [audit.entry(**fields) for fields, _ in pending]
        try:
            last = audit.write_many(entries)
        except Exception as exc:  # the hooks find their tickets unwritten and write (or fail) the usual way
            log.warning("audit entries of a batch not written here: %s", exc)
            journal.sync()
            return
        for number, (_, ticket) in enumerate(pending, start=last - len(pending) + 1):
            ticket.number = number
        if self._syncer is None:
            self._syncer = ThreadPoolExecutor(
                max_workers=1, thread_name_prefix="audit-sync", initializer=name_os_thread
            )
        synced = self._syncer.submit(audit.sync, last)
        self._written = entries
        try:
            journal.sync()
        finally:
            try:
                synced.result()
            except Exception as exc:  # each hook syncs again and answers 503 if the disk still refuses
                log.warning("audit fsync beside the journal's failed: %s", exc)
        self._written = []

    def not_kept(self) -> None:
        """Engine thread, after the batch's journal failed: the entries just written stand for nothing."""
        written, self._written = self._written, []
        if written:
            with contextlib.suppress(Exception):
                self.audit.write_many([{**e, "status": 503, "after": None} for e in written])

    def close(self) -> None:
        if self._syncer is not None:
            self._syncer.shutdown(wait=True)


class StorageGuard:
    """Read-only mode: entered on a failed journal write, left when a probe write succeeds."""

    def __init__(self, *, probe_s: float = 1.0, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.probe_s = probe_s
        self._monotonic = monotonic
        self.reason: str | None = None
        self.since_ns: int | None = None
        self._next_probe = 0.0
        self.failures = 0

    @property
    def read_only(self) -> bool:
        return self.reason is not None

    def enter(self, error: StorageUnavailable) -> None:
        self.failures += 1
        if self.reason is None:
            self.since_ns = time.time_ns()
        self.reason = error.message if hasattr(error, "message") else str(error)
        self._next_probe = self._monotonic() + self.probe_s

    def leave(self) -> None:
        self.reason = None
        self.since_ns = None

    def probe_due(self) -> bool:
        return self.read_only and self._monotonic() >= self._next_probe

    def seconds_to_probe(self) -> float | None:
        """Until the next probe is due (0 when it is); None when not read-only."""
        if not self.read_only:
            return None
        return max(0.0, self._next_probe - self._monotonic())

    def probe_failed(self) -> None:
        self._next_probe = self._monotonic() + self.probe_s

    def refusal(self) -> StorageUnavailable:
        return StorageUnavailable(f"the engine is read-only until its journal can be written again: {self.reason}")

    def status(self) -> dict[str, Any]:
        return {"read_only": self.read_only, "reason": self.reason, "since_ns": self.since_ns}


class EncodedOrders:
    """The node's snapshot part, each order's entry encoded once per state of the order.

    A snapshot holds every order in memory, and most did not change since the last one (finished orders never
    do; resting ones rarely). Encoding each again, with the walk that refuses a NaN, cost the writer thread about
    a second per snapshot of 45,000 orders, all of it holding the GIL in turns with the order path. Entries are
    kept by ``(order id, events)`` from one snapshot to the next (only those of the last snapshot: memory stays
    one snapshot's worth) and written as they are.
    """

    def __init__(self) -> None:
        self._entries: dict[tuple[str, int], Any] = {}

    def part(self, capture: Callable[[], NodeCapture]) -> Callable[[], Callable[[], dict[str, Any]]]:
        """A ``SnapshotPart.capture``: ``capture`` on the engine thread, the state built on the writer thread."""

        def take() -> Callable[[], dict[str, Any]]:
            captured = capture()
            return lambda: self._build(captured)

        return take

    def _build(self, captured: NodeCapture) -> dict[str, Any]:
        # One snapshot writer at a time (Snapshots.due waits for the last one): the entries need no lock.
        old: dict[tuple[str, int], Any] = self._entries
        new: dict[tuple[str, int], Any] = {}

        def entry(events: tuple[Any, ...]) -> Any:
            key = (events[0].order_id, len(events))
            found = old.get(key)
            if found is None:
                found = encoded(order_state(events))
            new[key] = found
            return found

        state = captured.to_state(entry)
        self._entries = new
        return state


@dataclass(frozen=True, slots=True)
class SnapshotPart:
    """A named part of the host's snapshot: ``capture`` runs on the engine thread and returns a function that
    builds the part's JSON-safe dict (it may run on another thread); ``restore`` puts such a dict back."""

    capture: Callable[[], Callable[[], dict[str, Any]]]
    restore: Callable[[Mapping[str, Any]], None]


class Snapshots:
    """Periodic snapshots of the host's registered parts (see the module docstring)."""

    def __init__(self, journal: Any, every: int) -> None:
        self.journal = journal
        self.every = every
        self.parts: dict[str, SnapshotPart] = {}
        self.last_seq = 0
        self.taken = 0
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="journal-snapshot")
        self._running: Future[Any] | None = None

    def register(self, name: str, part: SnapshotPart) -> None:
        """The registration point: another component's state joins the snapshot under ``name``."""
        self.parts[name] = part

    def restore(self, seq: int, state: Mapping[str, Any]) -> None:
        """Restore every registered part found in ``state``; a missing part is left to the replay of the records."""
        for name, part in self.parts.items():
            raw = state.get(name)
            if raw is None:
                log.warning("journal snapshot %d has no %r part; it is rebuilt from the records after it", seq, name)
                continue
            part.restore(raw)
        unknown = sorted(set(state) - set(self.parts))
        if unknown:
            log.warning("journal snapshot %d: parts %s are not used by this engine", seq, unknown)
        self.last_seq = seq

    def due(self, seq: int) -> bool:
        return seq - self.last_seq >= self.every and (self._running is None or self._running.done())

    def take(self, seq: int) -> Future[Any]:
        """Engine thread, between batches, with every record up to ``seq`` durable: capture now, write later."""
        builders = {name: part.capture() for name, part in self.parts.items()}
        self.last_seq = seq
        self._running = self._writer.submit(self._write, seq, builders)
        return self._running

    def _write(self, seq: int, builders: dict[str, Callable[[], dict[str, Any]]]) -> None:
        started = time.perf_counter()
        try:
            state = {name: build() for name, build in builders.items()}
            self.journal.write_snapshot(state, seq)
        except Exception as exc:  # the records stay the truth: a missing snapshot only makes the restart longer
            log.warning("journal snapshot at seq %d failed: %s", seq, exc)
            return
        self.taken += 1
        log.info("journal snapshot written", extra={"seq": seq, "seconds": round(time.perf_counter() - started, 3)})

    def wait(self, timeout: float | None = None) -> None:
        running = self._running
        if running is not None:
            running.result(timeout)

    def close(self) -> None:
        self._writer.shutdown(wait=True)


# Where a POST/PUT/PATCH/DELETE changes trading state; while read-only these are refused before reaching the engine.
MUTATING_PREFIXES = ("orders", "strategies", "schedules", "risk", "market-data", "portfolio")
_MUTATING_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class ReadOnlyGate:
    """ASGI middleware: while ``guard`` is read-only, a mutating request to the trading API gets 503
    ``storage_unavailable`` without touching the engine (the engine refuses anything else that would journal)."""

    def __init__(self, app: Any, guard: StorageGuard, api_prefix: str) -> None:
        self.app = app
        self.guard = guard
        self.prefixes = tuple(f"{api_prefix}/{p}" for p in MUTATING_PREFIXES)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if (
            scope["type"] == "http"
            and self.guard.read_only
            and scope.get("method") in _MUTATING_METHODS
            and str(scope.get("path", "")).startswith(self.prefixes)
        ):
            from alphintra.daemon.errors import STORAGE_RETRY_AFTER, error_response

            refusal = self.guard.refusal()
            response = error_response(refusal.code, refusal.message, None, 503, {"Retry-After": STORAGE_RETRY_AFTER})
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


__all__ = [
    "MUTATING_PREFIXES",
    "STORAGE_CHECK",
    "AuditTicket",
    "BatchAudit",
    "BatchJournal",
    "ReadOnlyGate",
    "SnapshotPart",
    "Snapshots",
    "StorageGuard",
    "as_storage_error",
]
