"""Data the ML tests share: the shipped GOOG daily sample and seeded synthetic minute bars, built once per process."""

from __future__ import annotations

import atexit
import tempfile
from functools import cache
from pathlib import Path

import polars as pl


@cache
def sample_root() -> Path:
    """A market store holding the shipped samples (GOOG 1d, EUR/USD 1h, BTC/USD 1M)."""
    from alphintra.storage.market import MarketStore, load_samples

    tmp = tempfile.TemporaryDirectory(prefix="alphintra-ml-")
    atexit.register(tmp.cleanup)
    load_samples(MarketStore(Path(tmp.name)))
    return Path(tmp.name)


@cache
def goog() -> pl.DataFrame:
    from alphintra.storage.market import MarketData

    return MarketData(sample_root()).bars("GOOG", "1d")


@cache
def minute(symbols: tuple[str, ...] = ("SYN00",), periods: int = 3000, seed: int = 3) -> dict[str, pl.DataFrame]:
    from alphintra.storage.market import generate_bars

    frame = generate_bars(list(symbols), periods=periods, timeframe="1m", seed=seed)
    return {s: frame.filter(pl.col("symbol") == s).sort("time") for s in symbols}


def stationary(
    n: int,
    seed: int,
    *,
    vol: float = 0.001,
    volume_scale: float = 1.0,
    start_price: float = 100.0,
    first: int = 0,
    symbol: str = "GBM",
) -> pl.DataFrame:
    """Minute bars of a driftless random walk with constant volatility: a series whose later windows look like its
    earlier ones (so drift monitoring must stay quiet on it), unless ``vol``/``volume_scale`` change."""
    import numpy as np

    rng = np.random.default_rng(seed)
    close = start_price * np.exp(np.cumsum(rng.standard_normal(n) * vol))
    opens = np.concatenate([[start_price], close[:-1]])
    high = np.maximum(opens, close) * (1 + np.abs(rng.standard_normal(n)) * vol / 2)
    low = np.minimum(opens, close) * (1 - np.abs(rng.standard_normal(n)) * vol / 2)
    start_ns = 1_704_067_200_000_000_000 + first * 60_000_000_000  # 2024-01-01 UTC
    times = pl.from_epoch(pl.Series(start_ns + np.arange(n, dtype=np.int64) * 60_000_000_000), "ns")
    return pl.DataFrame(
        {
            "time": times.dt.replace_time_zone("UTC"),
            "symbol": symbol,
            "exchange": "SYNTH",
            "timeframe": "1m",
            "open": opens,
            "high": high,
            "low": low,
            "close": close,
            "volume": rng.lognormal(10, 0.5, n) * volume_scale,
        }
    )


def plant(bars: pl.DataFrame) -> tuple[pl.DataFrame, dict[str, int]]:
    """``bars`` with a bad print (x1.5 for one bar), a volume x1000, a doubled high and an unadjusted 2:1 split."""
    rows = {"spike": 700, "volume": 1100, "range": 1500, "split": 1900}
    b = bars.sort("time").with_row_index("i")
    prices = ("open", "high", "low", "close")
    b = b.with_columns(
        pl.when(pl.col("i") == rows["spike"]).then(pl.col(c) * 1.5).otherwise(pl.col(c)).alias(c) for c in prices
    )
    b = b.with_columns(
        pl.when(pl.col("i") == rows["volume"]).then(pl.col("volume") * 1000).otherwise(pl.col("volume")).alias("volume")
    )
    b = b.with_columns(
        pl.when(pl.col("i") == rows["range"]).then(pl.col("high") * 2).otherwise(pl.col("high")).alias("high")
    )
    b = b.with_columns(
        pl.when(pl.col("i") >= rows["split"]).then(pl.col(c) / 2).otherwise(pl.col(c)).alias(c) for c in prices
    )
    return b.drop("i"), rows
