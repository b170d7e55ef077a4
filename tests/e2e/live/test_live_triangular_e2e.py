"""Triangular arbitrage live: a daemon trading an account at the fake exchange (three pairs, ``BTC/USDT``,
``ETH/USDT``, ``ETH/BTC``) with the prices set so that ETH is cheap in BTC.

The ``triangular`` strategy goes round USDT -> BTC -> ETH -> USDT twice. The first time the exchange fills only half
of the first leg (the fake's partial-fill fault holds the rest back); the leg times out, its rest is cancelled and
the BTC it bought is sold back to USDT, logged and raised as a risk alert. The second time goes round. Each round
trip's realised profit equals the hand computation from the fake's book (the first level of its ladder, 5 bps
either side of the mid) and fee rules (Binance's: a buy's commission in the asset bought, a sell's in the quote,
each rounded to 8 decimals), and the account agrees with the exchange to the last unit."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from decimal import ROUND_DOWN, ROUND_HALF_UP, ROUND_UP, Decimal
from typing import Any

import ccxt
import pytest
from engine_e2e_support import daemon_home, wait_for
from live_e2e_support import D, live_home

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
        params = ("notional=1000", "max_trips=2", "buffer=0.001", "leg_timeout=1")
        live.ok(
            "strategy",
            "start",
            "tri",
            "--strategy",
            "triangular",
            *(a for s in SYMBOLS for a in ("-s", s)),
            *(a for p in params for a in ("-p", p)),
        )
        # The next two orders that trade fill half now, the rest two minutes later (unless cancelled first): the
        # trade that wakes the strategy, and the strategy's first leg.
        fake.admin("POST", "faults", {"spec": "partial=2:120000"})
        _someone_trades(fake, "ETH/USDT")  # a trade is a bar: the strategy looks at the books
        # Half filled: PARTIALLY_FILLED, or CANCELED already when a busy machine brought the half fill more than the
        # leg's timeout after the leg went out (its own trade is then the bar that times it out); each CLI call of
        # this wait takes long enough there to miss the short PARTIALLY_FILLED spell.
        wait_for(lambda: _orders(live) and D(_orders(live)[0]["filled_quantity"]) > 0, "half the first leg")
        first = _orders(live)[0]
        time.sleep(1.5)  # the leg's timeout is engine time: it must pass before the next bar shows it
        _someone_trades(fake, "ETH/USDT", "sell")  # the next bar (a bar is a price change): the leg has timed out
        wait_for(lambda: _signals(live, "round_trip"), "the first round trip", timeout=60)
        if len(_signals(live, "enter")) < 2:  # the unwinding sale's own trade may have started the second already
            _someone_trades(fake, "ETH/USDT")
        wait_for(lambda: len(_signals(live, "round_trip")) == 2, "the second round trip", timeout=60)

        hand = hand_computed()
        failed, went_round = sorted(_signals(live, "round_trip"), key=lambda s: s["data"]["number"])
        half = step(hand["q1"] / 2, "0.00001", ROUND_DOWN)
        held = half - commission(half * FEE)
        back = step(held, "0.00001", ROUND_DOWN)  # sold back at market, at the first bid
        loss = back * bid("BTC/USDT") - commission(back * bid("BTC/USDT") * FEE) - half * ask("BTC/USDT")
        orders = _orders(live)
        assert first["id"] == orders[0]["id"]
        assert [(o["symbol"], o["side"], o["order_type"], D(o["filled_quantity"]), o["status"]) for o in orders] == [
            ("BTC/USDT", "BUY", "LIMIT", half, "CANCELED"),
            ("BTC/USDT", "SELL", "MARKET", back, "FILLED"),
            ("BTC/USDT", "BUY", "LIMIT", hand["q1"], "FILLED"),
            ("ETH/BTC", "BUY", "LIMIT", hand["q2"], "FILLED"),
            ("ETH/USDT", "SELL", "LIMIT", hand["q3"], "FILLED"),
        ]
        assert D(failed["data"]["profit"]) == loss < 0 and failed["data"]["unwinds"] == 1
        assert D(went_round["data"]["profit"]) == hand["profit"] > 0 and went_round["data"]["unwinds"] == 0
        (alert,) = [a for a in live.ok("risk", "alerts") if a["rule"] == "arbitrage_legging"]
        assert alert["severity"] == "WARNING" and alert["symbol"] == "BTC/USDT" and "unwinding" in alert["message"]
        live.assert_agrees()
        assert live.venue_balances() == {
            "USDT": D(10_000) + loss + hand["profit"],
            "BTC": held - back + hand["BTC"],
            "ETH": hand["ETH"],
        }
        assert live.ok("strategy", "status", "tri")["status"] == "ACTIVE"


def _orders(live: Any) -> list[dict[str, Any]]:
    return sorted(live.ok("order", "list", "--strategy", "tri"), key=lambda o: o["id"])


def _best(live: Any, symbol: str) -> tuple[Decimal | None, Decimal | None]:
    with live.daemon.client() as c:
        book = c.get("/api/v1/market-data/orderbook", params={"symbol": symbol, "depth": 1})
    bids, asks = book.get("bids") or [], book.get("asks") or []
    return (D(bids[0][0]) if bids else None, D(asks[0][0]) if asks else None)


def _someone_trades(fake: FakeHandle, symbol: str, side: str = "buy") -> None:
    """Another account takes the best offer (or bid): a trade at a new price is a bar for the strategy."""
    funds = {"USDT": "100000", "ETH": "1"}
    acct = fake.admin("POST", "accounts", {"api_key": secrets.token_hex(16), "funds": funds})
    client = ccxt.binance(fake.ccxt_config(apiKey=acct["api_key"], secret=acct["api_secret"]))
    client.create_order(symbol, "market", side, 0.01)


def _signals(live: Any, name: str) -> list[dict[str, Any]]:
    return [s for s in live.ok("strategy", "signals", "tri", "-n", "100") if s["name"] == name]
