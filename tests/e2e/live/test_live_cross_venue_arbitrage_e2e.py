"""Cross-venue arbitrage live: a daemon trading BTC/USDT on two fake exchanges at once (``BTC/USDT@a`` in account
``acct_a`` on venue a, ``BTC/USDT@b`` in ``acct_b`` on venue b), each with a crafted book: b's best bid (30,100) is
above a's best ask (30,000), an edge of 0.0326 % after a's 0.1 % and b's 0.2 % taker fees.

`strategy start arbitrage -s BTC/USDT@a -s BTC/USDT@b` crosses the books twice. The first time exchange b refuses
the sell (the fake's ``reject`` fault): the 0.1 BTC bought on a is sold back there at a's bid, logged and raised as a
risk alert. The second time both legs fill. Each round trip's realised profit equals the hand computation from the
crafted books and the fee rules (Binance's: a buy's commission in the asset bought, a sell's in the quote, each
rounded to 8 decimals), and each account's balances equal its exchange's to the last unit."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import ccxt
import pytest
from engine_e2e_support import Daemon, daemon_home, wait_for
from live_e2e_support import PASSPHRASE

from alphintra.venues.fake.testing import FakeHandle, running_fake

D = Decimal
BTC = "BTC/USDT"
KEYS = {"a": "BTC/USDT@a", "b": "BTC/USDT@b"}
FEES = {"a": D("0.001"), "b": D("0.002")}
BOOKS = {
    "a": {"bids": [["29990", "1"]], "asks": [["30000", "1"], ["30100", "5"]]},
    "b": {"bids": [["30100", "1"], ["30000", "5"]], "asks": [["30110", "1"]]},
}
FUNDS = {"USDT": "10000", "BTC": "0.5"}
Q = D("0.1")  # notional 3,000 at a's ask


@pytest.fixture(scope="module")
def fakes() -> Iterator[dict[str, FakeHandle]]:
    with (
        running_fake("--symbols", BTC, walk_ms=0) as a,
        running_fake("--symbols", BTC, "--taker-fee", "0.002", walk_ms=0, seed=2) as b,
    ):
        yield {"a": a, "b": b}


def commission(amount: Decimal) -> Decimal:
    return amount.quantize(D("1e-8"), rounding=ROUND_HALF_UP)


def test_two_exchanges_books_are_crossed_live_for_the_hand_computed_edge(fakes: dict[str, FakeHandle]) -> None:
    started = time.monotonic()
    with daemon_home() as d:
        keys = _two_venue_home(d, fakes)
        d.start()
        for venue, key in KEYS.items():
            book = BOOKS[venue]
            crafted = (D(book["bids"][0][0]), D(book["asks"][0][0]))
            wait_for(lambda k=key, c=crafted: _best(d, k) == c, f"the {key} book")  # type: ignore[misc]
        params = ("notional=3000", "min_edge=0.0001", "max_trips=2", "leg_timeout=5")
        started_strategy = _ok(
            d,
            "strategy", "start", "arb", "--strategy", "arbitrage", "-s", KEYS["a"], "-s", KEYS["b"],
            *(a for p in params for a in ("-p", p)),
        )  # fmt: skip
        assert started_strategy
        fakes["b"].admin("POST", "faults", {"spec": "reject=1"})  # exchange b refuses the next order placed there
        _someone_trades(fakes["a"])  # a trade is a bar: the strategy looks at both books
        wait_for(lambda: _signals(d, "round_trip"), "the first round trip", timeout=60)
        if len(_signals(d, "enter")) < 2:  # the unwinding sale's own trade may have started the second already
            _someone_trades(fakes["a"])
        wait_for(lambda: len(_signals(d, "round_trip")) == 2, "the second round trip", timeout=60)

        orders = sorted(_ok(d, "order", "list", "--strategy", "arb"), key=lambda o: o["id"])
        assert [(o["symbol"], o["account"], o["side"], D(o["filled_quantity"]), o["status"]) for o in orders] == [
            (KEYS["a"], "acct_a", "BUY", Q, "FILLED"),
            (KEYS["b"], "acct_b", "SELL", D(0), "REJECTED"),
            (KEYS["a"], "acct_a", "SELL", Q, "FILLED"),
            (KEYS["a"], "acct_a", "BUY", Q, "FILLED"),
            (KEYS["b"], "acct_b", "SELL", Q, "FILLED"),
        ]
        btc_fee = commission(Q * FEES["a"])  # the buy on a pays its fee in BTC
        # Round trip 1: bought at a's ask, sold back at a's bid (b refused the sell).
        sold_back = Q * 29990
        loss = sold_back - commission(sold_back * FEES["a"]) - Q * 30000
        # Round trip 2: bought at a's ask, sold at b's bid: the edge after both fees.
        sold = Q * 30100
        profit = sold - commission(sold * FEES["b"]) - Q * 30000
        failed, crossed = sorted(_signals(d, "round_trip"), key=lambda s: s["data"]["number"])
        assert (D(failed["data"]["profit"]), failed["data"]["unwinds"]) == (loss, 1) and loss == D("-3.999")
        assert (D(crossed["data"]["profit"]), crossed["data"]["unwinds"]) == (profit, 0) and profit == D("3.98")
        for trip in (failed, crossed):
            assert {a: D(v) for a, v in trip["data"]["left"].items()} == {"BTC": -btc_fee}
        # Valued, the BTC fee at the price it was bought at: the edge after both fees, 0.1 x (30,100 x 0.998 - 30,000
        # x 1.001) = 0.98.
        assert (
            D(crossed["data"]["valued"])
            == profit - btc_fee * 30000
            == Q * (30100 * (1 - FEES["b"]) - 30000 * (1 + FEES["a"]))
        )
        assert D(failed["data"]["valued"]) == loss - btc_fee * 30000
        venues = {v: {a: D(x) for a, x in f.items()} for v, f in crossed["data"]["venues"].items()}
        assert venues == {
            "a": {"BTC": Q - btc_fee, "USDT": -Q * 30000},
            "b": {"BTC": -Q, "USDT": sold - commission(sold * FEES["b"])},
        }
        (alert,) = [a for a in _ok(d, "risk", "alerts") if a["rule"] == "arbitrage_legging"]
        assert alert["severity"] == "WARNING" and alert["symbol"] == KEYS["b"] and "unwinding" in alert["message"]

        expected = {
            "a": {"USDT": D(10000) + loss - Q * 30000, "BTC": D("0.5") + 2 * (Q - btc_fee) - Q},
            "b": {"USDT": D(10000) + sold - commission(sold * FEES["b"]), "BTC": D("0.5") - Q},
        }
        for venue, key in keys.items():
            assert _venue_balances(fakes[venue], key) == expected[venue]
            wait_for(
                lambda v=venue: _balances(d, f"acct_{v}") == expected[v],  # type: ignore[misc]
                f"acct_{venue}'s balances to equal exchange {venue}'s",
            )
        status = _ok(d, "strategy", "status", "arb")
        assert status["status"] == "ACTIVE" and status["accounts"] == {KEYS["a"]: "acct_a", KEYS["b"]: "acct_b"}
    print(f"cross-venue arbitrage live test: {time.monotonic() - started:.1f}s")


# -- helpers -------------------------------------------------------------------------------------------------------


def _two_venue_home(d: Daemon, fakes: dict[str, FakeHandle]) -> dict[str, str]:
    """Both venues added the way a user does it, an account on each (a fresh funded key pair per exchange)."""
    d.env["ALPHINTRA_PASSPHRASE"] = PASSPHRASE
    d.env.pop("ALPHINTRA_ACCOUNTS__MAIN__MODE", None)
    keys: dict[str, str] = {}
    config = "[venues.sim]\n"
    for name, fake in fakes.items():
        fake.admin("POST", "book", {"symbol": BTC, **BOOKS[name]})
        acct = fake.admin("POST", "accounts", {"api_key": secrets.token_hex(16), "funds": FUNDS})
        keys[name] = acct["api_key"]
        done = d.cli(
            "venue", "add", name, "--exchange", "binance", "--urls", json.dumps(fake.urls), "--rate-limit", "5",
            "--secret-stdin", input=f"{acct['api_key']}\n{acct['api_secret']}\n",
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        config += f'[accounts.acct_{name}]\nvenue = "{name}"\n'
    (d.root / "config.toml").write_text(config, encoding="utf-8")
    d.env["ALPHINTRA_CONFIG"] = str(d.root / "config.toml")
    return keys


def _ok(d: Daemon, *args: str) -> Any:
    done = d.cli(*args, "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _best(d: Daemon, key: str) -> tuple[Decimal | None, Decimal | None]:
    with d.client() as c:
        book = c.get("/api/v1/market-data/orderbook", params={"symbol": key, "depth": 1})
    bids, asks = book.get("bids") or [], book.get("asks") or []
    return (D(bids[0][0]) if bids else None, D(asks[0][0]) if asks else None)


def _someone_trades(fake: FakeHandle) -> None:
    """Another account takes a sliver of the best offer: a trade is a bar for the strategy (the best level stays)."""
    acct = fake.admin("POST", "accounts", {"api_key": secrets.token_hex(16), "funds": {"USDT": "100000"}})
    client = ccxt.binance(fake.ccxt_config(apiKey=acct["api_key"], secret=acct["api_secret"]))
    client.create_order(BTC, "market", "buy", 0.001)


def _signals(d: Daemon, name: str) -> list[dict[str, Any]]:
    return [s for s in _ok(d, "strategy", "signals", "arb", "-n", "100") if s["name"] == name]


def _venue_balances(fake: FakeHandle, api_key: str) -> dict[str, Decimal]:
    raw = fake.admin("GET", f"balances?api_key={api_key}")
    return {a: D(v["free"]) + D(v["locked"]) for a, v in raw.items() if D(v["free"]) + D(v["locked"])}


def _balances(d: Daemon, account: str) -> dict[str, Decimal]:
    rows = _ok(d, "portfolio", "balances", "--account", account)
    return {b["asset"]: D(b["total"]) for b in rows if D(b["total"])}
