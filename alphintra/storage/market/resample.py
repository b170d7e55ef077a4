"""Resampling bars to a coarser timeframe, and trade prints to bars, with polars' dynamic group-by.

OHLCV semantics: open of the first bar, highest high, lowest low, close of the last bar, summed volume, quote
volume and trade count (left null when the source has none). Output bars carry the start of their period as
``time`` and follow the calendar alignment of :mod:`.timeframes` (weeks on Monday, months on the 1st, UTC).
A period with no source rows produces no bar; the last bar may be partial if the source ends inside it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from alphintra.errors import ValidationError

from .frames import split_runs
from .timeframes import Timeframe, parse_timeframe

if TYPE_CHECKING:
    import polars as pl


def _windows(tf: Timeframe) -> dict[str, object]:
    # start_by="window" truncates the first time to `every`: epoch-based for fixed durations (so 4h bars start at
    # 00:00, 04:00, …), Monday-based for weeks and the 1st for months — exactly the rules of .timeframes.
    return {"every": tf.polars_every, "closed": "left", "label": "left", "start_by": "window"}


def _split_series(df: pl.DataFrame) -> list[pl.DataFrame]:
    """One frame per (exchange, symbol); contiguous runs, the store's layout, are zero-copy slices."""
    keys = [c for c in ("exchange", "symbol") if c in df.columns]
    parts = [df]
    for key in keys:
        parts = [piece for part in parts for piece in split_runs(part, key)]
    return parts


def _map_series(fn: Callable[[pl.DataFrame], pl.DataFrame], parts: list[pl.DataFrame]) -> list[pl.DataFrame]:
    # polars releases the GIL inside the group-by, so independent series use every core.
    if len(parts) == 1:
        return [fn(parts[0])]
    with ThreadPoolExecutor(max(1, min(len(parts), os.cpu_count() or 1))) as pool:
        return list(pool.map(fn, parts))


def _sorted(df: pl.DataFrame, where: str) -> pl.DataFrame:
    raw = df["time"].to_physical().to_numpy()
    if len(raw) > 1 and not bool((raw[1:] >= raw[:-1]).all()):
        df = df.sort("time", maintain_order=True)
    return df.set_sorted("time")


def resample_bars(df: pl.DataFrame, target: str | Timeframe, *, source: str | Timeframe | None = None) -> pl.DataFrame:
    """Bars of a finer timeframe → bars of ``target``. ``source`` defaults to the frame's ``timeframe`` column."""
    import polars as pl

    to = parse_timeframe(target, field="to")
    if source is None:
        if "timeframe" not in df.columns or df["timeframe"].n_unique() != 1:
            raise ValidationError("from", "is required when the frame has no single timeframe column", None)
        source = str(df["timeframe"][0])
    frm = parse_timeframe(source, field="from")
    if not frm.divides(to):
        raise ValidationError("to", f"{frm.name} bars do not tile {to.name} bars; choose a coarser target", to.name)
    if df.height == 0:
        return df
    has_quote = "quote_volume" in df.columns and df["quote_volume"].null_count() < df.height
    has_count = "trades_count" in df.columns and df["trades_count"].null_count() < df.height
    aggs = [
        pl.col("open").first(),
        pl.col("high").max(),
        pl.col("low").min(),
        pl.col("close").last(),
        pl.col("volume").sum(),
        (pl.col("quote_volume").sum() if has_quote else pl.lit(None, dtype=pl.Float64)).alias("quote_volume"),
        (pl.col("trades_count").sum() if has_count else pl.lit(None, dtype=pl.Int64)).alias("trades_count"),
    ]

    def one(part: pl.DataFrame) -> pl.DataFrame:
        part = _sorted(part, "bars")
        bars = part.group_by_dynamic("time", **_windows(to)).agg(aggs)  # type: ignore[arg-type]
        idents = [pl.lit(part[c][0], dtype=pl.String).alias(c) for c in ("symbol", "exchange") if c in part.columns]
        return bars.with_columns(*idents, pl.lit(to.name, dtype=pl.String).alias("timeframe"))

    result = pl.concat(_map_series(one, _split_series(df)))
    order: list[str] = [c for c in ("time", "symbol", "exchange", "timeframe") if c in result.columns]
    return result.select([*order, "open", "high", "low", "close", "volume", "quote_volume", "trades_count"])


def trades_to_bars(df: pl.DataFrame, timeframe: str | Timeframe) -> pl.DataFrame:
    """Trade prints → OHLCV bars: first/max/min/last price, summed quantity and notional, number of prints."""
    import polars as pl

    tf = parse_timeframe(timeframe)
    aggs = [
        pl.col("price").first().alias("open"),
        pl.col("price").max().alias("high"),
        pl.col("price").min().alias("low"),
        pl.col("price").last().alias("close"),
        pl.col("quantity").sum().alias("volume"),
        (pl.col("price") * pl.col("quantity")).sum().alias("quote_volume"),
        pl.len().cast(pl.Int64).alias("trades_count"),
    ]
    if df.height == 0:
        raise ValidationError("trades", "holds no rows", None)

    def one(part: pl.DataFrame) -> pl.DataFrame:
        part = _sorted(part, "trades")
        bars = part.group_by_dynamic("time", **_windows(tf)).agg(aggs)  # type: ignore[arg-type]
        idents = [pl.lit(part[c][0], dtype=pl.String).alias(c) for c in ("symbol", "exchange") if c in part.columns]
        return bars.with_columns(*idents, pl.lit(tf.name, dtype=pl.String).alias("timeframe"))

    result = pl.concat(_map_series(one, _split_series(df)))
    order = [c for c in ("time", "symbol", "exchange", "timeframe") if c in result.columns]
    return result.select([*order, "open", "high", "low", "close", "volume", "quote_volume", "trades_count"])


__all__ = ["resample_bars", "trades_to_bars"]
