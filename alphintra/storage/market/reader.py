"""The read side of the market-data store: polars frames for the backtester, the risk engine and the daemon.

Readers take no lock and never open DuckDB, so any number of processes can read while one writes. A reader
reads a dataset's manifest and scans exactly the files it names; if a concurrent writer garbage-collected one of
them in between, the read starts again from the new manifest.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from alphintra.errors import NotFoundError, OperationFailed, ValidationError

from .layout import Manifest, dataset_dir, find_manifests, read_manifest
from .schema import DatasetKey, Kind, TimeLike, from_ns, to_ns
from .timeframes import TIMEFRAMES, parse_timeframe

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    import polars as pl

_RETRIES = 3


def default_root() -> Path:
    from alphintra.config.paths import HomePaths

    return HomePaths().market


@dataclass(frozen=True, slots=True)
class DatasetInfo:
    kind: Kind
    exchange: str
    symbol: str
    timeframe: str
    rows: int
    first: datetime | None
    last: datetime | None
    bytes: int
    files: int

    @classmethod
    def of(cls, m: Manifest) -> DatasetInfo:
        k = m.key
        first, last = m.first, m.last
        return cls(
            k.kind,
            k.exchange,
            k.symbol,
            k.timeframe,
            m.rows,
            None if first is None else from_ns(first),
            None if last is None else from_ns(last),
            m.bytes,
            len(m.files),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "exchange": self.exchange,
            "symbol": self.symbol,
            "timeframe": self.timeframe,
            "rows": self.rows,
            "first": self.first,
            "last": self.last,
            "bytes": self.bytes,
            "files": self.files,
        }


@dataclass(frozen=True, slots=True)
class LastPrice:
    symbol: str
    exchange: str
    price: float
    time: datetime
    source: str  # "trade" or "bar:<timeframe>" (the close of the newest bar)


class MarketData:
    """Queries over a store root (``HomePaths().market`` by default). Cheap to create; holds no open files."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = (root or default_root()).expanduser()

    # ------------------------------------------------------------------ catalog
    def datasets(
        self,
        kind: Kind | None = None,
        *,
        symbol: str | None = None,
        exchange: str | None = None,
        timeframe: str | None = None,
    ) -> list[DatasetInfo]:
        out = []
        for m in find_manifests(self.root, kind):
            k = m.key
            if (symbol and k.symbol != symbol) or (exchange and k.exchange != exchange):
                continue
            if timeframe and k.timeframe != timeframe:
                continue
            out.append(DatasetInfo.of(m))
        return out

    def symbols(self) -> list[str]:
        return sorted({m.key.symbol for m in find_manifests(self.root)})

    def resolve(self, kind: Kind, symbol: str, exchange: str | None = None, timeframe: str | None = None) -> DatasetKey:
        """The one dataset a query means; the exchange may be left out when the symbol lives on one only."""
        tf = parse_timeframe(timeframe).name if timeframe else ""
        if exchange:
            return DatasetKey(kind, exchange, symbol, tf)
        matches = sorted({i.exchange for i in self.datasets(kind, symbol=symbol, timeframe=tf or None)})
        if not matches:
            raise NotFoundError(f"no {kind.value} data for {symbol}{' ' + tf if tf else ''} in {self.root}")
        if len(matches) > 1:
            raise ValidationError("exchange", f"is needed: {symbol} is stored for {', '.join(matches)}", None)
        return DatasetKey(kind, matches[0], symbol, tf)

    # ------------------------------------------------------------------ queries
    def scan(self, key: DatasetKey, *, start: TimeLike | None = None, end: TimeLike | None = None) -> pl.LazyFrame:
        """A lazy scan of one dataset between ``start`` (inclusive) and ``end`` (exclusive)."""
        return self._scan(key, self._manifest(key), start, end)

    def scan_bars(
        self,
        symbol: str,
        timeframe: str,
        *,
        exchange: str | None = None,
        start: TimeLike | None = None,
        end: TimeLike | None = None,
    ) -> pl.LazyFrame:
        return self.scan(self.resolve(Kind.OHLCV, symbol, exchange, timeframe), start=start, end=end)

    def bars(
        self,
        symbol: str,
        timeframe: str,
        *,
        exchange: str | None = None,
        start: TimeLike | None = None,
        end: TimeLike | None = None,
        limit: int | None = None,
        newest: bool = False,
    ) -> pl.DataFrame:
        """OHLCV bars in time order; ``limit`` keeps the first rows, or the last ones with ``newest=True``."""
        key = self.resolve(Kind.OHLCV, symbol, exchange, timeframe)
        return self.read(key, start=start, end=end, limit=limit, newest=newest)

    def trades(
        self,
        symbol: str,
        *,
        exchange: str | None = None,
        start: TimeLike | None = None,
        end: TimeLike | None = None,
        limit: int | None = None,
        newest: bool = False,
    ) -> pl.DataFrame:
        key = self.resolve(Kind.TRADES, symbol, exchange)
        return self.read(key, start=start, end=end, limit=limit, newest=newest)

    def book_snapshots(
        self,
        symbol: str,
        *,
        exchange: str | None = None,
        start: TimeLike | None = None,
        end: TimeLike | None = None,
        limit: int | None = None,
        newest: bool = False,
    ) -> pl.DataFrame:
        key = self.resolve(Kind.BOOK, symbol, exchange)
        return self.read(key, start=start, end=end, limit=limit, newest=newest)

    def read(
        self,
        key: DatasetKey,
        *,
        start: TimeLike | None = None,
        end: TimeLike | None = None,
        limit: int | None = None,
        newest: bool = False,
    ) -> pl.DataFrame:
        if limit is not None and limit < 0:
            raise ValidationError("limit", "must be zero or more", limit)

        def attempt() -> pl.DataFrame:
            import polars as pl

            manifest = self._manifest(key)
            if limit is None:
                return self._scan(key, manifest, start, end).collect()
            if not newest:
                return self._scan(key, manifest, start, end).head(limit).collect()
            # Newest rows: walk the yearly files backwards and stop once enough rows are in hand.
            pieces: list[pl.DataFrame] = []
            have = 0
            for f in reversed(manifest.files):
                if have >= limit:
                    break
                sub = Manifest(manifest.key, manifest.generation, [f])
                piece = self._scan(key, sub, start, end).tail(limit - have).collect()
                pieces.insert(0, piece)
                have += piece.height
            if not pieces:
                return self._scan(key, Manifest(key), start, end).collect()
            return pl.concat(pieces).tail(limit)

        return self._retry(attempt)

    def last_price(self, symbol: str, *, exchange: str | None = None) -> LastPrice:
        """The newest known price: the last trade, or the close of the newest bar of the finest timeframe."""
        candidates: list[LastPrice] = []
        for info in self.datasets(symbol=symbol, exchange=exchange):
            if info.kind is Kind.BOOK or info.last is None:
                continue
            key = DatasetKey(info.kind, info.exchange, info.symbol, info.timeframe)
            row = self.read(key, limit=1, newest=True)
            if not row.height:
                continue
            if info.kind is Kind.TRADES:
                candidates.append(LastPrice(symbol, info.exchange, float(row["price"][0]), row["time"][0], "trade"))
            else:
                tf = TIMEFRAMES[info.timeframe]
                # A bar's close is known at the end of its period, so compare bars by their end time.
                end = from_ns(to_ns(row["time"][0]) + tf.approx_nanos)
                candidates.append(
                    LastPrice(symbol, info.exchange, float(row["close"][0]), end, f"bar:{info.timeframe}")
                )
        if not candidates:
            raise NotFoundError(f"no prices for {symbol} in {self.root}")
        exchanges = {c.exchange for c in candidates}
        if len(exchanges) > 1 and exchange is None:
            raise ValidationError("exchange", f"is needed: {symbol} is stored for {', '.join(sorted(exchanges))}")
        return max(candidates, key=lambda c: (c.time, c.source == "trade"))

    def close_returns(
        self, symbols: Sequence[str], timeframe: str, *, window: int, exchange: str | None = None
    ) -> pl.DataFrame:
        """Simple returns of the stored closes: ``time`` and one column per symbol, oldest first.

        Only times every symbol has a bar at are kept (an inner join), from each symbol's newest ``window + 1``
        bars, so at most ``window`` rows; the risk figures hold today's book through each of these periods.
        """
        import polars as pl

        if window < 1:
            raise ValidationError("window", "must be at least 1", window)
        frame: pl.DataFrame | None = None
        for symbol in symbols:
            bars = self.bars(symbol, timeframe, exchange=exchange, limit=window + 1, newest=True)
            closes = bars.select("time", pl.col("close").cast(pl.Float64).pct_change().alias(symbol))
            frame = closes if frame is None else frame.join(closes, on="time", how="inner")
        if frame is None:
            return pl.DataFrame(schema={"time": pl.Datetime("ns", "UTC")})
        return frame.sort("time").drop_nulls()

    # ------------------------------------------------------------------ internals
    def _manifest(self, key: DatasetKey) -> Manifest:
        manifest = read_manifest(dataset_dir(self.root, key))
        if manifest is None:
            raise NotFoundError(f"no {key.label()} in {self.root}")
        return manifest

    def _scan(self, key: DatasetKey, manifest: Manifest, start: TimeLike | None, end: TimeLike | None) -> pl.LazyFrame:
        import polars as pl

        from .schema import schema_for

        lo = None if start is None else to_ns(start, "start")
        hi = None if end is None else to_ns(end, "end")
        if lo is not None and hi is not None and hi <= lo:
            raise ValidationError("end", "must be after start", None)
        directory = dataset_dir(self.root, key)
        paths = [
            str(directory / f.path)
            for f in manifest.files
            if (lo is None or f.last >= lo) and (hi is None or f.first < hi)
        ]
        schema = schema_for(key.kind)
        if not paths:
            return pl.LazyFrame(schema=schema)
        identity = {"symbol": key.symbol, "exchange": key.exchange, "timeframe": key.timeframe}
        lf = pl.scan_parquet(paths).with_columns(
            pl.lit(value, dtype=pl.String).alias(name) for name, value in identity.items() if name in schema
        )
        lf = lf.select(list(schema))
        utc = pl.Datetime("ns", "UTC")
        if lo is not None:
            lf = lf.filter(pl.col("time") >= pl.lit(lo).cast(pl.Datetime("ns")).dt.replace_time_zone("UTC").cast(utc))
        if hi is not None:
            lf = lf.filter(pl.col("time") < pl.lit(hi).cast(pl.Datetime("ns")).dt.replace_time_zone("UTC").cast(utc))
        return lf

    def _retry(self, attempt: Callable[[], pl.DataFrame]) -> pl.DataFrame:
        for _ in range(_RETRIES):
            try:
                return attempt()
            except FileNotFoundError:
                continue  # a writer replaced the files under us; the new manifest names the new ones
        raise OperationFailed(f"{self.root}: the store kept changing while it was read; try again")


__all__ = ["DatasetInfo", "LastPrice", "MarketData", "default_root"]
