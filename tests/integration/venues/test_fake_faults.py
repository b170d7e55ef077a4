"""Each fault the fake exchange injects, and what the real ccxt client sees (nothing lost, nothing doubled)."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal
from typing import Any

import ccxt
import ccxt.pro as ccxtpro
import pytest
from fake_venue_helpers import at_price, balances

from alphintra.errors import ValidationError
from alphintra.venues.fake.faults import parse_spec
from alphintra.venues.fake.state import fee_of
from alphintra.venues.fake.testing import FakeHandle
from tests.waiting import wait_for

D = Decimal
RATE = D("0.001")
ASK1, BID1 = D("30015.00"), D("29985.00")


@pytest.fixture(autouse=True)
def no_faults_left(fake: FakeHandle):  # type: ignore[no-untyped-def]
    fake.admin("DELETE", "faults")
    yield
    fake.admin("DELETE", "faults")


def client(fake: FakeHandle, acct: dict[str, str], **extra: Any) -> ccxt.binance:
    return ccxt.binance(fake.ccxt_config(apiKey=acct["api_key"], secret=acct["api_secret"], **extra))


def log_of(fake: FakeHandle, acct: dict[str, str]) -> list[str]:
    return [e["client_order_id"] for e in fake.admin("GET", f"orders?api_key={acct['api_key']}")["orders"]]


@pytest.mark.parametrize("status", [429, 418])
def test_rate_limit_burst_answers_with_retry_after(fake: FakeHandle, status: int) -> None:
    ex = ccxt.binance(fake.ccxt_config())
    ex.load_markets()
    fake.admin("POST", "faults", {"spec": f"{status}=2:3@depth"})
    for _ in range(2):
        with pytest.raises(ccxt.DDoSProtection, match=str(status)):
            ex.fetch_order_book("BTC/USDT")
        assert ex.last_response_headers["Retry-After"] == "3"
    assert ex.fetch_order_book("BTC/USDT")["asks"]  # the burst is over
    ex.fetch_ticker("BTC/USDT")  # other endpoints were never limited


def test_5xx_is_exchange_not_available_and_places_nothing(fake: FakeHandle, account) -> None:  # type: ignore[no-untyped-def]
    at_price(fake)
    acct = account(USDT="1000")
    ex = client(fake, acct)
    ex.load_markets()
    fake.admin("POST", "faults", {"spec": "5xx=1:503@POST/order"})
    with pytest.raises(ccxt.ExchangeNotAvailable, match="503"):
        ex.create_order("BTC/USDT", "limit", "buy", 0.01, 29000, params={"clientOrderId": "e5-1"})
    assert log_of(fake, acct) == []
    ex.create_order("BTC/USDT", "limit", "buy", 0.01, 29000, params={"clientOrderId": "e5-1"})  # a retry is new
    assert log_of(fake, acct) == ["e5-1"]


def test_withheld_answer_times_out_but_the_order_exists_once(fake: FakeHandle, account) -> None:  # type: ignore[no-untyped-def]
    at_price(fake)
    acct = account(USDT="1000")
    ex = client(fake, acct, timeout=1000)
    ex.load_markets()
    fake.admin("POST", "faults", {"spec": "timeout=1:4000@POST/order"})
    with pytest.raises(ccxt.RequestTimeout):
        ex.create_order("BTC/USDT", "limit", "buy", 0.01, 29000, params={"clientOrderId": "to-1"})
    found = ex.fetch_order(None, "BTC/USDT", params={"clientOrderId": "to-1"})  # resolved by the client id
    assert (found["status"], found["amount"]) == ("open", 0.01)
    with pytest.raises(ccxt.InvalidOrder, match="Duplicate order sent"):  # resending cannot double it
        ex.create_order("BTC/USDT", "limit", "buy", 0.01, 29000, params={"clientOrderId": "to-1"})
    assert log_of(fake, acct) == ["to-1"]


def test_placed_but_response_lost(fake: FakeHandle, account) -> None:  # type: ignore[no-untyped-def]
    at_price(fake)
    acct = account(USDT="1000")
    ex = client(fake, acct)
    ex.load_markets()
    fake.admin("POST", "faults", {"spec": "lost=1"})
    with pytest.raises(ccxt.NetworkError):
        ex.create_order("BTC/USDT", "market", "buy", 0.01, params={"clientOrderId": "lost-1"})
    found = ex.fetch_order(None, "BTC/USDT", params={"clientOrderId": "lost-1"})
    assert (found["status"], found["filled"], found["average"]) == ("closed", 0.01, float(ASK1))
    assert log_of(fake, acct) == ["lost-1"]
    assert balances(fake, acct["api_key"]) == {
        "USDT": (D("1000") - ASK1 * D("0.01"), D(0)),
        "BTC": (D("0.01") - fee_of(D("0.01"), RATE), D(0)),
    }


def test_order_briefly_unknown_after_placement(fake: FakeHandle, account) -> None:  # type: ignore[no-untyped-def]
    at_price(fake)
    acct = account(USDT="1000")
    ex = client(fake, acct)
    ex.load_markets()
    fake.admin("POST", "faults", {"spec": "unknown=1:1500"})
    placed = ex.create_order("BTC/USDT", "limit", "buy", 0.01, 29000, params={"clientOrderId": "unk-1"})
    started = time.monotonic()
    with pytest.raises(ccxt.OrderNotFound):
        ex.fetch_order(placed["id"], "BTC/USDT")
    assert [o["clientOrderId"] for o in ex.fetch_open_orders("BTC/USDT")] == ["unk-1"]  # it does exist

    def found() -> Any:
        try:
            return ex.fetch_order(None, "BTC/USDT", params={"clientOrderId": "unk-1"})
        except ccxt.OrderNotFound:
            return None

    assert wait_for(found, "the order to show")["status"] == "open"
    assert time.monotonic() - started >= 1.0
    assert log_of(fake, acct) == ["unk-1"]


def test_partial_fill_then_the_rest_later(fake: FakeHandle, account) -> None:  # type: ignore[no-untyped-def]
    at_price(fake)
    acct = account(USDT="2000")
    ex = client(fake, acct)
    ex.load_markets()
    fake.admin("POST", "faults", {"spec": "partial=1:300"})
    first = ex.create_order("BTC/USDT", "market", "buy", 0.02, params={"clientOrderId": "part-1"})
    assert (first["status"], first["filled"], first["info"]["status"]) == ("open", 0.01, "PARTIALLY_FILLED")

    def closed() -> Any:
        order = ex.fetch_order(first["id"], "BTC/USDT")
        return order if order["status"] == "closed" else None

    done = wait_for(closed, "the order to close")
    assert (done["filled"], done["average"]) == (0.02, float(ASK1))
    assert len(ex.fetch_my_trades("BTC/USDT")) == 2
    got = D("0.02") - fee_of(D("0.01"), RATE) * 2
    assert balances(fake, acct["api_key"]) == {"USDT": (D("2000") - ASK1 * D("0.02"), D(0)), "BTC": (got, D(0))}


def test_clock_skew_gives_invalid_nonce_until_the_client_adjusts(fake: FakeHandle, account) -> None:  # type: ignore[no-untyped-def]
    acct = account(USDT="100")
    fake.admin("POST", "faults", {"spec": "skew=-30000"})
    ex = client(fake, acct)
    with pytest.raises(ccxt.InvalidNonce, match="-1021"):
        ex.fetch_balance()
    adjusted = client(fake, acct, options={"adjustForTimeDifference": True})
    adjusted.load_markets()  # loads the offset from /api/v3/time
    assert adjusted.fetch_balance()["USDT"]["free"] == 100.0
    fake.admin("POST", "faults", {"spec": "skew=30000"})  # the exchange ahead: older than recvWindow
    with pytest.raises(ccxt.InvalidNonce, match="recvWindow"):
        ex.fetch_balance()


def test_fees_in_base_asset_charge_sells_in_btc(fake: FakeHandle, account) -> None:  # type: ignore[no-untyped-def]
    at_price(fake)
    acct = account(USDT="1000", BTC="1")
    ex = client(fake, acct)
    fake.admin("POST", "faults", {"spec": "fee_base"})
    ex.create_order("BTC/USDT", "market", "sell", 0.1, params={"clientOrderId": "fb-1"})
    ex.create_order("BTC/USDT", "market", "buy", 0.1, params={"clientOrderId": "fb-2"})
    fee = fee_of(D("0.1"), RATE)
    btc = D("1") - D("0.1") - fee + D("0.1") - fee
    usdt = D("1000") + BID1 * D("0.1") - ASK1 * D("0.1")
    assert balances(fake, acct["api_key"]) == {"USDT": (usdt, D(0)), "BTC": (btc, D(0))}
    trades = ex.fetch_my_trades("BTC/USDT")
    assert [(t["side"], t["fee"]["currency"], t["fee"]["cost"]) for t in trades] == [
        ("sell", "BTC", float(fee)),
        ("buy", "BTC", float(fee)),
    ]


def test_dropped_stream_errors_the_watch_and_a_new_watch_reconnects(fake: FakeHandle) -> None:
    at_price(fake)

    async def body() -> tuple[type[BaseException], Any]:
        ex = ccxtpro.binance(fake.ccxt_config())
        try:
            await ex.load_markets()
            await ex.watch_order_book("BTC/USDT")
            pending = asyncio.ensure_future(ex.watch_order_book("BTC/USDT"))
            await asyncio.sleep(0)
            await asyncio.to_thread(fake.admin, "POST", "faults", {"spec": "drop_stream"})
            with pytest.raises(ccxt.NetworkError) as err:
                await asyncio.wait_for(pending, 10)
            await asyncio.to_thread(fake.admin, "POST", "price", {"symbol": "BTC/USDT", "price": "30100"})
            book = await asyncio.wait_for(ex.watch_order_book("BTC/USDT"), 10)
            return err.type, book
        finally:
            await ex.close()

    kind, book = asyncio.run(body())
    assert issubclass(kind, ccxt.NetworkError)
    assert book["asks"][0][0] == 30115.05  # a fresh snapshot after the reconnect


def test_silent_stream_stays_open_but_sends_nothing(fake: FakeHandle) -> None:
    at_price(fake)

    async def body() -> tuple[bool, Any]:
        ex = ccxtpro.binance(fake.ccxt_config())
        try:
            await ex.load_markets()
            await ex.watch_order_book("BTC/USDT")
            await asyncio.to_thread(fake.admin, "POST", "faults", {"spec": "silent_stream"})
            await asyncio.to_thread(fake.admin, "POST", "price", {"symbol": "BTC/USDT", "price": "30200"})
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.shield(ex.watch_order_book("BTC/USDT")), 1.5)
            client_open = not ex.clients[next(iter(ex.clients))].connection.closed
            await asyncio.to_thread(fake.admin, "DELETE", "faults")
            await asyncio.to_thread(fake.admin, "POST", "price", {"symbol": "BTC/USDT", "price": "30300"})
            # the diffs sent while silent are lost: ccxt sees the gap in U/u and must re-sync
            with pytest.raises(ccxt.ChecksumError):
                await asyncio.wait_for(ex.watch_order_book("BTC/USDT"), 10)
            return client_open, await asyncio.wait_for(ex.watch_order_book("BTC/USDT"), 10)
        finally:
            await ex.close()

    client_open, book = asyncio.run(body())
    assert client_open
    assert book["asks"][0][0] == 30315.15


def test_fault_spec_errors_name_the_item() -> None:
    assert [(f.kind, f.count, f.arg, f.method, f.path) for f in parse_spec("429=3:2@depth,lost=1,skew=-500")] == [
        ("429", 3, 2, None, "depth"),
        ("lost", 1, 0, "POST", "order"),
        ("skew", 1, -500, None, None),
    ]
    with pytest.raises(ValidationError, match="unknown fault 'boom'"):
        parse_spec("boom=1")
    with pytest.raises(ValidationError, match=r"500\.\.599"):
        parse_spec("5xx=1:404")
    with pytest.raises(ValidationError, match="skew needs a value"):
        parse_spec("skew")
