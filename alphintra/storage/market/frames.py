"""Bring frames to the store's exact schema, and the two vectorised primitives every write uses.

``normalize_*`` checks what would corrupt the store (missing columns, nulls, times off the timeframe grid) and
raises a ValidationError naming the column, the row and the rule. Data-quality findings that real data does have
(a high below the close, a gap) are not errors here; ``validate`` reports them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from alphintra.errors import ValidationError

from .schema import TRADE_SIDES, book_schema, check_exchange, check_symbol, ohlcv_schema, trade_schema
from .timeframes import NS_PER_DAY, WEEK_ORIGIN_NS, Timeframe

if TYPE_CHECKING:
    import numpy as np
    import polars as pl


def time_to_utc_ns(df: pl.DataFrame, column: str = "time", *, source: str = "frame") -> pl.DataFrame:
    """Cast the time column to ``Datetime(ns, UTC)``; naive datetimes are taken as UTC, integers as ns."""
    import polars as pl

    if column not in df.columns:
        raise ValidationError(f"{source}: column {column!r}", "is required", None)
    dtype = df.schema[column]
    if isinstance(dtype, pl.Datetime):
        expr = pl.col(column)
        if dtype.time_zone is None:
            expr = expr.dt.replace_time_zone("UTC")
        elif dtype.time_zone != "UTC":
            expr = expr.dt.convert_time_zone("UTC")
        expr = expr.dt.cast_time_unit("ns")
    elif isinstance(dtype, pl.Date):
        expr = pl.col(column).cast(pl.Datetime("ns")).dt.replace_time_zone("UTC")
    elif dtype.is_integer():
        expr = pl.col(column).cast(pl.Int64).cast(pl.Datetime("ns")).dt.replace_time_zone("UTC")
    else:
        raise ValidationError(f"{source}: column {column!r}", "must hold datetimes or integer nanoseconds", str(dtype))
    return df.with_columns(expr.alias(column))


def first_true(mask: pl.Series) -> int | None:
    """Index of the first True (nulls count as False), or None."""
    if not mask.any():  # the common case, and far cheaper than collecting the indices of the hits
        return None
    hits = mask.fill_null(False).arg_true()
    return int(hits[0]) if len(hits) else None


def misaligned_mask(times: pl.Expr, tf: Timeframe) -> pl.Expr:
    import polars as pl

    if tf.months:
        return times.dt.truncate(tf.polars_every) != times
    origin = WEEK_ORIGIN_NS if tf.nanos % (7 * NS_PER_DAY) == 0 else 0
    return ((times.dt.epoch("ns") - pl.lit(origin)) % pl.lit(tf.nanos)) != 0


def _require(df: pl.DataFrame, columns: tuple[str, ...], source: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValidationError(
            f"{source}: column {missing[0]!r}", "is required", None, reason=f"columns present: {df.columns}"
        )


def _no_nulls(df: pl.DataFrame, columns: tuple[str, ...], source: str, row_offset: int, row_label: str) -> None:
    for col in columns:
        if df[col].null_count():
            row = first_true(df[col].is_null())
            raise ValidationError(
                f"{source}: {row_label} {(row or 0) + row_offset} column {col!r}", "must not be empty", None
            )


def _constant_column(df: pl.DataFrame, name: str, value: str | None, source: str) -> pl.DataFrame:
    import polars as pl

    if name in df.columns:
        col = df[name]
        # min == max without nulls says "one value" without hashing every string (``unique`` cost ~7 ms per
        # million rows per column, ~0.2 s of a 10M-row ingest); polars answers it from flags for columns built
        # from a literal, and with one scan otherwise.
        single = len(col) > 0 and col.null_count() == 0 and col.min() == col.max()
        only = col[0] if single else None
        if value is None:
            if not single:
                present = col.unique().to_list()
                raise ValidationError(f"{source}: column {name!r}", "must hold exactly one value per write", present)
            checker = check_symbol if name == "symbol" else check_exchange if name == "exchange" else str
            checker(str(only))
            return df.with_columns(pl.col(name).cast(pl.String))
        if not single or only != value:
            present = col.unique().to_list()
            raise ValidationError(f"{source}: column {name!r}", f"must equal {value!r} throughout", present[:3])
        return df.with_columns(pl.col(name).cast(pl.String))
    if value is None:
        raise ValidationError(name, "is required", None)
    return df.with_columns(pl.lit(value, dtype=pl.String).alias(name))


def normalize_ohlcv(
    df: pl.DataFrame,
    *,
    symbol: str | None,
    exchange: str | None,
    timeframe: Timeframe,
    source: str = "frame",
    row_offset: int = 1,
    row_label: str = "row",
) -> pl.DataFrame:
    """The store's OHLCV schema and column order; one symbol, exchange and timeframe per frame."""
    import polars as pl

    _require(df, ("time", "open", "high", "low", "close", "volume"), source)
    df = time_to_utc_ns(df, source=source)
    df = _constant_column(df, "symbol", check_symbol(symbol) if symbol else None, source)
    df = _constant_column(df, "exchange", check_exchange(exchange) if exchange else None, source)
    df = _constant_column(df, "timeframe", timeframe.name, source)
    schema = ohlcv_schema()
    casts = []
    for name in ("open", "high", "low", "close", "volume", "quote_volume", "trades_count"):
        if name in df.columns:
            casts.append(pl.col(name).cast(schema[name], strict=False))
        else:
            casts.append(pl.lit(None, dtype=schema[name]).alias(name))
    casted = df.with_columns(casts)
    for name in ("open", "high", "low", "close", "volume", "quote_volume", "trades_count"):
        # A cast to the column's own type cannot fail, so only converted columns are searched for failures.
        if name in df.columns and df.schema[name] != schema[name]:
            bad = casted[name].is_null() & df[name].is_not_null()
            row = first_true(bad)
            if row is not None:
                raise ValidationError(
                    f"{source}: {row_label} {row + row_offset} column {name!r}", "must be a number", df[name][row]
                )
    _no_nulls(casted, ("time", "open", "high", "low", "close", "volume"), source, row_offset, row_label)
    row = first_true(casted.select(misaligned_mask(pl.col("time"), timeframe)).to_series())
    if row is not None:
        raise ValidationError(
            f"{source}: {row_label} {row + row_offset} column 'time'",
            f"must fall on the start of a {timeframe.name} bar (UTC); import with snap to align it",
            str(casted["time"][row]),
        )
    return casted.select(list(schema))


def normalize_trades(
    df: pl.DataFrame,
    *,
    symbol: str | None,
    exchange: str | None,
    source: str = "frame",
    row_offset: int = 1,
    row_label: str = "row",
) -> pl.DataFrame:
    import polars as pl

    _require(df, ("time", "price", "quantity"), source)
    df = time_to_utc_ns(df, source=source)
    df = _constant_column(df, "symbol", check_symbol(symbol) if symbol else None, source)
    df = _constant_column(df, "exchange", check_exchange(exchange) if exchange else None, source)
    schema = trade_schema()
    if "trade_id" not in df.columns:
        # Without venue ids a print is identified by its position in the batch, which keeps re-imports idempotent
        # only for identical files; venues that give ids get exact de-duplication.
        df = df.with_columns(pl.int_range(pl.len()).cast(pl.String).alias("trade_id"))
    if "side" not in df.columns:
        df = df.with_columns(pl.lit(None, dtype=pl.String).alias("side"))
    casted = df.with_columns(
        pl.col("price").cast(pl.Float64, strict=False),
        pl.col("quantity").cast(pl.Float64, strict=False),
        pl.col("side").cast(pl.String).str.to_lowercase(),
        pl.col("trade_id").cast(pl.String),
    )
    for name in ("price", "quantity"):
        row = first_true(casted[name].is_null() & df[name].is_not_null())
        if row is not None:
            raise ValidationError(
                f"{source}: {row_label} {row + row_offset} column {name!r}", "must be a number", df[name][row]
            )
    _no_nulls(casted, ("time", "price", "quantity", "trade_id"), source, row_offset, row_label)
    row = first_true(casted["side"].is_not_null() & ~casted["side"].is_in(list(TRADE_SIDES)))
    if row is not None:
        raise ValidationError(
            f"{source}: {row_label} {row + row_offset} column 'side'", "must be buy or sell", df["side"][row]
        )
    return casted.select(list(schema))


def normalize_book(
    df: pl.DataFrame,
    *,
    symbol: str | None,
    exchange: str | None,
    source: str = "frame",
    row_offset: int = 1,
    row_label: str = "row",
) -> pl.DataFrame:
    """Book snapshots: ``bids``/``asks`` are lists of ``{price, quantity}`` (or ``[price, quantity]`` pairs)."""
    import polars as pl

    _require(df, ("time", "bids", "asks"), source)
    df = time_to_utc_ns(df, source=source)
    df = _constant_column(df, "symbol", check_symbol(symbol) if symbol else None, source)
    df = _constant_column(df, "exchange", check_exchange(exchange) if exchange else None, source)
    schema = book_schema()
    cols = []
    for side in ("bids", "asks"):
        dtype = df.schema[side]
        if isinstance(dtype, pl.List) and isinstance(dtype.inner, pl.List | pl.Array):
            expr = pl.col(side).list.eval(
                pl.struct(
                    pl.element().list.get(0).cast(pl.Float64).alias("price"),
                    pl.element().list.get(1).cast(pl.Float64).alias("quantity"),
                )
            )
        else:
            expr = pl.col(side).cast(schema[side])
        cols.append(expr.alias(side))
    out = df.with_columns(cols)
    _no_nulls(out, ("time", "bids", "asks"), source, row_offset, row_label)
    return out.select(list(schema))


def sort_dedupe(df: pl.DataFrame, keys: tuple[str, ...]) -> tuple[pl.DataFrame, int]:
    """Sort by ``keys`` keeping input order among equals, then keep the last row of each key (later data wins).

    Returns the frame and the number of rows dropped. Sorted input skips the sort.
    """
    import polars as pl

    if df.height < 2:
        return df, 0
    if len(keys) == 1 and strictly_increasing(df[keys[0]].to_physical().to_numpy()):
        return df, 0
    df = df.sort(list(keys), maintain_order=True)
    same_as_next = pl.all_horizontal([pl.col(k) == pl.col(k).shift(-1) for k in keys]).fill_null(False)
    out = df.filter(~same_as_next)
    return out, df.height - out.height


# Above this many runs the probing below costs more than one scan, and the general path is taken.
_MAX_PROBED_RUNS = 256

# Rows per block of the order checks: a block's temporaries stay in L2 cache instead of full-length arrays
# written to and read back from memory, so a check costs about one read of the column.
CHECK_BLOCK = 131_072


def strictly_increasing(values: np.ndarray) -> bool:
    """Whether every value is greater than the one before (NaN compares false, so it counts as unordered)."""
    for start in range(0, len(values) - 1, CHECK_BLOCK):
        block = values[start : start + CHECK_BLOCK + 1]
        if not bool((block[1:] > block[:-1]).all()):
            return False
    return True


def split_runs(df: pl.DataFrame, column: str) -> list[pl.DataFrame]:
    """One frame per value of ``column``. Contiguous runs (the usual layout) are zero-copy slices."""
    if column not in df.columns or df.height == 0:
        return [df]
    col = df[column]
    bounds = _probe_runs(col)
    if bounds is not None:
        return [df.slice(start, stop - start) for start, stop in bounds]
    runs = col.rle()
    if runs.struct.field("value").n_unique() != len(runs):
        return df.partition_by(column, maintain_order=True)
    out, offset = [], 0
    for length in runs.struct.field("len").to_list():
        out.append(df.slice(offset, length))
        offset += length
    return out


def _probe_runs(col: pl.Series) -> list[tuple[int, int]] | None:
    """(start, stop) of every run when each value forms one contiguous run, else None.

    Comparing every row (``rle``) costs ~25 ms per 10M strings, most of a resample's budget; the layout the store
    and the generators produce (one block per series) is found instead by galloping and bisecting from each run's
    first row, O(runs · log n) scalar probes. The probes alone could jump over a stray row, so each run is then
    confirmed by its min and max being equal, which polars answers from its sortedness flags without a scan when
    the column was built from a literal (the reader's and generators' identity columns), and with one scan if not.
    """
    if col.null_count():
        return None
    n = len(col)
    bounds: list[tuple[int, int]] = []
    seen: set[object] = set()
    start = 0
    while start < n:
        value = col[start]
        if value in seen or len(bounds) >= _MAX_PROBED_RUNS:
            return None  # not one block per value: the general path decides
        seen.add(value)
        lo, step = start, 1
        while lo + step < n and col[lo + step] == value:
            lo += step
            step *= 2
        hi = min(lo + step, n)
        while hi - lo > 1:  # col[lo] == value, col[hi] != value (or hi == n)
            mid = (lo + hi) // 2
            if col[mid] == value:
                lo = mid
            else:
                hi = mid
        bounds.append((start, hi))
        start = hi
    for begin, stop in bounds:
        piece = col.slice(begin, stop - begin)
        if piece.min() != piece.max():
            return None
    return bounds


__all__ = [
    "CHECK_BLOCK",
    "first_true",
    "misaligned_mask",
    "normalize_book",
    "normalize_ohlcv",
    "normalize_trades",
    "sort_dedupe",
    "split_runs",
    "strictly_increasing",
    "time_to_utc_ns",
]
