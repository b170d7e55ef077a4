"""Public market data in a worker process (:class:`FeedsProcess`) against the fake exchange: the updates reach the
subscriber's thread in the node's types, a symbol the venue does not list is refused by name, a worker that dies
is started again with its subscriptions, and close stops it."""

from __future__ import annotations

import os
import signal
import time
from decimal import Decimal
from typing import Any

import ccxt
import pytest
from ccxt_venue_kit import Seen, alive

from alphintra.engine.data import TradeTick
from alphintra.errors import ValidationError
from alphintra.venues.ccxt_feeds import BookSnapshot, Ticker
from alphintra.venues.ccxt_feeds_process import FeedsProcess
from alphintra.venues.fake.testing import FakeHandle
from tests.waiting import wait_for

D = Decimal


pytestmark = pytest.mark.usefixtures("clean_faults")


def test_updates_reach_the_subscriber_and_a_dead_worker_is_replaced(fake: FakeHandle, account: Any) -> None:
    seen = Seen()
    fake.admin("POST", "price", {"symbol": "BTC/USDT", "price": "30000"})
    feeds = FeedsProcess(fake.ccxt_config(rateLimit=10), post=seen.inbox.put)
    feeds.start()
    try:
        assert feeds.pid is not None and feeds.pid != os.getpid()
        feeds.subscribe("ticker", "BTC/USDT", seen.items.append)
        feeds.subscribe("book", "BTC/USDT", seen.items.append)
        feeds.subscribe("trades", "BTC/USDT", seen.items.extend)
        with pytest.raises(ValidationError) as refused:
            feeds.subscribe("book", "DOGE/XYZ", seen.items.append)
        assert refused.value.field == "symbol" and "is not listed by the venue" in refused.value.message

        seen.pump(lambda: seen.last(BookSnapshot) is not None and seen.last(Ticker) is not None)
        book = seen.last(BookSnapshot)
        assert book.symbol == "BTC/USDT" and isinstance(book.bids[0][0], Decimal)
        assert book.bids[0][0] <= D("30000") <= book.asks[0][0]
        acct = account(USDT="100000")
        trader = ccxt.binance(fake.ccxt_config(apiKey=acct["api_key"], secret=acct["api_secret"]))
        trader.create_order("BTC/USDT", "market", "buy", 0.01)
        seen.pump(lambda: seen.last(TradeTick) is not None)
        assert seen.last(TradeTick).quantity == D("0.01") and seen.last(TradeTick).price >= D("30000")

        first = feeds.pid
        os.kill(first, signal.SIGKILL)  # the worker dies: another takes every subscription, books from a snapshot
        wait_for(lambda: feeds.restarts == 1 and feeds.pid != first, "a new market data worker")
        wait_for(lambda: not alive(first), "the dead worker to be reaped")
        time.sleep(0.5)  # the new worker subscribes; what arrives after the move below must be its own
        seen.items.clear()
        moved = fake.admin("POST", "price", {"symbol": "BTC/USDT", "price": "32000"})
        seen.pump(lambda: (getattr(seen.last(BookSnapshot), "nonce", 0) or 0) >= moved["update_id"])
        assert seen.last(BookSnapshot).bids[0][0] <= D("32000") <= seen.last(BookSnapshot).asks[0][0]
    finally:
        pid = feeds.pid
        feeds.close()
    assert pid is not None
    wait_for(lambda: not alive(pid), "the worker to stop with close")
