"""Every built-in scenario on a small book, against PnL computed by hand; tags come from the instruments."""

from __future__ import annotations

import statistics
from decimal import Decimal as D

import pytest

from alphintra.engine.core.instrument import Instrument
from alphintra.engine.risk.metrics import PortfolioSnapshot, as_history
from alphintra.engine.risk.stress import QUANTUM, SCENARIOS, run_scenario

Z99 = statistics.NormalDist().inv_cdf(0.99)


def instrument_tags(*instruments: Instrument) -> dict[str, set[str]]:
    return {i.symbol: {*i.tags, i.asset_class} for i in instruments}


def mixed_book() -> PortfolioSnapshot:
    # GOOG 10 x 800 = 8,000 (equity, tagged tech); BTC/USD 0.5 x 60,000 = 30,000 (crypto); EUR/USD -10,000 x 1.1 =
    # -11,000 (fx, short). Net 27,000.
    goog = Instrument.create("GOOG", tags={"tech": "1"})
    btc = Instrument.create("BTC/USD", tick_size="0.01", lot_size="0.0001")
    eur = Instrument.create("EUR/USD", tick_size="0.00001", lot_size="1")
    assert (goog.asset_class, btc.asset_class, eur.asset_class) == ("equity", "crypto", "fx")
    return PortfolioSnapshot(
        {"GOOG": D(10), "BTC/USD": D("0.5"), "EUR/USD": D(-10_000)},
        {"GOOG": D(800), "BTC/USD": D(60_000), "EUR/USD": D("1.1")},
        equity=D(50_000),
        tags=instrument_tags(goog, btc, eur),
    )


@pytest.mark.parametrize(
    ("name", "pnl"),
    [
        ("market-crash-10", D(-2_700)),  # -10 % of the net 27,000
        ("market-crash-20", D(-5_400)),
        ("market-crash-40", D(-10_800)),
        ("market-rally-10", D(2_700)),
        ("tech-selloff-20", D(-1_600)),  # GOOG only: 8,000 x -20 %
        ("crypto-crash-50", D(-15_000)),  # BTC/USD only: 30,000 x -50 %
    ],
)
def test_price_scenarios_hit_the_instruments_they_name(name: str, pnl: D) -> None:
    result = run_scenario(SCENARIOS[name], mixed_book())
    assert result.pnl == pnl
    assert result.equity_after == D(50_000) + pnl


def test_crypto_crash_on_an_all_btc_book_halves_it() -> None:
    btc = Instrument.create("BTC/USD", tick_size="0.01", lot_size="0.0001")
    book = PortfolioSnapshot({"BTC/USD": D("0.5")}, {"BTC/USD": D(60_000)}, equity=D(30_000), tags=instrument_tags(btc))
    result = run_scenario(SCENARIOS["crypto-crash-50"], book)
    assert (result.pnl, result.pnl_pct) == (D(-15_000), D(-50))
    assert result.details["shocks"] == {"BTC/USD": "-0.50"}


RETURNS = [0.01, -0.02, 0.03, -0.04, 0.02, -0.01]


def btc_only() -> PortfolioSnapshot:
    return PortfolioSnapshot({"BTC/USD": D("0.5")}, {"BTC/USD": D(60_000)}, equity=D(30_000), tags={})


@pytest.mark.parametrize(
    ("name", "vol"), [("vol-spike-2x", 2), ("vol-spike-3x", 3), ("correlation-one", 1), ("crisis", 3)]
)
def test_covariance_scenarios_are_minus_the_stressed_parametric_var(name: str, vol: int) -> None:
    mean = sum(RETURNS) / 6  # -0.001666...
    std = statistics.stdev(RETURNS)
    var = -(mean * 30_000) + Z99 * vol * std * 30_000  # one asset: its correlation with itself is 1 anyway
    result = run_scenario(SCENARIOS[name], btc_only(), history=as_history({"BTC/USD": RETURNS}))
    assert abs(result.pnl + D(var)) <= QUANTUM


def test_historical_replays_take_the_worst_window() -> None:
    history = as_history({"BTC/USD": RETURNS})
    worst_day = run_scenario(SCENARIOS["worst-day"], btc_only(), history=history)
    assert worst_day.pnl == D(-1_200)  # 30,000 x -4 %
    # Five-row windows: 1.01 x .98 x 1.03 x .96 x 1.02 - 1 = -0.0060, .98 x 1.03 x .96 x 1.02 x .99 - 1 = -0.0214
    worst_5 = 0.98 * 1.03 * 0.96 * 1.02 * 0.99 - 1
    result = run_scenario(SCENARIOS["worst-5d"], btc_only(), history=history)
    assert abs(result.pnl - D(30_000 * worst_5)) < D("0.00000001")
    falling = as_history({"BTC/USD": [-0.01] * 25})
    twenty = run_scenario(SCENARIOS["worst-20d"], btc_only(), history=falling)
    assert abs(twenty.pnl - D(30_000 * (0.99**20 - 1))) < D("0.00000001")
    assert len(SCENARIOS) == 13  # every built-in scenario is covered above
