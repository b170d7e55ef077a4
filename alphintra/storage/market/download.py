"""Paginated OHLCV downloads from a venue into the store, resuming where the store ends.

A venue adapter implements :class:`OhlcvSource` (ccxt's ``fetch_ohlcv`` already has this shape); tests use a
small in-memory source. Pages are buffered and committed in chunks, so a download that is killed loses at most
the current chunk, and running it again continues from the newest stored bar.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from alphintra.errors import OperationFailed, ValidationError

from .reader import MarketData
from .schema import DatasetKey, Kind, TimeLike, to_ns
from .timeframes import parse_timeframe

if TYPE_CHECKING:
    from .store import MarketStore

Row = Sequence[float | int | None]


class OhlcvSource(Protocol):
    """A venue's paginated OHLCV endpoint: rows ``[ms, open, high, low, close, volume]``, oldest first."""

    def fetch_ohlcv(self, symbol: str, timeframe: str, since_ms: int | None, limit: int) -> list[list[float]]: ...


@dataclass(frozen=True, slots=True)
class DownloadResult:
    key: DatasetKey
    pages: int
    received: int
    added: int
    resumed_from_ms: int


def download_ohlcv(
    store: MarketStore,
    source: OhlcvSource,
    *,
    symbol: str,
    exchange: str,
    timeframe: str,
    start: TimeLike,
    end: TimeLike | None = None,
    page_limit: int = 1_000,
    chunk_rows: int = 100_000,
    max_pages: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> DownloadResult:
    """Fetch pages from ``start`` (or from the newest stored bar, whichever is later) until ``end`` or no more data.

    The newest stored bar is fetched again, because a venue's last bar may have been incomplete when stored.
    """
    import polars as pl

    tf = parse_timeframe(timeframe)
    if page_limit < 1:
        raise ValidationError("page_limit", "must be at least 1", page_limit)
    key = DatasetKey(Kind.OHLCV, exchange, symbol, tf.name)
    since_ns = to_ns(start, "start")
    stored = MarketData(store.root).datasets(Kind.OHLCV, symbol=symbol, exchange=exchange, timeframe=tf.name)
    if stored and stored[0].last is not None:
        since_ns = max(since_ns, to_ns(stored[0].last))
    end_ms = None if end is None else to_ns(end, "end") // 1_000_000
    since_ms = since_ns // 1_000_000
    resumed_from = since_ms

    buffer: list[Row] = []
    pages = received = added = 0

    def flush() -> None:
        nonlocal added, buffer
        if not buffer:
            return
        frame = pl.DataFrame(
            buffer,
            schema={
                "time": pl.Int64,
                "open": pl.Float64,
                "high": pl.Float64,
                "low": pl.Float64,
                "close": pl.Float64,
                "volume": pl.Float64,
            },
            orient="row",
        ).with_columns((pl.col("time") * 1_000_000).cast(pl.Datetime("ns")).dt.replace_time_zone("UTC"))
        results = store.write_bars(
            frame, timeframe=tf, symbol=symbol, exchange=exchange, source=f"{exchange} {symbol} download"
        )
        added += sum(r.added for r in results)
        buffer = []

    while max_pages is None or pages < max_pages:
        page = source.fetch_ohlcv(symbol, tf.name, since_ms, page_limit)
        pages += 1
        if any(len(row) < 6 for row in page):
            raise OperationFailed(f"{exchange} returned a malformed OHLCV row for {symbol}: {page[0]!r}")
        rows: list[Row] = [row[:6] for row in page if int(row[0]) >= since_ms]
        if end_ms is not None:
            rows = [row for row in rows if int(row[0] or 0) < end_ms]
        # Stop on an empty page, once `end` is reached, or when the venue returns nothing new (no endless loop).
        if not rows:
            break
        received += len(rows)
        buffer.extend(rows)
        if progress:
            progress(len(rows))
        if len(buffer) >= chunk_rows:
            flush()
        since_ms = max(int(row[0] or 0) for row in rows) + 1
    flush()
    return DownloadResult(key, pages, received, added, resumed_from)


__all__ = ["DownloadResult", "OhlcvSource", "download_ohlcv"]
