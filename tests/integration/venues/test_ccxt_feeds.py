"""Public streams of a ccxt venue (:class:`MarketFeeds`) against the fake exchange: ticker, trades and the order
book reach the subscriber's thread; a stream silent past its limit is resubscribed and its book re-synced."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import ccxt
import pytest
from ccxt_venue_kit import Seen

from alphintra.engine.data import TradeTick
from alphintra.venues.ccxt_feeds import BookSnapshot, MarketFeeds, Ticker
from alphintra.venues.fake.testing import FakeHandle

D = Decimal


pytestmark = pytest.mark.usefixtures("clean_faults")


def feeds_on(fake: FakeHandle, seen: Seen, **options: Any) -> MarketFeeds:
    feeds = MarketFeeds(fake.ccxt_config(rateLimit=10), post=seen.inbox.put, **options)
    feeds.start()
    feeds.subscribe("ticker", "BTC/USDT", seen.items.append)
    feeds.subscribe("book", "BTC/USDT", seen.items.append)
    feeds.subscribe("trades", "BTC/USDT", seen.items.extend)
    return feeds


def test_ticker_trades_and_book_reach_the_subscriber(fake: FakeHandle, account: Any) -> None:
    seen = Seen()
    fake.admin("POST", "price", {"symbol": "BTC/USDT", "price": "30000"})
    feeds = feeds_on(fake, seen)
    try:
        seen.pump(lambda: seen.last(BookSnapshot) is not None and seen.last(Ticker) is not None)
        book = seen.last(BookSnapshot)
        assert book.bids[0][0] <= D("30000") <= book.asks[0][0]
        moved = fake.admin("POST", "price", {"symbol": "BTC/USDT", "price": "31000"})
        seen.pump(lambda: (seen.last(BookSnapshot).nonce or 0) >= moved["update_id"])
        book = seen.last(BookSnapshot)
        assert book.bids[0][0] <= D("31000") <= book.asks[0][0]  # orders of other tests may rest at the mid
        acct = account(USDT="100000")
        trader = ccxt.binance(fake.ccxt_config(apiKey=acct["api_key"], secret=acct["api_secret"]))
        trader.create_order("BTC/USDT", "market", "buy", 0.01)
        seen.pump(lambda: seen.last(TradeTick) is not None)
        assert seen.last(TradeTick).quantity == D("0.01") and seen.last(TradeTick).price >= D("31000")
        seen.pump(lambda: seen.last(Ticker).last == seen.last(TradeTick).price)
        assert feeds.resubscribes == 0
    finally:
        feeds.close()


def test_a_silent_stream_is_resubscribed_and_its_book_re_synced(fake: FakeHandle) -> None:
    seen = Seen()
    fake.admin("POST", "price", {"symbol": "BTC/USDT", "price": "30000"})
    feeds = feeds_on(fake, seen, stale_after_s={"ticker": 1.2}, check_s=0.1)
    try:
        seen.pump(lambda: seen.last(BookSnapshot) is not None)
        fake.admin("POST", "faults", {"spec": "silent_stream=2000"})
        moved = fake.admin("POST", "price", {"symbol": "BTC/USDT", "price": "29000"})  # its diffs are never sent
        seen.pump(lambda: feeds.resubscribes >= 1)
        seen.pump(lambda: (seen.last(BookSnapshot).nonce or 0) >= moved["update_id"])
        book = seen.last(BookSnapshot)
        assert book.bids[0][0] <= D("29000") <= book.asks[0][0]
    finally:
        feeds.close()
