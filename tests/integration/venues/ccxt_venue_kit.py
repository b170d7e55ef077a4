"""A trading node on a :class:`CcxtVenue` against the fake exchange, and a pump standing in for the engine thread.

The node runs on the test's thread; the venue's reports arrive through ``post`` into a queue that :meth:`Live.pump`
drains on that thread, until a condition holds (never a bare sleep). The node's clock is a test clock started at
the wall time, moved by the test to fire the node's timers (the questions about commands in doubt).
"""

from __future__ import annotations

import asyncio
import queue
import random
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from alphintra.engine.clock import TestClock
from alphintra.engine.core.enums import OrderStatus
from alphintra.engine.core.instrument import InstrumentRegistry
from alphintra.engine.core.orders import Order
from alphintra.engine.data import TradeTick
from alphintra.engine.node import TradingNode
from alphintra.venues.ccxt_retry import RetryPolicy
from alphintra.venues.ccxt_venue import CcxtVenue
from alphintra.venues.fake.testing import FakeHandle

D = Decimal
SEC = 1_000_000_000


def pump(
    inbox: queue.Queue[Callable[[], None]], done: Callable[[], bool], timeout: float = 10.0, what: str = "it"
) -> None:
    """Run what was posted to ``inbox`` on this thread until ``done()`` (a condition, never a bare sleep)."""
    deadline = time.monotonic() + timeout
    while not done():
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"timed out waiting for {what}")
        try:
            job = inbox.get(timeout=min(left, 0.05))
        except queue.Empty:
            continue
        job()


def alive(pid: int) -> bool:
    """The process runs (a zombie, exited but not reaped yet, does not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


class Seen:
    """What a feed delivered, run on this thread through ``post`` (``inbox.put``) as the engine thread would."""

    def __init__(self) -> None:
        self.inbox: queue.Queue[Callable[[], None]] = queue.Queue()
        self.items: list[Any] = []

    def pump(self, done: Callable[[], bool], timeout: float = 15.0) -> None:
        pump(self.inbox, done, timeout, "the feed")

    def last(self, kind: type) -> Any:
        found = [x for x in self.items if isinstance(x, kind)]
        return found[-1] if found else None


def wait_status(lv: Live, order: Order, *statuses: OrderStatus, timeout: float = 10.0) -> None:
    lv.pump(lambda: order.status in statuses, timeout, f"{order.id} to be {[s.value for s in statuses]}")


@dataclass
class ListJournal:
    records: list[dict[str, Any]] = field(default_factory=list)

    def append(self, record: dict[str, Any]) -> int:
        self.records.append(dict(record))
        return len(self.records)


@dataclass
class Waits:
    """A retry sleep that records each wait and returns at once (the backoff is checked, not lived through)."""

    delays: list[float] = field(default_factory=list)

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        await asyncio.sleep(0)


@dataclass
class Live:
    fake: FakeHandle
    api_key: str
    node: TradingNode
    venue: CcxtVenue
    clock: TestClock
    inbox: queue.Queue[Callable[[], None]]
    waits: Waits
    account: dict[str, Any]

    def pump(self, done: Callable[[], bool], timeout: float = 10.0, what: str = "the condition") -> None:
        """Run the venue's reports on this (the node's) thread until ``done()``."""
        pump(self.inbox, done, timeout, what)

    def drain(self) -> None:
        while True:
            try:
                self.inbox.get_nowait()()
            except queue.Empty:
                return

    def tick(self, price: str, symbol: str = "BTC/USDT") -> None:
        """Show the node the market's last price (what the public trade stream does in the daemon)."""
        self.clock.advance_to(max(self.clock.now_ns() + 1, time.time_ns()))
        self.node.process_trade(TradeTick(symbol, self.clock.now_ns(), D(price), D(1)))

    def price(self, price: str, symbol: str = "BTC/USDT") -> None:
        self.fake.admin("POST", "price", {"symbol": symbol, "price": price})
        self.tick(price, symbol)

    def venue_balances(self) -> dict[str, Decimal]:
        raw = self.fake.admin("GET", f"balances?api_key={self.api_key}")
        out = {a: D(v["free"]) + D(v["locked"]) for a, v in raw.items()}
        return {a: v for a, v in out.items() if v}

    def node_balances(self) -> dict[str, Decimal]:
        return {a: b.total for a, b in self.node.ledger.balances("main").items() if b.total}

    def order_log(self) -> list[dict[str, Any]]:
        return list(self.fake.admin("GET", f"orders?api_key={self.api_key}")["orders"])

    def assert_agrees(self) -> None:
        """Balances equal the fake's to the last unit; one exchange order per client id; nothing to reconcile."""
        self.pump(lambda: self.node_balances() == self.venue_balances(), what="balances to agree")
        ids = [o["client_order_id"] for o in self.order_log()]
        assert len(ids) == len(set(ids)), ids
        refused = self.fake.admin("GET", f"orders?api_key={self.api_key}")["duplicates_refused"]
        assert not [r for r in refused if r in ids], refused
        report = self.node.reconcile(dry_run=True)
        assert (report.fills_booked, report.closed, report.adopted, report.differences) == ([], [], [], [])


@contextmanager
def live_node(
    fake: FakeHandle,
    *,
    funds: dict[str, str] | None = None,
    price: str = "30000",
    streams: bool = True,
    poll_s: float = 0.5,
    timeout_ms: int = 3000,
    journal: ListJournal | None = None,
    restart_of: Live | None = None,
    **venue_options: Any,
) -> Iterator[Live]:
    """A node trading on a fresh funded fake account through a started :class:`CcxtVenue`; or, ``restart_of`` a
    stopped one, a fresh node that replays its journal and resumes on a fresh venue of the same account."""
    funds = funds or {"USDT": "100000", "BTC": "2"}
    if restart_of is None:
        api_key = secrets.token_hex(16)
        acct = fake.admin("POST", "accounts", {"api_key": api_key, "funds": funds})
        fake.admin("POST", "price", {"symbol": "BTC/USDT", "price": price})
    else:
        acct, api_key = restart_of.account, restart_of.api_key
        journal = restart_of.node.journal  # type: ignore[assignment]
    inbox: queue.Queue[Callable[[], None]] = queue.Queue()
    waits = Waits()
    # the fake allows 6000 request weight a minute (Binance: 1200): ccxt's limiter paces to that
    config = fake.ccxt_config(timeout=timeout_ms, rateLimit=10)
    config.update(apiKey=acct["api_key"], secret=acct["api_secret"])
    venue = CcxtVenue(
        "fake",
        config,
        post=inbox.put,
        symbols=["BTC/USDT", "ETH/USDT"],
        retry=venue_options.pop("retry", None) or RetryPolicy(rng=random.Random(7), sleep=waits),
        poll_s=poll_s,
        private_streams=streams,
        **venue_options,
    )
    venue.start()
    try:
        clock = TestClock(time.time_ns())
        node = TradingNode(instruments=InstrumentRegistry(venue.instruments()), venue=venue, clock=clock)
        live = Live(fake, api_key, node, venue, clock, inbox, waits, acct)
        if restart_of is None:
            node.journal = journal
            node.open_account("main", cash={a: D(v) for a, v in funds.items()})
            live.tick(price)
        else:
            assert journal is not None
            node.replay(list(journal.records))
            node.journal = journal
            node.resume()  # asks the exchange what it holds: nothing working is sent again
        yield live
    finally:
        venue.close()
