"""arbitrage across two simulated venues listing one symbol (keys ``BTC/USDT@a``/``@b``, one account per venue): the
strategy trades each key in its venue's account, crosses the two books when the edge after both fees beats the
buffer, realises exactly the hand computation, unwinds a leg refused on one venue, and names the venue and the
account when a side runs dry. The venues answer inside ``node.submit`` (fees in USDT)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from alphintra.engine.clock import TestClock
from alphintra.engine.core.enums import OrderSide
from alphintra.engine.core.instrument import Instrument, InstrumentRegistry
from alphintra.engine.listings import Listings
from alphintra.engine.node import TradingNode
from alphintra.engine.venue.fill_model import FillModel
from alphintra.engine.venue.sim_driver import SimDriver, SimDrivers
from alphintra.engine.venue.simulated import SimulatedVenue
from alphintra.strategies.base import BarData
from alphintra.strategies.builtins.arbitrage import Arbitrage, ArbitrageParams
from alphintra.strategies.context import NodeContext, StrategyRunner

D = Decimal
BUY, SELL = OrderSide.BUY, OrderSide.SELL
A, B = "BTC/USDT@a", "BTC/USDT@b"
FEES = {"a": D("0.001"), "b": D("0.002")}
# b bids above a's ask: buy 0.1 on a at 30,000 and sell it on b at 30,100 makes (30,100 x 0.998 - 30,000 x 1.001)
# / 30,000 = 0.0326 % after both fees.
BOOKS = {
    "a": {"bids": [("29990", "1")], "asks": [("30000", "0.5"), ("30050", "5")]},
    "b": {"bids": [("30100", "0.5"), ("30000", "5")], "asks": [("30110", "1")]},
}


def setup(funds: dict[str, dict[str, str]] | None = None, **params: Any) -> tuple[TradingNode, StrategyRunner]:
    clock = TestClock(1_000)
    insts = {
        v: Instrument.create(
            f"BTC/USDT@{v}", base="BTC", quote="USDT", tick_size="0.01", lot_size="0.0001", taker_fee=fee, maker_fee=fee
        )
        for v, fee in FEES.items()
    }
    venues = {
        v: SimulatedVenue(InstrumentRegistry([insts[v]]), FillModel(mode="book"), name=v, now=clock.now_ns)
        for v in insts
    }
    node = TradingNode(
        instruments=InstrumentRegistry(list(insts.values())),
        venue=venues["a"],
        venues=[venues["b"]],
        routes={A: "a", B: "b"},
        clock=clock,
    )
    node.listings = Listings.build({"a": ["BTC/USDT"], "b": ["BTC/USDT"]})
    SimDrivers(node, {v: SimDriver(node, venues[v]) for v in venues})
    funds = funds or {"a": {"USDT": "10000"}, "b": {"USDT": "10000", "BTC": "1"}}
    for v, venue in venues.items():
        book = BOOKS[v]
        ladder = [(BUY, D(p), D(q)) for p, q in book["bids"]] + [(SELL, D(p), D(q)) for p, q in book["asks"]]
        venue.post_liquidity(f"BTC/USDT@{v}", ladder)
        node.open_account(f"acct_{v}", cash={k: D(x) for k, x in funds[v].items()}, currency="USDT", mode="SPOT")
        node.account_venues[f"acct_{v}"] = v
        node.last_prices[f"BTC/USDT@{v}"] = D(30000)
    strategy = Arbitrage(ArbitrageParams(**{"notional": "3000", "min_edge": "0.0001", **params}))
    ctx = NodeContext(node, strategy, symbols=[A, B], accounts={A: "acct_a", B: "acct_b"})
    runner = StrategyRunner(strategy, ctx)
    runner.start()
    assert runner.error is None and strategy.cross
    return node, runner


def bar(runner: StrategyRunner, symbol: str = A) -> None:
    runner.bar(BarData(symbol, runner.ctx.now_ns(), 30000.0, 30000.0, 30000.0, 30000.0, 1.0))
    assert runner.error is None, runner.error
    # A simulated venue's order events are signalled at the next bar (``Legging.flush``): give them now.
    runner.strategy.legging.flush()  # type: ignore[attr-defined]


def signals(runner: StrategyRunner, name: str) -> list[Any]:
    return [s for s in runner.ctx.signals if s.name == name]


def orders(node: TradingNode) -> list[tuple[str, str, str, Decimal, Decimal | None]]:
    return [(o.symbol, o.account, o.side.value, o.filled_quantity, o.average_price) for o in node.orders.values()]


def test_the_books_are_crossed_in_each_venues_account_for_the_hand_computed_profit() -> None:
    node, runner = setup()
    bar(runner)
    q = D("0.1")
    assert orders(node) == [(A, "acct_a", "BUY", q, D(30000)), (B, "acct_b", "SELL", q, D(30100))]
    profit = q * 30100 * (1 - FEES["b"]) - q * 30000 * (1 + FEES["a"])
    (trip,) = signals(runner, "round_trip")
    assert D(trip.data["profit"]) == profit == D("0.98") and D(trip.data["valued"]) == profit
    flows = {v: {a: D(x) for a, x in f.items()} for v, f in trip.data["venues"].items()}
    assert flows == {"a": {"BTC": q, "USDT": D("-3003")}, "b": {"BTC": -q, "USDT": D("3003.98")}}
    assert node.ledger.balance("acct_a", "USDT").total == D(10000) - D("3003")
    assert node.ledger.balance("acct_b", "USDT").total == D(10000) + D("3003.98")
    assert (node.ledger.balance("acct_a", "BTC").total, node.ledger.balance("acct_b", "BTC").total) == (q, 1 - q)
    (enter,) = signals(runner, "enter")
    assert D(enter.value) == (30100 * (1 - FEES["b"]) - 30000 * (1 + FEES["a"])) / D(30000)
    bar(runner, B)  # the best levels are what is left of them: a second trade, of 0.1 again
    assert len(signals(runner, "round_trip")) == 2


def test_max_trips_stops_entering() -> None:
    node, runner = setup(max_trips=1)
    bar(runner)
    bar(runner, B)
    assert len(node.orders) == 2 and len(signals(runner, "round_trip")) == 1


def test_no_trade_when_the_edge_after_both_fees_is_below_the_buffer() -> None:
    node, runner = setup(min_edge="0.0004")  # 0.0326 % after fees is below 0.04 %
    bar(runner)
    assert node.orders == {} and signals(runner, "enter") == []


def test_a_leg_refused_on_one_venue_is_unwound_on_the_other() -> None:
    node, runner = setup()
    node.venue_halts["b"] = "halted by a reconciliation"
    bar(runner)
    q = D("0.1")
    assert orders(node) == [(A, "acct_a", "BUY", q, D(30000)), (A, "acct_a", "SELL", q, D(29990))]
    (alert,) = signals(runner, "leg_failed")
    assert alert.data["unwind"] == [[A, "SELL", "0.1000"]] and alert.data["risk_alert"]["rule"] == "arbitrage_legging"
    (trip,) = signals(runner, "round_trip")
    loss = q * 29990 * (1 - FEES["a"]) - q * 30000 * (1 + FEES["a"])
    assert D(trip.data["profit"]) == loss == D("-6.999") and trip.data["unwinds"] == 1
    assert node.ledger.balance("acct_a", "BTC").total == 0 and node.ledger.balance("acct_b", "BTC").total == 1


def test_a_dry_side_gets_a_rebalance_suggestion_naming_the_venue_and_its_account() -> None:
    node, runner = setup(funds={"a": {"USDT": "10000"}, "b": {"USDT": "10000"}})
    bar(runner)
    assert node.orders == {}
    (hint,) = signals(runner, "rebalance")
    assert (hint.data["asset"], D(hint.data["amount"]), hint.data["venue"], hint.data["account"]) == (
        "BTC",
        D("0.1"),
        "b",
        "acct_b",
    )
    assert hint.data["source_venue"] == "a" and "to venue b (account acct_b) from venue a" in hint.value


def test_an_unwind_that_comes_up_short_is_retried_at_the_next_bar() -> None:
    node, runner = setup()
    venue_a = node.venues["a"]
    assert isinstance(venue_a, SimulatedVenue)
    asks = [(SELL, D(p), D(q)) for p, q in BOOKS["a"]["asks"]]
    venue_a.post_liquidity(A, [(BUY, D(29990), D("0.0001")), *asks])  # a bids for one lot only
    node.venue_halts["b"] = "halted by a reconciliation"
    bar(runner)
    (failed,) = signals(runner, "unwind_failed")
    assert failed.data["risk_alert"]["severity"] == "CRITICAL" and signals(runner, "round_trip") == []
    assert runner.strategy.trip is not None and runner.strategy.trip.stage == "hold"  # type: ignore[attr-defined]
    venue_a.post_liquidity(A, [(BUY, D(29990), D(1)), *asks])
    bar(runner)
    (trip,) = signals(runner, "round_trip")
    assert trip.data["unwinds"] == 2 and node.ledger.balance("acct_a", "BTC").total == 0
    assert D(trip.data["profit"]) == D("0.1") * 29990 * (1 - FEES["a"]) - D("0.1") * 30000 * (1 + FEES["a"])
