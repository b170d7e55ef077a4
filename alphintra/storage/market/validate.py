"""Data-quality report for OHLCV bars, and the fixes a user may ask for.

Checks, each reported with the row it concerns (the file's line for CSV files, 1-based position otherwise):

* ``missing_value`` — an empty or unreadable open, high, low, close or volume;
* ``duplicate`` — a time already seen on an earlier row;
* ``non_monotonic`` — a time earlier than one on a previous row;
* ``misaligned`` — a time that is not the start of a bar of the timeframe;
* ``gap`` — missing bars between two consecutive times (weekends skipped with ``weekdays=True``);
* ``high_below_open_close`` / ``low_above_open_close`` — the high (low) does not bound the open and close;
* ``non_positive_price`` and ``negative_volume``;
* ``outlier`` — a close-to-close log return whose robust z-score (median and MAD) exceeds the threshold.

Everything is computed with polars expressions over the whole frame.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from alphintra.errors import ValidationError

from .frames import misaligned_mask
from .timeframes import NS_PER_DAY, Timeframe, parse_timeframe

if TYPE_CHECKING:
    import polars as pl

CHECKS = (
    "missing_value",
    "duplicate",
    "non_monotonic",
    "misaligned",
    "gap",
    "high_below_open_close",
    "low_above_open_close",
    "non_positive_price",
    "negative_volume",
    "outlier",
)
# 0.6745 is the 75th percentile of the standard normal: it makes the MAD comparable to a standard deviation.
_MAD_SCALE = 0.6745


@dataclass(frozen=True, slots=True)
class Finding:
    check: str
    row: int | None  # user-facing number (file line or 1-based row); None when the finding is not one row
    time: datetime | None
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return {"check": self.check, "row": self.row, "time": self.time, "detail": self.detail}


@dataclass(slots=True)
class ValidationReport:
    source: str
    timeframe: str
    rows: int
    row_label: str = "row"
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings

    def counts(self) -> dict[str, int]:
        c = Counter(f.check for f in self.findings)
        return {check: c.get(check, 0) for check in CHECKS}

    def of(self, check: str) -> list[Finding]:
        return [f for f in self.findings if f.check == check]

    def summary(self) -> str:
        """One line for a warning: the count per check and the first finding, e.g. ``2 findings (duplicate 1,
        high_below_open_close 1); first: line 3 high_below_open_close: high 9 < max(open 10, close 10)``."""
        counts = ", ".join(f"{check} {n}" for check, n in self.counts().items() if n)
        first = self.findings[0]
        where = "" if first.row is None else f"{self.row_label} {first.row} "
        plural = "" if len(self.findings) == 1 else "s"
        return f"{len(self.findings)} finding{plural} ({counts}); first: {where}{first.check}: {first.detail}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "timeframe": self.timeframe,
            "rows": self.rows,
            "row_label": self.row_label,
            "ok": self.ok,
            "counts": self.counts(),
            "findings": [f.to_dict() for f in self.findings],
        }


def validate_bars(
    df: pl.DataFrame,
    timeframe: str | Timeframe,
    *,
    source: str = "frame",
    row_offset: int = 1,
    row_label: str = "row",
    z_threshold: float = 8.0,
    weekdays: bool = False,
    calendar: str | None = None,
) -> ValidationReport:
    """Run every check over ``df`` (columns time, open, high, low, close, volume; rows in their original order).

    With an exchange ``calendar`` (XNYS ...) only bars that fall in its sessions can be missing: weekends,
    holidays and, for intraday bars, the hours the exchange is closed are not gaps."""
    import polars as pl

    tf = parse_timeframe(timeframe)
    report = ValidationReport(source, tf.name, df.height, row_label)
    if df.height == 0:
        return report
    d = df.select("time", "open", "high", "low", "close", "volume").with_row_index("_i")
    t = pl.col("time")
    first_row = d.group_by("time").agg(pl.col("_i").min().alias("_first"))
    flagged = d.join(first_row, on="time", how="left").with_columns(
        (pl.col("_i") != pl.col("_first")).alias("duplicate"),
        (t < t.cum_max().shift(1)).fill_null(False).alias("non_monotonic"),
        misaligned_mask(t, tf).alias("misaligned"),
        (pl.col("high") < pl.max_horizontal("open", "close")).alias("high_below_open_close"),
        (pl.col("low") > pl.min_horizontal("open", "close")).alias("low_above_open_close"),
        (pl.min_horizontal("open", "high", "low", "close") <= 0).alias("non_positive_price"),
        (pl.col("volume") < 0).alias("negative_volume"),
        pl.any_horizontal(pl.col("open", "high", "low", "close", "volume").is_null()).alias("missing_value"),
    )
    findings: list[tuple[int, int, Finding]] = []

    # Findings are few next to the rows, so their text is built per finding; the detection above is vectorised.
    def add(check: str, rows: pl.DataFrame, text: Callable[[dict[str, Any]], str]) -> None:
        for rec in rows.iter_rows(named=True):
            i = rec["_i"]
            findings.append((CHECKS.index(check), i, Finding(check, i + row_offset, rec["time"], text(rec))))

    add("missing_value", flagged.filter("missing_value"), lambda r: "open, high, low, close or volume is empty")
    add("duplicate", flagged.filter("duplicate"), lambda r: f"same time as {row_label} {r['_first'] + row_offset}")
    add("non_monotonic", flagged.filter("non_monotonic"), lambda r: "earlier than a previous row")
    add("misaligned", flagged.filter("misaligned"), lambda r: f"not the start of a {tf.name} bar")
    add(
        "high_below_open_close",
        flagged.filter("high_below_open_close"),
        lambda r: f"high {r['high']:g} < max(open {r['open']:g}, close {r['close']:g})",
    )
    add(
        "low_above_open_close",
        flagged.filter("low_above_open_close"),
        lambda r: f"low {r['low']:g} > min(open {r['open']:g}, close {r['close']:g})",
    )
    add(
        "non_positive_price",
        flagged.filter("non_positive_price"),
        lambda r: f"open {r['open']:g} high {r['high']:g} low {r['low']:g} close {r['close']:g}",
    )
    add("negative_volume", flagged.filter("negative_volume"), lambda r: f"volume {r['volume']:g}")

    # Gaps and returns are about the series in time order, one row per time (the last of duplicates).
    series = d.sort("time", maintain_order=True).unique("time", keep="last", maintain_order=True)
    add(
        "gap",
        _gaps(series, tf, weekdays, calendar),
        lambda r: f"{r['_missing']} missing {tf.name} bar(s) from {r['time']}",
    )
    valid_close = pl.col("close") > 0
    returns = series.filter(valid_close).with_columns((pl.col("close") / pl.col("close").shift(1)).log().alias("r"))
    r = returns["r"].drop_nulls()
    if r.len() > 2:
        med = float(r.median())  # type: ignore[arg-type]
        mad = float((r - med).abs().median())  # type: ignore[arg-type]
        if mad > 0:
            z = _MAD_SCALE * (pl.col("r") - med) / mad
            outliers = returns.with_columns(z.alias("z")).filter(pl.col("z").abs() > z_threshold)
            add("outlier", outliers, lambda r: f"log return {r['r']:.5f}, robust z-score {r['z']:.1f}")
    findings.sort(key=lambda f: (f[1], f[0]))
    report.findings = [f for _, _, f in findings]
    return report


def _gaps(series: pl.DataFrame, tf: Timeframe, weekdays: bool, calendar: str | None = None) -> pl.DataFrame:
    """Rows ``(_i, time, _missing)``: ``_i`` is the row after the gap, ``time`` the first missing bar."""
    import polars as pl

    t = pl.col("time")
    if tf.months:
        index = t.dt.year().cast(pl.Int64) * 12 + t.dt.month().cast(pl.Int64)
        g = series.with_columns((index - index.shift(1)).alias("_steps"), t.shift(1).alias("_prev"))
        g = g.filter(pl.col("_steps") > tf.months).with_columns(
            ((pl.col("_steps") // tf.months) - 1).alias("_missing"),
            pl.col("_prev").dt.offset_by(tf.polars_every).alias("_from"),
        )
    else:
        step = pl.duration(nanoseconds=tf.nanos)
        g = series.with_columns(t.shift(1).alias("_prev"))
        g = g.filter((t - pl.col("_prev")) > step).with_columns(
            ((t - pl.col("_prev")).dt.total_nanoseconds() // tf.nanos - 1).alias("_missing"),
            (pl.col("_prev") + step).alias("_from"),
        )
        if calendar is not None and g.height:
            g = _session_missing(g, tf, calendar)
        elif weekdays and g.height:
            g = _weekday_missing(g, tf)
    g = g.filter(pl.col("_missing") > 0)
    return g.select("_i", pl.col("_from").alias("time"), "_missing")


def _recounted(g: pl.DataFrame, counted: pl.DataFrame) -> pl.DataFrame:
    """The gaps ``g`` with the bars ``counted`` per gap (``_i``: ``_n`` bars from ``_first``) as their missing ones."""
    import polars as pl

    return (
        g.join(counted, on="_i", how="left")
        .with_columns(pl.col("_n").fill_null(0).cast(pl.Int64).alias("_missing"), pl.col("_first").alias("_from"))
        .drop("_n", "_first")
    )


def _session_missing(g: pl.DataFrame, tf: Timeframe, calendar: str) -> pl.DataFrame:
    """Recount missing bars keeping only those that fall in a session of the exchange ``calendar``."""
    import polars as pl

    from alphintra.storage.market.calendars import in_session

    expected = pl.datetime_ranges(pl.col("_from"), pl.col("time"), interval=tf.polars_every, closed="left")
    times = g.select("_i", expected.alias("_t")).explode("_t")
    times = times.filter(in_session(times, "_t", calendar, tf.nanos))
    counted = times.group_by("_i", maintain_order=True).agg(pl.len().alias("_n"), pl.col("_t").min().alias("_first"))
    return _recounted(g, counted)


def _weekday_missing(g: pl.DataFrame, tf: Timeframe) -> pl.DataFrame:
    """Recount missing bars leaving out those that start on a Saturday or Sunday (UTC)."""
    import polars as pl

    if tf.nanos >= NS_PER_DAY:
        start = pl.col("_from").dt.date()
        end = pl.col("time").dt.date()
        missing = pl.business_day_count(start, end)
        return g.with_columns(
            missing.cast(pl.Int64).alias("_missing"),
            pl.col("_from").dt.add_business_days(0, roll="forward").alias("_from"),
        )
    expected = pl.datetime_ranges(pl.col("_from"), pl.col("time"), interval=tf.polars_every, closed="left")
    counted = (
        g.with_columns(expected.alias("_t"))
        .explode("_t")
        .filter(pl.col("_t").dt.weekday() <= 5)
        .group_by("_i", maintain_order=True)
        .agg(pl.len().alias("_n"), pl.col("_t").min().alias("_first"))
    )
    return _recounted(g, counted)


def validate_file(
    path: Path,
    timeframe: str | Timeframe,
    *,
    tz: str = "UTC",
    z_threshold: float = 8.0,
    weekdays: bool = False,
    calendar: str | None = None,
) -> tuple[ValidationReport, pl.DataFrame]:
    """Validate a CSV or Parquet file as it is (row order, duplicates and all); rows are reported by file line.

    Unreadable numbers are reported as ``missing_value`` findings instead of stopping at the first one. Returns
    the report and the parsed frame (for the fixes).
    """
    import polars as pl

    from .importer import load_file

    raw = load_file(path, tz=tz)
    for name in ("open", "high", "low", "close", "volume"):
        if name not in raw.frame.columns:
            raise ValidationError(f"{raw.source}: column {name!r}", "is required", None)
    frame = raw.frame.with_columns(
        pl.col(c).cast(pl.Float64, strict=False) for c in ("open", "high", "low", "close", "volume")
    )
    report = validate_bars(
        frame,
        timeframe,
        source=raw.source,
        row_offset=raw.row_offset,
        row_label=raw.row_label,
        z_threshold=z_threshold,
        weekdays=weekdays,
        calendar=calendar,
    )
    return report, frame


def drop_duplicates(df: pl.DataFrame) -> pl.DataFrame:
    """One row per time (the last one, as a re-import would keep), in time order."""
    return df.sort("time", maintain_order=True).unique("time", keep="last", maintain_order=True)


def fill_gaps(df: pl.DataFrame, timeframe: str | Timeframe, *, weekdays: bool = False) -> pl.DataFrame:
    """Insert the missing bars as flat bars at the previous close with zero volume (only when a user asks).

    Expects one series sorted by time without duplicates (see :func:`drop_duplicates`).
    """
    import polars as pl

    tf = parse_timeframe(timeframe)
    if df.height < 2:
        return df
    grid = pl.datetime_range(
        df["time"][0], df["time"][-1], interval=tf.polars_every, eager=True, time_unit="ns", time_zone="UTC"
    ).alias("time")
    full = grid.cast(df.schema["time"]).to_frame()
    if weekdays:
        full = full.filter(pl.col("time").dt.weekday() <= 5)
    constants = [c for c in ("symbol", "exchange", "timeframe") if c in df.columns]
    out = full.join(df.with_columns(pl.lit(True).alias("_had")), on="time", how="full", coalesce=True).sort("time")
    prev_close = pl.col("close").forward_fill()
    filled = out.with_columns(
        *(pl.col(c).fill_null(pl.col(c).drop_nulls().first()) for c in constants),
        *(pl.col(c).fill_null(prev_close) for c in ("open", "high", "low")),
        prev_close.alias("close"),
        pl.col("volume").fill_null(0.0),
        *(
            [pl.when(pl.col("_had")).then(pl.col("trades_count")).otherwise(0).alias("trades_count")]
            if "trades_count" in df.columns
            else []
        ),
        *(
            [pl.when(pl.col("_had")).then(pl.col("quote_volume")).otherwise(0.0).alias("quote_volume")]
            if "quote_volume" in df.columns
            else []
        ),
    )
    return filled.select(df.columns)


__all__ = [
    "CHECKS",
    "Finding",
    "ValidationReport",
    "drop_duplicates",
    "fill_gaps",
    "validate_bars",
    "validate_file",
]
