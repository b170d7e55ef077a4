"""grid on the GOOG daily sample: the ladder, re-arming one level away, bounded inventory, equity audit."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import ValidationError as PydanticError
from strategy_checks import audited_run, sample, signed

from alphintra.engine.core.enums import OrderSide, OrderStatus, OrderType
from alphintra.engine.core.orders import Order
from alphintra.strategies.backtest import Backtest, BacktestConfig
from alphintra.strategies.base import StrategyError
from alphintra.strategies.builtins.grid import GridParams

FEE = Decimal("0.0005")


def run_grid(params: dict[str, object], rows: int = 250, start: int = 0):  # type: ignore[no-untyped-def]
    frame = sample("GOOG", "1d").slice(start, rows)
    bt = Backtest(BacktestConfig("grid", ("GOOG",), "1d", params=params, fee=FEE), {"GOOG": frame})
    result, audit = audited_run(bt)
    return bt, result, audit, frame


def test_ladder_and_rearming_one_level_away() -> None:
    frame = sample("GOOG", "1d").slice(1550, 250)
    params = {
        "spacing": "10",
        "mode": "absolute",
        "levels": 5,
        "quantity": 3,
        "reference": "560",
        "allow_short": True,  # neutral: sells above the reference from the start
    }
    bt = Backtest(BacktestConfig("grid", ("GOOG",), "1d", params=params, fee=FEE), {"GOOG": frame})
    events: list[tuple[str, Order]] = []
    # First in line, so that the orders the strategy places in reaction to a fill are seen after that fill.
    bt.node.listeners.insert(0, lambda order, event: events.append((type(event).__name__, order)))
    _result, audit = audited_run(bt)
    limits = [o for o in bt.node.orders.values() if o.order_type is OrderType.LIMIT]
    assert {o.price for o in limits} <= {Decimal(560 + 10 * k) for k in range(-5, 6)}
    first_ten = sorted((o.price, o.side) for o in limits[:10])
    assert first_ten == [(Decimal(510 + 10 * i), OrderSide.BUY) for i in range(5)] + [
        (Decimal(570 + 10 * i), OrderSide.SELL) for i in range(5)
    ], "buys below and sells above the reference, which starts as the empty level"
    fills = audit.fills
    assert len(fills) >= 10
    for f in fills:
        order = bt.node.orders[f.order_id]
        assert order.price is not None
        # A resting limit fills at its price; one the market gapped through fills at the (better) open.
        assert f.last_px <= order.price if order.side is OrderSide.BUY else f.last_px >= order.price
    # Re-arming: once an order is completely filled and the strategy has reacted, the level one away holds an
    # order on the other side -- unless it still holds an older one on the same side, when the market gapped
    # through several levels at once and the venue has yet to reach it.
    ladder = {Decimal(560 + 10 * k) for k in range(-5, 6)}
    rearmed = gapped = 0
    working: dict[Decimal, Order] = {}
    pending: list[tuple[Decimal, OrderSide]] = []

    def settle() -> None:
        nonlocal rearmed, gapped
        for target, side in pending:
            holder = working.get(target)
            assert holder is not None, f"level {target} left empty"
            if holder.side is side:
                gapped += 1
            else:
                rearmed += 1
        pending.clear()

    for kind, order in events:
        assert order.price is not None
        if kind == "OrderFilled":
            settle()  # the reactions to the previous fill are complete
        if kind == "OrderInitialized":
            working[order.price] = order
        elif kind in ("OrderFilled", "OrderCanceled") and order.is_terminal:
            working.pop(order.price, None)
            target = order.price + (Decimal(10) if order.side is OrderSide.BUY else Decimal(-10))
            if kind == "OrderFilled" and target in ladder:
                pending.append((target, order.side))
    settle()
    assert gapped >= 1, "the earnings gap of 2010-10-15 opens through several levels"
    assert rearmed >= 8
    assert bt.strategy.rearms == sum(1 for o in limits if o.status is OrderStatus.FILLED)  # type: ignore[attr-defined]


def test_inventory_never_exceeds_its_bound() -> None:
    params = {"spacing": "0.02", "levels": 6, "quantity": 2, "max_inventory": 5, "allow_short": True}
    _bt, _result, audit, _frame = run_grid(params, rows=400, start=0)
    held = Decimal(0)
    worst = Decimal(0)
    for f in audit.fills:
        held += signed(f)
        worst = max(worst, abs(held))
    assert audit.fills and worst <= 5
    assert worst == 4  # two lots of 2 fit under 5, a third would not


def test_recenter_follows_a_trend() -> None:
    params = {"spacing": "0.01", "levels": 3, "quantity": 1, "recenter": True}
    bt, _result, audit, _frame = run_grid(params, rows=300, start=0)
    grids = [s for s in bt.ctx.signals if s.name == "grid"]
    assert len(grids) >= 3 and len({s.value for s in grids}) == len(grids)
    assert len(audit.fills) > len(grids)


def test_levels_that_collapse_on_the_tick_are_refused() -> None:
    frame = sample("GOOG", "1d").slice(0, 5)
    params = {"spacing": "0.00001", "mode": "percent", "levels": 3}
    bt = Backtest(BacktestConfig("grid", ("GOOG",), "1d", params=params, fee=FEE), {"GOOG": frame})
    with pytest.raises(StrategyError, match="spacing"):
        bt.run()
    with pytest.raises(PydanticError):
        GridParams(levels=0)


def test_default_level_size_is_a_share_of_equity() -> None:
    """Left empty, each level is level_pct (10 %) of equity at the reference in whole lots: the defaults fit any
    instrument (a fixed 1 unit was a $60,000 order per level on BTC)."""
    frame = sample("GOOG", "1d").slice(1550, 250)
    config = BacktestConfig("grid", ("GOOG",), "1d", params={"spacing": "0.02"}, fee=FEE, cash=Decimal(100_000))
    bt = Backtest(config, {"GOOG": frame})
    _result, audit = audited_run(bt)
    reference = Decimal(repr(frame["close"][0]))
    size = (Decimal(100_000) * Decimal("0.10") / reference).to_integral_value(rounding="ROUND_FLOOR")  # lot = 1
    limits = [o for o in bt.node.orders.values() if o.order_type is OrderType.LIMIT]
    assert limits and {o.quantity for o in limits} == {size}
    assert not [o for o in limits if o.status is OrderStatus.REJECTED]
    held = Decimal(0)
    for f in audit.fills:
        held += signed(f)
        assert 0 <= held <= 5 * size, "by default a long grid: it sells what it bought, in a margin account too"


def test_a_spot_account_sells_only_what_the_grid_bought() -> None:
    frame = sample("GOOG", "1d").slice(1550, 250)
    params = {"spacing": "0.02", "quantity": 10}
    config = BacktestConfig("grid", ("GOOG",), "1d", params=params, fee=FEE, cash=Decimal(100_000), account_mode="spot")
    bt = Backtest(config, {"GOOG": frame})
    _result, audit = audited_run(bt)
    limits = sorted((o for o in bt.node.orders.values() if o.order_type is OrderType.LIMIT), key=lambda o: o.id)
    assert not [o for o in limits if o.status is OrderStatus.REJECTED]
    assert {o.side for o in limits[:5]} == {OrderSide.BUY}, "flat: no sells armed"
    assert any(o.side is OrderSide.SELL for o in limits), "sells are armed once it holds shares"
    held = Decimal(0)
    for f in audit.fills:
        held += signed(f)
        assert held >= 0


def test_a_neutral_grid_short_through_a_rally_is_margin_called() -> None:
    """A neutral grid short through GOOG's rally: below the maintenance margin the node closes its positions (a
    margin call, in the notes) instead of letting the account go through zero (it ended at -21,524.77 USD)."""
    frame = sample("GOOG", "1d")
    params = {"spacing": "0.01", "allow_short": True}
    bt = Backtest(BacktestConfig("grid", ("GOOG",), "1d", params=params, fee=FEE), {"GOOG": frame})
    result = bt.run()
    assert min(v for _, v in result.equity) > 0
    calls = [n for n in result.notes if n.startswith("margin call at ")]
    called = [o for o in bt.node.orders.values() if "margin-call" in o.tags]
    assert calls and len(calls) == len({o.created_at for o in called})
    assert all(o.reduce_only and o.order_type is OrderType.MARKET for o in called)
    long_only = Backtest(BacktestConfig("grid", ("GOOG",), "1d", params={"spacing": "0.01"}, fee=FEE), {"GOOG": frame})
    assert not [n for n in long_only.run().notes if n.startswith("margin call")]
