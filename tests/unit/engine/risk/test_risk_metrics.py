from __future__ import annotations

import math
import statistics
from decimal import Decimal

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alphintra.engine.risk import metrics
from alphintra.engine.risk.metrics import (
    Exposure,
    PortfolioSnapshot,
    RiskConfig,
    as_history,
    betas,
    compute_risk_report,
    correlation_matrix,
    historical_var_es,
    monte_carlo_var_es,
    normal_var_es,
    portfolio_pnl,
    scale_to_horizon,
    simulate_returns_pnl,
    window_moments,
)
from alphintra.errors import ValidationError

# A fixed PnL series. Its losses (-pnl) sorted ascending are:
#  rank: 1      2    3     4   5   6     7     8   9   10    11   12  13    14    15   16  17     18     19    20
#  loss: -20.25 -14  -12.5 -9  -7  -5.5  -4.5  -3  -1  -0.75 1.5  2   3.25  4.75  6.5  8   11.25  15.75  18.5  22
PNL_20 = [12.5, -3.25, 7.0, -15.75, 4.5, -8.0, 20.25, -1.5, 0.75, -22.0,
          9.0, -6.5, 3.0, -11.25, 14.0, -2.0, 5.5, -18.5, 1.0, -4.75]  # fmt: skip

# (confidence, k = ceil(confidence * 20), VaR = loss at rank k, ES = mean of ranks k..20), worked by hand.
HAND_REFERENCE = [
    (0.80, 16, 8.0, (8.0 + 11.25 + 15.75 + 18.5 + 22.0) / 5),  # 15.1
    (0.90, 18, 15.75, (15.75 + 18.5 + 22.0) / 3),  # 18.75
    (0.95, 19, 18.5, (18.5 + 22.0) / 2),  # 20.25
    (0.975, 20, 22.0, 22.0),  # ceil(19.5) = 20
    (0.99, 20, 22.0, 22.0),  # ceil(19.8) = 20
]


def one_asset_book(value: Decimal = Decimal(1000)) -> PortfolioSnapshot:
    return PortfolioSnapshot({"A": Decimal(4)}, {"A": value / 4}, equity=Decimal(10_000))


@pytest.mark.parametrize(("confidence", "rank", "var", "es"), HAND_REFERENCE)
def test_historical_var_and_es_match_the_hand_computed_rank_rule(
    confidence: float, rank: int, var: float, es: float
) -> None:
    got_var, got_es = historical_var_es(PNL_20, confidence)
    assert sorted(-x for x in PNL_20)[rank - 1] == var
    assert got_var == pytest.approx(var, abs=1e-9)
    assert got_es == pytest.approx(es, abs=1e-9)


def test_report_on_a_one_asset_book_reproduces_the_hand_reference() -> None:
    # Value 1000, so the returns are the PnL / 1000 and the report's PnL series is PNL_20 again.
    returns = {"A": [x / 1000 for x in PNL_20]}
    report = compute_risk_report(returns, one_asset_book(), RiskConfig(confidences=(0.95, 0.99), window=20))
    assert report.observations == 20
    hist95 = report.estimate("historical", 0.95)
    assert hist95.var == pytest.approx(18.5, abs=1e-9)
    assert hist95.es == pytest.approx(20.25, abs=1e-9)
    hist99 = report.estimate("historical", 0.99)
    assert hist99.var == pytest.approx(22.0, abs=1e-9)
    assert hist99.es == pytest.approx(22.0, abs=1e-9)
    # Parametric against an independent computation with the standard library: mean -0.8 (sum -16 over 20).
    assert statistics.fmean(PNL_20) == pytest.approx(-0.8, abs=1e-12)
    sd = statistics.stdev(PNL_20)
    z = 1.6448536269514722  # Phi^-1(0.95)
    phi = math.exp(-z * z / 2) / math.sqrt(2 * math.pi)
    par95 = report.estimate("parametric", 0.95)
    assert par95.var == pytest.approx(0.8 + z * sd, abs=1e-9)
    assert par95.es == pytest.approx(0.8 + sd * phi / 0.05, abs=1e-9)


def test_window_keeps_only_the_last_rows() -> None:
    # Ten huge losses first, then the reference series: a window of 20 must not see the losses.
    returns = {"A": [-0.5] * 10 + [x / 1000 for x in PNL_20]}
    report = compute_risk_report(returns, one_asset_book(), RiskConfig(window=20))
    assert report.observations == 20
    assert report.estimate("historical", 0.95).var == pytest.approx(18.5, abs=1e-9)
    everything = compute_risk_report(returns, one_asset_book(), RiskConfig(window=1000))
    assert everything.observations == 30
    assert everything.estimate("historical", 0.95).var == pytest.approx(500.0, abs=1e-9)


def test_normal_var_es_of_the_standard_normal() -> None:
    z = 1.959963984540054  # Phi^-1(0.975)
    var, es = normal_var_es(0.0, 1.0, 0.975)
    assert var == pytest.approx(z, abs=1e-12)
    assert es == pytest.approx(math.exp(-z * z / 2) / math.sqrt(2 * math.pi) / 0.025, abs=1e-9)
    shifted_var, _ = normal_var_es(5.0, 2.0, 0.975)  # a positive mean PnL lowers the loss
    assert shifted_var == pytest.approx(-5.0 + 2.0 * z, abs=1e-12)


def test_horizon_scaling_is_square_root_of_time() -> None:
    returns = {"A": [x / 1000 for x in PNL_20]}
    one = compute_risk_report(returns, one_asset_book(), RiskConfig(window=20))
    ten = compute_risk_report(returns, one_asset_book(), RiskConfig(window=20, horizon_days=10))
    for a, b in zip(one.estimates, ten.estimates, strict=True):
        assert (b.method, b.confidence, b.horizon_days) == (a.method, a.confidence, 10)
        assert b.var == pytest.approx(a.var * math.sqrt(10), rel=1e-12)
        assert b.es == pytest.approx(a.es * math.sqrt(10), rel=1e-12)
    assert scale_to_horizon(2.0, 4) == 4.0
    with pytest.raises(ValidationError, match="horizon_days"):
        scale_to_horizon(1.0, 0)


def normal_data(rows: int, seed: int) -> dict[str, list[float]]:
    rng = np.random.default_rng(seed)
    cov = np.array([[4e-4, 1.2e-4, 0.5e-4], [1.2e-4, 2.5e-4, -0.4e-4], [0.5e-4, -0.4e-4, 9e-4]])
    data = rng.multivariate_normal([3e-4, 1e-4, -2e-4], cov, size=rows)
    return {s: data[:, i].tolist() for i, s in enumerate(("A", "B", "C"))}


def three_asset_book() -> PortfolioSnapshot:
    return PortfolioSnapshot(
        {"A": Decimal(30), "B": Decimal(-12), "C": Decimal("0.5")},
        {"A": Decimal("101.25"), "B": Decimal("88"), "C": Decimal("30123.4")},
        equity=Decimal(50_000),
    )


def test_monte_carlo_is_reproducible_from_its_seed_and_independent_of_chunking(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    returns = normal_data(300, seed=7)
    book = three_asset_book()
    config = RiskConfig(mc_paths=20_000, mc_seed=42)
    first = compute_risk_report(returns, book, config)
    second = compute_risk_report(returns, book, config)
    assert first.estimate("monte_carlo", 0.99) == second.estimate("monte_carlo", 0.99)
    other = compute_risk_report(returns, book, RiskConfig(mc_paths=20_000, mc_seed=43))
    assert other.estimate("monte_carlo", 0.99).var != first.estimate("monte_carlo", 0.99).var

    history = as_history(returns)
    mean, cov = window_moments(history, book.symbols)
    values = book.value_vector()
    whole = simulate_returns_pnl(mean, cov, values, paths=10_001, seed=5)
    monkeypatch.setattr(metrics, "_MC_CHUNK_CELLS", 7)  # many small chunks: same stream, same numbers
    chunked = simulate_returns_pnl(mean, cov, values, paths=10_001, seed=5)
    np.testing.assert_allclose(chunked, whole, rtol=1e-12, atol=1e-9)
    assert not np.allclose(chunked, simulate_returns_pnl(mean, cov, values, paths=10_001, seed=6))


def test_monte_carlo_is_within_two_percent_of_parametric_on_normal_data() -> None:
    returns = normal_data(1000, seed=11)
    report = compute_risk_report(returns, three_asset_book(), RiskConfig(window=1000, mc_paths=400_000, mc_seed=3))
    for confidence in (0.95, 0.99):
        mc = report.estimate("monte_carlo", confidence)
        par = report.estimate("parametric", confidence)
        assert par.var > 0
        assert abs(mc.var - par.var) / par.var < 0.02
        assert abs(mc.es - par.es) / par.es < 0.02


def test_monte_carlo_handles_a_singular_covariance() -> None:
    # Two identical assets: the covariance has rank 1; the long/short pair is flat in every path.
    mean = np.zeros(2)
    cov = np.array([[1e-4, 1e-4], [1e-4, 1e-4]])
    pnl = simulate_returns_pnl(mean, cov, np.array([500.0, -500.0]), paths=1000, seed=1)
    assert np.abs(pnl).max() < 1e-9
    var, _ = monte_carlo_var_es(mean, cov, np.array([1000.0, 0.0]), 0.99, paths=50_000, seed=1)
    assert var == pytest.approx(1000 * 0.01 * 2.3263478740408408, rel=0.03)


def test_portfolio_pnl_is_the_book_held_through_each_period() -> None:
    book = PortfolioSnapshot({"A": Decimal(2), "B": Decimal(-1)}, {"A": Decimal(50), "B": Decimal(200)}, 1000)
    history = as_history({"B": [0.01, -0.02], "A": [0.1, 0.0], "X": [0.5, 0.5]})
    # A is worth 100, B -200: 100*0.1 - 200*0.01 = 8 ; 0 + 200*0.02 = 4
    assert portfolio_pnl(history, book).tolist() == pytest.approx([8.0, 4.0], abs=1e-12)


def test_betas_against_the_benchmark_by_hand() -> None:
    market = [0.01, -0.02, 0.03, 0.0, -0.01, 0.015]
    returns = {
        "A": [2 * m + 0.001 for m in market],  # beta 2 exactly
        "B": [-0.5 * m for m in market],  # beta -0.5
        "M": market,
    }
    book = PortfolioSnapshot({"A": 30, "B": 10}, {"A": 100, "B": 100}, equity=10_000)
    report = compute_risk_report(returns, book, RiskConfig(benchmark="M"))
    assert report.asset_betas["A"] == pytest.approx(2.0, abs=1e-9)
    assert report.asset_betas["B"] == pytest.approx(-0.5, abs=1e-9)
    assert report.beta_exposure == pytest.approx(3000 * 2 - 1000 * 0.5, abs=1e-9)
    assert report.portfolio_beta == pytest.approx(0.55, abs=1e-12)
    with pytest.raises(ValidationError, match="non-zero variance"):
        betas(as_history({"A": [0.1, 0.2, 0.3], "M": [0.0, 0.0, 0.0]}), ["A"], "M")


def test_annualised_volatility_and_correlation_by_hand() -> None:
    returns = {"A": [0.01, -0.01, 0.01, -0.01], "B": [0.02, -0.02, 0.02, -0.02], "C": [0.0] * 4}
    book = PortfolioSnapshot({"A": 10, "B": -10, "C": 1}, {"A": 100, "B": 100, "C": 5}, equity=1000)
    report = compute_risk_report(returns, book, RiskConfig(periods_per_year=365))
    sd_a = math.sqrt((4 * 0.01**2) / 3)
    assert report.asset_volatility_annualised["A"] == pytest.approx(sd_a * math.sqrt(365), rel=1e-12)
    assert report.asset_volatility_annualised["C"] == 0.0
    # PnL = 1000*r_A - 1000*r_B = -10, 10, -10, 10 ; as a fraction of equity 1000: the same pattern as A.
    assert report.volatility_annualised == pytest.approx(sd_a * math.sqrt(365), rel=1e-12)
    corr = report.to_dict()["correlation"]
    assert corr[0][:2] == [1.0, pytest.approx(1.0, abs=1e-12)]
    assert corr[0][2] is None and corr[2][2] == 1.0  # C is constant: undefined, not 0
    anti = correlation_matrix(np.array([[0.1, -0.1], [0.2, -0.2], [-0.3, 0.3]]))
    assert anti[0, 1] == pytest.approx(-1.0, abs=1e-12)


def test_exposure_by_asset_and_tag_and_leverage_are_exact() -> None:
    book = PortfolioSnapshot(
        {"AAPL": Decimal(10), "MSFT": Decimal(-5), "BTC": Decimal("0.1"), "FLAT": Decimal(0)},
        {"AAPL": Decimal("100.5"), "MSFT": Decimal(200), "BTC": Decimal("30000.01"), "FLAT": Decimal(7)},
        equity=Decimal(5000),
        tags={"AAPL": {"tech", "us"}, "MSFT": ["tech", "us"], "BTC": "crypto"},
    )
    report = compute_risk_report(
        {s: [0.01, -0.02, 0.005] for s in ("AAPL", "MSFT", "BTC", "FLAT")}, book, RiskConfig(mc_paths=1000)
    )
    assert report.exposure == Exposure(
        long=Decimal("4005.001"), short=Decimal(1000), gross=Decimal("5005.001"), net=Decimal("3005.001")
    )
    assert report.exposure_by_asset["MSFT"] == Exposure(Decimal(0), Decimal(1000), Decimal(1000), Decimal(-1000))
    assert report.exposure_by_tag["tech"] == Exposure(
        Decimal("1005.0"), Decimal(1000), Decimal("2005.0"), Decimal("5.0")
    )
    assert report.exposure_by_tag["crypto"].net == Decimal("3000.001")
    assert set(report.exposure_by_tag) == {"crypto", "tech", "us"}
    assert report.leverage == Decimal("1.0010002")
    as_dict = report.to_dict()
    assert as_dict["leverage"] == "1.0010002"
    assert as_dict["exposure"]["gross"] == "5005.001"
    assert report.alert_metrics()["leverage"] == pytest.approx(1.0010002)
    assert set(report.alert_metrics()) >= {"var_historical_95", "es_monte_carlo_99", "gross_exposure"}


def test_polars_frame_with_a_date_column_and_missing_rows() -> None:
    frame = pl.DataFrame(
        {
            "date": ["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04"],
            "A": [0.01, None, -0.02, 0.03],
            "B": [0.0, 0.01, 0.02, -0.01],
        }
    )
    with pytest.raises(ValidationError, match="missing values") as info:
        as_history(frame)
    assert info.value.value == ["A"]
    history = as_history(frame, drop_missing=True)
    assert history.symbols == ("A", "B")
    assert history.labels == ("2024-01-01", "2024-01-03", "2024-01-04")
    assert history.matrix.tolist() == [[0.01, 0.0], [-0.02, 0.02], [0.03, -0.01]]


@pytest.mark.parametrize(
    ("call", "field", "rule"),
    [
        (lambda: PortfolioSnapshot({"A": 1.5}, {"A": 1}, 100), "positions.A", "not a float"),  # type: ignore[dict-item]
        (lambda: PortfolioSnapshot({"A": 1}, {}, 100), "prices", "every position needs a price"),
        (lambda: PortfolioSnapshot({"A": 1}, {"A": -1}, 100), "prices.A", "must be >= 0"),
        (lambda: PortfolioSnapshot({"A": 1}, {"A": 1}, 0), "equity", "must be > 0"),
        (lambda: as_history([[0.1, 0.2]]), "symbols", "are required"),
        (lambda: as_history({"A": [0.1, -1.5]}), "returns", "below -1"),
        (lambda: as_history({"A": [0.1, math.inf]}), "returns", "finite"),
        (lambda: historical_var_es([1.0], 1.0), "confidence", "strictly between 0 and 1"),
        (lambda: historical_var_es([], 0.95), "pnl", "at least one"),
        (lambda: RiskConfig(window=1), "window", ">= 2"),
        (
            lambda: compute_risk_report({"B": [0.1, 0.2]}, PortfolioSnapshot({"A": 1}, {"A": 1}, 10)),
            "returns",
            "every position needs a return series",
        ),
    ],
)
def test_bad_input_names_the_field_and_rule(call: object, field: str, rule: str) -> None:
    with pytest.raises(ValidationError) as info:
        call()  # type: ignore[operator]
    assert info.value.field == field
    assert rule in info.value.rule


def test_an_empty_book_has_no_risk() -> None:
    report = compute_risk_report({"A": [0.01, -0.03, 0.02]}, PortfolioSnapshot({}, {}, 100), RiskConfig(mc_paths=10))
    assert all(e.var == 0.0 and e.es == 0.0 for e in report.estimates)
    assert report.leverage == 0 and report.exposure.gross == 0 and report.correlation == ()


finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(
    pnl=st.lists(finite, min_size=1, max_size=60),
    low=st.floats(min_value=0.5, max_value=0.9),
    high=st.floats(min_value=0.9, max_value=0.999),
)
def test_es_is_at_least_var_and_both_grow_with_confidence(pnl: list[float], low: float, high: float) -> None:
    var_low, es_low = historical_var_es(pnl, low)
    var_high, es_high = historical_var_es(pnl, high)
    assert es_low >= var_low - 1e-9 * (1 + abs(var_low))
    assert es_high >= var_high - 1e-9 * (1 + abs(var_high))
    assert var_high >= var_low and es_high >= es_low - 1e-9 * (1 + abs(es_low))
    assert var_high <= max(-x for x in pnl)


@settings(max_examples=100, deadline=None)
@given(pnl=st.lists(finite, min_size=1, max_size=40), factor=st.integers(min_value=1, max_value=1000))
def test_historical_var_is_positively_homogeneous(pnl: list[float], factor: int) -> None:
    var, es = historical_var_es(pnl, 0.95)
    scaled_var, scaled_es = historical_var_es([x * factor for x in pnl], 0.95)
    assert scaled_var == pytest.approx(var * factor, rel=1e-9, abs=1e-6)
    assert scaled_es == pytest.approx(es * factor, rel=1e-9, abs=1e-6)


money = st.decimals(min_value=-(10**9), max_value=10**9, places=2, allow_nan=False, allow_infinity=False)


@given(values=st.lists(money, max_size=20))
def test_exposure_identities(values: list[Decimal]) -> None:
    e = Exposure.of(values)
    assert e.gross == e.long + e.short and e.net == e.long - e.short == sum(values, Decimal(0))
    assert e.long >= 0 and e.short >= 0 and abs(e.net) <= e.gross


def test_snapshot_from_ledger_positions_uses_marks_unless_prices_override() -> None:
    from alphintra.engine.core.ledger_types import Position

    def pos(symbol: str, qty: str, mark: str | None) -> Position:
        return Position(
            symbol, symbol, "USD", Decimal(qty), Decimal(1), Decimal(0), mark=None if mark is None else Decimal(mark)
        )

    book = PortfolioSnapshot.from_positions(
        [pos("A", "2", "10.5"), pos("B", "-3", None)], equity=100, prices={"B": Decimal(4)}, tags={"A": "x"}
    )
    assert dict(book.values) == {"A": Decimal("21.0"), "B": Decimal(-12)}
    assert book.tags["A"] == frozenset({"x"})
    with pytest.raises(ValidationError) as info:
        PortfolioSnapshot.from_positions([pos("B", "1", None)], equity=100)
    assert (info.value.field, info.value.value) == ("prices", ["B"])


def test_a_benchmark_without_a_series_is_named() -> None:
    with pytest.raises(ValidationError) as info:
        compute_risk_report({"A": [0.1, 0.2]}, PortfolioSnapshot({"A": 1}, {"A": 1}, 10), RiskConfig(benchmark="SPY"))
    assert (info.value.field, info.value.value) == ("benchmark", "SPY")
