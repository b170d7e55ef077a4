"""Triangular arbitrage live: a daemon trading an account at the fake exchange (three pairs, ``BTC/USDT``,
``ETH/USDT``, ``ETH/BTC``) with the prices set so that ETH is cheap in BTC. The ``triangular`` strategy goes round
USDT -> BTC -> ETH -> USDT once; its realised profit equals the hand computation from the fake's book (the first
level of its ladder, 5 bps either side of the mid) and fee rules (Binance's: a buy's commission in the asset
bought, a sell's in the quote, each rounded to 8 decimals), and the account agrees with the exchange to the last
unit."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from decimal import ROUND_DOWN, ROUND_HALF_UP, ROUND_UP, Decimal
from typing import Any

import ccxt
import pytest
from engine_e2e_support import daemon_home, wait_for
from live_e2e_support import ACCOUNT, D, live_home

from alphintra.venues.fake.testing import FakeHandle, running_fake

SYMBOLS = ("BTC/USDT", "ETH/USDT", "ETH/BTC")
MIDS = {"BTC/USDT": D("30000"), "ETH/USDT": D("2000"), "ETH/BTC": D("0.065")}  # 2000 / 30000 = 0.0667 implied
TICKS = {"BTC/USDT": D("0.01"), "ETH/USDT": D("0.01"), "ETH/BTC": D("0.00001")}
FEE = D("0.001")  # the fake's taker fee


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeHandle]:
    with running_fake("--symbols", ",".join(SYMBOLS)) as handle:
        yield handle


def step(value: Decimal, unit: str, rounding: str) -> Decimal:
    return (value / D(unit)).to_integral_value(rounding=rounding) * D(unit)


def commission(amount: Decimal) -> Decimal:
    return amount.quantize(D("1e-8"), rounding=ROUND_HALF_UP)


def ask(symbol: str) -> Decimal:
    return step(MIDS[symbol] * D("1.0005"), str(TICKS[symbol]), ROUND_UP)


def bid(symbol: str) -> Decimal:
    return step(MIDS[symbol] * D("0.9995"), str(TICKS[symbol]), ROUND_DOWN)


def hand_computed() -> dict[str, Decimal]:
    """The round trip the strategy makes, from the book and the fee rules (quantities as the strategy sizes them:
    what it has, at the ask with the fee on top, in whole lots)."""
    q1 = step(D(1000) / (ask("BTC/USDT") * (1 + FEE)), "0.00001", ROUND_DOWN)  # BTC bought with 1,000 USDT
    btc = q1 - commission(q1 * FEE)
    q2 = step(btc / (ask("ETH/BTC") * (1 + FEE)), "0.0001", ROUND_DOWN)  # ETH bought with that BTC
    eth = q2 - commission(q2 * FEE)
    q3 = step(eth, "0.0001", ROUND_DOWN)  # ETH sold for USDT
    usdt_in = q3 * bid("ETH/USDT")
    profit = usdt_in - commission(usdt_in * FEE) - q1 * ask("BTC/USDT")
    return {
        "q1": q1,
        "q2": q2,
        "q3": q3,
        "profit": profit,
        "BTC": btc - q2 * ask("ETH/BTC"),
        "ETH": eth - q3,
    }


def test_a_triangle_is_gone_round_live_for_the_hand_computed_profit(fake: FakeHandle) -> None:
    for symbol, mid in MIDS.items():
        fake.admin("POST", "price", {"symbol": symbol, "price": str(mid)})
    with daemon_home() as d:
        live = live_home(d, fake, {"USDT": "10000"})
        d.start()
        for symbol in SYMBOLS:  # the daemon sees every book at its crafted level before the strategy starts
            wait_for(lambda s=symbol: _best(live, s) == (bid(s), ask(s)), f"the {symbol} book")  # type: ignore[misc]
        live.ok(
            "strategy",
            "start",
            "tri",
            "--strategy",
            "triangular",
            *(a for s in SYMBOLS for a in ("-s", s)),
            "-p",
            "notional=1000",
            "-p",
            "max_trips=1",
            "-p",
            "buffer=0.001",
        )
        _someone_trades(fake, "ETH/USDT")  # a trade is a bar: the strategy looks at the books
        wait_for(lambda: _signals(live, "round_trip"), "the round trip", timeout=30)
        hand = hand_computed()
        print(_signals(live, "leg_failed"), _signals(live, "enter"))
        (trip,) = _signals(live, "round_trip")
        orders = sorted(live.ok("order", "list", "--strategy", "tri"), key=lambda o: o["id"])
        assert [(o["symbol"], o["side"], D(o["filled_quantity"]), o["status"]) for o in orders] == [
            ("BTC/USDT", "BUY", hand["q1"], "FILLED"),
            ("ETH/BTC", "BUY", hand["q2"], "FILLED"),
            ("ETH/USDT", "SELL", hand["q3"], "FILLED"),
        ]
        assert D(trip["data"]["profit"]) == hand["profit"] > 0
        assert trip["data"]["unwinds"] == 0 and trip["data"]["home"] == "USDT"
        live.assert_agrees()
        assert live.venue_balances() == {"USDT": D(10_000) + hand["profit"], "BTC": hand["BTC"], "ETH": hand["ETH"]}
        assert live.ok("strategy", "status", "tri")["status"] == "ACTIVE"


def _best(live: Any, symbol: str) -> tuple[Decimal | None, Decimal | None]:
    with live.daemon.client() as c:
        book = c.get("/api/v1/market-data/orderbook", params={"symbol": symbol, "depth": 1})
    bids, asks = book.get("bids") or [], book.get("asks") or []
    return (D(bids[0][0]) if bids else None, D(asks[0][0]) if asks else None)


def _someone_trades(fake: FakeHandle, symbol: str) -> None:
    acct = fake.admin("POST", "accounts", {"api_key": secrets.token_hex(16), "funds": {"USDT": "100000"}})
    client = ccxt.binance(fake.ccxt_config(apiKey=acct["api_key"], secret=acct["api_secret"]))
    client.create_order(symbol, "market", "buy", 0.01)


def _signals(live: Any, name: str) -> list[dict[str, Any]]:
    return [s for s in live.ok("strategy", "signals", "tri", "-n", "100") if s["name"] == name]


__all__ = ["ACCOUNT"]
