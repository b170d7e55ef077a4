"""The real ccxt.pro client against the fake exchange's streams: book diffs, trades, tickers, orders, balances."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any, TypeVar

import ccxt.pro as ccxtpro
from fake_venue_helpers import at_price, balances

from alphintra.venues.fake.state import fee_of
from alphintra.venues.fake.testing import FakeHandle

D = Decimal
T = TypeVar("T")


def pro(fake: FakeHandle, acct: dict[str, str] | None = None) -> ccxtpro.binance:
    creds = {} if acct is None else {"apiKey": acct["api_key"], "secret": acct["api_secret"]}
    return ccxtpro.binance(fake.ccxt_config(**creds))


async def until(watch: Callable[[], Awaitable[T]], done: Callable[[T], bool], timeout: float = 15) -> T:
    """Call ``watch`` until its result satisfies ``done`` (a condition, not a sleep)."""

    async def loop() -> T:
        while True:
            value = await watch()
            if done(value):
                return value

    return await asyncio.wait_for(loop(), timeout)


def run(body: Callable[[ccxtpro.binance], Awaitable[T]], ex: ccxtpro.binance) -> T:
    async def main() -> T:
        try:
            await ex.load_markets()
            return await body(ex)
        finally:
            await ex.close()

    return asyncio.run(main())


def test_watch_order_book_applies_diffs_onto_the_snapshot(fake: FakeHandle) -> None:
    at_price(fake)

    async def body(ex: ccxtpro.binance) -> tuple[Any, Any, Any]:
        first = await ex.watch_order_book("BTC/USDT")
        first_top = (first["bids"][0], first["asks"][0])
        moved = fake.admin("POST", "price", {"symbol": "BTC/USDT", "price": "30300"})
        book = await until(lambda: ex.watch_order_book("BTC/USDT"), lambda b: b["nonce"] >= moved["update_id"])
        rest = await ex.fetch_order_book("BTC/USDT", 100)
        return first_top, book, rest

    first_top, book, rest = run(body, pro(fake))
    assert first_top == ([29985.0, 0.667], [30015.0, 0.66633])
    assert book["nonce"] == rest["nonce"]
    # the local book built from the REST snapshot and the diffs equals the exchange's book, level by level
    assert book["bids"][:20] == rest["bids"][:20] and book["asks"][:20] == rest["asks"][:20]
    assert (book["bids"][0][0], book["asks"][0][0]) == (30284.85, 30315.15)


def test_watch_trades_ticker_and_bids_asks(fake: FakeHandle, account) -> None:  # type: ignore[no-untyped-def]
    at_price(fake, "ETH/USDT", "2000")
    acct = account(USDT="10000")

    async def body(ex: ccxtpro.binance) -> tuple[Any, Any, Any]:
        trades_task = asyncio.ensure_future(ex.watch_trades("ETH/USDT"))
        bidask = await ex.watch_bids_asks(["ETH/USDT"])
        await until(lambda: ex.watch_ticker("ETH/USDT"), lambda t: True)  # subscribed and flowing
        await ex.create_order("ETH/USDT", "market", "buy", 0.5, params={"clientOrderId": "st-1"})
        trades = await asyncio.wait_for(trades_task, 15)
        ticker = await until(lambda: ex.watch_ticker("ETH/USDT"), lambda t: t["last"] == 2001.0)
        return trades, ticker, bidask

    trades, ticker, bidask = run(body, pro(fake, acct))
    assert [(t["symbol"], t["price"], t["amount"], t["side"]) for t in trades] == [("ETH/USDT", 2001.0, 0.5, "buy")]
    assert ticker["symbol"] == "ETH/USDT" and ticker["close"] == 2001.0
    assert (bidask["ETH/USDT"]["bid"], bidask["ETH/USDT"]["ask"]) == (1999.0, 2001.0)


def test_watch_orders_and_balance_follow_every_change(fake: FakeHandle, account) -> None:  # type: ignore[no-untyped-def]
    at_price(fake)
    acct = account(USDT="10000")

    async def body(ex: ccxtpro.binance) -> tuple[list[tuple[str, str, float]], Any]:
        await ex.authenticate({"type": "spot"})  # the user data stream is subscribed before anything happens
        seen: list[tuple[str, str, float]] = []

        async def watch_orders() -> list[Any]:
            orders = await ex.watch_orders("BTC/USDT")
            seen.extend((o["clientOrderId"], o["status"], o["filled"]) for o in orders)
            return orders

        latest: list[Any] = []

        async def watch_balance() -> Any:
            latest.append(await ex.watch_balance())
            return latest[-1]

        balance_task = asyncio.ensure_future(until(watch_balance, lambda b: b.get("USDT", {}).get("used") == 0.0))
        placed = await ex.create_order("BTC/USDT", "limit", "buy", 0.02, 29000, params={"clientOrderId": "ws-1"})
        await until(watch_orders, lambda _: ("ws-1", "open", 0.0) in seen)
        fake.admin("POST", "fill", {"order_id": int(placed["id"]), "quantity": "0.005"})
        await until(watch_orders, lambda _: ("ws-1", "open", 0.005) in seen)
        await ex.cancel_order(placed["id"], "BTC/USDT")
        await until(watch_orders, lambda _: seen[-1][1] == "canceled")
        return seen, await balance_task

    seen, balance = run(body, pro(fake, acct))
    assert seen[0] == ("ws-1", "open", 0.0)
    assert ("ws-1", "open", 0.005) in seen
    assert seen[-1] == ("ws-1", "canceled", 0.005)
    usdt = D("10000") - D("29000") * D("0.005")
    btc = D("0.005") - fee_of(D("0.005"), D("0.001"))
    assert balances(fake, acct["api_key"]) == {"USDT": (usdt, D(0)), "BTC": (btc, D(0))}
    assert (balance["USDT"]["free"], balance["USDT"]["used"]) == (float(usdt), 0.0)
    rows = {r["a"]: (D(r["f"]), D(r["l"])) for r in balance["info"]["B"]}
    assert rows["USDT"] == (usdt, D(0))
