"""dca: purchase counts and sizes on GOOG daily (bars) and EUR/USD hourly (timer), dip boosts, budget, equity audit."""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal

import pytest
from pydantic import ValidationError as PydanticError
from strategy_checks import audited_run, sample

from alphintra.engine.core.enums import OrderSide
from alphintra.strategies.backtest import Backtest, BacktestConfig
from alphintra.strategies.builtins.dca import DcaParams

FEE = Decimal("0.001")
HOUR = 3_600_000_000_000


def test_every_n_bars_with_dip_boost_on_goog() -> None:
    frame = sample("GOOG", "1d").slice(800, 300)  # includes the 2008 fall: dips below the average
    params = {"amount": "1000", "every_bars": 5, "dip_pct": "0.05", "dip_multiplier": 3, "ma_period": 20}
    config = BacktestConfig("dca", ("GOOG",), "1d", params=params, fee=FEE, cash=Decimal(250_000))
    bt = Backtest(config, {"GOOG": frame})
    _result, audit = audited_run(bt)
    closes = frame["close"].to_list()
    sma = frame["close"].rolling_mean(20).to_list()
    fills_by_bar = [row.fills for row in audit.rows]
    boosted = 0
    for i in range(0, len(closes), 5):
        if i + 1 == len(closes):
            break  # a purchase on the last bar has no next open to fill at
        close = Decimal(repr(closes[i]))
        dip = sma[i] is not None and close <= Decimal(repr(sma[i])) * Decimal("0.95")
        boosted += dip
        amount = Decimal(3000 if dip else 1000)
        qty = (amount / (1 + FEE) / close).to_integral_value(rounding=ROUND_DOWN)
        (fill,) = fills_by_bar[i + 1]
        assert fill.side is OrderSide.BUY and fill.last_qty == qty, f"bar {i}: dip={dip}"
    assert all(not fills_by_bar[i + 1] for i in range(len(closes) - 1) if i % 5 != 0)
    assert boosted >= 5
    strategy = bt.strategy
    assert (strategy.purchases, strategy.boosted) == (60, boosted)  # type: ignore[attr-defined]


def test_timer_schedule_on_eurusd() -> None:
    frame = sample("EUR/USD", "1h").head(24 * 30)
    params = {"amount": "100", "interval_hours": 24}
    bt = Backtest(BacktestConfig("dca", ("EUR/USD",), "1h", params=params, fee=Decimal("0.0001")), {"EUR/USD": frame})
    result, audit = audited_run(bt)
    ts = frame["time"].dt.epoch("ns").to_list()
    start, end = ts[0], ts[-1] + HOUR
    expected = (end - start) // (24 * HOUR)
    buys = [s for s in bt.ctx.signals if s.name == "dca_buy"]
    assert len(buys) == expected
    assert [s.ts for s in buys] == [start + k * 24 * HOUR for k in range(1, expected + 1)]
    fills = audit.fills
    # Every purchase fills at the open of the first bar after its timer (the last may have none left).
    assert len(fills) in (expected, expected - 1)
    opens = dict(zip(ts, frame["open"].to_list(), strict=True))
    closes = dict(zip(ts, frame["close"].to_list(), strict=True))
    for signal, fill in zip(buys, fills, strict=False):
        first_after = min(t for t in ts if t >= signal.ts)
        assert fill.ts == first_after
        assert fill.last_px == Decimal(repr(opens[first_after]))
        # Sized at the last close before the timer: whole 0.0001 lots worth 100 with the fee.
        last = Decimal(repr(closes[max(t for t in ts if t < signal.ts)]))
        lots = (Decimal(100) / Decimal("1.0001") / last / Decimal("0.0001")).to_integral_value(rounding=ROUND_DOWN)
        assert fill.last_qty == lots * Decimal("0.0001")
    assert result.metrics.num_trades == 0  # never sells


def test_budget_caps_the_total_spent() -> None:
    frame = sample("GOOG", "1d").slice(0, 100)
    params = {"amount": "3000", "every_bars": 1, "budget": "10000"}
    bt = Backtest(BacktestConfig("dca", ("GOOG",), "1d", params=params, fee=FEE), {"GOOG": frame})
    _result, audit = audited_run(bt)
    spent = sum((f.last_qty * f.last_px + f.fee for f in audit.fills), Decimal(0))
    assert len(audit.fills) == 4  # 3000 + 3000 + 3000 + what is left of the budget
    assert Decimal(9500) < spent <= Decimal(10_000)
    assert bt.strategy.spent == spent  # type: ignore[attr-defined]


def test_params() -> None:
    with pytest.raises(PydanticError):
        DcaParams(amount="0")  # type: ignore[arg-type]
    with pytest.raises(PydanticError):
        DcaParams(dip_pct="1.5")  # type: ignore[arg-type]
    assert DcaParams(interval_hours="0.5").interval_hours == Decimal("0.5")  # type: ignore[arg-type]
