"""An exchange venue in a worker process (:class:`VenueProcess`) against the fake exchange, through a node: orders
fill and cancel as in-process, the queries answer, a refusal at the start names what is wrong as in-process, and a
worker that dies with an order in flight is replaced and the order settled by its client order id, never sent
again."""

from __future__ import annotations

import os
import queue
import secrets
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import pytest
from ccxt_venue_kit import SEC, alive, pump

from alphintra.engine.clock import TestClock
from alphintra.engine.commands import OrderRequest
from alphintra.engine.core.enums import OrderSide, OrderStatus, OrderType
from alphintra.engine.core.instrument import InstrumentRegistry
from alphintra.engine.data import TradeTick
from alphintra.engine.node import TradingNode
from alphintra.errors import ValidationError
from alphintra.venues.ccxt_venue_process import VenueProcess
from alphintra.venues.fake.testing import FakeHandle
from tests.waiting import wait_for

D = Decimal
BTC = "BTC/USDT"
FUNDS = {"USDT": "100000", "BTC": "2"}


pytestmark = pytest.mark.usefixtures("clean_faults")


class Node:
    def __init__(self, fake: FakeHandle, venue: VenueProcess, inbox: queue.Queue[Callable[[], None]], key: str):
        self.fake, self.venue, self.inbox, self.api_key = fake, venue, inbox, key
        self.clock = TestClock(time.time_ns())
        self.node = TradingNode(instruments=InstrumentRegistry(venue.instruments()), venue=venue, clock=self.clock)  # type: ignore[arg-type]
        self.node.open_account("main", cash={a: D(v) for a, v in FUNDS.items()})
        self.node.process_trade(TradeTick(BTC, self.clock.now_ns(), D("30000"), D(1)))

    def pump(self, done: Callable[[], bool], what: str, timeout: float = 15.0) -> None:
        pump(self.inbox, done, timeout, what)

    def order_log(self) -> list[dict[str, Any]]:
        return list(self.fake.admin("GET", f"orders?api_key={self.api_key}")["orders"])

    def balances_agree(self) -> bool:
        raw = self.fake.admin("GET", f"balances?api_key={self.api_key}")
        theirs = {a: D(v["free"]) + D(v["locked"]) for a, v in raw.items()}
        ours = {a: b.total for a, b in self.node.ledger.balances("main").items() if b.total}
        return ours == {a: v for a, v in theirs.items() if v}


@contextmanager
def node_on_worker(fake: FakeHandle, **options: Any) -> Iterator[Node]:
    key = secrets.token_hex(16)
    acct = fake.admin("POST", "accounts", {"api_key": key, "funds": FUNDS})
    fake.admin("POST", "price", {"symbol": BTC, "price": "30000"})
    config = fake.ccxt_config(timeout=options.pop("timeout_ms", 3000), rateLimit=10)
    config.update(apiKey=acct["api_key"], secret=acct["api_secret"])
    inbox: queue.Queue[Callable[[], None]] = queue.Queue()
    venue = VenueProcess("fake", config, post=inbox.put, symbols=[BTC, "ETH/USDT"], **options)
    venue.start()
    try:
        yield Node(fake, venue, inbox, key)
    finally:
        venue.close()


def test_orders_fill_and_cancel_through_the_worker_and_the_queries_answer(fake: FakeHandle) -> None:
    with node_on_worker(fake, poll_s=0.5) as n:
        assert n.venue.pid is not None and n.venue.pid != os.getpid()
        assert n.venue.connection == "connected" and n.venue.capabilities is not None
        bought = n.node.submit(OrderRequest(BTC, OrderSide.BUY, D("0.1")))
        resting = n.node.submit(OrderRequest(BTC, OrderSide.BUY, D("0.1"), OrderType.LIMIT, price=D("25000")))
        n.pump(lambda: bought.status is OrderStatus.FILLED and resting.status is OrderStatus.ACCEPTED, "the orders")
        assert [s.key for s in n.venue.open_orders()] == [resting.id]
        n.node.cancel(resting.id)
        n.pump(lambda: resting.status is OrderStatus.CANCELED, "the cancel")
        n.pump(n.balances_agree, "balances to agree")
        (totals,) = n.venue.balances()
        assert totals.totals["BTC"] == D("2.1") - bought.fees.get("BTC", D(0))
        status = n.venue.order_status(bought.id)
        assert status is not None and status.status == "closed" and status.filled == D("0.1")
        assert sorted(o["client_order_id"] for o in n.order_log()) == sorted([bought.id, resting.id])
        with pytest.raises(ValidationError) as unknown:
            n.venue.instrument("DOGE/XYZ")
        assert "is not traded on venue 'fake'" in unknown.value.message


def test_refused_credentials_are_named_as_in_process(fake: FakeHandle) -> None:
    config = fake.ccxt_config(timeout=3000, rateLimit=10)
    config.update(apiKey="not-a-key", secret="not-a-secret")
    venue = VenueProcess("fake", config, post=lambda run: None, symbols=[BTC])
    with pytest.raises(ValidationError) as refused:
        venue.start()
    assert refused.value.field == "credentials of venue 'fake'"
    assert "were refused by" in refused.value.message and "not-a-secret" not in refused.value.message
    assert venue.pid is not None
    pid = venue.pid
    wait_for(lambda: not alive(pid), "the worker of a refused start to exit")
    assert venue.restarts == 0


def test_a_worker_dying_with_an_order_in_flight_is_replaced_and_the_order_settled_by_its_client_id(
    fake: FakeHandle,
) -> None:
    with node_on_worker(fake, timeout_ms=20_000, private_streams=False, poll_s=600) as n:
        n.fake.admin("POST", "faults", {"spec": "timeout=1:8000@POST/order"})  # executed, answered 8 s later
        order = n.node.submit(OrderRequest(BTC, OrderSide.BUY, D("0.1")))
        wait_for(lambda: bool(n.order_log()), "the order to reach the exchange (its answer is on its way)")
        first = n.venue.pid
        assert first is not None
        os.kill(first, signal.SIGKILL)
        n.pump(lambda: bool(n.clock.timer_names()), "the node to plan its question about the lost submit")
        assert order.status is OrderStatus.PENDING_SUBMIT
        n.pump(lambda: n.venue.restarts == 1 and n.venue.connection == "connected", "a new worker")
        assert n.venue.pid != first and not alive(first)
        for seconds in (1, 2, 4, 8):  # the node asks the exchange by client order id
            if order.status is OrderStatus.FILLED:
                break
            n.clock.advance_to(n.clock.now_ns() + seconds * SEC)
            n.pump(lambda: n.inbox.empty(), "the question's answer")
        n.pump(lambda: order.status is OrderStatus.FILLED, "the order to be settled as filled")
        n.pump(n.balances_agree, "balances to agree")
        assert [o["client_order_id"] for o in n.order_log()] == [order.id]  # never sent again
