"""market_making on EUR/USD hourly in book mode: two-sided maker fills, the inventory bound, the skew, equity audit."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError as PydanticError
from strategy_checks import audited_run, sample, signed

from alphintra.engine.core.enums import LiquiditySide, OrderSide, OrderType
from alphintra.engine.core.instrument import Instrument
from alphintra.strategies.backtest import Backtest, BacktestConfig
from alphintra.strategies.builtins.market_making import MarketMakingParams, quote_prices

EURUSD = Instrument.create("EUR/USD", tick_size="0.00001", lot_size="0.0001")
PARAMS = {"half_spread_bps": "3", "quantity": "2000", "max_inventory": "6000", "skew_bps": "4"}


def test_quotes_fill_both_sides_within_the_inventory_bound() -> None:
    frame = sample("EUR/USD", "1h").head(400)
    config = BacktestConfig(
        "market_making", ("EUR/USD",), "1h", params=PARAMS, fee=Decimal("0.00005"), fill_mode="book"
    )
    bt = Backtest(config, {"EUR/USD": frame})
    _result, audit = audited_run(bt)
    fills = audit.fills
    assert {f.side for f in fills} == {OrderSide.BUY, OrderSide.SELL}
    assert len(fills) >= 20
    assert all(f.liquidity_side is LiquiditySide.MAKER for f in fills), "post-only quotes never take"
    held = Decimal(0)
    for f in fills:
        held += signed(f)
        assert abs(held) <= 6000
    # Every quote the strategy posted follows the formula from the mid and the inventory it saw at the time.
    p = MarketMakingParams(**PARAMS)  # type: ignore[arg-type]
    limits = {}
    for order in bt.node.orders.values():
        if order.order_type is OrderType.LIMIT:
            limits.setdefault(order.created_at, {})[order.side] = order.price
    quotes = [s for s in bt.ctx.signals if s.name == "quote"]
    assert len(quotes) == 400
    skewed = 0
    for s in quotes:
        inventory = Decimal(s.data["inventory"])
        expected = quote_prices(Decimal(repr(s.value)), inventory, p, EURUSD)
        placed = limits.get(s.ts, {})
        assert placed.get(OrderSide.BUY) == expected.bid and placed.get(OrderSide.SELL) == expected.ask
        assert (expected.bid is None) == (inventory + 2000 > 6000)
        skewed += inventory != 0
    assert skewed >= 60
    # Quotes after the first bar sit around the book's mid, which follows the replayed close.
    for s, close in zip(quotes[1:], frame["close"].to_list()[1:], strict=True):
        assert abs(Decimal(repr(s.value)) - Decimal(repr(close))) <= Decimal("0.00002")


@settings(max_examples=200, deadline=None)
@given(
    st.decimals("0.5", "2.0", places=5),
    st.integers(-6000, 6000),
    st.integers(-6000, 6000),
)
def test_longer_inventory_lowers_both_quotes(mid: Decimal, a: int, b: int) -> None:
    p = MarketMakingParams(**PARAMS)  # type: ignore[arg-type]
    low, high = sorted((Decimal(a), Decimal(b)))
    q_low, q_high = quote_prices(mid, low, p, EURUSD), quote_prices(mid, high, p, EURUSD)
    if q_low.bid is not None and q_high.bid is not None:
        assert q_high.bid <= q_low.bid
    if q_low.ask is not None and q_high.ask is not None:
        assert q_high.ask <= q_low.ask
    for q in (q_low, q_high):
        if q.bid is not None and q.ask is not None:
            assert q.bid < q.ask
    # No quote on a side that would breach the bound.
    assert (q_high.bid is None) == (high + 2000 > 6000)
    assert (q_low.ask is None) == (low - 2000 < -6000)


def test_flat_quotes_are_symmetric_and_params_checked() -> None:
    p = MarketMakingParams(**PARAMS)  # type: ignore[arg-type]
    q = quote_prices(Decimal("1.10000"), Decimal(0), p, EURUSD)
    assert (q.bid, q.ask) == (Decimal("1.09967"), Decimal("1.10033"))
    with pytest.raises(PydanticError, match="max_inventory"):
        MarketMakingParams(quantity="10", max_inventory="5")  # type: ignore[arg-type]


def test_default_quotes_are_a_share_of_equity_in_whole_lots() -> None:
    """Left empty, a quote is quote_pct (2 %) of equity at the mid, rounded down to the lot, and the inventory
    limit is five quotes: the defaults fit any account (a fixed 1,000 units was $3M of ETH per quote)."""
    frame = sample("EUR/USD", "1h").head(200)
    config = BacktestConfig("market_making", ("EUR/USD",), "1h", fee=Decimal("0.00005"), fill_mode="book")
    bt = Backtest(config, {"EUR/USD": frame})
    result, audit = audited_run(bt)
    quotes = [o for o in bt.node.orders.values() if o.order_type is OrderType.LIMIT]
    assert quotes and all(o.status.value != "REJECTED" for o in quotes)
    mids = {s.ts: Decimal(repr(s.value)) for s in bt.ctx.signals if s.name == "quote"}
    low = min(Decimal(v) for _, v in result.equity)
    high = max(Decimal(v) for _, v in result.equity)
    lot = EURUSD.lot_size
    for order in quotes:
        mid = mids[order.created_at]
        # 2 % of the equity on that bar, in whole lots: between the run's lowest and highest equity's share.
        assert EURUSD.round_qty(low * Decimal("0.02") / mid, "down") <= order.quantity, order
        assert order.quantity <= high * Decimal("0.02") / mid and order.quantity % lot == 0, order
    assert high * Decimal("0.02") / max(mids.values()) < 1000  # far below the old fixed 1,000 units
    assert {f.side for f in audit.fills} == {OrderSide.BUY, OrderSide.SELL}
    held = Decimal(0)
    for f in audit.fills:
        held += signed(f)
        assert abs(held) <= 5 * max(o.quantity for o in quotes)


def test_quote_prices_needs_a_size() -> None:
    p = MarketMakingParams()
    with pytest.raises(ValueError, match="quote size"):
        quote_prices(Decimal("1.1"), Decimal(0), p, EURUSD)
    q = quote_prices(Decimal("1.10000"), Decimal(0), p, EURUSD, Decimal("100"))
    assert (q.bid, q.ask) == (Decimal("1.09967"), Decimal("1.10033"))
    assert quote_prices(Decimal("1.10000"), Decimal(400), p, EURUSD, Decimal("100")).bid is not None  # 5 quotes
    assert quote_prices(Decimal("1.10000"), Decimal(450), p, EURUSD, Decimal("100")).bid is None  # beyond 5


def test_a_spot_account_asks_only_what_it_holds() -> None:
    frame = sample("EUR/USD", "1h").head(200)
    config = BacktestConfig(
        "market_making", ("EUR/USD",), "1h", fee=Decimal("0.00005"), fill_mode="book", account_mode="spot"
    )
    bt = Backtest(config, {"EUR/USD": frame})
    _result, audit = audited_run(bt)
    orders = sorted(bt.node.orders.values(), key=lambda o: (o.created_at, o.id))
    assert [o.status.value for o in orders if o.status.value == "REJECTED"] == []
    assert [o.side for o in orders if o.created_at == orders[0].created_at] == [OrderSide.BUY]  # flat: bid only
    asks = [o for o in orders if o.side is OrderSide.SELL]
    assert asks, "once it holds euros it quotes an ask"
    held = Decimal(0)
    for f in audit.fills:
        held += signed(f)
        assert held >= 0, "a spot account never goes short"
