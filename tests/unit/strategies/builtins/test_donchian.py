"""donchian on the GOOG daily sample: breakouts re-derived from polars rolling channels, ATR stops, equity audit."""

from __future__ import annotations

from decimal import Decimal

import polars as pl
import pytest
from pydantic import ValidationError as PydanticError
from strategy_checks import audited_run, sample, signed

from alphintra.engine.core.enums import OrderSide, OrderStatus, OrderType
from alphintra.strategies import registry
from alphintra.strategies.backtest import Backtest, BacktestConfig

FEE = Decimal("0.001")


def goog(rows: int = 600) -> pl.DataFrame:
    return sample("GOOG", "1d").head(rows)


def test_breakouts_follow_the_channels_and_equity_is_exact() -> None:
    frame = goog()
    # Every bar shown (the audit watches on_bar), which also checks the strategy's wake mask.
    config = BacktestConfig(
        "donchian", ("GOOG",), "1d", params={"entry": 20, "exit": 10}, fee=FEE, skip_quiet_bars=False
    )
    bt = Backtest(config, {"GOOG": frame})
    result, audit = audited_run(bt)
    fills = audit.fills
    assert len(fills) >= 6
    # Independent signals: the channels of the bars before each bar, from polars.
    sig = frame.with_columns(
        up=pl.col("high").rolling_max(20).shift(1),
        lo=pl.col("low").rolling_min(10).shift(1),
    ).to_dicts()
    opens = [Decimal(repr(r["open"])) for r in sig]
    held = Decimal(0)
    by_bar = {i: row.fills for i, row in enumerate(audit.rows)}
    expected = 0
    for i, r in enumerate(sig):
        for f in by_bar[i]:
            held += signed(f)
        if i + 1 >= len(sig) or r["up"] is None or r["lo"] is None:
            continue
        nxt = by_bar[i + 1]
        if held == 0 and r["close"] > r["up"]:
            expected += 1
            assert len(nxt) == 1 and nxt[0].side is OrderSide.BUY, f"breakout on bar {i} must buy at the next open"
            assert nxt[0].last_px == opens[i + 1]
        elif held > 0 and r["close"] < r["lo"]:
            expected += 1
            assert len(nxt) == 1 and nxt[0].side is OrderSide.SELL and nxt[0].last_qty == held
            assert nxt[0].last_px == opens[i + 1]
        else:
            assert nxt == [], f"no signal on bar {i}, yet a fill on bar {i + 1}"
    assert expected == len(fills)
    assert all(f.side is OrderSide.BUY for f in fills[::2]), "long-only by default: every entry is a buy"
    assert result.metrics.num_trades == len(fills) // 2


def test_atr_stop_protects_each_position() -> None:
    frame = goog(900)
    params = {"entry": 20, "exit": 10, "allow_short": True, "reverse": True, "atr_stop": "1.5", "atr_period": 14}
    config = BacktestConfig("donchian", ("GOOG",), "1d", params=params, fee=FEE, skip_quiet_bars=False)
    bt = Backtest(config, {"GOOG": frame})
    _result, audit = audited_run(bt)
    stops = [o for o in bt.node.orders.values() if o.order_type is OrderType.STOP]
    filled = [o for o in stops if o.status is OrderStatus.FILLED]
    assert filled, "some stop must have been hit"
    assert any(o.status is OrderStatus.CANCELED for o in stops), "exits cancel the stop they leave behind"
    # At most one live stop at the end, and it covers the position exactly, on the protective side.
    live = [o for o in stops if not o.is_terminal]
    held = sum((signed(f) for f in audit.fills), Decimal(0))
    if held != 0:
        assert len(live) == 1 and live[0].quantity == abs(held)
        assert live[0].side is (OrderSide.SELL if held > 0 else OrderSide.BUY)
    else:
        assert live == []
    for order in filled:
        # A triggered stop fills at its stop price, or at the open when the market gapped through it.
        assert order.average_price is not None and order.stop_price is not None
        if order.side is OrderSide.SELL:
            assert order.average_price <= order.stop_price
        else:
            assert order.average_price >= order.stop_price
    assert any(f.side is OrderSide.SELL for f in audit.fills) and any(f.side is OrderSide.BUY for f in audit.fills)


def test_params_are_checked_and_described() -> None:
    cls = registry.get("donchian")
    with pytest.raises(PydanticError, match="reverse needs allow_short"):
        cls.Params(reverse=True)
    with pytest.raises(PydanticError):
        cls.Params(entry=1)
    info = registry.describe(cls)
    names = [p["name"] for p in info["params"]]
    assert names == ["entry", "exit", "allow_short", "reverse", "atr_stop", "atr_period", "fraction"]
    assert all(p["description"] for p in info["params"])
