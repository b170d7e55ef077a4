from __future__ import annotations

import json
import math
import statistics
from decimal import Decimal

import numpy as np
import pytest

from alphintra.engine.risk.metrics import PortfolioSnapshot, ReturnHistory, as_history
from alphintra.engine.risk.stress import (
    SCENARIOS,
    CovarianceShock,
    HistoricalReplay,
    LimitBreach,
    PriceShock,
    get_scenario,
    run_scenario,
    run_stress,
)
from alphintra.errors import NotFoundError, ValidationError

Z99 = 2.3263478740408408  # Phi^-1(0.99)


def tiny_book() -> PortfolioSnapshot:
    # Values: AAPL 1872.30, MSFT -1648.68, XOM 2622.5, BTC 2160.5275 ; gross 8304.0075
    return PortfolioSnapshot(
        {"AAPL": Decimal(10), "MSFT": Decimal(-4), "XOM": Decimal(25), "BTC": Decimal("0.05")},
        {"AAPL": Decimal("187.23"), "MSFT": Decimal("412.17"), "XOM": Decimal("104.9"), "BTC": Decimal("43210.55")},
        equity=Decimal(10_000),
        tags={"AAPL": {"tech", "us"}, "MSFT": "tech", "XOM": "energy", "BTC": "crypto"},
    )


def test_tag_shock_pnl_to_the_cent() -> None:
    result = run_scenario(PriceShock("tech", by_tag={"tech": Decimal("-0.2")}), tiny_book())
    # AAPL 1872.30 * -0.2 = -374.46 ; MSFT -1648.68 * -0.2 = +329.736
    assert result.pnl == Decimal("-44.724")
    assert result.pnl_pct == Decimal("-0.44724")
    assert result.equity_after == Decimal("9955.276")
    by_symbol = {s: Decimal(v) for s, v in result.details["pnl_by_symbol"].items()}
    assert by_symbol == {"AAPL": Decimal("-374.46"), "BTC": 0, "MSFT": Decimal("329.736"), "XOM": 0}


def test_market_and_tag_shocks_compound_and_a_symbol_shock_overrides() -> None:
    scenario = PriceShock(
        "mixed", by_symbol={"BTC": Decimal("-0.5")}, by_tag={"tech": Decimal("-0.2")}, market=Decimal("-0.1")
    )
    result = run_scenario(scenario, tiny_book())
    # tech: 0.9 * 0.8 - 1 = -0.28 -> AAPL -524.244, MSFT +461.6304 ; XOM -262.25 ; BTC (own shock) -1080.26375
    assert result.details["shocks"] == {"AAPL": "-0.28", "BTC": "-0.5", "MSFT": "-0.28", "XOM": "-0.1"}
    assert result.pnl == Decimal("-1405.12735")
    assert result.pnl_pct == Decimal("-14.0512735")


def test_limits_breach_strictly_and_unknown_limits_are_listed_not_refused() -> None:
    scenario = PriceShock(
        "mixed", by_symbol={"BTC": Decimal("-0.5")}, by_tag={"tech": Decimal("-0.2")}, market=Decimal("-0.1")
    )
    limits = {
        "daily_loss": 500,
        "max_drawdown_pct": 10.0,
        "min_equity": "9000",
        "max_leverage": 1,
        "max_gross_exposure": Decimal("5975.61935"),  # exactly the gross after: not a breach
        "max_position_pct": 25,
        "max_order_qty": 5,
    }
    result = run_scenario(scenario, tiny_book(), limits=limits)
    # After: AAPL 1348.056, MSFT -1187.0496, XOM 2360.25, BTC 1080.26375 -> gross 5975.61935 ; equity 8594.87265
    assert result.breaches == (
        LimitBreach("daily_loss", Decimal(500), Decimal("1405.12735")),
        LimitBreach("max_drawdown_pct", Decimal("10.0"), Decimal("14.0512735")),
        LimitBreach("max_position_pct", Decimal(25), Decimal("2360.25") * 100 / Decimal("8594.87265")),
        LimitBreach("min_equity", Decimal(9000), Decimal("8594.87265")),
    )
    assert result.breached
    assert result.unevaluated_limits == ("max_order_qty",)
    assert "max_leverage" in result.evaluated_limits and "max_gross_exposure" in result.evaluated_limits
    json.dumps(result.to_dict())  # JSON-ready

    at_limit = run_scenario(
        PriceShock("t", by_tag={"tech": Decimal("-0.2")}), tiny_book(), limits={"daily_loss": "44.724"}
    )
    assert at_limit.breaches == ()
    over = run_scenario(PriceShock("t", by_tag={"tech": Decimal("-0.2")}), tiny_book(), limits={"daily_loss": "44.72"})
    assert [b.limit for b in over.breaches] == ["daily_loss"]


def test_a_gain_breaches_no_loss_limit_and_a_wipeout_means_infinite_leverage() -> None:
    rally = run_scenario(PriceShock("up", market=Decimal("0.1")), tiny_book(), limits={"daily_loss": 0})
    # +10 % on the net value 1872.30 - 1648.68 + 2622.5 + 2160.5275 = 5006.6475
    assert rally.pnl == Decimal("0.1") * (
        Decimal("1872.30") - Decimal("1648.68") + Decimal("2622.5") + Decimal("2160.5275")
    )
    assert rally.pnl == Decimal("500.664750")
    assert rally.breaches == ()
    levered = PortfolioSnapshot({"A": 100}, {"A": 100}, equity=5000)  # 10 000 long on 5 000 equity
    crash = run_scenario(PriceShock("crash", market=Decimal("-0.6")), levered, limits={"max_leverage": 50})
    assert crash.equity_after == Decimal(-1000)
    assert crash.breaches == (LimitBreach("max_leverage", Decimal(50), Decimal("Infinity")),)


def pair_history() -> tuple[list[float], list[float]]:
    a = [0.012, -0.008, 0.015, -0.02, 0.004, 0.009, -0.011, 0.007, -0.003, 0.01]
    b = [-0.004, 0.006, 0.002, -0.009, 0.011, -0.001, 0.003, -0.007, 0.008, -0.002]
    return a, b


def test_volatility_spike_scales_sigma_and_recomputes_var() -> None:
    a, b = pair_history()
    book = PortfolioSnapshot({"A": 10, "B": 5}, {"A": 100, "B": 200}, equity=10_000)  # 1000 each
    pnl = [1000 * x + 1000 * y for x, y in zip(a, b, strict=True)]
    mu, sd = statistics.fmean(pnl), statistics.stdev(pnl)
    result = run_scenario(CovarianceShock("vol3", vol_factor=3.0), book, history=as_history({"A": a, "B": b}))
    assert result.details["baseline_var"] == pytest.approx(-mu + Z99 * sd, abs=1e-9)
    assert result.details["stressed_var"] == pytest.approx(-mu + 3 * Z99 * sd, abs=1e-9)
    assert result.pnl == -Decimal(result.details["stressed_var"]).quantize(Decimal("1e-8"))
    assert abs(float(result.pnl) - (mu - 3 * Z99 * sd)) < 1e-8


def test_correlations_to_one_add_the_volatilities() -> None:
    a, b = pair_history()
    history = as_history({"A": a, "B": b})
    sa, sb = statistics.stdev(a), statistics.stdev(b)
    mu = 1000 * statistics.fmean(a) + 1000 * statistics.fmean(b)
    long_long = PortfolioSnapshot({"A": 10, "B": 5}, {"A": 100, "B": 200}, equity=10_000)
    result = run_scenario(CovarianceShock("corr1", correlation=1.0), long_long, history=history)
    assert result.details["stressed_var"] == pytest.approx(-mu + Z99 * 1000 * (sa + sb), abs=1e-9)
    assert result.details["stressed_var"] > result.details["baseline_var"]
    # Long A, short B: with perfect correlation the hedge offsets, sigma = |1000 sa - 1000 sb|.
    hedged = PortfolioSnapshot({"A": 10, "B": -5}, {"A": 100, "B": 200}, equity=10_000)
    mu_h = 1000 * statistics.fmean(a) - 1000 * statistics.fmean(b)
    hedged_result = run_scenario(CovarianceShock("corr1", correlation=1.0), hedged, history=history)
    assert hedged_result.details["stressed_var"] == pytest.approx(-mu_h + Z99 * 1000 * abs(sa - sb), abs=1e-9)


def test_covariance_shock_by_monte_carlo_is_seeded() -> None:
    a, b = pair_history()
    history = as_history({"A": a, "B": b})
    book = PortfolioSnapshot({"A": 10, "B": 5}, {"A": 100, "B": 200}, equity=10_000)
    shock = CovarianceShock("mc", vol_factor=2.0, method="monte_carlo", mc_paths=200_000, mc_seed=9)
    first, second = run_scenario(shock, book, history=history), run_scenario(shock, book, history=history)
    assert first.pnl == second.pnl
    parametric = run_scenario(CovarianceShock("p", vol_factor=2.0), book, history=history)
    assert abs(first.pnl / parametric.pnl - 1) < Decimal("0.02")


def test_covariance_shock_validation() -> None:
    with pytest.raises(ValidationError, match="vol_factor"):
        CovarianceShock("x", vol_factor=0)
    with pytest.raises(ValidationError, match="correlation"):
        CovarianceShock("x", correlation=1.5)
    three = PortfolioSnapshot({"A": 1, "B": 1, "C": 1}, {"A": 1, "B": 1, "C": 1}, equity=10)
    history = as_history({"A": [0.1, -0.1, 0.2], "B": [0.0, 0.1, -0.1], "C": [0.05, 0.0, 0.01]})
    with pytest.raises(ValidationError) as info:
        run_scenario(CovarianceShock("neg", correlation=-0.9), three, history=history)  # floor is -0.5
    assert info.value.field == "correlation"
    with pytest.raises(ValidationError, match="needs a return history"):
        run_scenario(CovarianceShock("x", vol_factor=2.0), three)


REPLAY = {
    "A": [0.01, -0.05, -0.04, 0.02, 0.03, -0.10],
    "B": [0.00, 0.02, -0.06, 0.01, 0.00, 0.05],
}
LABELS = ["d0", "d1", "d2", "d3", "d4", "d5"]


def replay_history() -> ReturnHistory:
    return ReturnHistory(("A", "B"), np.column_stack([REPLAY["A"], REPLAY["B"]]), tuple(LABELS))


def test_historical_replay_finds_the_worst_window_by_hand() -> None:
    book = PortfolioSnapshot({"A": 10, "B": -5}, {"A": 100, "B": 100}, equity=2000)  # A 1000, B -500
    # 2-day windows: s0 -50.5, s1 -67.4, s2 +4.5, s3 +45.6, s4: A 1.03*0.90-1 = -0.073, B +0.05 -> -73 - 25 = -98
    result = run_scenario(
        HistoricalReplay("worst-2d", days=2), book, history=replay_history(), limits={"daily_loss": 90}
    )
    assert result.pnl == Decimal("-98.00000000")
    assert (result.details["start_row"], result.details["end_row"]) == (4, 5)
    assert (result.details["start_label"], result.details["end_label"]) == ("d4", "d5")
    assert result.details["cumulative_returns"]["A"] == pytest.approx(-0.073, abs=1e-15)
    assert result.pnl_pct == Decimal("-4.90000000")
    assert [b.limit for b in result.breaches] == ["daily_loss"]
    worst_day = run_scenario(HistoricalReplay("worst-day", days=1), book, history=replay_history())
    assert worst_day.pnl == Decimal("-125.00000000")  # d5: 1000 * -0.10 - 500 * 0.05
    # Long B only (1000): daily PnL 0, 20, -60, 10, 0, 50 -> the worst day is d2, but not within the last 3 rows.
    long_b = PortfolioSnapshot({"B": 10}, {"B": 100}, equity=2000)
    assert run_scenario(HistoricalReplay("w", days=1), long_b, history=replay_history()).details["start_label"] == "d2"
    recent = run_scenario(HistoricalReplay("w", days=1, window=3), long_b, history=replay_history())
    assert recent.pnl == 0
    assert (recent.details["start_label"], recent.details["start_row"]) == ("d4", 4)  # rows of the whole history


def test_replay_survives_a_total_loss_day_and_rejects_too_long_windows() -> None:
    book = PortfolioSnapshot({"A": 1}, {"A": 500}, equity=1000)
    history = as_history({"A": [0.1, -1.0, 0.5, 0.2]})
    result = run_scenario(HistoricalReplay("w", days=2), book, history=history)
    assert result.pnl == Decimal("-500.00000000")  # both windows containing -100 % lose it all
    assert result.details["start_row"] == 0  # ties: the earliest window
    with pytest.raises(ValidationError, match="longer than the history"):
        run_scenario(HistoricalReplay("w", days=5), book, history=history)


def test_catalogue_runs_every_builtin_on_a_tagged_book() -> None:
    rng = np.random.default_rng(4)
    book = tiny_book()
    returns = {s: rng.normal(0, 0.02, size=60).tolist() for s in book.symbols}
    results = run_stress(SCENARIOS.values(), book, history=as_history(returns), limits={"max_drawdown_pct": 5})
    by_name = {r.scenario: r for r in results}
    assert set(by_name) >= {"market-crash-20", "tech-selloff-20", "vol-spike-3x", "correlation-one", "worst-5d"}
    assert by_name["tech-selloff-20"].pnl == Decimal("-44.724")
    assert by_name["crypto-crash-50"].pnl == Decimal("-1080.26375")
    assert by_name["market-crash-40"].pnl == Decimal("-0.4") * Decimal("5006.6475")
    assert [b.limit for b in by_name["market-crash-20"].breaches] == ["max_drawdown_pct"]  # 10.0133 % > 5 %
    assert by_name["vol-spike-3x"].pnl < by_name["vol-spike-2x"].pnl < 0
    assert run_stress(SCENARIOS.values(), book, history=as_history(returns)) == run_stress(
        SCENARIOS.values(), book, history=as_history(returns)
    )
    json.dumps([r.to_dict() for r in results])
    assert get_scenario("worst-5d").kind == "historical_replay"
    with pytest.raises(NotFoundError, match="no stress scenario named 'nope'"):
        get_scenario("nope")


def test_shock_bounds_and_bad_limits() -> None:
    with pytest.raises(ValidationError) as info:
        PriceShock("x", by_tag={"tech": Decimal("-1.5")})
    assert info.value.field == "shock.tag.tech"
    with pytest.raises(ValidationError) as bad:
        run_scenario(PriceShock("x"), tiny_book(), limits={"daily_loss": "lots"})
    assert bad.value.field == "limits.daily_loss"
    with pytest.raises(ValidationError):
        run_scenario(PriceShock("x"), tiny_book(), limits={"daily_loss": math.nan})
