"""The trading host: one TradingNode on one engine thread, behind the daemon's API.

Threading: the node is single-threaded. Every API call is a command put on the engine thread's queue
(:meth:`TradingHost.call`, or :meth:`TradingHost.acall` from the event loop); the thread runs a batch of queued
commands, then writes what they journaled in **one** write and syncs it **once**, and only then answers their
callers -- group commit: each acknowledged change is on disk, and concurrent clients share the write and the
fsync. Streams hear of a batch's changes after that sync, so a stream never shows a change a crash could take
back; the SQL projection is told only how far the journal is durable and reads the records itself. Between
batches the thread fires due timers and moves the paper market.

Recovery: on start the journal is replayed into a fresh node (orders, balances, positions, links, algos) and
working orders go back on the venue; a first start opens the paper account with the configured cash. Trading
state is projected from the journal into the SQLModel store (SQLite by default) by a separate thread
(:mod:`alphintra.daemon.trading.projector`), which catches up from its stored journal position on every start.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import sys
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar

from alphintra.config.logs import get_logger
from alphintra.daemon.lifecycle import HostState
from alphintra.daemon.trading import _host_durability as durable
from alphintra.daemon.trading import venue_setup
from alphintra.daemon.trading.archive import Archive
from alphintra.daemon.trading.durability import (
    BatchJournal,
    SnapshotPart,
    Snapshots,
    StorageGuard,
    as_storage_error,
)
from alphintra.daemon.trading.venue_setup import HostVenues
from alphintra.daemon.trading.views import fill_view, order_view
from alphintra.engine._node_snapshot import capture as capture_node
from alphintra.engine.clock import LiveClock
from alphintra.engine.core.events import OrderEvent, OrderFilled
from alphintra.engine.core.instrument import Instrument, InstrumentRegistry
from alphintra.engine.core.orders import Order
from alphintra.engine.node import TradingNode
from alphintra.engine.venue.sim_driver import SimDrivers
from alphintra.errors import NotFoundError, OperationFailed, StorageUnavailable
from alphintra.formatting import iso_ns

if TYPE_CHECKING:
    from fastapi import APIRouter, FastAPI

    from alphintra.config.settings import Settings
    from alphintra.daemon.trading.feed import PaperFeed

log = get_logger("daemon.trading")
T = TypeVar("T")
_BATCH = 256
# A start scans the newest segment and the one a snapshot falls in: smaller segments bound that work.
JOURNAL_SEGMENT_BYTES = 16 * 1024 * 1024
# Another thread holding the GIL (the projector, the event loop) keeps the engine thread waiting up to this long
# after each blocking call; Python's default of 5 ms would put 5 ms into an order's round trip.
_SWITCH_INTERVAL_S = 0.0005


class _AsyncWaiter:
    """A caller on an event loop: its result is handed over with one loop wake-up per batch, not per call."""

    __slots__ = ("future", "loop")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.future: asyncio.Future[Any] = loop.create_future()


def _settle_async(items: list[tuple[asyncio.Future[Any], Any, BaseException | None]]) -> None:
    for fut, value, failure in items:
        if fut.done():  # the caller gave up (timeout, disconnect)
            continue
        if failure is None:
            fut.set_result(value)
        else:
            fut.set_exception(failure)


# Instruments of a fresh paper session when neither the config nor the market store names any.
DEMO_INSTRUMENTS = (
    ("BTC/USD", "0.01", "0.0001", "10", Decimal("60000")),
    ("ETH/USD", "0.01", "0.001", "10", Decimal("3000")),
    ("GOOG", "0.01", "1", "0", Decimal("800")),
)


class TradingHost:
    def __init__(self, settings: Settings, *, services: bool = True) -> None:
        self.settings = settings
        # Strategies, schedules and the risk watch (``strategies.start_services``); off for one-shot CLI hosts.
        self.services = services
        self.strategies: Any = None
        self.scheduler: Any = None
        self.risk_watch: Any = None
        self.state = HostState.CREATED
        self.node: TradingNode | None = None
        self.driver: SimDrivers | None = None  # shows the paper venues the market (the node sees only the port)
        self.venues: HostVenues | None = None
        self.feed: PaperFeed | None = None
        self.journal: Any = None
        self.app: FastAPI | None = None
        self.risk_store: Any = None
        self.risk_keeper: Any = None
        self.start_equity: Decimal | None = None
        self._queue: queue.Queue[tuple[Callable[[], Any], Future[Any] | _AsyncWaiter] | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._engine_ident: int | None = None
        self._projector: Any = None
        self._next_bar = 0.0
        self._interval = 60.0 / settings.paper.replay_speed
        self._error: BaseException | None = None
        # Stream messages of the running batch, published once the batch is durable.
        self._published: list[tuple[str, str, Any]] = []
        self._last_busy = 0.0  # monotonic time the engine last ran a batch of commands
        self._order_counters: dict[str, Any] = {}
        engine = settings.engine
        # journal_fsync "group": the engine waits up to group_commit_ms for more commands to share a batch's fsync.
        self._group_s = engine.group_commit_ms / 1000 if engine.journal_fsync == "group" else 0.0
        self.guard = StorageGuard()
        self.archive = Archive(settings.effective_database_url)  # orders past retention, from the projection
        self.snapshots: Snapshots | None = None
        self._next_retention = 0.0

    # -- EngineHost -----------------------------------------------------------------------------------------

    @property
    def ready(self) -> bool:
        """Running and able to write its journal (read-only mode is not ready: orders are refused)."""
        return self.state is HostState.RUNNING and not self.guard.read_only

    def attach(self, app: FastAPI) -> None:
        from starlette.middleware import Middleware

        from alphintra.daemon.app import API_PREFIX
        from alphintra.daemon.trading.durability import ReadOnlyGate

        self.app = app
        # Innermost (appended, not add_middleware's outermost): authentication answers first.
        app.user_middleware.append(Middleware(ReadOnlyGate, guard=self.guard, api_prefix=API_PREFIX))

    def routers(self) -> list[APIRouter]:
        from alphintra.daemon.trading.routes import build_routers

        return build_routers(self)

    def start(self) -> None:
        self.state = HostState.STARTING
        try:
            self._build()
        except BaseException:
            self.state = HostState.FAILED
            raise
        sys.setswitchinterval(min(sys.getswitchinterval(), _SWITCH_INTERVAL_S))
        self._thread = threading.Thread(target=self._run, name="engine", daemon=True)
        self._thread.start()
        self.state = HostState.RUNNING
        self.event("INFO", f"engine started (paper, account {self.account})")
        if self.scheduler is not None:
            self.scheduler.resume()
        log.info("trading engine running", extra={"orders": len(self.node.orders) if self.node else 0})

    def stop(self) -> None:
        if self.state in (HostState.STOPPED, HostState.CREATED):
            self.state = HostState.STOPPED
            return
        if self.scheduler is not None:
            self.scheduler.shutdown()  # while the engine still runs: firings in progress finish
        self.state = HostState.STOPPING
        self._stop.set()
        self._queue.put(None)
        if self._thread is not None:
            self._thread.join(timeout=30)
        if self.strategies is not None:
            self.strategies.shutdown()  # the engine thread is gone: on_stop hooks run here, journal still open
        if self.journal is not None:
            with contextlib.suppress(Exception):  # the close below reports a journal that cannot be written
                self.journal.sync()
        self._tell()
        durable.last_snapshot(self)
        if self.risk_watch is not None:
            self.risk_watch.close()
        if self.risk_keeper is not None:
            self.risk_keeper.close()
        if self._projector is not None:
            self._projector.close()
        if self.snapshots is not None:
            self.snapshots.close()
        if self.journal is not None:
            try:
                self.journal.close()
            except StorageUnavailable as exc:  # read-only to the end: what waited was never acknowledged
                log.error("journal closed without its last records (never acknowledged): %s", exc)
        if self.risk_store is not None:
            self.risk_store.close()
        self.archive.close()
        self.state = HostState.STOPPED

    def flush(self) -> None:
        if self.journal is not None and self.state is HostState.RUNNING:
            self.call(self.journal.sync)

    def status(self) -> Mapping[str, object]:
        node = self.node
        return {
            "state": self.state.value,
            "mode": "paper",
            "orders": 0 if node is None else len(node.orders),
            "open_orders": 0 if node is None else node.open_count(),
            "symbols": [] if node is None else node.instruments.symbols(),
            "journal_seq": None if self.journal is None else self.journal.last_seq,
            "snapshot_seq": None if self.snapshots is None else self.snapshots.last_seq,
            "account": self.account,
            "accounts": list(self.settings.accounts),
            "storage": self.guard.status(),
            # Why /ready says no while the engine runs (read-only after a failed journal write).
            "reason": None if not self.guard.read_only else f"read-only: {self.guard.reason}",
        }

    # -- commands -------------------------------------------------------------------------------------------

    def call(self, fn: Callable[[], T], timeout: float = 30.0) -> T:
        """Run ``fn`` on the engine thread and return its result once what it journaled is durable."""
        if self.state is not HostState.RUNNING or self.node is None:
            from alphintra.daemon.protocol import NotReadyError

            raise NotReadyError("the trading engine is not running")
        if threading.get_ident() == self._engine_ident:
            return fn()
        fut: Future[T] = Future()
        self._queue.put((fn, fut))
        return fut.result(timeout=timeout)

    async def acall(self, fn: Callable[[], T], timeout: float = 30.0) -> T:
        """:meth:`call` for handlers on the event loop: no worker thread is tied up while the engine works."""
        future = self.submit(fn)
        try:
            return await asyncio.wait_for(asyncio.shield(future), timeout)
        except TimeoutError:
            raise OperationFailed(f"the engine did not answer within {timeout:g} s") from None

    def submit(self, fn: Callable[[], T]) -> asyncio.Future[T]:
        """Queue ``fn`` for the engine thread from the event loop; the future resolves once its changes are durable.
        Commands submitted in order run in that order (the order-entry stream relies on it)."""
        if self.state is not HostState.RUNNING or self.node is None:
            from alphintra.daemon.protocol import NotReadyError

            raise NotReadyError("the trading engine is not running")
        waiter = _AsyncWaiter(asyncio.get_running_loop())
        self._queue.put((fn, waiter))
        return waiter.future

    @property
    def account(self) -> str:
        """The default account (the first configured)."""
        return self.settings.default_account

    def account_for(self, symbol: str, account: str | None = None) -> str:
        """The account an order of ``symbol`` trades in (see :func:`venue_setup.account_for`)."""
        if self.venues is None:
            return account or self.account
        return venue_setup.account_for(self.settings, self.venues, symbol, account)

    # -- build and recover ----------------------------------------------------------------------------------

    def _build(self) -> None:
        from alphintra.daemon.trading.feed import PaperFeed
        from alphintra.daemon.trading.projector import Projector
        from alphintra.storage.journal import Journal

        settings = self.settings
        paths = settings.paths
        paths.root.mkdir(parents=True, exist_ok=True)
        instruments, prices = self._instruments()
        clock = LiveClock()
        venues = self.venues = venue_setup.build_venues(settings, instruments, clock)
        paper = settings.paper
        # The host writes and fsyncs once per batch of commands itself (engine.journal_fsync, group_commit_ms), before
        # answering any caller of the batch; the journal's own time and count bounds are set out of its way.
        self.journal = BatchJournal(
            Journal(
                paths.journal,
                fsync="group",
                group_records=1_000_000,
                group_interval_ms=60_000,
                segment_bytes=JOURNAL_SEGMENT_BYTES,
            )
        )
        self.snapshots = Snapshots(self.journal, settings.engine.snapshot_every)
        node = TradingNode(
            instruments=instruments,
            venue=venues.default,
            venues=venues.others,
            routes=venues.routes,
            clock=clock,
            default_account=self.account,
            risk=self._risk(),
        )
        self.driver = venue_setup.drive(settings, node, venues)
        node.account_venues = {name: account.venue for name, account in settings.accounts.items()}
        self.snapshots.register(
            "node", SnapshotPart(capture=lambda: capture_node(node).to_state, restore=node.restore_state)
        )
        snapshot, records = self.journal.replay()
        keeper = self.risk_keeper
        self.snapshots.register("risk", SnapshotPart(capture=keeper.capture, restore=keeper.reset))
        if snapshot is not None:
            self.snapshots.restore(snapshot.seq, snapshot.state)
        count = node.replay(keeper.fold(durable.retaining(self, node, (rec.record for rec in records))))
        node.journal = self.journal
        self.risk_keeper.start(node)  # limits, halts, alerts, schedules, strategies: from the journal
        if venue_setup.open_accounts(settings, node):
            self.journal.sync()
        for symbol, price in prices.items():
            node.last_prices.setdefault(symbol, price)
        self.feed = PaperFeed(
            list(instruments), {s: node.last_prices.get(s, p) for s, p in prices.items()}, seed=paper.seed
        )
        for symbol, sf in self.feed.symbols.items():
            node.last_prices[symbol] = sf.price
            self._post(node, symbol, sf.price)
        node.resume()
        attach = getattr(node.risk, "attach", None)
        if attach is not None:
            attach(node)  # the replayed orders and positions are what risk counts from now on
        self.journal.sync()
        node.listeners.append(self._on_event)
        self.node = node
        self.start_equity = self._equity()
        # The projection reads the journal itself, from where the store says it stands (catching up, or rebuilding
        # a missing or foreign store); from here on the engine thread only tells it how far the journal is durable.
        self._projector = Projector(
            settings.effective_database_url,
            paths.journal,
            instruments,
            durable_seq=self.journal.durable_seq,
            idle=self._idle,
        )
        log.info("journal replayed", extra={"records": count, "snapshot": snapshot is not None})
        if self.services:
            from alphintra.daemon.trading.strategies import start_services

            start_services(self)
            self.journal.sync()
        self._tell()

    def _risk(self) -> Any:
        """The pre-trade gate and circuit breakers; their limits and halts come from the journal's replay
        (``riskstate.RiskKeeper.start``)."""
        from alphintra.daemon.trading.riskstate import RiskKeeper
        from alphintra.engine.risk import RiskEngine
        from alphintra.storage.state import StateStore

        self.risk_store = StateStore(self.settings.effective_database_url)
        self.risk_store.create_all()
        keeper = self.risk_keeper = RiskKeeper(self, self.risk_store)
        return RiskEngine(on_halt=keeper.on_halt, on_resume=keeper.on_resume)

    def _instruments(self) -> tuple[InstrumentRegistry, dict[str, Decimal]]:
        settings = self.settings
        prices: dict[str, Decimal] = {}
        insts: list[Instrument] = [item.to_instrument(settings.base_currency) for item in settings.instruments]
        stored = self._stored_prices()
        if not insts:
            for symbol, tick, lot, min_notional, _ in DEMO_INSTRUMENTS:
                insts.append(
                    Instrument.create(
                        symbol,
                        tick_size=tick,
                        lot_size=lot,
                        min_notional=min_notional,
                        maker_fee="0.001",
                        taker_fee="0.001",
                        default_quote=settings.base_currency,
                    )
                )
        defaults = {s: p for s, *_, p in DEMO_INSTRUMENTS}
        for inst in insts:
            price = stored.get(inst.symbol) or defaults.get(inst.symbol) or Decimal(100)
            prices[inst.symbol] = inst.round_price(price)
        return InstrumentRegistry(insts), prices

    def _stored_prices(self) -> dict[str, Decimal]:
        try:
            from alphintra.storage.market import MarketData

            market = MarketData(self.settings.paths.market)
            out = {}
            for symbol in market.symbols():
                with contextlib.suppress(Exception):
                    out[symbol] = Decimal(repr(market.last_price(symbol).price))
            return out
        except Exception:
            return {}

    # -- the engine thread ----------------------------------------------------------------------------------

    def _run(self) -> None:
        self._engine_ident = threading.get_ident()
        self._next_bar = time.monotonic() + self._interval
        node = self.node
        assert node is not None
        while not self._stop.is_set():
            batch = self._next_batch()
            if batch:
                self._last_busy = time.monotonic()
            if self.guard.read_only:
                durable.run_read_only(self, batch)
                continue
            results: list[tuple[Future[Any] | _AsyncWaiter, Any, BaseException | None]] = []
            for fn, fut in batch:
                if isinstance(fut, Future) and not fut.set_running_or_notify_cancel():
                    continue
                try:
                    results.append((fut, fn(), None))
                except BaseException as exc:  # handed to the caller, never kills the engine thread
                    results.append((fut, None, exc))
            try:
                node.clock.fire_due()
                if self.settings.paper.feed == "generator" and time.monotonic() >= self._next_bar:
                    self._next_bar += self._interval
                    self._tick_all()
            except Exception as exc:
                # What ran before the failure was journaled as it happened: the sync below makes it durable (or
                # fails, and then nothing of the batch stands); the callers' own commands completed.
                log.exception("engine loop failure: %s", exc)
            try:
                self.journal.sync()
            except Exception as exc:
                failure = as_storage_error(exc)
                # Nothing of this batch is on disk: no caller is told it worked (a read saw undurable state too).
                results = [(fut, None, failure if error is None else error) for fut, _, error in results]
                durable.storage_failed(self, failure)
                self._answer(results)
                continue
            self._answer(results)
            self._tell()
            durable.after_batch(self)
        # Drain what is left so no caller waits forever.
        left: list[tuple[Future[Any] | _AsyncWaiter, Any, BaseException | None]] = []
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is not None:
                left.append((item[1], None, OperationFailed("the engine is stopping")))
        self._answer(left)

    def _next_batch(self) -> list[tuple[Callable[[], Any], Future[Any] | _AsyncWaiter]]:
        """The commands to run together (one journal write and fsync); under group commit the engine waits up to
        group_commit_ms after the first one for others to share it."""
        timeout = max(0.0, min(self._next_bar - time.monotonic(), 0.05))
        batch: list[tuple[Callable[[], Any], Future[Any] | _AsyncWaiter]] = []
        try:
            item = self._queue.get(timeout=timeout)
            until = time.monotonic() + self._group_s
            while item is not None:
                batch.append(item)
                if len(batch) >= _BATCH:
                    break
                wait = until - time.monotonic()
                item = self._queue.get(timeout=wait) if wait > 0 else self._queue.get_nowait()
        except queue.Empty:
            pass
        return batch

    @staticmethod
    def _answer(results: list[tuple[Future[Any] | _AsyncWaiter, Any, BaseException | None]]) -> None:
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Any], Any, BaseException | None]]] = {}
        for fut, value, failure in results:
            if isinstance(fut, _AsyncWaiter):
                by_loop.setdefault(fut.loop, []).append((fut.future, value, failure))
            elif failure is None:
                fut.set_result(value)
            else:
                fut.set_exception(failure)
        for loop, items in by_loop.items():
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits any more
                loop.call_soon_threadsafe(_settle_async, items)

    def _tick_all(self) -> None:
        assert self.node is not None and self.feed is not None
        now = self.node.clock.now_ns()
        for symbol in list(self.feed.symbols):
            self._trade_bar(self.feed.next_bar(symbol, now))

    def _trade_bar(self, bar: Any) -> None:
        node = self.node
        assert node is not None
        node.process_bar(bar)
        if self.strategies is not None:
            self.strategies.on_bar(bar)
        if self.risk_watch is not None:
            self.risk_watch.observe()
        self._publish_market(bar.symbol, bar)

    def move_price(self, symbol: str, price: Decimal) -> dict[str, Any]:
        """Engine thread: move the paper market of ``symbol`` to ``price`` (used by the admin tick endpoint)."""
        assert self.node is not None and self.feed is not None
        if symbol not in self.feed.symbols:
            raise NotFoundError(f"no paper market for {symbol!r}")
        bar = self.feed.set_price(symbol, price, self.node.clock.now_ns())
        self._trade_bar(bar)
        return self.ticker(symbol)

    def _post(self, node: TradingNode, symbol: str, price: Decimal) -> None:
        if self.driver is not None:
            self.driver.post_liquidity(symbol, price)

    # -- views (engine thread) ------------------------------------------------------------------------------

    def ticker(self, symbol: str) -> dict[str, Any]:
        node = self.node
        assert node is not None
        assert self.driver is not None
        book = self.driver.depth(symbol, 1)
        last = node.last_price(symbol)
        sf = self.feed.symbols.get(symbol) if self.feed is not None else None
        open_ = sf.day_open if sf is not None else None
        change = None if last is None or not open_ else float((last - open_) / open_ * 100)
        return {
            "symbol": symbol,
            "last": None if last is None else str(last),
            "bid": str(book["bids"][0][0]) if book["bids"] else None,
            "ask": str(book["asks"][0][0]) if book["asks"] else None,
            "change_pct": change,
            "volume": str(sf.volume_24h) if sf is not None else "0",
            "ts": iso_ns(node.clock.now_ns()),
        }

    def book(self, symbol: str, depth: int = 20) -> dict[str, Any]:
        assert self.node is not None
        assert self.driver is not None
        levels = self.driver.depth(symbol, depth)
        return {
            "symbol": symbol,
            "bids": [[str(p), str(q), n] for p, q, n in levels["bids"]],
            "asks": [[str(p), str(q), n] for p, q, n in levels["asks"]],
            "ts": iso_ns(self.node.clock.now_ns()),
        }

    def _equity(self, account: str | None = None) -> Decimal:
        assert self.node is not None
        node = self.node
        node.ledger.mark_to_market({s: p for s, p in node.last_prices.items()})
        return node.ledger.valuation(account or self.account).equity

    # -- events ---------------------------------------------------------------------------------------------

    def _on_event(self, order: Order, event: OrderEvent) -> None:
        """Engine thread: note the change; :meth:`_tell` passes it on once the batch is durable."""
        hub = self._hub()
        metrics = self._metrics()
        if metrics is not None:
            status = order.status.value
            counter = self._order_counters.get(status)
            if counter is None:  # a labels() lookup costs more than the increment; keep the child per status
                counter = self._order_counters[status] = metrics.orders_total.labels(status=status)
            counter.inc()
        # Every state an order goes through is streamed, so the view is taken now; only when someone listens.
        if hub is not None and hub.subscriber_count("orders/updates"):
            self._published.append(("orders/updates", "order", order_view(order, self.node)))
        if isinstance(event, OrderFilled):
            if metrics is not None:
                metrics.fills_total.inc()
            if hub is not None:
                self._published.append(("trades/updates", "trade", fill_view(event, order)))
                self._published.append(
                    (
                        f"market-data/trades/{order.symbol}",
                        "trade",
                        {
                            "ts": iso_ns(event.ts),
                            "price": str(event.last_px),
                            "quantity": str(event.last_qty),
                            "side": event.side.value,
                        },
                    )
                )

    def _tell(self) -> None:
        """Engine thread, after a batch's sync: publish its stream messages and tell the projector the durable end."""
        published, self._published = self._published, []
        hub = self._hub()
        if hub is not None:
            for topic, kind, data in published:
                hub.publish(topic, kind, data)
        if self._projector is not None and self.journal is not None:
            self._projector.notify(self.journal.durable_seq)  # a compare under a lock: the projection reads the rest

    def _idle(self) -> bool:
        """No command for a tenth of a second: the projector may take the GIL for its writes."""
        return time.monotonic() - self._last_busy >= 0.1

    def _publish_market(self, symbol: str, bar: Any) -> None:
        hub = self._hub()
        if hub is None:
            return
        # Queued behind the batch's order and trade messages, which the same bar may have caused.
        self._published.append((f"market-data/ticker/{symbol}", "ticker", self.ticker(symbol)))
        self._published.append((f"market-data/orderbook/{symbol}", "orderbook", self.book(symbol)))
        metrics = self._metrics()
        if metrics is not None and self.node is not None:
            with contextlib.suppress(Exception):
                metrics.portfolio_value.labels(account=self.account).set(float(self._equity()))

    def event(self, level: str, message: str) -> None:
        """An engine event for the operators (the TUI's engine log), also written to the daemon's log."""
        log.log(
            logging.getLevelName(level) if level in ("DEBUG", "INFO", "WARNING", "ERROR") else logging.INFO, message
        )
        hub = self._hub()
        if hub is not None:
            hub.publish("engine/events", "event", {"level": level, "message": message})

    def _hub(self) -> Any:
        return None if self.app is None else getattr(self.app.state, "hub", None)

    def _metrics(self) -> Any:
        return None if self.app is None else getattr(self.app.state, "metrics", None)


__all__ = ["DEMO_INSTRUMENTS", "TradingHost", "fill_view", "order_view"]
