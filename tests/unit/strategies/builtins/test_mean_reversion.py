"""mean_reversion on real samples: entries and exits re-derived from polars rolling moments, stops, equity audit."""

from __future__ import annotations

import math
from decimal import Decimal

import polars as pl
import pytest
from pydantic import ValidationError as PydanticError
from strategy_checks import audited_run, sample, signed

from alphintra.engine.core.enums import OrderSide, OrderStatus, OrderType
from alphintra.strategies.backtest import Backtest, BacktestConfig
from alphintra.strategies.builtins.mean_reversion import MeanReversionParams

FEE = Decimal("0.0005")


def test_bollinger_long_only_on_goog_follows_the_bands() -> None:
    frame = sample("GOOG", "1d").head(700)
    config = BacktestConfig("mean_reversion", ("GOOG",), "1d", params={"period": 20, "entry": 2.0}, fee=FEE)
    bt = Backtest(config, {"GOOG": frame})
    _result, audit = audited_run(bt)
    assert len(audit.fills) >= 6
    close = frame["close"]
    mean = close.rolling_mean(20)
    std = close.rolling_std(20, ddof=0)
    z = ((close - mean) / std).to_list()
    opens = [Decimal(repr(v)) for v in frame["open"].to_list()]
    held = Decimal(0)
    entries = exits = 0
    for i, row in enumerate(audit.rows):
        for f in row.fills:
            held += signed(f)
        assert held >= 0, "long-only"
        if i + 1 == len(audit.rows) or z[i] is None:
            continue
        nxt = audit.rows[i + 1].fills
        if held == 0 and z[i] < -2.0:
            entries += 1
            assert [f.side for f in nxt] == [OrderSide.BUY] and nxt[0].last_px == opens[i + 1]
        elif held > 0 and z[i] >= 0.0:
            exits += 1
            assert [f.side for f in nxt] == [OrderSide.SELL] and nxt[0].last_qty == held
        else:
            assert nxt == [], f"bar {i}: z={z[i]:.3f} held={held} gives no signal"
    assert entries >= 3 and exits >= 3


def test_zscore_long_short_with_stops_on_eurusd() -> None:
    frame = sample("EUR/USD", "1h").head(1500)
    params = {"method": "zscore", "period": 30, "entry": 2.0, "exit": 0.5, "stop": "0.002", "allow_short": True}
    config = BacktestConfig("mean_reversion", ("EUR/USD",), "1h", params=params, fee=Decimal("0.00002"))
    bt = Backtest(config, {"EUR/USD": frame})
    _result, audit = audited_run(bt)
    sides = {f.side for f in audit.fills}
    assert sides == {OrderSide.BUY, OrderSide.SELL}
    held = Decimal(0)
    went_short = False
    for f in audit.fills:
        held += signed(f)
        went_short |= held < 0
    assert went_short
    stops = [o for o in bt.node.orders.values() if o.order_type is OrderType.STOP]
    hit = [o for o in stops if o.status is OrderStatus.FILLED]
    assert hit, "some 0.2 % stop must have been hit on hourly EUR/USD"
    for order in hit:
        # The stop sat 0.2 % from the fill that opened its position.
        opening = [f for f in audit.fills if f.ts <= order.created_at and f.order_id != order.id][-1]
        expected = opening.last_px * (Decimal("0.998") if order.side is OrderSide.SELL else Decimal("1.002"))
        assert abs(order.stop_price - expected) <= Decimal("0.00001")  # type: ignore[operator]
    # The z-score is of the log price: recompute the signal of the first entry independently.
    logs = frame["close"].log()
    z = ((logs - logs.rolling_mean(30)) / logs.rolling_std(30, ddof=0)).to_list()
    first = next(i for i, row in enumerate(audit.rows) if row.fills) - 1
    assert z[first] is not None and abs(z[first]) > 2.0
    assert not math.isnan(z[first])


def test_exit_must_sit_inside_entry() -> None:
    with pytest.raises(PydanticError, match="exit"):
        MeanReversionParams(entry=1.0, exit=1.0)
    assert MeanReversionParams(stop="0.05").stop == Decimal("0.05")  # type: ignore[arg-type]
    with pytest.raises(PydanticError):
        MeanReversionParams(stop="1.5")  # type: ignore[arg-type]


def test_a_flat_series_never_trades() -> None:
    frame = (
        sample("GOOG", "1d")
        .head(60)
        .with_columns(open=pl.lit(100.0), high=pl.lit(100.0), low=pl.lit(100.0), close=pl.lit(100.0))
    )
    config = BacktestConfig("mean_reversion", ("GOOG",), "1d", params={"allow_short": True}, fee=FEE)
    bt = Backtest(config, {"GOOG": frame})
    result, audit = audited_run(bt)
    assert audit.fills == [] and result.equity[-1][1] == Decimal(10_000)
