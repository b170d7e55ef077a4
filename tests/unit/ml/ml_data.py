"""Data the ML tests share: the shipped GOOG daily sample and seeded synthetic minute bars, built once per process."""

from __future__ import annotations

import atexit
import tempfile
from functools import cache
from pathlib import Path

import polars as pl


@cache
def goog() -> pl.DataFrame:
    from alphintra.storage.market import MarketData, MarketStore, load_samples

    tmp = tempfile.TemporaryDirectory(prefix="alphintra-ml-")
    atexit.register(tmp.cleanup)
    load_samples(MarketStore(Path(tmp.name)))
    return MarketData(Path(tmp.name)).bars("GOOG", "1d")


@cache
def minute(symbols: tuple[str, ...] = ("SYN00",), periods: int = 3000, seed: int = 3) -> dict[str, pl.DataFrame]:
    from alphintra.storage.market import generate_bars

    frame = generate_bars(list(symbols), periods=periods, timeframe="1m", seed=seed)
    return {s: frame.filter(pl.col("symbol") == s).sort("time") for s in symbols}
