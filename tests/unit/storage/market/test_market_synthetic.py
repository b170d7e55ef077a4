from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import polars as pl
import pytest

from alphintra.errors import ValidationError
from alphintra.storage.market.synthetic import generate_bars, generate_trades
from alphintra.storage.market.validate import validate_bars


def test_same_seed_same_bars_and_symbols_do_not_depend_on_how_many_follow() -> None:
    a = generate_bars(3, periods=2_000, seed=11)
    assert a.equals(generate_bars(3, periods=2_000, seed=11))
    assert not a.equals(generate_bars(3, periods=2_000, seed=12))
    assert generate_bars(5, periods=2_000, seed=11).head(6_000).equals(a)


def test_bars_are_consistent_on_the_tick_grid_and_aligned() -> None:
    df = generate_bars(["AAA", "BBB"], periods=5_000, timeframe="5m", start="2024-03-01 00:02", tick=0.05)
    assert df.height == 10_000 and df["symbol"].unique(maintain_order=True).to_list() == ["AAA", "BBB"]
    assert df["time"][0] == datetime(2024, 3, 1, tzinfo=UTC)  # floored to the 5m grid
    for name in ("AAA", "BBB"):
        report = validate_bars(df.filter(pl.col("symbol") == name), "5m", z_threshold=1e9)
        assert report.ok, report.counts()
    ticks = (df["close"] / 0.05).round(6)
    assert (ticks == ticks.round(0)).all()
    assert (df["trades_count"] >= 1).all() and (df["volume"] > 0).all()


def test_symbols_are_correlated_and_volatility_clusters() -> None:
    df = generate_bars(4, periods=20_000, seed=3)
    closes = df.pivot(on="symbol", index="time", values="close").drop("time").to_numpy()
    returns = np.diff(np.log(closes), axis=0)
    corr = np.corrcoef(returns.T)
    assert corr[np.triu_indices(4, 1)].min() > 0.05
    # Clustering: absolute returns are autocorrelated, unlike the returns themselves.
    r = returns[:, 0]
    absr = np.abs(r)
    assert np.corrcoef(absr[:-1], absr[1:])[0, 1] > 0.1
    assert abs(np.corrcoef(r[:-1], r[1:])[0, 1]) < 0.05


def test_intraday_volume_peaks_in_the_us_session_and_dips_at_night() -> None:
    df = generate_bars(1, periods=14 * 24 * 60, seed=5, start="2024-01-01")
    by_hour = df.group_by(pl.col("time").dt.hour().alias("h")).agg(pl.col("volume").mean()).sort("h")
    volume = dict(by_hour.iter_rows())
    assert volume[14] > 1.8 * volume[3]


def test_trades_are_ordered_with_unique_ids_and_both_sides() -> None:
    tr = generate_trades("XYZ", count=5_000, seed=2)
    assert tr["time"].is_sorted() and tr["trade_id"].n_unique() == 5_000
    assert set(tr["side"].unique()) == {"buy", "sell"}
    assert (tr["price"] > 0).all() and (tr["quantity"] > 0).all()
    assert tr.equals(generate_trades("XYZ", count=5_000, seed=2))


def test_bad_parameters_are_refused() -> None:
    with pytest.raises(ValidationError) as err:
        generate_bars(2, periods=0)
    assert err.value.field == "periods"
    with pytest.raises(ValidationError):
        generate_bars(2, timeframe="7m")
