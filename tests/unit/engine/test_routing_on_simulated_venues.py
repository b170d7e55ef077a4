"""Routing on two simulated venues listing the same symbol (keys ``BTC/USDT@a``/``@b``): the venues answer at once,
inside ``node.submit``, and the router still follows every child; a child refused at submission (its venue halted)
is re-routed. Crafted books and fees as the fake-exchange test's (tests/integration/venues/test_smart_routing_fakes.py),
with the fee charged in USDT here."""

from __future__ import annotations

from decimal import Decimal

from alphintra.engine.clock import TestClock
from alphintra.engine.core.enums import OrderSide
from alphintra.engine.core.instrument import Instrument, InstrumentRegistry
from alphintra.engine.listings import Listings
from alphintra.engine.node import TradingNode
from alphintra.engine.routing import Router, RouteRequest
from alphintra.engine.venue.fill_model import FillModel
from alphintra.engine.venue.sim_driver import SimDriver, SimDrivers
from alphintra.engine.venue.simulated import SimulatedVenue

D = Decimal
BUY, SELL = OrderSide.BUY, OrderSide.SELL
ASKS = {
    "a": [("30000", "0.3"), ("30010", "0.5"), ("30100", "5")],
    "b": [("29995", "0.4"), ("30020", "0.5"), ("30200", "5")],
}
FEES = {"a": "0.001", "b": "0.002"}


def two_venues() -> tuple[TradingNode, Router]:
    clock = TestClock(1_000)
    listings = Listings.build({"a": ["BTC/USDT"], "b": ["BTC/USDT"]})
    insts = {
        v: Instrument.create(
            f"BTC/USDT@{v}",
            base="BTC",
            quote="USDT",
            tick_size="0.01",
            lot_size="0.00001",
            taker_fee=FEES[v],
            maker_fee=FEES[v],
        )
        for v in ("a", "b")
    }
    venues = {
        v: SimulatedVenue(InstrumentRegistry([insts[v]]), FillModel(mode="book"), name=v, now=clock.now_ns)
        for v in insts
    }
    node = TradingNode(
        instruments=InstrumentRegistry(list(insts.values())),
        venue=venues["a"],
        venues=[venues["b"]],
        routes={"BTC/USDT@a": "a", "BTC/USDT@b": "b"},
        clock=clock,
    )
    node.listings = listings
    SimDrivers(node, {v: SimDriver(node, venues[v]) for v in venues})
    for v, venue in venues.items():
        ladder = [(SELL, D(p), D(q)) for p, q in ASKS[v]] + [(BUY, D(29980), D(1))]
        venue.post_liquidity(f"BTC/USDT@{v}", ladder)
        node.open_account(f"acct_{v}", cash={"USDT": D(100_000)}, currency="USDT")
        node.account_venues[f"acct_{v}"] = v
        node.last_prices[f"BTC/USDT@{v}"] = D(30000)
    assert node.driver is not None
    driver = node.driver
    return node, Router(node, lambda key: driver.depth(key, 100))


def test_split_on_venues_that_fill_at_once_costs_the_hand_computation() -> None:
    node, router = two_venues()
    report = router.report(router.submit(RouteRequest("BTC/USDT", BUY, D(1), "split")).id)
    assert report["status"] == "FILLED"
    assert {c["venue"]: c["filled"] for c in report["children"]} == {"a": "0.8", "b": "0.2"}
    # 24005 + 5999 = 30004 notional; fees 24.005 + 11.998 (in USDT) -> 30040.003
    assert (D(report["notional"]), D(report["fees"]), D(report["all_in"])) == (D(30004), D("36.003"), D("30040.003"))
    assert node.ledger.balance("acct_a", "BTC").total == D("0.8")
    assert node.ledger.balance("acct_b", "USDT").total == D(100_000) - D("6010.998")


def test_a_child_refused_at_submission_is_rerouted() -> None:
    node, router = two_venues()
    node.venue_halts["b"] = "halted by a reconciliation"
    report = router.report(router.submit(RouteRequest("BTC/USDT", BUY, D(1), "split")).id)
    assert report["status"] == "FILLED" and report["failed_venues"].keys() == {"b"}
    assert [(c["venue"], c["filled"]) for c in report["children"]] == [("a", "0.8"), ("a", "0.2")]
    # all on a: 0.3 x 30000 + 0.5 x 30010 + 0.2 x 30100 = 30025, fees 30.025 -> the best single venue's cost
    assert D(report["all_in"]) == D("30055.025") == D(report["best_single_venue"]["all_in"])
    assert any("refused" in note and "halted" in note for note in report["notes"])
