"""Reading CSV and Parquet files into the store's columns: column names matched case-insensitively, the timestamp
column and its format detected.

Every error names the file, the line (CSV, counting the header as line 1) or row (Parquet, from 1), the column and
the rule. Nothing is written until the whole file has been read and checked, and the write itself is atomic.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from alphintra.errors import ValidationError

from .frames import first_true, normalize_ohlcv, normalize_trades
from .schema import Kind
from .timeframes import WEEK_ORIGIN_NS, Timeframe, parse_timeframe
from .validate import ValidationReport, validate_bars

if TYPE_CHECKING:
    import polars as pl

    from .store import MarketStore, WriteResult

# Canonical column → accepted spellings (compared lower-cased, with spaces and dashes as underscores).
ALIASES: dict[str, tuple[str, ...]] = {
    "time": ("time", "timestamp", "datetime", "date", "date_time", "ts", "open_time", "opentime", "", "unnamed:_0"),
    "open": ("open", "o", "open_price"),
    "high": ("high", "h", "high_price"),
    "low": ("low", "l", "low_price"),
    "close": ("close", "c", "close_price"),
    "volume": ("volume", "vol", "v", "base_volume"),
    "quote_volume": ("quote_volume", "quotevolume", "quote_asset_volume", "turnover"),
    "trades_count": ("trades_count", "trades", "number_of_trades", "num_trades", "count"),
    "price": ("price", "p"),
    "quantity": ("quantity", "qty", "amount", "size"),
    "side": ("side", "taker_side"),
    "trade_id": ("trade_id", "id", "tradeid"),
}
KIND_COLUMNS: dict[Kind, tuple[str, ...]] = {
    Kind.OHLCV: ("time", "open", "high", "low", "close", "volume", "quote_volume", "trades_count"),
    Kind.TRADES: ("time", "price", "quantity", "side", "trade_id"),
}

# Tried in order on a sample; the first that reads every sampled value wins. Day-first and month-first forms
# are both tried; when both read everything the file is ambiguous and the user must say which.
TIME_FORMATS: tuple[str, ...] = (
    "%Y-%m-%d",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d %H:%M:%S%z",
    "%Y-%m-%d %H:%M:%S%.f%z",
    "%Y-%m-%dT%H:%M:%S%z",
    "%Y-%m-%dT%H:%M:%S%.f%z",
    "%Y/%m/%d",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y%m%d",
    "%Y%m%d %H:%M:%S",
    "%d.%m.%Y",
    "%d.%m.%Y %H:%M:%S",
    "%d.%m.%Y %H:%M",
    "%m/%d/%Y",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M",
    "%d/%m/%Y",
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M",
)
_NUMERIC = re.compile(r"^\s*-?\d+(\.\d+)?\s*$")
_SAMPLE = 2_000


@dataclass(slots=True)
class RawFile:
    """A file read into canonical column names with ``time`` parsed to UTC, in the file's own row order."""

    frame: pl.DataFrame
    source: str
    row_offset: int  # add to a 0-based index to get the number shown to the user
    row_label: str  # "line" for CSV, "row" for Parquet
    time_format: str

    def where(self, index: int) -> str:
        return f"{self.source}: {self.row_label} {index + self.row_offset}"


def canonical_columns(columns: list[str], kind: Kind, source: str) -> dict[str, str]:
    """Map the file's column names to canonical ones; two columns meaning the same thing is an error."""
    wanted = KIND_COLUMNS[kind]
    found: dict[str, str] = {}
    for original in columns:
        norm = re.sub(r"[\s\-]+", "_", original.strip().lower())
        for canon in wanted:
            if norm in ALIASES[canon]:
                if canon in found:
                    # Several candidates for the time column (e.g. "date" and "time"): the earlier alias wins.
                    if canon == "time" and ALIASES["time"].index(norm) < ALIASES["time"].index(
                        re.sub(r"[\s\-]+", "_", found[canon].strip().lower())
                    ):
                        found[canon] = original
                        break
                    if canon == "time":
                        break
                    raise ValidationError(
                        f"{source}: columns {found[canon]!r} and {original!r}", f"both mean {canon}", None
                    )
                found[canon] = original
                break
    if "time" not in found:
        raise ValidationError(
            f"{source}: timestamp column",
            "is required (one of: time, timestamp, datetime, date, or an unnamed first column)",
            None,
            reason=f"columns present: {columns}",
        )
    return found


def _detect_csv_separator(first_line: str) -> str:
    counts = {sep: first_line.count(sep) for sep in (",", ";", "\t", "|")}
    return max(counts, key=lambda k: counts[k]) if max(counts.values()) else ","


# Columns a CSV read parses as numbers straight away; integers (trade counts) are left to the checks.
_FLOAT_COLUMNS = frozenset({"open", "high", "low", "close", "volume", "quote_volume", "price", "quantity"})


def read_table(path: Path, kind: Kind | None = None) -> tuple[pl.DataFrame, int, str]:
    """The file's rows, plus row offset and label for messages: Parquet typed; CSV with ``kind``'s price and
    volume columns as floats when every value reads as one, else as strings (so the checks can name the line)."""
    import polars as pl

    source = str(path)
    if not path.exists():
        raise ValidationError(source, "file does not exist", None)
    if path.is_dir():
        raise ValidationError(source, "is a directory, expected a .csv or .parquet file", None)
    if path.stat().st_size == 0:
        raise ValidationError(source, "file is empty", None)
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        try:
            return pl.read_parquet(path), 1, "row"
        except pl.exceptions.PolarsError as exc:
            raise ValidationError(source, "is not a readable Parquet file", None, reason=str(exc)) from exc
    with path.open("r", encoding="utf-8", errors="replace") as fh:
        first = fh.readline()
    separator = _detect_csv_separator(first)
    floats = _float_columns(path, separator, kind) if kind is not None else {}
    if floats:
        # The CSV reader parses numbers on all cores while it reads; a value it cannot parse sends the file down
        # the text path below, whose checks report the line.
        with contextlib.suppress(pl.exceptions.PolarsError):
            typed = pl.read_csv(
                path, infer_schema=False, schema_overrides=floats, separator=separator, truncate_ragged_lines=False
            )
            return typed, 2, "line"
    try:
        df = pl.read_csv(path, infer_schema=False, separator=separator, truncate_ragged_lines=False)
    except pl.exceptions.NoDataError as exc:
        raise ValidationError(source, "file is empty", None) from exc
    except pl.exceptions.PolarsError as exc:
        raise ValidationError(source, "is not a readable CSV file", None, reason=str(exc).splitlines()[0]) from exc
    return df, 2, "line"


def _float_columns(path: Path, separator: str, kind: Kind) -> dict[str, pl.DataType]:
    """The file's columns that mean a price or volume of ``kind``, by their names in the header."""
    import polars as pl

    try:
        header = pl.read_csv(path, n_rows=0, infer_schema=False, separator=separator).columns
        mapping = canonical_columns(header, kind, str(path))
    except (pl.exceptions.PolarsError, ValidationError):
        return {}  # the full read reports what is wrong
    return {original: pl.Float64() for canon, original in mapping.items() if canon in _FLOAT_COLUMNS}


def parse_times(
    values: pl.Series, *, source: str, column: str, row_offset: int, row_label: str, tz: str, fmt: str | None
) -> tuple[pl.Series, str]:
    """Parse a timestamp column to ``Datetime(ns, UTC)``: epoch numbers by magnitude, text by trying formats."""
    import polars as pl

    where = f"{source}: column {column!r}"
    if isinstance(values.dtype, pl.Datetime | pl.Date) or values.dtype.is_integer() or values.dtype.is_float():
        if isinstance(values.dtype, pl.Datetime | pl.Date):
            out = values.cast(
                pl.Datetime("ns", values.dtype.time_zone if isinstance(values.dtype, pl.Datetime) else None)
            )
            if out.dtype.time_zone is None:  # type: ignore[attr-defined]
                out = out.dt.replace_time_zone(tz, ambiguous="earliest", non_existent="null")
            return out.dt.convert_time_zone("UTC"), "native"
        values = values.cast(pl.String)
    text = values.cast(pl.String).str.strip_chars()
    row = first_true(text.is_null() | (text == ""))
    if row is not None:
        raise ValidationError(f"{source}: {row_label} {row + row_offset} column {column!r}", "timestamp is empty", None)
    if bool(text.str.ends_with("Z").any()):  # a tenth of the cost of the replacement on files without a Z
        text = text.str.replace(r"Z$", "+00:00")
    sample = text.head(_SAMPLE)
    if (
        fmt is None
        and bool(sample.str.contains(r"^\s*-?\d+(\.\d+)?\s*$").all())
        and not _looks_like_compact_date(sample)
    ):
        return _parse_epoch(text, where=where, source=source, column=column, row_offset=row_offset, row_label=row_label)
    if fmt is None:
        fmt = _detect_format(sample, where)
    # No cache: bar times are nearly all distinct, and the cache halved the parse speed.
    parsed = text.str.to_datetime(fmt, strict=False, time_unit="ns", cache=False)
    row = first_true(parsed.is_null())
    if row is not None:
        raise ValidationError(
            f"{source}: {row_label} {row + row_offset} column {column!r}",
            f"timestamp does not match the format {fmt}",
            values[row],
        )
    if parsed.dtype.time_zone is None:  # type: ignore[attr-defined]
        parsed = parsed.dt.replace_time_zone(tz, ambiguous="earliest", non_existent="null")
        row = first_true(parsed.is_null())
        if row is not None:
            raise ValidationError(
                f"{source}: {row_label} {row + row_offset} column {column!r}",
                f"time does not exist in {tz}",
                values[row],
            )
    return parsed.dt.convert_time_zone("UTC"), fmt


def _looks_like_compact_date(sample: pl.Series) -> bool:
    """20240131 is a date, not 20 million seconds after the epoch."""
    return bool(sample.str.contains(r"^(19|20)\d{2}(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])$").all())


def _parse_epoch(
    text: pl.Series, *, where: str, source: str, column: str, row_offset: int, row_label: str
) -> tuple[pl.Series, str]:
    import polars as pl

    numbers = text.cast(pl.Float64, strict=False)
    row = first_true(numbers.is_null())
    if row is not None:
        raise ValidationError(
            f"{source}: {row_label} {row + row_offset} column {column!r}", "must be a number", text[row]
        )
    magnitude = float(numbers.abs().max() or 0)  # type: ignore[arg-type]
    # Unit by magnitude of the largest value: seconds up to year 5138, then ms, us and ns.
    units = ((1e11, 1_000_000_000, "epoch-s"), (1e14, 1_000_000, "epoch-ms"), (1e17, 1_000, "epoch-us"))
    scale, unit = next(((s, u) for limit, s, u in units if magnitude < limit), (1, "epoch-ns"))
    ints = text.cast(pl.Int64, strict=False) if scale == 1 else (numbers * scale).round(0).cast(pl.Int64)
    return ints.cast(pl.Datetime("ns")).dt.replace_time_zone("UTC"), unit


def _detect_format(sample: pl.Series, where: str) -> str:
    best: tuple[int, str] | None = None
    fits = []
    for fmt in TIME_FORMATS:
        parsed = sample.str.to_datetime(fmt, strict=False, time_unit="ns")
        ok = len(sample) - parsed.null_count()
        if ok == len(sample):
            fits.append(fmt)
        if best is None or ok > best[0]:
            best = (ok, fmt)
    if fits:
        first = fits[0]
        swapped = {"%m/%d/%Y": "%d/%m/%Y", "%d/%m/%Y": "%m/%d/%Y"}
        for a, b in swapped.items():
            if first.startswith(a) and first.replace(a, b) in fits:
                raise ValidationError(
                    where, "timestamps are ambiguous (day-first or month-first); pass a time format", sample[0]
                )
        return first
    if best is None or best[0] == 0:
        raise ValidationError(where, "no known timestamp format matches; pass a time format", sample[0])
    return best[1]


def load_file(
    path: Path,
    kind: Kind = Kind.OHLCV,
    *,
    tz: str = "UTC",
    time_format: str | None = None,
) -> RawFile:
    """Read a CSV or Parquet file into canonical columns with parsed UTC times, keeping the file's row order."""
    import polars as pl

    source = str(path)
    df, offset, label = read_table(path, kind)
    if df.height == 0:
        raise ValidationError(source, "has a header but no data rows", None)
    mapping = canonical_columns(df.columns, kind, source)
    df = df.select([pl.col(orig).alias(canon) for canon, orig in mapping.items()])
    times, fmt = parse_times(
        df["time"], source=source, column=mapping["time"], row_offset=offset, row_label=label, tz=tz, fmt=time_format
    )
    return RawFile(df.with_columns(times.alias("time")), source, offset, label, fmt)


def snap_times(raw: RawFile, tf: Timeframe) -> RawFile:
    """Move each time to the start of its bar (e.g. month-end dates of monthly bars to the 1st of the month).

    Two rows landing in one bar means the file is finer than the timeframe; that is an error, not a silent merge.
    """
    import polars as pl

    t = pl.col("time")
    if tf.months:
        snapped = t.dt.truncate(tf.polars_every)
    else:
        origin = WEEK_ORIGIN_NS if tf.nanos % (7 * 86_400_000_000_000) == 0 else 0
        ns = t.dt.epoch("ns")
        snapped = ((ns - origin) // tf.nanos * tf.nanos + origin).cast(pl.Datetime("ns")).dt.replace_time_zone("UTC")
    df = raw.frame.with_columns(snapped.alias("time"))
    clash = df["time"].is_duplicated() & ~raw.frame["time"].is_duplicated()
    row = first_true(clash)
    if row is not None:
        raise ValidationError(
            f"{raw.where(row)} column 'time'",
            f"falls in the same {tf.name} bar as another row; resample finer data instead of snapping it",
            str(raw.frame["time"][row]),
        )
    return RawFile(df, raw.source, raw.row_offset, raw.row_label, raw.time_format)


def import_file(
    store: MarketStore,
    path: Path,
    *,
    symbol: str,
    exchange: str,
    timeframe: str | None = None,
    kind: Kind = Kind.OHLCV,
    tz: str = "UTC",
    time_format: str | None = None,
    snap: bool = False,
    progress: Callable[[int], None] | None = None,
    strict: bool = False,
    weekdays: bool = False,
    findings: Callable[[ValidationReport], None] | None = None,
) -> list[WriteResult]:
    """Import one file into the store. Re-importing it (or an overlapping file) leaves one row per key.

    Bars are checked as ``data validate`` checks them (``validate_bars``: duplicates, gaps, high/low not
    bounding open and close, non-positive prices, outliers...; ``weekdays`` as there) before anything is written:
    ``findings`` is given the report when there are any, and ``strict`` refuses the file instead (nothing is
    written). Rows that cannot be stored at all (a missing or unreadable value, a misaligned time) are refused
    either way."""
    tf = None
    if kind is Kind.OHLCV:
        if timeframe is None:
            raise ValidationError("timeframe", "is required for OHLCV imports", None)
        tf = parse_timeframe(timeframe)  # cheap arguments are checked before the file is read
    raw = load_file(Path(path), kind, tz=tz, time_format=time_format)
    if tf is not None:
        if snap:
            raw = snap_times(raw, tf)
        frame = _with_locations(raw, tf)
        if strict or findings is not None:
            _check_bars(frame, raw, tf, strict=strict, weekdays=weekdays, findings=findings)
        return store.write_bars(
            frame, timeframe=tf, symbol=symbol, exchange=exchange, source=raw.source, progress=progress
        )
    if kind is Kind.TRADES:
        norm = normalize_trades(
            raw.frame,
            symbol=symbol,
            exchange=exchange,
            source=raw.source,
            row_offset=raw.row_offset,
            row_label=raw.row_label,
        )
        return store.write_trades(norm, symbol=symbol, exchange=exchange, source=raw.source, progress=progress)
    raise ValidationError("kind", "must be ohlcv or trades for file imports", kind.value)


def _check_bars(
    frame: pl.DataFrame,
    raw: RawFile,
    tf: Timeframe,
    *,
    strict: bool,
    weekdays: bool,
    findings: Callable[[ValidationReport], None] | None,
) -> None:
    report = validate_bars(
        frame, tf, source=raw.source, row_offset=raw.row_offset, row_label=raw.row_label, weekdays=weekdays
    )
    if report.ok:
        return
    if strict:
        raise ValidationError(raw.source, f"strict import refuses {report.summary()}; nothing was imported")
    if findings is not None:
        findings(report)


def _with_locations(raw: RawFile, tf: Timeframe) -> pl.DataFrame:
    """Check values here, where file line numbers are still known, before the store sorts the rows."""
    import polars as pl

    norm = normalize_ohlcv(
        raw.frame.with_columns(pl.lit("X").alias("symbol"), pl.lit("X").alias("exchange")),
        symbol=None,
        exchange=None,
        timeframe=tf,
        source=raw.source,
        row_offset=raw.row_offset,
        row_label=raw.row_label,
    )
    return norm.drop("symbol", "exchange")


__all__ = [
    "ALIASES",
    "TIME_FORMATS",
    "RawFile",
    "canonical_columns",
    "import_file",
    "load_file",
    "parse_times",
    "read_table",
    "snap_times",
]
