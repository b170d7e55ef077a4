"""The real ccxt client (sync and async) against the fake exchange run as a separate process: REST."""

from __future__ import annotations

import asyncio
import socket
from decimal import Decimal

import ccxt
import ccxt.async_support as ccxt_async
import pytest
from fake_venue_helpers import at_price, balances

from alphintra.venues.fake.state import fee_of
from alphintra.venues.fake.testing import FakeHandle

D = Decimal
RATE = D("0.001")
# the background ladder at mid 30000: level i sits i x 5 bps away, each worth 20,000 USDT (rounded down to lots)
ASK1, ASK2, BID1 = D("30015.00"), D("30030.00"), D("29985.00")
ASK1_QTY = D("0.66633")  # 20000 / 30015 in lots of 0.00001
BID1_QTY = D("0.66700")


def client(fake: FakeHandle, acct: dict[str, str]) -> ccxt.binance:
    return ccxt.binance(fake.ccxt_config(apiKey=acct["api_key"], secret=acct["api_secret"]))


def exact_balance(ex: ccxt.binance) -> dict[str, tuple[Decimal, Decimal]]:
    """fetch_balance as the exchange sent it (strings), so that the comparison is exact."""
    info = ex.fetch_balance()["info"]["balances"]
    return {b["asset"]: (D(b["free"]), D(b["locked"])) for b in info}


def test_load_markets_gives_tick_lot_and_min_notional(fake: FakeHandle) -> None:
    ex = ccxt.binance(fake.ccxt_config())
    markets = ex.load_markets()
    assert sorted(markets) == ["BTC/USDT", "ETH/USDT"]
    btc = markets["BTC/USDT"]
    assert (btc["id"], btc["base"], btc["quote"], btc["spot"], btc["active"]) == ("BTCUSDT", "BTC", "USDT", True, True)
    assert btc["precision"]["price"] == 0.01
    assert btc["precision"]["amount"] == 0.00001
    assert btc["limits"]["amount"]["min"] == 0.00001
    assert btc["limits"]["cost"]["min"] == 5
    filters = {f["filterType"]: f for f in btc["info"]["filters"]}
    assert filters["PRICE_FILTER"]["tickSize"] == "0.01"
    assert filters["LOT_SIZE"]["stepSize"] == "0.00001"
    assert filters["NOTIONAL"]["minNotional"] == filters["MIN_NOTIONAL"]["minNotional"] == "5"
    assert markets["ETH/USDT"]["precision"]["amount"] == 0.0001
    assert abs(ex.fetch_time() - ex.milliseconds()) < 5_000


def test_fetch_ohlcv_pages_any_date_and_repeats_exactly(fake: FakeHandle) -> None:
    ex = ccxt.binance(fake.ccxt_config())
    since = 1_704_067_200_000  # 2024-01-01
    first = ex.fetch_ohlcv("BTC/USDT", "1m", since=since, limit=1000)
    second = ex.fetch_ohlcv("BTC/USDT", "1m", since=first[-1][0] + 60_000, limit=1000)
    bars = first + second
    assert len(first) == len(second) == 1000
    assert [b[0] for b in bars] == [since + 60_000 * i for i in range(2000)]
    # the path is continuous: each bar opens at the previous close
    assert all(bars[i][1] == bars[i - 1][4] for i in range(1, len(bars)))
    assert all(b[3] <= min(b[1], b[4]) <= max(b[1], b[4]) <= b[2] and b[5] > 0 for b in bars)
    # a page that starts in the middle gives the very same bars
    assert ex.fetch_ohlcv("BTC/USDT", "1m", since=since + 60_000 * 500, limit=3) == first[500:503]
    # years back works the same way; nothing is served from the future
    assert ex.fetch_ohlcv("BTC/USDT", "1h", since=1_500_000_000_000, limit=2)[0][0] == 1_500_001_200_000
    latest = ex.fetch_ohlcv("BTC/USDT", "1m", limit=5)
    assert len(latest) == 5 and latest[-1][0] <= ex.milliseconds()
    with pytest.raises(ccxt.BadRequest, match="Invalid interval"):
        ex.publicGetKlines({"symbol": "BTCUSDT", "interval": "7m"})


def test_order_book_ticker_and_trades(fake: FakeHandle) -> None:
    at_price(fake)
    ex = ccxt.binance(fake.ccxt_config())
    book = ex.fetch_order_book("BTC/USDT", 5)
    assert book["asks"][0] == [float(ASK1), float(ASK1_QTY)]
    assert book["bids"][0] == [float(BID1), float(BID1_QTY)]
    assert [a[0] for a in book["asks"]] == [30015.0, 30030.0, 30045.0, 30060.0, 30075.0]
    assert len(book["bids"]) == 5 and book["nonce"] > 0
    ticker = ex.fetch_ticker("BTC/USDT")
    assert (ticker["bid"], ticker["ask"]) == (29985.0, 30015.0)
    assert ex.fetch_bids_asks(["BTC/USDT"])["BTC/USDT"]["ask"] == 30015.0


def test_orders_of_every_kind_and_balances_to_the_last_unit(fake: FakeHandle, account) -> None:  # type: ignore[no-untyped-def]
    at_price(fake)
    acct = account(USDT="100000", BTC="1")
    ex = client(fake, acct)
    ex.load_markets()
    usdt, btc = D("100000"), D("1")
    since = ex.milliseconds() - 1

    # market buy: takes 0.01 at the best ask; the commission is taken from the BTC received
    o = ex.create_order("BTC/USDT", "market", "buy", 0.01, params={"clientOrderId": "mkt-1"})
    assert (o["status"], o["clientOrderId"], o["filled"], o["average"]) == ("closed", "mkt-1", 0.01, 30015.0)
    fill = o["info"]["fills"][0]
    assert (fill["price"], fill["qty"], fill["commission"], fill["commissionAsset"]) == (
        "30015.00",
        "0.01000",
        "0.00001000",
        "BTC",
    )
    usdt -= ASK1 * D("0.01")
    btc += D("0.01") - fee_of(D("0.01"), RATE)

    # a resting limit buy locks its notional
    rest = ex.create_order("BTC/USDT", "limit", "buy", 0.02, 29000, params={"clientOrderId": "lim-1"})
    assert (rest["status"], rest["filled"]) == ("open", 0.0)
    usdt -= D("580")
    assert exact_balance(ex)["USDT"] == (usdt, D("580"))

    # IOC larger than the first level: fills what is there, the rest expires
    ioc = ex.create_order(
        "BTC/USDT", "limit", "buy", 1.0, 30015, params={"clientOrderId": "ioc-1", "timeInForce": "IOC"}
    )
    got = ASK1_QTY - D("0.01")
    assert ioc["status"] == "expired"
    assert D(ioc["info"]["executedQty"]) == got
    assert D(ioc["info"]["cummulativeQuoteQty"]) == got * ASK1
    usdt -= got * ASK1
    btc += got - fee_of(got, RATE)

    # FOK that cannot fill completely: nothing happens
    fok = ex.create_order(
        "BTC/USDT", "limit", "buy", 2.0, 30030, params={"clientOrderId": "fok-1", "timeInForce": "FOK"}
    )
    assert (fok["status"], fok["filled"]) == ("expired", 0.0)

    # post-only: refused when it would take, resting otherwise
    with pytest.raises(ccxt.OrderImmediatelyFillable):
        ex.create_order("BTC/USDT", "limit", "buy", 0.01, 30030, params={"clientOrderId": "po-x", "postOnly": True})
    po = ex.create_order("BTC/USDT", "limit", "buy", 0.01, 29900, params={"clientOrderId": "po-1", "postOnly": True})
    assert (po["status"], po["type"], po["postOnly"]) == ("open", "limit", True)
    usdt -= D("299")

    # market sell: hits the best bid; the commission is taken from the USDT received
    sell = ex.create_order("BTC/USDT", "market", "sell", 0.5, params={"clientOrderId": "mkt-2"})
    assert (sell["status"], sell["average"]) == ("closed", 29985.0)
    proceeds = BID1 * D("0.5")
    usdt += proceeds - fee_of(proceeds, RATE)
    btc -= D("0.5")

    # a partial fill "from outside" at the resting order's price: a maker fill
    fake.admin("POST", "fill", {"api_key": acct["api_key"], "client_order_id": "lim-1", "quantity": "0.005"})
    part = ex.fetch_order(None, "BTC/USDT", params={"clientOrderId": "lim-1"})
    assert (part["status"], part["filled"], part["remaining"]) == ("open", 0.005, 0.015)
    assert part["info"]["status"] == "PARTIALLY_FILLED"
    btc += D("0.005") - fee_of(D("0.005"), RATE)
    assert exact_balance(ex)["USDT"] == (usdt, D("580") - D("145") + D("299"))

    # cancel returns what is still locked
    canceled = ex.cancel_order(part["id"], "BTC/USDT")
    assert canceled["status"] == "canceled" and canceled["filled"] == 0.005
    usdt += D("435")  # the 580 locked, less the 145 the fill paid
    assert [o["clientOrderId"] for o in ex.fetch_open_orders("BTC/USDT")] == ["po-1"]
    assert [o["status"] for o in ex.cancel_all_orders("BTC/USDT")] == ["canceled"]
    assert ex.fetch_open_orders("BTC/USDT") == []
    usdt += D("299")

    assert exact_balance(ex) == {"USDT": (usdt, D(0)), "BTC": (btc, D(0))}
    assert balances(fake, acct["api_key"]) == {"USDT": (usdt, D(0)), "BTC": (btc, D(0))}

    trades = ex.fetch_my_trades("BTC/USDT", since=since)
    assert [(t["order"], t["side"], t["takerOrMaker"], t["amount"]) for t in trades] == [
        (o["id"], "buy", "taker", 0.01),
        (ioc["id"], "buy", "taker", float(got)),
        (sell["id"], "sell", "taker", 0.5),
        (rest["id"], "buy", "maker", 0.005),
    ]
    assert ex.fetch_my_trades("BTC/USDT", params={"fromId": trades[-1]["id"]})[0]["id"] == trades[-1]["id"]
    statuses = {o["clientOrderId"]: o["status"] for o in ex.fetch_orders("BTC/USDT")}
    assert statuses == {
        "mkt-1": "closed",
        "lim-1": "canceled",
        "ioc-1": "expired",
        "fok-1": "expired",
        "po-1": "canceled",
        "mkt-2": "closed",
    }


def test_duplicate_client_order_id_is_refused_and_logged_once(fake: FakeHandle, account) -> None:  # type: ignore[no-untyped-def]
    at_price(fake)
    acct = account(USDT="10000")
    ex = client(fake, acct)
    ex.create_order("BTC/USDT", "limit", "buy", 0.01, 29000, params={"clientOrderId": "dup-1"})
    with pytest.raises(ccxt.InvalidOrder, match="Duplicate order sent"):
        ex.create_order("BTC/USDT", "limit", "buy", 0.01, 29000, params={"clientOrderId": "dup-1"})
    ex.cancel_order(None, "BTC/USDT", params={"clientOrderId": "dup-1"})
    with pytest.raises(ccxt.InvalidOrder, match="Duplicate order sent"):  # even once the first one is closed
        ex.create_order("BTC/USDT", "limit", "buy", 0.01, 29000, params={"clientOrderId": "dup-1"})
    log = fake.admin("GET", f"orders?api_key={acct['api_key']}")
    assert [e["client_order_id"] for e in log["orders"]] == ["dup-1"]
    assert log["duplicates_refused"].count("dup-1") >= 2
    assert exact_balance(ex)["USDT"] == (D("10000"), D(0))


def test_binance_errors_map_to_ccxt_exceptions(fake: FakeHandle, account) -> None:  # type: ignore[no-untyped-def]
    at_price(fake)
    acct = account(USDT="100")
    ex = client(fake, acct)
    ex.load_markets()
    with pytest.raises(ccxt.InsufficientFunds):
        ex.create_order("BTC/USDT", "limit", "buy", 0.01, 29000)
    with pytest.raises(ccxt.BadRequest, match="Filter failure: NOTIONAL"):
        ex.create_order("BTC/USDT", "limit", "buy", 0.0001, 29000)
    with pytest.raises(ccxt.InvalidOrder, match="PRICE_FILTER"):
        ex.privatePostOrder(
            {
                "symbol": "BTCUSDT",
                "side": "BUY",
                "type": "LIMIT",
                "timeInForce": "GTC",
                "quantity": "0.001",
                "price": "29000.005",
            }
        )
    with pytest.raises(ccxt.InvalidOrder, match="LOT_SIZE"):
        ex.privatePostOrder(
            {
                "symbol": "BTCUSDT",
                "side": "BUY",
                "type": "LIMIT",
                "timeInForce": "GTC",
                "quantity": "0.0010001",
                "price": "29000",
            }
        )
    with pytest.raises(ccxt.OrderNotFound):
        ex.cancel_order("999999", "BTC/USDT")
    with pytest.raises(ccxt.OrderNotFound):
        ex.fetch_order(None, "BTC/USDT", params={"clientOrderId": "never-sent"})
    with pytest.raises(ccxt.AuthenticationError, match="-1022"):
        ccxt.binance(fake.ccxt_config(apiKey=acct["api_key"], secret="0" * 64)).fetch_balance()
    with pytest.raises(ccxt.AuthenticationError, match="-2015"):
        ccxt.binance(fake.ccxt_config(apiKey="unknown" + "0" * 57, secret="0" * 64)).fetch_balance()
    with pytest.raises(ccxt.BadSymbol):
        ex.publicGetDepth({"symbol": "DOGEUSDT"})
    assert exact_balance(ex)["USDT"] == (D("100"), D(0))  # nothing refused left a trace


def test_async_client_trades_and_reads_balances(fake: FakeHandle, account) -> None:  # type: ignore[no-untyped-def]
    at_price(fake, "ETH/USDT", "2000")
    acct = account(USDT="5000")

    async def run() -> tuple[dict[str, object], dict[str, object]]:
        ex = ccxt_async.binance(fake.ccxt_config(apiKey=acct["api_key"], secret=acct["api_secret"]))
        try:
            await ex.load_markets()
            order = await ex.create_order("ETH/USDT", "market", "buy", 1, params={"clientOrderId": "a-1"})
            return order, await ex.fetch_balance()
        finally:
            await ex.close()

    order, balance = asyncio.run(run())
    ask = D("2001.00")  # 2000 + 5 bps
    assert (order["status"], order["average"], order["clientOrderId"]) == ("closed", float(ask), "a-1")
    assert D(str(balance["info"]["balances"][0]["free"])) == D("1") - fee_of(D("1"), RATE)  # type: ignore[index]
    assert balances(fake, acct["api_key"])["USDT"] == (D("5000") - ask, D(0))


def test_network_guard_refuses_non_loopback(loopback_only: list[str]) -> None:
    with pytest.raises(ConnectionRefusedError, match="non-loopback"):
        socket.create_connection(("192.0.2.1", 443), timeout=1)
    with pytest.raises(socket.gaierror):
        socket.getaddrinfo("api.binance.com", 443)
    assert loopback_only == ["('192.0.2.1', 443)", "getaddrinfo('api.binance.com')"]
    loopback_only.clear()


def test_venue_fake_cli_refuses_bad_options(run_cli) -> None:  # type: ignore[no-untyped-def]
    result = run_cli("venue", "fake", "--port", "70000")
    assert result.code == 2 and "--port" in result.err
    result = run_cli("venue", "fake", "--api-key", "k")
    assert result.code == 2 and "--api-secret" in result.err
    result = run_cli("venue", "fake", "--symbols", "BTCUSDT")
    assert result.code == 2 and "BASE/QUOTE" in result.err
    result = run_cli("venue", "fake", "--faults", "boom=1")
    assert result.code == 2 and "unknown fault 'boom'" in result.err


def test_the_process_prints_one_json_line_and_stops_cleanly_on_sigint() -> None:
    import json
    import signal
    import urllib.request

    from alphintra.venues.fake.testing import running_fake

    with running_fake("--symbols", "SOL/USDT", "--api-key", "k" * 64, "--api-secret", "s" * 64) as handle:
        assert (handle.api_key, handle.api_secret) == ("k" * 64, "s" * 64)
        with urllib.request.urlopen(handle.rest_url + "/exchangeInfo", timeout=10) as resp:
            assert [s["symbol"] for s in json.loads(resp.read())["symbols"]] == ["SOLUSDT"]
        assert handle.urls["api"]["ws"]["spot"].startswith("ws://127.0.0.1:")
        handle.process.send_signal(signal.SIGINT)
        assert handle.process.wait(timeout=20) == 0
        assert handle.process.stdout is not None and handle.process.stdout.read() == b""  # nothing after the line
