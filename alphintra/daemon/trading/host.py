"""The trading host: one TradingNode on one engine thread, behind the daemon's API.

Threading: the node is single-threaded. Every API call is a command put on the engine thread's queue
(:meth:`TradingHost.call`, or :meth:`TradingHost.acall` from the event loop); the thread runs a batch of queued
commands, then writes what they journaled in **one** write and syncs it **once**, and only then answers their
callers -- group commit: each acknowledged change is on disk, and concurrent clients share the write and the
fsync. Streams hear of a batch's changes after that sync, so a stream never shows a change a crash could take
back; the SQL projection is told only how far the journal is durable and reads the records itself. Between
batches the thread fires due timers and moves the paper market; with nothing to do it sleeps on its queue until
the next bar, timer or storage probe is due (it never polls).

Construction: :mod:`alphintra.daemon.trading.builder` builds and wires everything the host runs (journal,
venues and accounts, node, risk, feed, projection, services); collaborators see the host through
:class:`alphintra.daemon.trading.ports.Host`.

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
from alphintra.daemon.trading import builder, host_storage, venue_setup
from alphintra.daemon.trading.archive import Archive
from alphintra.daemon.trading.durability import BatchAudit, Snapshots, StorageGuard, as_storage_error
from alphintra.daemon.trading.statedb import StateDatabase
from alphintra.daemon.trading.venue_setup import HostVenues
from alphintra.daemon.trading.views import fill_view, order_view
from alphintra.daemon.trading.waiters import AsyncWaiter, Command, Outcome, answer
from alphintra.engine.core.events import OrderEvent, OrderFilled
from alphintra.engine.core.orders import Order
from alphintra.engine.node import TradingNode
from alphintra.engine.venue.sim_driver import SimDrivers
from alphintra.errors import NotFoundError, OperationFailed, StorageUnavailable
from alphintra.formatting import iso_ns
from alphintra.osthread import name_os_thread

if TYPE_CHECKING:
    from fastapi import APIRouter, FastAPI

    from alphintra.config.settings import Settings
    from alphintra.daemon.trading.feed import PaperFeed

log = get_logger("daemon.trading")
T = TypeVar("T")
_BATCH = 256
# An idle engine thread sleeps on its queue until a command, the next generated bar, the node's next timer or the
# next storage probe; at most this long (a safety net: nothing is known to need it sooner).
_MAX_WAIT_S = 1.0
# Another thread holding the GIL (the projector, the event loop) keeps the engine thread waiting up to this long
# after each blocking call; Python's default of 5 ms would put 5 ms into an order's round trip.
_SWITCH_INTERVAL_S = 0.0005


class TradingHost:
    def __init__(self, settings: Settings, *, services: bool = True) -> None:
        self.settings = settings
        # Strategies, schedules and the risk watch (``builder.start_services``); off for one-shot CLI hosts.
        self.services = services
        self.strategies: Any = None
        self.scheduler: Any = None
        self.risk_watch: Any = None
        self.state = HostState.CREATED
        self.node: TradingNode | None = None
        self.driver: SimDrivers | None = None  # shows the paper venues the market (the node sees only the port)
        self.venues: HostVenues | None = None  # the venues, their routes and symbols (builder.build)
        self.feed: PaperFeed | None = None
        self.journal: Any = None
        self.app: FastAPI | None = None
        self.risk_keeper: Any = None
        self.start_equity: Decimal | None = None
        self._queue: queue.Queue[Command | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._engine_ident: int | None = None
        self._projector: Any = None
        self._next_bar = 0.0
        self._interval = 60.0 / settings.paper.replay_speed
        self._error: BaseException | None = None
        # Stream messages of the running batch, published once the batch is durable.
        # (topic, type, data, account or None): account data reaches only the users who may see it (ws.py).
        self._published: list[tuple[str, str, Any, str | None]] = []
        self._last_busy = 0.0  # monotonic time the engine last ran a batch of commands
        self._order_counters: dict[str, Any] = {}
        engine = settings.engine
        # journal_fsync "group": the engine waits up to group_commit_ms for more commands to share a batch's fsync.
        self._group_s = engine.group_commit_ms / 1000 if engine.journal_fsync == "group" else 0.0
        self.guard = StorageGuard()
        # The audit entries of each batch's orders, written and fsync-ed beside its journal (the app's log: attach).
        self.audit_batch = BatchAudit(None)
        # One SQL engine for the state database, shared by every store of the host (the builder hands them out).
        self.state_db = StateDatabase(settings.effective_database_url)
        self.archive = Archive(self.state_db)  # orders past retention, from the projection
        self.snapshots: Snapshots | None = None
        self._after_batch = host_storage.AfterBatch(self)

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
        self.audit_batch.audit = getattr(app.state, "audit", None)
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
            self._close_exchanges()
            raise
        sys.setswitchinterval(min(sys.getswitchinterval(), _SWITCH_INTERVAL_S))
        self._thread = threading.Thread(target=self._run, name="engine", daemon=True)
        self._thread.start()
        self.state = HostState.RUNNING
        self.event("INFO", f"engine started ({self.status()['mode']}, account {self.account})")
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
        self._close_exchanges()  # no report can reach a stopped engine; a restart reconciles what happened
        if self.strategies is not None:
            self.strategies.shutdown()  # the engine thread is gone: on_stop hooks run here, journal still open
        if self.journal is not None:
            with contextlib.suppress(Exception):  # the close below reports a journal that cannot be written
                self.journal.sync()
        self.tell()
        host_storage.last_snapshot(self)
        if self.risk_watch is not None:
            self.risk_watch.close()
        if self.risk_keeper is not None:
            self.risk_keeper.close()
        if self._projector is not None:
            self._projector.close()
        if self.snapshots is not None:
            self.snapshots.close()
        self.audit_batch.close()
        if self.journal is not None:
            try:
                self.journal.close()
            except StorageUnavailable as exc:  # read-only to the end: what waited was never acknowledged
                log.error("journal closed without its last records (never acknowledged): %s", exc)
        self.archive.close()
        self.state_db.close()
        self.state = HostState.STOPPED

    def flush(self) -> None:
        if self.journal is not None and self.state is HostState.RUNNING:
            self.call(self.journal.sync)

    def status(self) -> Mapping[str, object]:
        node = self.node
        return {
            "state": self.state.value,
            "mode": "live" if self.venues is not None and self.venues.exchanges else "paper",
            "venues": self.venue_states(),
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
        waiter = AsyncWaiter(asyncio.get_running_loop())
        self._queue.put((fn, waiter))
        return waiter.future

    def post(self, fn: Callable[[], object]) -> None:
        """Run ``fn`` on the engine thread, in order, with nobody waiting (an exchange's reports and market data;
        queued while the host starts, run once the engine thread does)."""
        self._queue.put((fn, Future()))

    def _close_exchanges(self) -> None:
        venues = self.venues
        if venues is None:
            return
        for exchange in venues.exchanges.values():
            try:
                exchange.close()
            except Exception as exc:  # a stuck client must not stop the rest of the shutdown
                log.warning("venue %s did not close cleanly (%s)", exchange.venue.name, type(exc).__name__)

    @property
    def account(self) -> str:
        """The default account (the first configured)."""
        return self.settings.default_account

    def account_for(self, symbol: str, account: str | None = None) -> str:
        """The account an order of ``symbol`` trades in (see :func:`venue_setup.account_for`)."""
        if self.venues is None:
            return account or self.account
        return venue_setup.account_for(self.settings, self.venues, symbol, account)

    def order_target(self, body: Any) -> tuple[Any, str]:
        """An order body with its symbol as the node's instrument key (``venue``/``account`` pick the listing of a
        symbol listed on several venues) and the account it trades in."""
        if self.venues is None:
            return body, body.account or self.account
        venue = getattr(body, "venue", None)
        key, account = venue_setup.order_target(self.settings, self.venues, body.symbol, body.account, venue)
        return (body if key == body.symbol else body.model_copy(update={"symbol": key})), account

    def accounts_touched(self, leg: dict[str, Any]) -> list[str]:
        """The accounts an order body (a plain or a routed one, as JSON) trades in: access control checks each."""
        symbol, account = str(leg["symbol"]), leg.get("account")
        if self.venues is None:
            return [account or self.account]
        if "route" not in leg:
            venue = leg.get("venue")
            return [venue_setup.order_target(self.settings, self.venues, symbol, account, venue)[1]]
        venues = leg.get("venues") or list(self.venues.listings.venues_of(symbol)) or [None]
        return [venue_setup.order_target(self.settings, self.venues, symbol, None, v)[1] for v in venues]

    # -- build and recover ----------------------------------------------------------------------------------

    def venue_states(self) -> dict[str, dict[str, object]]:
        """Each exchange venue's connection state (``connected``, ``reconnecting``, ``disconnected``)."""
        from alphintra.daemon.trading.live_venues import connection_state

        venues = self.venues
        return {} if venues is None else {n: connection_state(e) for n, e in venues.exchanges.items()}

    def _build(self) -> None:
        self._projector = builder.build(self, on_event=self._on_event)
        self.tell()

    # -- the engine thread ----------------------------------------------------------------------------------

    def _run(self) -> None:
        name_os_thread()
        self._engine_ident = threading.get_ident()
        self._next_bar = time.monotonic() + self._interval
        node = self.node
        assert node is not None
        while not self._stop.is_set():
            batch = self._next_batch()
            if batch:
                self._last_busy = time.monotonic()
            if self.guard.read_only:
                host_storage.run_read_only(self, batch)
                self.audit_batch.drop()
                continue
            results: list[Outcome] = []
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
                self.audit_batch.sync_with(self.journal)
            except Exception as exc:
                self.audit_batch.not_kept()
                failure = as_storage_error(exc)
                # Nothing of this batch is on disk: no caller is told it worked (a read saw undurable state too).
                results = [(fut, None, failure if error is None else error) for fut, _, error in results]
                host_storage.storage_failed(self, failure)
                self.answer(results)
                continue
            self.answer(results)
            self.tell()
            self._after_batch()
        # Drain what is left so no caller waits forever.
        left: list[Outcome] = []
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is not None:
                left.append((item[1], None, OperationFailed("the engine is stopping")))
        self.answer(left)

    def _next_batch(self) -> list[Command]:
        """The commands to run together (one journal write and fsync); under group commit the engine waits up to
        group_commit_ms after the first one for others to share it."""
        timeout = self._wait_s()
        batch: list[Command] = []
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

    def _wait_s(self) -> float:
        """How long the engine thread may wait for a command before it has something else to do. Polling here
        (a 50 ms cap, or a zero wait once a bar time passed with no generated feed) kept an idle daemon busy."""
        probe = self.guard.seconds_to_probe()
        if probe is not None:  # read-only: the market and the timers wait for the journal; only the probe is due
            return min(probe, _MAX_WAIT_S)
        wait = _MAX_WAIT_S
        if self.settings.paper.feed == "generator":
            wait = min(wait, self._next_bar - time.monotonic())
        node = self.node
        if node is not None:
            due = node.clock.next_due_ns()
            if due is not None:
                wait = min(wait, (due - node.clock.now_ns()) / 1e9)
        return max(0.0, wait)

    @staticmethod
    def answer(results: list[Outcome]) -> None:
        answer(results)

    def _tick_all(self) -> None:
        assert self.node is not None and self.feed is not None
        now = self.node.clock.now_ns()
        for symbol in list(self.feed.symbols):
            self.trade_bar(self.feed.next_bar(symbol, now))

    def trade_bar(self, bar: Any) -> None:
        """Engine thread: one bar of the market (paper: generated or an admin tick; an exchange: a public trade)
        through the node, the strategies, the risk watch and the market streams."""
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
        self.trade_bar(bar)
        return self.ticker(symbol)

    def post_liquidity(self, symbol: str, price: Decimal) -> None:
        """Engine thread: rest the simulated venues' liquidity around ``price``."""
        if self.driver is not None:
            self.driver.post_liquidity(symbol, price)

    def drop_unpublished(self) -> None:
        """Engine thread: forget the stream messages of a batch that was not written."""
        self._published = []

    def restart_market_clock(self) -> None:
        """Engine thread: the next generated bar is one interval from now (after read-only mode)."""
        self._next_bar = time.monotonic() + self._interval

    def halt_engine(self) -> None:
        """Engine thread: stop taking work (the state is unknown); a restart recovers from the journal."""
        self._stop.set()

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
            "venue": None if self.venues is None else self.venues.symbols.get(symbol),
            "bids": [[str(p), str(q), n] for p, q, n in levels["bids"]],
            "asks": [[str(p), str(q), n] for p, q, n in levels["asks"]],
            "ts": iso_ns(self.node.clock.now_ns()),
        }

    def publish_book(self, symbol: str) -> None:
        """Engine thread: an exchange's book changed (its feed); streamed with the batch, when someone listens."""
        hub = self.hub()
        topic = f"market-data/orderbook/{symbol}"
        if hub is not None and hub.subscriber_count(topic) and self.node is not None:
            self._published.append((topic, "orderbook", self.book(symbol), None))  # market data: public

    def equity(self, account: str | None = None) -> Decimal:
        assert self.node is not None
        node = self.node
        node.ledger.mark_to_market({s: p for s, p in node.last_prices.items()})
        return node.ledger.valuation(account or self.account).equity

    # -- events ---------------------------------------------------------------------------------------------

    def _on_event(self, order: Order, event: OrderEvent) -> None:
        """Engine thread: note the change; :meth:`tell` passes it on once the batch is durable."""
        hub = self.hub()
        metrics = self.metrics()
        if metrics is not None:
            status = order.status.value
            counter = self._order_counters.get(status)
            if counter is None:  # a labels() lookup costs more than the increment; keep the child per status
                counter = self._order_counters[status] = metrics.orders_total.labels(status=status)
            counter.inc()
        # Every state an order goes through is streamed, so the view is taken now; only when someone listens.
        if hub is not None and hub.subscriber_count("orders/updates"):
            self._published.append(("orders/updates", "order", order_view(order, self.node), order.account))
        if isinstance(event, OrderFilled):
            if metrics is not None:
                metrics.fills_total.inc()
            if hub is not None:
                self._published.append(("trades/updates", "trade", fill_view(event, order), order.account))
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
                        None,  # public market data: no account, shown to everyone
                    )
                )

    def tell(self) -> None:
        """Engine thread, after a batch's sync: publish its stream messages and tell the projector the durable end."""
        published, self._published = self._published, []
        hub = self.hub()
        if hub is not None:
            for topic, kind, data, account in published:
                hub.publish(topic, kind, data, account)
        if self._projector is not None and self.journal is not None:
            self._projector.notify(self.journal.durable_seq)  # a store into shared memory: the projection does the rest

    def projection_caught_up(self, timeout: float) -> bool:
        """Any thread: wait until the SQL projection holds everything durable now (False on timeout)."""
        projector, journal = self._projector, self.journal
        return projector is None or journal is None or projector.wait_applied(journal.durable_seq, timeout)

    def idle_for(self, seconds: float) -> bool:
        """No command ran on the engine thread for ``seconds`` (the heap policy reclaims then)."""
        return time.monotonic() - self._last_busy >= seconds

    def _publish_market(self, symbol: str, bar: Any) -> None:
        hub = self.hub()
        if hub is None:
            return
        # Queued behind the batch's order and trade messages, which the same bar may have caused.
        self._published.append((f"market-data/ticker/{symbol}", "ticker", self.ticker(symbol), None))
        self._published.append((f"market-data/orderbook/{symbol}", "orderbook", self.book(symbol), None))
        metrics = self.metrics()
        if metrics is not None and self.node is not None:
            with contextlib.suppress(Exception):
                metrics.portfolio_value.labels(account=self.account).set(float(self.equity()))

    def event(self, level: str, message: str) -> None:
        """An engine event for the operators (the TUI's engine log), also written to the daemon's log."""
        log.log(
            logging.getLevelName(level) if level in ("DEBUG", "INFO", "WARNING", "ERROR") else logging.INFO, message
        )
        hub = self.hub()
        if hub is not None:
            hub.publish("engine/events", "event", {"level": level, "message": message})

    def hub(self) -> Any:
        return None if self.app is None else getattr(self.app.state, "hub", None)

    def metrics(self) -> Any:
        return None if self.app is None else getattr(self.app.state, "metrics", None)


__all__ = ["TradingHost"]
