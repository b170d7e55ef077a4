"""Invariants of the pre-trade gate (hypothesis) and the limit set's validation rules."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alphintra.engine.clock import TestClock
from alphintra.engine.commands import OrderRequest
from alphintra.engine.core.enums import OrderSide, OrderType
from alphintra.engine.core.errors import NotFoundError, ValidationError
from alphintra.engine.core.instrument import Instrument, InstrumentRegistry
from alphintra.engine.data import Bar
from alphintra.engine.node import TradingNode
from alphintra.engine.risk import Limit, LimitSet, RiskEngine, RiskLimitError, Scope
from alphintra.engine.venue.sim_driver import simulated_node


def _node(limits: LimitSet) -> tuple[TradingNode, TestClock]:
    reg = InstrumentRegistry([Instrument.create("GOOG", tick_size="1", lot_size="1")])
    clock = TestClock(0)
    node = simulated_node(reg, clock, risk=RiskEngine(limits))
    node.open_account("main", cash={"USD": D(10_000_000)})
    return node, clock


def _bar(node: TradingNode, clock: TestClock, price: int) -> None:
    ts = clock.now_ns() + 10
    px = D(price)
    node.process_bar(Bar("GOOG", ts, px, px, px, px, D(1_000_000), ts + 5))


@given(limit=st.integers(1, 50), qty=st.integers(1, 60))
@settings(max_examples=60, deadline=None)
def test_an_order_passes_exactly_when_it_is_within_the_limit(limit: int, qty: int) -> None:
    node, clock = _node(LimitSet.of(max_order_qty=limit))
    _bar(node, clock, 100)
    request = OrderRequest("GOOG", OrderSide.BUY, D(qty), OrderType.LIMIT, price=D(99))
    if qty <= limit:
        node.submit(request)
    else:
        with pytest.raises(RiskLimitError) as info:
            node.submit(request)
        assert (info.value.limit, info.value.attempted) == (D(limit), D(qty))


actions = st.lists(
    st.one_of(
        st.tuples(st.just("buy"), st.integers(1, 20), st.integers(95, 105)),
        st.tuples(st.just("sell"), st.integers(1, 20), st.integers(95, 105)),
        st.tuples(st.just("cancel"), st.integers(0, 30), st.just(0)),
        st.tuples(st.just("bar"), st.integers(90, 110), st.just(0)),
    ),
    min_size=1,
    max_size=40,
)


@given(limit=st.integers(5, 40), steps=actions)
@settings(max_examples=40, deadline=None)
def test_the_position_never_exceeds_its_limit_whatever_fills(limit: int, steps: list[tuple[str, int, int]]) -> None:
    """Working orders count in the worst case, so no sequence of fills can carry the position past the limit."""
    node, clock = _node(LimitSet.of(max_position_qty=limit))
    _bar(node, clock, 100)
    for kind, a, b in steps:
        try:
            if kind in ("buy", "sell"):
                side = OrderSide.BUY if kind == "buy" else OrderSide.SELL
                node.submit(OrderRequest("GOOG", side, D(a), OrderType.LIMIT, price=D(b)))
            elif kind == "cancel":
                open_orders = node.open_orders()
                if open_orders:
                    node.cancel(open_orders[a % len(open_orders)].id)
            else:
                _bar(node, clock, a)
        except RiskLimitError as exc:
            assert exc.rule == "max_position_qty" and exc.attempted is not None and exc.attempted > limit
        except ValidationError as exc:  # the ledger refusing a spot sell of shares not held
            assert exc.reason == "INSUFFICIENT_BALANCE"
        pos = node.ledger.position("main", "GOOG")
        held = D(0) if pos is None else pos.quantity
        working = sum((o.leaves_quantity for o in node.open_orders() if o.side is OrderSide.BUY), D(0))
        assert held + working <= limit


@given(values=st.lists(st.integers(0, 1000), min_size=1, max_size=4))
def test_the_tightest_matching_limit_binds(values: list[int]) -> None:
    scopes = [(Scope.GLOBAL, "*"), (Scope.ACCOUNT, "main"), (Scope.STRATEGY, "s1"), (Scope.SYMBOL, "GOOG")]
    limits = LimitSet(Limit("max_order_qty", D(v), sc, sid) for v, (sc, sid) in zip(values, scopes, strict=False))
    found = limits.tightest("max_order_qty", "main", "s1", "GOOG")
    assert found is not None and found.value == min(values)
    assert limits.tightest("max_order_qty", "other", None, "MSFT") == Limit("max_order_qty", D(values[0]))


def test_limit_values_and_scopes_are_validated() -> None:
    with pytest.raises(ValidationError, match="must be a finite number >= 0"):
        LimitSet.of(max_order_qty=-1)
    with pytest.raises(ValidationError, match="must be a whole number"):
        LimitSet.of(max_open_orders="1.5")
    with pytest.raises(ValidationError, match="must be <= 1"):
        LimitSet.of(correlation_threshold="1.2")
    with pytest.raises(ValidationError, match="text, int or Decimal"):
        LimitSet.of(max_order_qty=1.5)  # type: ignore[arg-type]
    with pytest.raises(NotFoundError, match="no risk limit named 'max_qty'"):
        LimitSet.of(max_qty=1)
    with pytest.raises(ValidationError, match="max_leverage can be set for: global, account"):
        LimitSet().with_limit("max_leverage", 2, "strategy", "s1")
    with pytest.raises(ValidationError, match="must be \\* for the global scope"):
        LimitSet().with_limit("max_order_qty", 2, "global", "x")
    with pytest.raises(ValidationError, match="must name the symbol"):
        LimitSet().with_limit("max_order_qty", 2, "symbol", "")
    limits = LimitSet().with_limit("max_tag_concentration_pct", "30", "tag", "sector=tech")
    assert limits.get("max_tag_concentration_pct", "tag", "sector=tech") == D(30)
    assert limits.with_limit("max_tag_concentration_pct", None, "tag", "sector=tech") == LimitSet()
    assert limits.setting("correlation_threshold", "main", None, "GOOG") == D("0.7")  # the default
