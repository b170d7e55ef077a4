"""The trading host's durability steps, on its engine thread (see :mod:`alphintra.daemon.trading.durability` for
the parts they use): what happens when a batch cannot be written (rewind to the journal, read-only mode, the
probe that ends it), after a durable batch (retention, periodic snapshots), and at start and stop (retention
while replaying, a last snapshot). Part of :class:`~alphintra.daemon.trading.host.TradingHost`, kept apart so
that the host's command and market flow stays readable; it sees the host through
:class:`~alphintra.daemon.trading.ports.EngineThreadHost`.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

from alphintra.config.logs import get_logger
from alphintra.daemon.lifecycle import HostState
from alphintra.daemon.trading.durability import STORAGE_CHECK
from alphintra.errors import StorageUnavailable

if TYPE_CHECKING:
    from alphintra.daemon.trading.ports import EngineThreadHost, Host
    from alphintra.daemon.trading.waiters import Command, Outcome
    from alphintra.engine.node import TradingNode

log = get_logger("daemon.trading")


def retaining(host: Host, node: TradingNode, records: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Replay feed that lets old finished orders go every 50,000 records: a long journal without a snapshot
    does not need memory for every order it ever held."""
    engine = host.settings.engine
    for i, record in enumerate(records, 1):
        yield record
        if i % 50_000 == 0:
            node.forget_finished(keep=engine.order_retention, max_age_ns=engine.order_retention_s * 1_000_000_000)


def last_snapshot(host: Host) -> None:
    """At a clean stop: snapshot what is durable so that the next start replays nothing."""
    node, snapshots, journal = host.node, host.snapshots, host.journal
    if node is None or snapshots is None or journal is None or host.guard.read_only:
        return
    try:
        seq = journal.sync()
        if seq > snapshots.last_seq:
            snapshots.take(seq)
            snapshots.wait(timeout=60)
    except Exception as exc:  # the journal stays the truth; the next start just replays more
        log.warning("no snapshot at stop: %s", exc)


def storage_failed(host: EngineThreadHost, failure: StorageUnavailable) -> None:
    """Engine thread: a batch could not be written. Put the node back to exactly what the journal holds and
    turn read-only."""
    first = not host.guard.read_only
    host.guard.enter(failure)
    try:
        rewind(host)
    except Exception as exc:
        give_up(host, exc)
        return
    metrics = host.metrics()
    if metrics is not None:
        metrics.storage_read_only.set(1)
    if first:
        host.event("ERROR", f"journal write failed; the engine is read-only until it can write again: {failure}")


def rewind(host: EngineThreadHost) -> None:
    """Discard what was not written and rebuild the node's state from the journal, as a restart does (newest
    snapshot + the records after it), in place: strategies, listeners and risk keep their node."""
    node = host.node
    assert node is not None and host.snapshots is not None
    dropped = host.journal.discard()
    host.drop_unpublished()
    snapshot, records = host.journal.replay()
    state = None if snapshot is None else snapshot.state
    for name, part in host.snapshots.parts.items():
        if name != "node" and state is not None and name in state:
            part.restore(state[name])
    tail: Iterable[Mapping[str, Any]] = (rec.record for rec in records)
    keeper = host.risk_keeper
    if keeper is not None:
        # The risk fold saw the discarded records as they were buffered: it starts again from the snapshot too.
        if state is None or "risk" not in state:
            keeper.reset(None)
        tail = keeper.fold(tail)
    node.rewind(None if state is None else state.get("node"), tail)
    for symbol in node.instruments.symbols():
        price = node.last_prices.get(symbol)
        if price is not None:
            host.post_liquidity(symbol, price)
    node.resume()  # what resume journals waits in the buffer for the probe that ends read-only mode
    attach = getattr(node.risk, "attach", None)
    if attach is not None:
        attach(node)
    log.warning("node rewound to the journal", extra={"dropped_records": dropped, "seq": host.journal.last_seq})


def give_up(host: EngineThreadHost, exc: Exception) -> None:
    """The journal cannot even be read back: the node's state is unknown, so the engine stops taking work
    (FAILED: every call is refused) rather than serve or trade on it; a restart recovers from the journal."""
    log.critical("the engine could not rebuild its state from the journal; it stops: %s", exc, exc_info=exc)
    host.state = HostState.FAILED
    host.halt_engine()
    host.event("ERROR", f"engine stopped: its state could not be rebuilt from the journal ({exc}); restart it")


def run_read_only(host: EngineThreadHost, batch: list[Command]) -> None:
    """Engine thread, read-only: reads are served; a command that journals anything is refused and undone; the
    market and the timers wait (what they would change could not be written); the disk is probed."""
    node = host.node
    assert node is not None
    results: list[Outcome] = []
    changed = False
    for fn, fut in batch:
        if isinstance(fut, Future) and not fut.set_running_or_notify_cancel():
            continue
        before = host.journal.pending
        try:
            value: Any = fn()
            error: BaseException | None = None
        except BaseException as exc:
            value, error = None, exc
        if host.journal.pending != before or changed:
            changed = True
            error = host.guard.refusal()
        results.append((fut, value if error is None else None, error))
    if changed:
        try:
            rewind(host)
        except Exception as exc:
            give_up(host, exc)
    host.answer(results)
    if host.guard.probe_due():
        probe(host)


def probe(host: EngineThreadHost) -> None:
    """Engine thread: write and sync a small record; on success the engine leaves read-only mode."""
    try:
        host.journal.retry()
        host.journal.append({"type": STORAGE_CHECK, "ts": time.time_ns()})
        host.journal.sync()
    except Exception as exc:
        host.guard.probe_failed()
        log.debug("storage probe failed: %s", exc)
        return
    host.guard.leave()
    host.restart_market_clock()
    metrics = host.metrics()
    if metrics is not None:
        metrics.storage_read_only.set(0)
    host.event("INFO", "the journal takes writes again; the engine left read-only mode")
    host.tell()


class AfterBatch:
    """Engine thread, after a durable batch: let old finished orders go (at most once a second), and snapshot
    when one is due."""

    def __init__(self, host: Host) -> None:
        self.host = host
        self.next_retention = 0.0

    def __call__(self) -> None:
        host = self.host
        node, snapshots, journal = host.node, host.snapshots, host.journal
        assert node is not None and snapshots is not None and journal is not None
        now = time.monotonic()
        engine = host.settings.engine
        if now >= self.next_retention:
            self.next_retention = now + 1.0
            node.forget_finished(keep=engine.order_retention, max_age_ns=engine.order_retention_s * 1_000_000_000)
        seq = journal.last_seq
        if snapshots.due(seq):
            snapshots.take(seq)
