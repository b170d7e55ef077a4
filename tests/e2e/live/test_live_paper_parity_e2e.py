"""Paper-vs-live parity: `strategy start sma_cross --account NAME` on the same price path, once on a paper account
and once on a live account at the fake exchange, places the same orders (side, type, quantity; the exit sells what each
account holds, which on the exchange is the buy less its fee in BTC).

The path reaches each daemon as it reaches it in its world: paper through the admin tick endpoint, live as public
trades at the fake exchange -- each one at exactly the path's price (a resting ask at the price, taken by another
account), so that the strategy's bars have the same closes in both."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from decimal import ROUND_DOWN, Decimal
from typing import Any

import ccxt
import pytest
from engine_e2e_support import Daemon, daemon_home, wait_for
from live_e2e_support import ACCOUNT, D, LiveHome, live_home

from alphintra.venues.fake.testing import FakeHandle, running_fake

# Down (no position: nothing to sell), up through the slow average (buy), down through it (sell everything). Each
# price differs from the one before: a bar is a price change, in paper (an admin tick) as in live (a trade).
START = "30500"
PATH = ["30000", "29900", "29800", "30100", "30400", "30100", "29800"]
FUNDS = {"USDT": "10000"}
PAPER = """
[venues.sim]
[accounts.paper]
venue = "sim"
mode = "spot"
currency = "USDT"
starting_cash = 10000
[[instruments]]
symbol = "BTC/USDT"
tick_size = "0.01"
lot_size = "0.00001"
min_notional = 5
venue = "sim"
"""
STRATEGY = ("--strategy", "sma_cross", "-s", "BTC/USDT", "-p", "fast=2", "-p", "slow=3", "-p", "allow_short=false")
STRATEGY += ("-p", "fraction=0.5")


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeHandle]:
    with running_fake() as handle:
        yield handle


def _orders(d: Daemon, **params: Any) -> list[dict[str, Any]]:
    """Through the API: the conditions below are polled, and a CLI process per poll cost seconds each."""
    with d.client() as c:
        return sorted(c.get("/api/v1/orders", params=params), key=lambda o: o["id"])


def _status(d: Daemon, name: str) -> dict[str, Any]:
    with d.client() as c:
        return dict(c.get(f"/api/v1/strategies/{name}/status"))


def _all_filled(d: Daemon) -> bool:
    orders = _orders(d)
    return len(orders) == 2 and all(o["status"] == "FILLED" for o in orders)


def _paper_run() -> list[dict[str, Any]]:
    with daemon_home() as d:
        config = d.root / "config.toml"
        config.write_text(PAPER, encoding="utf-8")
        d.env["ALPHINTRA_CONFIG"] = str(config)
        d.env.pop("ALPHINTRA_ACCOUNTS__MAIN__MODE")
        d.start()
        ok = _ok(d)
        d.tick("BTC/USDT", START)
        assert ok("strategy", "start", "x", *STRATEGY, "--account", "paper")["account"] == "paper"
        for price in PATH:
            d.tick("BTC/USDT", price)
        wait_for(lambda: _all_filled(d), "paper orders")
        return _orders(d)


def _ok(d: Daemon) -> Any:
    import json

    def ok(*args: str) -> Any:
        done = d.cli(*args, "--json")
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    return ok


class Market:
    """Trades at exact prices at the fake: a maker rests an ask at the price, a taker takes a bit of it."""

    def __init__(self, fake: FakeHandle) -> None:
        self.fake = fake
        self.maker, self.taker = (self._client({"BTC": "10", "USDT": "1000000"}) for _ in range(2))

    def _client(self, funds: dict[str, str]) -> Any:
        acct = self.fake.admin("POST", "accounts", {"api_key": secrets.token_hex(16), "funds": funds})
        return ccxt.binance(self.fake.ccxt_config(apiKey=acct["api_key"], secret=acct["api_secret"]))

    def trade_at(self, price: str) -> str:
        """The ask stays at the price until :meth:`clear` (a strategy's market buy on this bar fills there too)."""
        self.fake.admin("POST", "price", {"symbol": "BTC/USDT", "price": price})
        ask = self.maker.create_order("BTC/USDT", "limit", "sell", 1, float(price), {"timeInForce": "GTC"})
        self.taker.create_order("BTC/USDT", "limit", "buy", 0.001, float(price), {"timeInForce": "IOC"})
        return str(ask["id"])

    def clear(self, ask: str) -> None:
        """Cancel what is left of the ask, before the market moves on (a re-laddered book would trade it)."""
        self.maker.cancel_order(ask, "BTC/USDT")


def _live_run(fake: FakeHandle) -> tuple[list[dict[str, Any]], LiveHome]:
    market = Market(fake)
    fake.admin("POST", "price", {"symbol": "BTC/USDT", "price": START})
    with daemon_home() as d:
        live = live_home(d, fake, FUNDS)
        d.start()
        market.clear(market.trade_at(START))
        wait_for(lambda: live.last() == D(START), "the first price")
        _bad_accounts(d)
        assert live.ok("strategy", "start", "x", *STRATEGY, "--account", ACCOUNT)["account"] == ACCOUNT
        for i, price in enumerate(PATH):
            ask = market.trade_at(price)
            bars = i + 1  # (at least: the exit's own fill, at the bid, is a trade at a new price and a bar too)
            wait_for(lambda n=bars: _status(d, "x")["bars"] >= n, f"bar {bars}")  # type: ignore[misc]
            # the bar's orders (placed as the engine saw the trade) are done at the exchange before the market moves
            wait_for(lambda: _orders(d, open=True) == [], "no working order")
            market.clear(ask)
        wait_for(lambda: _all_filled(d), "live orders")
        orders = _orders(d)
        live.assert_agrees()
        return orders, live


def _bad_accounts(d: Daemon) -> None:
    """An unknown account, and one on a venue that does not list the symbol: exit 2 naming --account, nothing
    saved or started."""
    unknown = d.cli("strategy", "start", "sma_cross", "-s", "BTC/USDT", "--account", "nobody")  # NAME as the type
    assert unknown.returncode == 2
    assert "--account: names no configured account (configured: live) (got 'nobody')" in " ".join(
        unknown.stderr.split()
    )
    args = ("--strategy", "sma_cross", "-s", "GOOG", "--account", ACCOUNT)
    unlisted = d.cli("strategy", "start", "y", *args)
    assert unlisted.returncode == 2
    said = " ".join(unlisted.stderr.split())  # the console wraps long lines
    assert (
        "--account: lives on venue 'fk', which does not list GOOG (GOOG is listed on no venue; 'fk' lists: BTC/USDT"
        in said
    )
    with d.client() as c:
        assert c.get("/api/v1/strategies") == []


@pytest.mark.both_backends
def test_sma_cross_places_the_same_orders_in_paper_and_live(fake: FakeHandle) -> None:
    paper = _paper_run()
    live, _ = _live_run(fake)
    shape = [(o["side"], o["order_type"], o["strategy"]) for o in paper]
    assert shape == [("BUY", "MARKET", "x"), ("SELL", "MARKET", "x")]
    assert [(o["side"], o["order_type"], o["strategy"]) for o in live] == shape
    assert live[0]["account"] == ACCOUNT and paper[0]["account"] == "paper"
    # the entry: half the equity at the same close, in whole lots
    assert D(live[0]["quantity"]) == D(paper[0]["quantity"])
    # the exit sells what each holds in whole lots: all of it on paper (fee in USDT); on the exchange the buy less
    # its fee in BTC, rounded down to the lot (the dust stays in the account)
    assert D(paper[1]["quantity"]) == D(paper[0]["filled_quantity"])
    base_fee = Decimal(live[0]["fees"].get("BTC", "0"))
    held = D(live[0]["filled_quantity"]) - base_fee
    assert base_fee > 0 and D(live[1]["quantity"]) == held.quantize(D("0.00001"), rounding=ROUND_DOWN)
