"""A daemon in live mode against the fake exchange: native orders (market, limit) go to the exchange, emulated
ones (stop, OCO, bracket, TWAP) are worked above it on the prices of its public stream; place, fill, cancel and
modify (a cancel-replace at the exchange) through the CLI and the API; the account's balances equal the
exchange's to the last unit after fees (the fake charges a buy's fee in the base asset)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from engine_e2e_support import Daemon, daemon_home
from live_e2e_support import ACCOUNT, VENUE, D, LiveHome, live_home, wait_for

from alphintra.venues.ccxt_markets import encode_key
from alphintra.venues.fake.testing import FakeHandle, running_fake


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeHandle]:
    with running_fake() as handle:
        yield handle


@pytest.fixture
def live(fake: FakeHandle) -> Iterator[LiveHome]:
    with daemon_home() as d:
        home = live_home(d, fake)
        fake.admin("POST", "price", {"symbol": "BTC/USDT", "price": "30000"})
        d.start()
        yield home


def test_status_shows_live_mode_and_the_connected_venue(live: LiveHome) -> None:
    status = live.ok("engine", "status")["host"]
    assert (status["mode"], status["account"], status["venues"][VENUE]["connection"]) == ("live", ACCOUNT, "connected")
    assert status["symbols"] == ["BTC/USDT", "ETH/USDT"]  # the exchange's markets
    listed = {v["name"]: v for v in live.ok("venue", "list")}
    assert (listed[VENUE]["state"], listed[VENUE]["accounts"]) == ("connected", [ACCOUNT])
    # the exchange's own book reaches the API (the TUI's ladder and `watch` read the same)
    import json
    import urllib.request

    with urllib.request.urlopen(f"{live.fake.rest_url}/depth?symbol=BTCUSDT&limit=5", timeout=10) as resp:
        theirs = json.loads(resp.read())

    def top_agrees() -> bool:
        book = live.ok("market", "book", "BTC/USDT")
        return bool(book["bids"]) and D(book["bids"][0][0]) == D(theirs["bids"][0][0])

    wait_for(top_agrees, "the daemon's book to show the exchange's best bid")


@pytest.mark.both_backends
def test_every_order_type_places_fills_cancels_and_the_books_agree(live: LiveHome) -> None:
    d: Daemon = live.daemon
    live.trade_at("30000")
    # market: straight to the exchange, filled there (fee in BTC)
    market = live.ok("order", "buy", "BTC/USDT", "0.01", "--account", ACCOUNT, "--yes")
    assert (market["account"], market["venue"]) == (ACCOUNT, VENUE)
    filled = live.wait_status(market["id"], "FILLED")
    assert filled["fees"] and set(filled["fees"]) == {"BTC"}
    # limit: rests at the exchange under its own client order id; canceled there
    rest = live.ok("order", "buy", "BTC/USDT", "0.01", "--limit", "29000", "--account", ACCOUNT, "--yes")
    working = live.wait_status(rest["id"], "ACCEPTED")
    assert working["venue_order_id"]
    by_client = {o["client_order_id"]: o for o in live.order_log()}
    assert by_client[rest["id"]]["price"] == "29000"
    # modify: the exchange cannot amend, so the daemon cancels it there and places the replacement under a new
    # client order id; the user keeps one order (same id, a modify in its history) at the new price
    live.ok("order", "modify", rest["id"], "--price", "29500")
    replacement = encode_key(f"{rest['id']}/m1")
    wait_for(lambda: replacement in {o["client_order_id"] for o in live.order_log()}, "the replacement to go out")
    moved = live.order(rest["id"])
    assert (moved["id"], moved["status"], D(moved["price"])) == (rest["id"], "ACCEPTED", D("29500"))
    # stop (emulated: nothing at the exchange until the market trades through it)
    stop = live.ok("order", "sell", "BTC/USDT", "0.005", "--stop", "29800", "--account", ACCOUNT, "--yes")
    assert live.wait_status(stop["id"], "ACCEPTED")["venue_order_id"] is None
    assert stop["id"] not in {o["client_order_id"] for o in live.order_log()}
    # OCO through the API: a resting take-profit at the exchange and an emulated stop; one fills, the other goes
    oco = live.api(
        "POST",
        "/api/v1/orders",
        {
            "symbol": "BTC/USDT",
            "side": "SELL",
            "quantity": "0.002",
            "type": "LIMIT",
            "price": "31000",
            "account": ACCOUNT,
            "oco_with": {
                "symbol": "BTC/USDT",
                "side": "SELL",
                "quantity": "0.002",
                "type": "STOP",
                "stop_price": "28000",
            },
        },
    )
    tp_id, sl_id = oco["id"], oco["linked_order_ids"][0]
    live.wait_status(tp_id, "ACCEPTED")
    # the market falls through 29500 (the moved limit fills as a maker) and 29800 (the stop triggers and sells)
    live.trade_at("29400")
    live.wait_status(moved["id"], "FILLED")
    assert D(live.wait_status(stop["id"], "FILLED")["filled_quantity"]) == D("0.005")
    # and rises through 31000: the OCO's limit fills at the exchange, its stop is canceled
    live.trade_at("31200")
    live.wait_status(tp_id, "FILLED")
    live.wait_status(sl_id, "CANCELED")
    # bracket: a market entry, a take-profit resting at the exchange, an emulated stop-loss
    bracket = live.ok(
        "order", "buy", "BTC/USDT", "0.003", "--tp", "33000", "--sl", "30500", "--account", ACCOUNT, "--yes"
    )
    live.wait_status(bracket["id"], "FILLED")
    tp, sl = bracket["linked_order_ids"]
    live.wait_status(tp, "ACCEPTED")
    live.trade_at("30400")
    live.wait_status(sl, "FILLED")
    live.wait_status(tp, "CANCELED")
    # TWAP: two market slices a second apart, each sent to the exchange as it comes due
    algo = live.ok("order", "buy", "BTC/USDT", "0.004", "--twap", "2s", "--slices", "2", "--account", ACCOUNT, "--yes")
    algo_id = algo["algo"]["algo_id"]
    wait_for(lambda: live.api("GET", f"/api/v1/algos/{algo_id}")["status"] == "COMPLETED", "the TWAP to complete")
    children = live.api("GET", f"/api/v1/algos/{algo_id}/orders")
    assert len(children) == 2 and all(c["status"] == "FILLED" for c in children)
    # every order the exchange got, once; the account holds exactly what the exchange holds
    live.assert_agrees()
    sent = {o["client_order_id"] for o in live.order_log()}
    assert {market["id"], rest["id"], replacement, tp_id, tp, *(c["id"] for c in children)} <= sent
    open_here = {o["id"] for o in live.ok("order", "list", "--open")}
    assert open_here == set()
    live.ok("engine", "status")
    d.stop()  # logs flushed, last snapshot written: then nothing of the home may hold the secret
    live.assert_secret_nowhere()


def test_a_dropped_stream_reconnects_and_what_happened_meanwhile_is_booked(live: LiveHome) -> None:
    live.trade_at("30000")
    rest = live.ok("order", "buy", "BTC/USDT", "0.01", "--limit", "29000", "--account", ACCOUNT, "--yes")
    live.wait_status(rest["id"], "ACCEPTED")
    live.fake.admin("POST", "streams/drop")
    live.fake.admin("POST", "fill", {"api_key": live.api_key, "client_order_id": rest["id"]})
    done = live.wait_status(rest["id"], "FILLED")
    assert len(done["trade_ids"]) == 1
    wait_for(
        lambda: live.ok("engine", "status")["host"]["venues"][VENUE]["stream_reconnects"] >= 1,
        "the venue to notice the dropped stream",
    )
    wait_for(lambda: live.ok("engine", "status")["host"]["venues"][VENUE]["connection"] == "connected", "the reconnect")
    assert [t["order_id"] for t in live.ok("trades", "list")].count(rest["id"]) == 1
    live.assert_agrees()
