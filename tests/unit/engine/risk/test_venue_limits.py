"""Risk limits per venue and across venues, through a real node with two simulated venues listing BTC/USDT
(keys ``BTC/USDT@a`` and ``BTC/USDT@b``): accounts ``a1`` and ``a2`` live on venue a, ``b1`` on venue b.

Each venue answers inside ``node.submit``: a market buy fills at once at the ask (30,000, no fee), a market sell
at the bid (29,990), a limit order inside the spread rests. A refusal names the rule, the limit, where it was set
and the attempted value, and records nothing."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from alphintra.engine.clock import NS_PER_SECOND, TestClock
from alphintra.engine.commands import OrderRequest
from alphintra.engine.core.enums import OrderSide, OrderStatus, OrderType, RejectReason
from alphintra.engine.core.errors import ValidationError
from alphintra.engine.core.instrument import Instrument, InstrumentRegistry
from alphintra.engine.listings import Listings
from alphintra.engine.node import TradingNode
from alphintra.engine.risk import LimitSet, RiskEngine, RiskLimitError
from alphintra.engine.venue.fill_model import FillModel
from alphintra.engine.venue.sim_driver import SimDriver, SimDrivers
from alphintra.engine.venue.simulated import SimulatedVenue

BUY, SELL = OrderSide.BUY, OrderSide.SELL
HOMES = {"a1": "a", "a2": "a", "b1": "b"}


class TwoVenues:
    def __init__(self) -> None:
        self.clock = TestClock(1_000 * NS_PER_SECOND)
        insts = {
            v: Instrument.create(f"BTC/USDT@{v}", base="BTC", quote="USDT", tick_size="0.01", lot_size="0.001")
            for v in ("a", "b")
        }
        venues = {
            v: SimulatedVenue(InstrumentRegistry([inst]), FillModel(mode="book"), name=v, now=self.clock.now_ns)
            for v, inst in insts.items()
        }
        self.risk = RiskEngine()
        self.node = TradingNode(
            instruments=InstrumentRegistry(list(insts.values())),
            venue=venues["a"],
            venues=[venues["b"]],
            routes={"BTC/USDT@a": "a", "BTC/USDT@b": "b"},
            clock=self.clock,
            risk=self.risk,
        )
        self.node.listings = Listings.build({"a": ["BTC/USDT"], "b": ["BTC/USDT"]})
        SimDrivers(self.node, {v: SimDriver(self.node, venue) for v, venue in venues.items()})
        for v, venue in venues.items():
            venue.post_liquidity(f"BTC/USDT@{v}", [(SELL, D(30000), D(100)), (BUY, D(29990), D(100))])
            self.node.last_prices[f"BTC/USDT@{v}"] = D(30000)
        for account, home in HOMES.items():
            self.node.open_account(account, cash={"USDT": D(1_000_000)}, currency="USDT")
            self.node.account_venues[account] = home

    def limits(self, *limits: tuple[str, int | str, str, str]) -> None:
        out = LimitSet()
        for name, value, scope, scope_id in limits:
            out = out.with_limit(name, value, scope, scope_id)
        self.risk.set_limits(out)

    def buy(self, account: str, qty: str, price: str | None = None) -> OrderStatus:
        return self.submit(account, BUY, qty, price)

    def submit(self, account: str, side: OrderSide, qty: str, price: str | None = None) -> OrderStatus:
        return self.node.submit(request(account, side, qty, price)).status

    def refused(self, account: str, side: OrderSide, qty: str, price: str | None = None) -> RiskLimitError:
        before = len(self.node.orders)
        with pytest.raises(RiskLimitError) as info:
            self.node.submit(request(account, side, qty, price))
        assert len(self.node.orders) == before  # a refusal records nothing
        assert info.value.reason == RejectReason.RISK_LIMIT
        return info.value

    def mark(self, venue: str, price: str) -> None:
        key = f"BTC/USDT@{venue}"
        self.node.last_prices[key] = D(price)
        self.risk.on_price(self.node, key, D(price), self.clock.now_ns())

    def position(self, account: str) -> D:
        pos = self.node.ledger.position(account, f"BTC/USDT@{HOMES[account]}")
        return D(0) if pos is None else pos.quantity


def request(account: str, side: OrderSide, qty: str, price: str | None = None) -> OrderRequest:
    key = f"BTC/USDT@{HOMES[account]}"
    if price is None:
        return OrderRequest(key, side, D(qty), account=account)
    return OrderRequest(key, side, D(qty), OrderType.LIMIT, price=D(price), account=account)


def test_a_venue_order_size_cap_refuses_on_its_venue_and_not_on_the_other() -> None:
    t = TwoVenues()
    t.limits(("max_order_qty", "1", "venue", "a"))
    error = t.refused("a1", BUY, "1.5")
    assert error.message == "quantity: max_order_qty (venue a) is 1; this order would make it 1.5"
    assert (error.rule, error.limit, error.attempted, error.where) == ("max_order_qty", D(1), D("1.5"), "venue a")
    assert t.refused("a2", BUY, "1.001").attempted == D("1.001")  # every account of the venue
    assert t.buy("b1", "1.5") is OrderStatus.FILLED and t.position("b1") == D("1.5")
    assert t.buy("a1", "1") is OrderStatus.FILLED  # at the limit passes


def test_a_venue_open_orders_counter_counts_every_account_on_the_venue() -> None:
    t = TwoVenues()
    t.limits(("max_open_orders", "2", "venue", "a"))
    assert t.buy("a1", "0.1", "29000") is OrderStatus.ACCEPTED
    assert t.buy("a2", "0.1", "29000") is OrderStatus.ACCEPTED
    error = t.refused("a1", BUY, "0.1", "29000")
    assert error.message == "open_orders: max_open_orders (venue a) is 2; this order would make it 3"
    assert t.refused("a2", BUY, "0.1", "29000").where == "venue a"
    assert t.buy("b1", "0.1", "29000") is OrderStatus.ACCEPTED  # venue b counts its own
    working = next(o for o in t.node.open_orders("BTC/USDT@a") if o.account == "a1")
    t.node.cancel(working.id)
    assert t.buy("a2", "0.1", "29000") is OrderStatus.ACCEPTED  # a finished order frees its place


def test_a_venue_order_rate_counts_every_account_on_the_venue() -> None:
    t = TwoVenues()
    t.limits(("max_orders_per_second", "2", "venue", "a"))
    assert t.buy("a1", "0.1", "29995") is OrderStatus.ACCEPTED
    assert t.buy("a2", "0.1", "29995") is OrderStatus.ACCEPTED
    error = t.refused("a1", BUY, "0.1", "29995")
    assert error.message == "rate: max_orders_per_second (venue a) is 2; this order would make it 3"
    assert t.buy("b1", "0.1", "29995") is OrderStatus.ACCEPTED
    t.clock.advance_to(t.clock.now_ns() + NS_PER_SECOND)
    assert t.buy("a2", "0.1", "29995") is OrderStatus.ACCEPTED


def test_a_venue_gross_exposure_cap_sums_the_venues_accounts_at_marks() -> None:
    t = TwoVenues()
    assert t.buy("a1", "1") is OrderStatus.FILLED
    assert t.buy("a2", "0.5") is OrderStatus.FILLED
    assert t.buy("b1", "2") is OrderStatus.FILLED  # venue b's exposure does not count on venue a
    t.mark("a", "31000")  # venue a: (1 + 0.5) x 31,000 = 46,500
    t.limits(("max_gross_exposure", "50000", "venue", "a"))
    # a2 buys 0.12 at 31,000: its 0.5 (15,500 at the mark) becomes 0.62 (19,220): 46,500 + 3,720 = 50,220
    error = t.refused("a2", BUY, "0.12", "31000")
    assert error.message == "exposure: max_gross_exposure (venue a) is 50000; this order would make it 50220"
    assert (error.limit, error.attempted) == (D(50000), D(50220))
    # a1's own account has room, the venue does not: 31,000 + 15,500 + 0.12 x 31,000 = 50,220 too
    assert t.refused("a1", BUY, "0.12", "31000").attempted == D(50220)
    assert t.buy("b1", "1") is OrderStatus.FILLED  # venue b is not capped
    assert t.submit("a1", SELL, "0.5", "31000") is OrderStatus.ACCEPTED  # reducing orders pass
    # 46,500 + (0.61 - 0.5) x 31,000 = 49,910: within the cap
    assert t.buy("a2", "0.11", "31000") is OrderStatus.FILLED  # at the 30,000 ask
    assert t.position("a2") == D("0.61")


def test_a_venue_net_exposure_and_position_cap_sum_the_venues_accounts() -> None:
    t = TwoVenues()
    assert t.buy("a1", "1") is OrderStatus.FILLED
    t.limits(("max_position_qty", "1.5", "venue", "a"), ("max_net_exposure", "45000", "venue", "a"))
    assert t.buy("a2", "0.3", "29000") is OrderStatus.ACCEPTED  # working: 1 + 0.3 in the worst case
    error = t.refused("a2", BUY, "0.3", "29000")
    assert error.message == "quantity: max_position_qty (venue a, BTC/USDT@a) is 1.5; this order would make it 1.6"
    # within the position cap, over the net exposure: 30,000 + 0.5 x 30,000 = 45,000 passes, 0.501 does not
    t.limits(("max_net_exposure", "45000", "venue", "a"))
    assert t.refused("a2", BUY, "0.501", "30000").attempted == D("45030")
    assert t.buy("a2", "0.5", "30000") is OrderStatus.FILLED


def test_a_total_position_cap_counts_the_symbol_on_every_venue_and_account() -> None:
    t = TwoVenues()
    assert t.buy("a1", "1") is OrderStatus.FILLED
    assert t.buy("a2", "0.3", "29000") is OrderStatus.ACCEPTED  # working on venue a: counts in the worst case
    t.limits(("max_total_position_qty", "1.5", "symbol", "BTC/USDT"))
    error = t.refused("b1", BUY, "0.3")
    assert error.message == (
        "quantity: max_total_position_qty (symbol BTC/USDT, BTC/USDT over venues a, b) is 1.5; "
        "this order would make it 1.6"
    )
    assert (error.rule, error.limit, error.attempted) == ("max_total_position_qty", D("1.5"), D("1.6"))
    assert t.buy("b1", "0.2") is OrderStatus.FILLED  # 1 + 0.3 + 0.2 = 1.5: at the limit
    assert t.refused("b1", BUY, "0.001").attempted == D("1.501")
    # reducing orders pass, on either venue
    assert t.submit("b1", SELL, "0.2") is OrderStatus.FILLED
    assert t.submit("a1", SELL, "0.4") is OrderStatus.FILLED
    assert t.buy("b1", "0.6") is OrderStatus.FILLED  # 0.6 + 0.3 + 0.6 = 1.5
    assert (t.position("a1"), t.position("b1")) == (D("0.6"), D("0.6"))


def test_a_global_total_notional_and_gross_exposure_count_every_venue() -> None:
    t = TwoVenues()
    assert t.buy("a1", "1") is OrderStatus.FILLED
    assert t.buy("b1", "1") is OrderStatus.FILLED
    t.limits(("max_total_position_notional", "75000", "global", "*"))
    error = t.refused("a2", BUY, "0.51", "30000")  # (2 + 0.51) x 30,000 = 75,300
    assert error.message == (
        "notional: max_total_position_notional (global, BTC/USDT over venues a, b) is 75000; "
        "this order would make it 75300"
    )
    t.limits(("max_total_gross_exposure", "70000", "global", "*"))
    error = t.refused("b1", BUY, "0.34", "30000")  # 60,000 + 10,200
    assert error.message == (
        "exposure: max_total_gross_exposure (global, every venue) is 70000; this order would make it 70200"
    )
    assert t.submit("a1", SELL, "1") is OrderStatus.FILLED  # reducing
    assert t.buy("b1", "1.33", "30000") is OrderStatus.FILLED  # 30,000 + 39,900 = 69,900


def test_limit_scopes_are_checked_when_set() -> None:
    with pytest.raises(ValidationError, match="max_leverage can be set for: global, account"):
        LimitSet().with_limit("max_leverage", 2, "venue", "a")
    with pytest.raises(ValidationError, match=r"counts every venue: name the native symbol \(BTC/USDT\)"):
        LimitSet().with_limit("max_total_position_qty", 1, "symbol", "BTC/USDT@a")
    with pytest.raises(ValidationError, match="max_total_gross_exposure can be set for: global"):
        LimitSet().with_limit("max_total_gross_exposure", 1, "venue", "a")
    with pytest.raises(ValidationError, match="must name the venue"):
        LimitSet().with_limit("max_order_qty", 1, "venue", "")
