"""Recording a live venue into the store, end to end: a daemon on the fake exchange with ``venue add --record``
folds the exchange's public trades into 1m bars and writes each complete minute to the store; the bars equal the
OHLCV computed from the fake's own trade list, a restart duplicates none, and no partial minute is written (not the
first one a daemon sees, not the one open when it stops).

Minutes pass at the exchange's clock, not the test's: the fake's clock-skew fault puts each phase's trades a few
seconds into a chosen minute (minutes ahead of the wall clock, so only trades close them), so the test takes as
long as its trades, not as long as the minutes."""

from __future__ import annotations

import json
import secrets
import time
import urllib.request
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import ccxt
import pytest
from engine_e2e_support import Daemon, daemon_home, wait_for
from live_e2e_support import VENUE, live_home

from alphintra.storage.market import MarketData
from alphintra.venues.fake.testing import FakeHandle, running_fake

SYMBOL = "BTC/USDT"
MINUTE_MS = 60_000


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeHandle]:
    with running_fake() as handle:
        yield handle


class Phases:
    """Trades at the exchange in chosen minutes: ``enter(k)`` moves the exchange's clock 5 s into minute ``k``
    (counted from a base minutes ahead of the wall clock); another account then trades there."""

    def __init__(self, fake: FakeHandle) -> None:
        self.fake = fake
        self.base = (time.time_ns() // 1_000_000 // MINUTE_MS + 5) * MINUTE_MS
        acct = fake.admin("POST", "accounts", {"api_key": secrets.token_hex(16), "funds": {"USDT": "1e6", "BTC": "10"}})
        config = fake.ccxt_config(apiKey=acct["api_key"], secret=acct["api_secret"])
        config["options"]["adjustForTimeDifference"] = True  # the exchange's clock jumps: its requests follow it
        self.taker = ccxt.binance(config)
        self.taker.load_markets()

    def minute(self, k: int) -> int:
        return self.base + k * MINUTE_MS

    def enter(self, k: int) -> None:
        skew = self.minute(k) + 5_000 - time.time_ns() // 1_000_000
        self.fake.admin("POST", "faults", {"spec": f"skew={skew}"})
        self.taker.load_time_difference()

    def trade(self, side: str, price: str | None = None) -> None:
        if price is not None:
            self.fake.admin("POST", "price", {"symbol": SYMBOL, "price": price})
        self.taker.create_order(SYMBOL, "market", side, 0.001 if side == "buy" else 0.002)


def fake_trades(fake: FakeHandle) -> list[dict[str, Any]]:
    with urllib.request.urlopen(f"{fake.rest_url}/trades?symbol=BTCUSDT&limit=1000", timeout=10) as resp:
        return list(json.loads(resp.read()))


def ohlcv(trades: list[dict[str, Any]], minute_ms: int) -> tuple[float, float, float, float, float]:
    """The minute's bar from the exchange's own trades (exact sums, then floats as the store holds them)."""
    inside = sorted((t for t in trades if minute_ms <= t["time"] < minute_ms + MINUTE_MS), key=lambda t: t["id"])
    prices = [Decimal(t["price"]) for t in inside]
    volume = sum((Decimal(t["qty"]) for t in inside), Decimal(0))
    return float(prices[0]), float(max(prices)), float(min(prices)), float(prices[-1]), float(volume)


def stored(d: Daemon) -> dict[int, tuple[float, float, float, float, float]]:
    reader = MarketData(d.root / "market")
    if not reader.datasets():
        return {}
    bars = reader.bars(SYMBOL, "1m", exchange=VENUE)
    rows = bars.select("time", "open", "high", "low", "close", "volume").rows()
    return {int(t.timestamp() * 1000): tuple(v) for t, *v in rows}  # type: ignore[misc]


def subscribed(d: Daemon) -> bool:
    """The venue's book is in (the book is subscribed after the trades, on the same stream connection)."""
    with d.client() as c:
        book = c.get("/api/v1/market-data/orderbook", params={"symbol": SYMBOL})
    return bool(book["bids"]) and Decimal(book["bids"][0][1]) > 0


def test_recorded_bars_are_the_exchanges_trades_once_and_complete(fake: FakeHandle) -> None:
    fake.admin("POST", "price", {"symbol": SYMBOL, "price": "30000"})
    phases = Phases(fake)
    try:
        with daemon_home() as d:
            live_home(d, fake, record=True)
            d.start()
            wait_for(lambda: subscribed(d), "the venue's streams")
            phases.enter(0)  # the first minute the daemon sees: it missed what came before, never written
            phases.trade("buy")
            phases.enter(1)
            phases.trade("buy", "30100")
            phases.trade("sell")
            phases.trade("buy", "29950")
            phases.enter(2)
            phases.trade("sell", "30050")
            phases.trade("buy")
            phases.enter(3)  # closes minute 2; minute 3 stays open until the daemon stops
            phases.trade("buy", "30200")
            wait_for(lambda: set(stored(d)) == {phases.minute(1), phases.minute(2)}, "minutes 1 and 2 stored")
            d.stop()
            d.start()
            wait_for(lambda: subscribed(d), "the venue's streams after the restart")
            phases.enter(4)  # the restarted daemon's first minute: partial, never written
            phases.trade("sell", "30150")
            phases.enter(5)
            phases.trade("buy")
            phases.trade("sell", "30000")
            phases.enter(6)  # closes minute 5; minute 6 stays open
            phases.trade("buy")
            want = [phases.minute(k) for k in (1, 2, 5)]
            wait_for(lambda: sorted(stored(d)) == want, "minutes 1, 2 and 5 stored")
            trades = fake_trades(fake)
            bars = stored(d)
            assert bars == {m: ohlcv(trades, m) for m in want}
            assert MarketData(d.root / "market").datasets()[0].rows == 3  # the restart wrote no bar twice
            d.stop()  # minute 6 was open: the stop writes nothing more
            assert sorted(stored(d)) == want
    finally:
        fake.admin("DELETE", "faults")
