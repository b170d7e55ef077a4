"""Every order type through a daemon in live mode against the fake exchange, beyond those of
test_live_orders_e2e.py: stop-limit, trailing stop, iceberg, IOC / FOK / GTD, VWAP and cancels of TWAP/VWAP --
each placed, filled (the market moved, or a resting order filled from outside through the fake's admin
endpoint), canceled and, where the type has terms to change, modified (the exchange cannot amend: the daemon
cancel-replaces). After each scenario the account holds exactly what the exchange holds after fees (a buy's fee
is charged in BTC). One fake and one daemon serve the whole module."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from engine_e2e_support import daemon_home
from live_e2e_support import ACCOUNT, D, LiveHome, live_home, wait_for

from alphintra.venues.ccxt_markets import encode_key
from alphintra.venues.fake.testing import running_fake

SYMBOL = "BTC/USDT"


@pytest.fixture(scope="module")
def live() -> Iterator[LiveHome]:
    with running_fake() as fake, daemon_home() as d:
        home = live_home(d, fake)
        fake.admin("POST", "price", {"symbol": SYMBOL, "price": "30000"})
        d.start()
        try:
            yield home
        finally:
            d.stop()


def place(live: LiveHome, side: str, qty: str, *flags: str) -> dict[str, Any]:
    return dict(live.ok("order", side, SYMBOL, qty, *flags, "--account", ACCOUNT, "--yes"))


def sent(live: LiveHome) -> dict[str, dict[str, Any]]:
    """The exchange's order log by client order id."""
    return {o["client_order_id"]: o for o in live.fake.admin("GET", f"orders?api_key={live.api_key}")["orders"]}


def fill_from_outside(live: LiveHome, key: str, qty: str | None = None) -> None:
    body: dict[str, Any] = {"api_key": live.api_key, "client_order_id": encode_key(key)}
    if qty is not None:
        body["quantity"] = qty
    live.fake.admin("POST", "fill", body)


def test_stop_limit_modified_triggers_fills_and_another_is_canceled(live: LiveHome) -> None:
    live.trade_at("30000")
    stop = place(live, "sell", "0.003", "--stop", "29500", "--limit", "29400")
    live.wait_status(stop["id"], "ACCEPTED")
    live.ok("order", "modify", stop["id"], "--stop", "29900", "--price", "29800")  # armed above the exchange
    assert stop["id"] not in sent(live)
    live.trade_at("29850")  # through the new stop: its limit goes to the exchange and trades there
    done = live.wait_status(stop["id"], "FILLED")
    assert (D(done["stop_price"]), D(done["price"]), D(done["filled_quantity"])) == (D(29900), D(29800), D("0.003"))
    assert D(sent(live)[stop["id"]]["price"]) == D(29800)
    other = place(live, "buy", "0.002", "--stop", "31000", "--limit", "31100")
    live.wait_status(other["id"], "ACCEPTED")
    live.ok("order", "cancel", other["id"])
    live.wait_status(other["id"], "CANCELED")
    assert other["id"] not in sent(live)
    live.assert_agrees()


def test_trailing_stop_follows_the_market_then_sells_and_another_is_canceled(live: LiveHome) -> None:
    live.trade_at("30000")
    trail = place(live, "sell", "0.002", "--trail", "100")
    live.wait_status(trail["id"], "ACCEPTED")
    live.trade_at("30400")
    wait_for(lambda: D(live.order(trail["id"])["stop_price"]) >= D(30250), "the trailing stop to follow the rise")
    live.trade_at("30200")  # falls through the trailed stop: a market sell at the exchange
    assert D(live.wait_status(trail["id"], "FILLED")["filled_quantity"]) == D("0.002")
    assert trail["id"] in sent(live)
    idle = place(live, "buy", "0.001", "--trail", "1%")
    live.wait_status(idle["id"], "ACCEPTED")
    live.ok("order", "cancel", idle["id"])
    live.wait_status(idle["id"], "CANCELED")
    live.assert_agrees()


def test_iceberg_slices_modify_by_next_slice_fill_from_outside_and_cancel(live: LiveHome) -> None:
    live.trade_at("30000")
    ice = place(live, "buy", "0.006", "--limit", "29000", "--iceberg", "0.002")
    live.wait_status(ice["id"], "ACCEPTED")
    wait_for(lambda: encode_key(f"{ice['id']}/1") in sent(live), "the first slice at the exchange")
    # the exchange cannot amend: the working slice is canceled and the next one goes out on the new terms
    live.ok("order", "modify", ice["id"], "--price", "29100")
    wait_for(lambda: encode_key(f"{ice['id']}/2") in sent(live), "the next slice on the new terms")
    assert D(sent(live)[encode_key(f"{ice['id']}/2")]["price"]) == D(29100)
    fill_from_outside(live, f"{ice['id']}/2")
    wait_for(lambda: encode_key(f"{ice['id']}/3") in sent(live), "a new slice after a filled one")
    fill_from_outside(live, f"{ice['id']}/3", "0.001")  # a partial fill of a slice
    wait_for(lambda: D(live.order(ice["id"])["filled_quantity"]) == D("0.003"), "the partial fill")
    live.ok("order", "cancel", ice["id"])
    done = live.wait_status(ice["id"], "CANCELED")
    assert D(done["filled_quantity"]) == D("0.003") and D(done["price"]) == D(29100)
    # a second iceberg filled to the end, slice by slice
    whole = place(live, "sell", "0.004", "--limit", "31000", "--iceberg", "0.002")
    for n in (1, 2):
        wait_for(lambda n=n: encode_key(f"{whole['id']}/{n}") in sent(live), f"slice {n}")  # type: ignore[misc]
        fill_from_outside(live, f"{whole['id']}/{n}")
    assert D(live.wait_status(whole["id"], "FILLED")["filled_quantity"]) == D("0.004")
    live.assert_agrees()


def test_ioc_fok_and_gtd_at_the_exchange(live: LiveHome) -> None:
    live.trade_at("30000")
    # IOC / FOK that can trade: filled at once; that cannot: ended at once with nothing filled
    for tif in ("IOC", "FOK"):
        hit = place(live, "buy", "0.001", "--limit", "30500", "--tif", tif)
        assert D(live.wait_status(hit["id"], "FILLED")["filled_quantity"]) == D("0.001")
        miss = place(live, "buy", "0.001", "--limit", "25000", "--tif", tif)
        ended = live.wait_status(miss["id"], "CANCELED", "EXPIRED")
        assert D(ended["filled_quantity"]) == 0 and miss["id"] in sent(live)
    # GTD: rests at the exchange (as GTC there), modified (cancel-replace), and expired by the daemon: the
    # expiry cancels the replacement
    gtd = place(live, "buy", "0.001", "--limit", "28000", "--tif", "GTD", "--expires", "+20s")
    live.wait_status(gtd["id"], "ACCEPTED")
    live.ok("order", "modify", gtd["id"], "--price", "28100")
    wait_for(lambda: encode_key(f"{gtd['id']}/m1") in sent(live), "the GTD order's replacement")
    done = live.wait_status(gtd["id"], "EXPIRED", timeout=60)
    assert D(done["price"]) == D(28100) and D(done["filled_quantity"]) == 0
    # GTD filled from outside before it expires, and one canceled
    filled = place(live, "buy", "0.001", "--limit", "28000", "--tif", "GTD", "--expires", "+1h")
    live.wait_status(filled["id"], "ACCEPTED")
    fill_from_outside(live, filled["id"])
    live.wait_status(filled["id"], "FILLED")
    gone = place(live, "sell", "0.001", "--limit", "32000", "--tif", "GTD", "--expires", "+1h")
    live.wait_status(gone["id"], "ACCEPTED")
    live.ok("order", "cancel", gone["id"])
    live.wait_status(gone["id"], "CANCELED")
    live.assert_agrees()


def algo_status(live: LiveHome, algo_id: str) -> str:
    return str(live.api("GET", f"/api/v1/algos/{algo_id}")["status"])


def test_vwap_completes_and_twap_and_vwap_are_canceled(live: LiveHome) -> None:
    live.trade_at("30000")
    vwap = place(live, "sell", "0.004", "--vwap", "2s", "--slices", "2")["algo"]["algo_id"]
    wait_for(lambda: algo_status(live, vwap) == "COMPLETED", "the VWAP to complete")
    children = live.api("GET", f"/api/v1/algos/{vwap}/orders")
    assert len(children) == 2 and all(c["status"] == "FILLED" for c in children)
    assert sum(D(c["filled_quantity"]) for c in children) == D("0.004")
    for kind in ("--twap", "--vwap"):
        algo = place(live, "buy", "0.004", kind, "1h", "--slices", "4")["algo"]["algo_id"]
        live.ok("algo", "cancel", algo)
        wait_for(lambda algo=algo: algo_status(live, algo) in ("CANCELED", "CANCELLED"), f"{kind} canceled")  # type: ignore[misc]
    live.assert_agrees()
    assert live.ok("order", "list", "--open") == []
