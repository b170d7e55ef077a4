"""portfolio on three synthetic symbols: rebalance dates, drift tolerance, order sizes re-derived, equity audit."""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal

import polars as pl
import pytest
from pydantic import ValidationError as PydanticError
from strategy_checks import audited_run, signed

from alphintra.engine.core.enums import OrderSide
from alphintra.storage.market import generate_bars
from alphintra.strategies.backtest import Backtest, BacktestConfig
from alphintra.strategies.base import StrategyError
from alphintra.strategies.builtins.portfolio import PortfolioParams

SYMBOLS = ("AAA", "BBB", "CCC")
FEE = Decimal("0.001")
# 10 % stays in cash: no purchase is then cut by the leverage limit when prices move between sizing and fill.
TARGETS = {"AAA": Decimal("0.45"), "BBB": Decimal("0.3"), "CCC": Decimal("0.15")}


def frames(periods: int = 300) -> dict[str, pl.DataFrame]:
    bars = generate_bars(list(SYMBOLS), periods=periods, timeframe="1d", seed=3)
    return {s: bars.filter(pl.col("symbol") == s) for s in SYMBOLS}


def test_rebalances_drifted_weights_back_to_target() -> None:
    data = frames()
    params = {"weights": "0.45,0.3,0.15", "rebalance_every": 20, "tolerance": "0.02"}
    config = BacktestConfig("portfolio", SYMBOLS, "1d", params=params, fee=FEE, cash=Decimal(100_000))
    bt = Backtest(config, data)
    _result, audit = audited_run(bt)
    closes = {s: [Decimal(repr(c)).quantize(Decimal("0.01")) for c in data[s]["close"].to_list()] for s in SYMBOLS}
    rows = audit.rows
    assert [r.symbol for r in rows[:3]] == list(SYMBOLS)
    n = len(closes["AAA"])
    # Cash and holdings after each instant, from the fills alone.
    cash, held = Decimal(100_000), dict.fromkeys(SYMBOLS, Decimal(0))
    states = []
    day_fills = []
    for k in range(n):
        fills = [f for r in rows[3 * k : 3 * k + 3] for f in r.fills]
        for f in fills:
            held[f.symbol] += signed(f)
            cash -= signed(f) * f.last_px + f.fee
        day_fills.append(fills)
        states.append((cash, dict(held)))

    def weights(k: int) -> dict[str, Decimal]:
        cash_k, held_k = states[k]
        equity = cash_k + sum(held_k[s] * closes[s][k] for s in SYMBOLS)
        return {s: held_k[s] * closes[s][k] / equity for s in SYMBOLS}

    rebalanced = []
    for k in range(0, n - 2, 20):
        w = weights(k)
        cash_k, held_k = states[k]
        equity = cash_k + sum(held_k[s] * closes[s][k] for s in SYMBOLS)
        drifted = {s for s in SYMBOLS if abs(w[s] - TARGETS[s]) > Decimal("0.02") or held_k[s] == 0}
        window = [f for day in day_fills[k + 1 : k + 20] for f in day]
        assert {f.symbol for f in window} <= drifted, f"day {k}: only drifted symbols trade"
        sells = {s for s in drifted if w[s] > TARGETS[s]}
        for f in window:
            day = next(d for d in range(k + 1, k + 20) if f in day_fills[d])
            if f.symbol in sells:
                # Sold at the next open, down to the target sized at this close.
                target = (equity * TARGETS[f.symbol] / (closes[f.symbol][k] * (1 + FEE))).to_integral_value(
                    rounding=ROUND_DOWN
                )
                assert (f.side, f.last_qty, day) == (OrderSide.SELL, held_k[f.symbol] - target, k + 1)
            else:
                # Bought once the sales are done: at this symbol's first open after the last sale.
                sold = sells & {g.symbol for g in window}
                later = any(SYMBOLS.index(x) > SYMBOLS.index(f.symbol) for x in sold)
                assert f.side is OrderSide.BUY and day == k + 1 + later
        if window:
            rebalanced.append(k)
            # Valued at the prices it traded at (the synthetic open repeats the previous close), the portfolio is
            # back on target up to whole shares and fees.
            last = max(d for d in range(k + 1, k + 20) if day_fills[d])
            cash_after, held_after = states[last]
            px = {s: closes[s][k] for s in SYMBOLS} | {f.symbol: f.last_px for f in window}
            equity_after = cash_after + sum(held_after[s] * px[s] for s in SYMBOLS)
            for sym in {f.symbol for f in window}:
                weight = held_after[sym] * px[sym] / equity_after
                assert abs(weight - TARGETS[sym]) < Decimal("0.005"), f"day {k}: {sym} at {weight:.4f}"
    assert rebalanced[0] == 0 and len(rebalanced) >= 4
    assert bt.strategy.rebalances == len(rebalanced)  # type: ignore[attr-defined]
    assert any(f.side is OrderSide.SELL for day in day_fills for f in day)


def test_equal_weights_by_default_and_bad_weights_refused() -> None:
    assert PortfolioParams(weights="0.5, 0.5").weights == [Decimal("0.5"), Decimal("0.5")]  # type: ignore[arg-type]
    assert PortfolioParams(weights=[Decimal("0.2")]).weights == [Decimal("0.2")]
    assert PortfolioParams().weights is None
    with pytest.raises(PydanticError, match="at most 1"):
        PortfolioParams(weights="0.7,0.5")  # type: ignore[arg-type]
    with pytest.raises(PydanticError, match=">= 0"):
        PortfolioParams(weights="-0.1,0.5")  # type: ignore[arg-type]
    data = frames(60)
    bt = Backtest(BacktestConfig("portfolio", SYMBOLS, "1d", params={"rebalance_every": 10}, fee=FEE), data)
    _result, audit = audited_run(bt)
    assert bt.strategy.targets == dict.fromkeys(SYMBOLS, Decimal(1) / 3)  # type: ignore[attr-defined]
    assert {f.symbol for f in audit.fills} == set(SYMBOLS)
    wrong = BacktestConfig("portfolio", SYMBOLS, "1d", params={"weights": "0.5,0.5"}, fee=FEE)
    with pytest.raises(StrategyError, match="one weight per symbol"):
        Backtest(wrong, data).run()
